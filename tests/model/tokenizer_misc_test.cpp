// utf8_stream, the byte tokenizer, format detection and find_tokenizer.
#include <gtest/gtest.h>

#include "model/tokenizer.hpp"
#include "tests/model/tokenizer_test_util.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::model {
namespace {

TEST(Utf8Stream, ReassemblesAnEmojiSplitAcrossPushes) {
  const std::string emoji = "\xF0\x9F\x8E\x89";  // U+1F389
  utf8_stream stream;
  std::string first = "a";
  first += emoji.front();  // (not "a" + ...: GCC 12 warns falsely on that form)
  EXPECT_EQ(stream.push(first), "a");
  EXPECT_EQ(stream.push(emoji.substr(1, 2)), "");
  EXPECT_EQ(stream.push(emoji.substr(3) + "b"), emoji + "b");
  EXPECT_EQ(stream.flush(), "");
}

TEST(Utf8Stream, InvalidAndDanglingBytesBecomeReplacementChars) {
  utf8_stream stream;
  EXPECT_EQ(stream.push("x\xFFy"), "x\xEF\xBF\xBDy");        // never valid: replaced at once
  EXPECT_EQ(stream.push("\xE4\xB8"), "");                   // first 2 bytes of 3: held back
  EXPECT_EQ(stream.push("z"), "\xEF\xBF\xBD\xEF\xBF\xBDz");  // interrupted: both replaced
  EXPECT_EQ(stream.push("\xC3"), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.flush(), "");
}

TEST(ByteTokenizer, LayoutAndPrintableHighIds) {
  auto tok = make_byte_tokenizer(512, 1, 2);
  EXPECT_EQ(tok->name(), "byte");
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->encode("Hi", true), (std::vector<int>{1, 'H' + 3, 'i' + 3}));
  const std::string text = "héllo 🎉\n";
  EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
  EXPECT_EQ(tok->decode({0, 1, 2}), "");
  EXPECT_EQ(tok->token_bytes(-1, 259), " ");
  EXPECT_EQ(tok->token_bytes(-1, 259 + 33), "A");
  EXPECT_EQ(tok->token_bytes(-1, 259 + 95), " ");
  EXPECT_EQ(tok->token_bytes(-1, 512), "");  // out of range
}

TEST(LoadTokenizer, DetectsFormats) {
  ALISA_REQUIRE_SHARED_MODEL("llama2-tokenizer/tokenizer.model");
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  // A SentencePiece model under an unhelpful name is still recognised by its content.
  const auto renamed = dir / "vocab.dat";
  std::filesystem::copy_file(
      ::alisa::testing::shared_model_path("llama2-tokenizer/tokenizer.model"), renamed);
  auto sp = load_tokenizer(renamed.string(), 32000);
  ASSERT_TRUE(sp.ok()) << sp.status();
  EXPECT_EQ((*sp)->name(), "sentencepiece");
  auto bin = load_tokenizer(::alisa::testing::shared_model_path("llama2-tokenizer/tokenizer.bin"),
                            32000);
  ASSERT_TRUE(bin.ok()) << bin.status();
  EXPECT_EQ((*bin)->name(), "llama2c");
}

TEST(FindTokenizer, NextToALlama2cCheckpoint) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  alisa::testing::write_file(dir / "model.bin", "weights");
  EXPECT_TRUE(absl::IsNotFound(find_tokenizer((dir / "model.bin").string()).status()));
  alisa::testing::write_file(dir / "tok512.bin", "tok");
  auto found = find_tokenizer((dir / "model.bin").string());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, (dir / "tok512.bin").string());
  // A checkpoint named like a tokenizer is never its own tokenizer.
  EXPECT_TRUE(absl::IsNotFound(find_tokenizer((dir / "tok512.bin").string()).status()));
  alisa::testing::write_file(dir / "tokenizer.bin", "tok");
  EXPECT_EQ(*find_tokenizer((dir / "model.bin").string()), (dir / "tokenizer.bin").string());
}

TEST(FindTokenizer, InsideAModelDirectoryInPreferenceOrder) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  auto missing = find_tokenizer(dir.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "tokenizer not found: " + dir.string());
  alisa::testing::write_file(dir / "tok4096.bin", "x");
  EXPECT_EQ(*find_tokenizer(dir.string()), (dir / "tok4096.bin").string());
  alisa::testing::write_file(dir / "tokenizer.bin", "x");
  EXPECT_EQ(*find_tokenizer(dir.string()), (dir / "tokenizer.bin").string());
  alisa::testing::write_file(dir / "tokenizer.model", "x");
  EXPECT_EQ(*find_tokenizer(dir.string()), (dir / "tokenizer.model").string());
  alisa::testing::write_file(dir / "tokenizer.json", "x");
  EXPECT_EQ(*find_tokenizer(dir.string()), (dir / "tokenizer.json").string());
}

TEST(FindTokenizer, NextToAHuggingFaceWeightsFile) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  alisa::testing::write_file(dir / "model.safetensors", "weights");
  alisa::testing::write_file(dir / "tokenizer.json", "{}");
  EXPECT_EQ(*find_tokenizer((dir / "model.safetensors").string()), (dir / "tokenizer.json").string());
}

TEST(FindTokenizer, SyntheticAndMissingSpecs) {
  EXPECT_TRUE(absl::IsNotFound(find_tokenizer("synthetic:tiny").status()));
  auto missing = find_tokenizer("/no/such/model.bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "tokenizer not found: /no/such/model.bin");
}

TEST(FindTokenizer, SharedStories260K) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  auto found = find_tokenizer(::alisa::testing::shared_model_path("stories260K/stories260K.bin"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(std::filesystem::path(*found).filename(), "tok512.bin");
  auto tok = load_tokenizer(*found, 512);
  EXPECT_TRUE(tok.ok()) << tok.status();
}

}  // namespace
}  // namespace alisa::model
