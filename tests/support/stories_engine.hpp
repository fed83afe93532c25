#pragma once
// open_stories_engine — the stories260K llama2.c checkpoint with its tokenizer, opened as a
// local_engine (callers first ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin")).
#include <gtest/gtest.h>

#include <memory>

#include "engine/local_engine.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::testing {

inline std::unique_ptr<engine::local_engine> open_stories_engine(engine::engine_options o = {}) {
  o.model = shared_model_path("stories260K/stories260K.bin");
  o.tokenizer = shared_model_path("stories260K/tok512.bin");
  auto engine = engine::local_engine::open(o);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

}  // namespace alisa::testing
