// gguf: the container parser, on files written by tests/support/gguf_writer.hpp. A sound file
// gives back every metadata value and tensor byte; every corruption (truncation anywhere, absurd
// counts and lengths, unknown or unsupported types, misplaced or overlapping tensors) is a
// one-line error naming the file and what is wrong, never a crash.
#include "model/gguf.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "model/load_model.hpp"
#include "tests/support/gguf_writer.hpp"

namespace alisa::model {
namespace {

using testing::gguf_writer;

std::string floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A small sound file: metadata of several types and four tensors of the supported types.
gguf_writer sound_file() {
  gguf_writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_bool("general.flag", true);
  w.set_i32("tokenizer.ggml.bos_token_id", 1);
  w.set_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xe2\x96\x81the"});
  w.set_f32s("tokenizer.ggml.scores", {0.0f, 0.0f, 0.0f, -1.5f});
  w.add_tensor("token_embd.weight", {3, 2}, 0, floats({1, 2, 3, 4, 5, 6}));
  w.add_tensor("output_norm.weight", {4}, 1, std::string(8, '\x3c'));
  w.add_tensor("blk.0.attn_q.weight", {64, 1}, 8, std::string(2 * 34, '\x01'));
  w.add_tensor("blk.0.attn_k.weight", {32}, 30, std::string(64, '\x02'));
  return w;
}

absl::StatusOr<gguf_file> parse(const std::string& bytes) {
  return parse_gguf(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), "test.gguf");
}

// The error of parsing `bytes`: one line, naming the file and containing `needle`.
void expect_error(const std::string& bytes, const std::string& needle) {
  auto f = parse(bytes);
  ASSERT_FALSE(f.ok()) << "accepted a file that should fail with: " << needle;
  const std::string message(f.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.rfind("test.gguf: ", 0), 0u) << message;
  EXPECT_NE(message.find(needle), std::string::npos) << message;
}

TEST(Gguf, ReadsEveryMetadataValueAndTensor) {
  const std::string bytes = sound_file().bytes();
  auto f = parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->version, 3u);
  EXPECT_EQ(f->text("general.architecture"), "llama");
  EXPECT_EQ(f->integer("llama.block_count"), 2);
  EXPECT_EQ(f->number("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(f->integer("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_FALSE(f->integer("general.architecture").has_value()) << "a string is not an integer";
  const gguf_value* tokens = f->find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_TRUE(tokens->is_array);
  ASSERT_EQ(tokens->array.size(), 4u);
  EXPECT_EQ(std::get<std::string>(tokens->array[3]), "\xe2\x96\x81the");
  EXPECT_EQ(std::get<double>(f->find("tokenizer.ggml.scores")->array[3]), -1.5);
  ASSERT_EQ(f->tensors.size(), 4u);
  const gguf_tensor& embd = f->tensors.at("token_embd.weight");
  EXPECT_EQ(embd.dims, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(embd.type, ggml_type::f32);
  ASSERT_EQ(embd.num_bytes, 24u);
  float last = 0;
  std::memcpy(&last, embd.data + 20, 4);
  EXPECT_EQ(last, 6.0f);
  EXPECT_EQ(f->tensors.at("blk.0.attn_q.weight").num_bytes, 68u) << "two Q8_0 blocks";
  EXPECT_EQ(f->tensors.at("blk.0.attn_k.weight").type, ggml_type::bf16);
  for (const auto& [name, t] : f->tensors)
    EXPECT_EQ((t.data - reinterpret_cast<const std::byte*>(bytes.data())) % 32, 0) << name;
}

TEST(Gguf, ACustomAlignmentPlacesTheData) {
  gguf_writer w = sound_file();
  w.alignment = 64;
  w.set_u32("general.alignment", 64);
  auto f = parse(w.bytes());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->alignment, 64u);
}

TEST(Gguf, EveryTruncationIsAnErrorNotACrash) {
  const std::string bytes = sound_file().bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto f = parse(bytes.substr(0, n));
    EXPECT_FALSE(f.ok()) << "a file cut to " << n << " of " << bytes.size() << " bytes was accepted";
  }
}

TEST(Gguf, BadHeadersAreRefusedByName) {
  std::string bytes = sound_file().bytes();
  expect_error("GGML" + bytes.substr(4), "no GGUF magic");
  gguf_writer old = sound_file();
  old.version = 1;
  expect_error(old.bytes(), "GGUF version 1");
  std::string many_tensors = bytes;
  const uint64_t absurd = uint64_t{1} << 60;
  std::memcpy(many_tensors.data() + 8, &absurd, 8);
  expect_error(many_tensors, "tensor count");
  std::string many_kv = bytes;
  std::memcpy(many_kv.data() + 16, &absurd, 8);
  expect_error(many_kv, "metadata count");
}

TEST(Gguf, BadMetadataIsRefusedByKey) {
  {
    gguf_writer w = sound_file();
    w.kv("general.name", gguf_writer::string, gguf_writer::pod(uint64_t{1} << 40) + "x");
    expect_error(w.bytes(), "general.name");
  }
  {
    gguf_writer w = sound_file();
    w.kv("general.nested", gguf_writer::array,
         gguf_writer::pod(uint32_t{gguf_writer::array}) + gguf_writer::pod(uint64_t{1}));
    expect_error(w.bytes(), "nested arrays");
  }
  {
    gguf_writer w = sound_file();
    w.kv("general.odd", 13, gguf_writer::pod(uint32_t{0}));
    expect_error(w.bytes(), "unknown value type 13");
  }
  {
    gguf_writer w = sound_file();
    w.kv("general.truth", gguf_writer::boolean, std::string(1, '\x02'));
    expect_error(w.bytes(), "bool byte 2");
  }
  {
    gguf_writer w = sound_file();
    w.set_u32("llama.block_count", 3);
    expect_error(w.bytes(), "llama.block_count appears twice");
  }
  {
    gguf_writer w = sound_file();
    w.kv("tokenizer.huge", gguf_writer::array,
         gguf_writer::pod(uint32_t{gguf_writer::f32}) + gguf_writer::pod(uint64_t{1} << 50));
    expect_error(w.bytes(), "exceeds the file");
  }
  {
    gguf_writer w = sound_file();
    w.set_u32("general.alignment", 24);
    expect_error(w.bytes(), "power of two");
  }
}

TEST(Gguf, BadTensorsAreRefusedByName) {
  {
    gguf_writer w = sound_file();
    w.add_tensor("blk.0.ffn_up.weight", {256}, 12, std::string(144, '\0'));
    expect_error(w.bytes(), "blk.0.ffn_up.weight has type Q4_K");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {4, 1, 1, 1, 1}, 0, floats({1, 2, 3, 4}));
    expect_error(w.bytes(), "5 dimensions");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {4, 0}, 0, "");
    expect_error(w.bytes(), "dimension 1 is 0");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, "");
    expect_error(w.bytes(), "dimension 1");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {48}, 8, std::string(51, '\0'));
    expect_error(w.bytes(), "not whole blocks of 32");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("token_embd.weight", {1}, 0, floats({1}));
    expect_error(w.bytes(), "token_embd.weight appears twice");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {4}, 0, floats({1, 2, 3, 4}), 8);
    expect_error(w.bytes(), "not a multiple of the alignment");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {4}, 0, floats({1, 2, 3, 4}), 0);  // on top of token_embd.weight
    expect_error(w.bytes(), "overlap");
  }
  {
    gguf_writer w = sound_file();
    w.add_tensor("x", {4}, 0, floats({1, 2, 3, 4}));
    std::string bytes = w.bytes();
    expect_error(bytes.substr(0, bytes.size() - 4), "outside");
  }
}

// `--model x.gguf`: a corrupt file gets the parser's reason, a sound container that is not a
// complete Llama model the loader's (tests/engine/gguf_loader_test.cpp loads real ones).
TEST(Gguf, LoadModelGivesTheParsersOrTheLoadersReason) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("alisa-gguf-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto sound = (dir / "m.gguf").string(), corrupt = (dir / "bad.gguf").string();
  const std::string bytes = sound_file().bytes();
  std::ofstream(sound, std::ios::binary) << bytes;
  std::ofstream(corrupt, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  auto ok = load_model(sound, {});
  auto bad = load_model(corrupt, {});
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(ok.ok());
  EXPECT_NE(ok.status().message().find("metadata llama.embedding_length is missing"), std::string::npos)
      << ok.status();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("outside"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace alisa::model
