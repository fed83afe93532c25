// llama2.c tokenizer.bin against the shared fixtures, and against libsentencepiece.
#include <chrono>
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "model/tokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/model/tokenizer_test_util.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::model {
namespace {

using ::alisa::testing::shared_model_path;

const std::vector<int> kStoryIds = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
    401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
    328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
    337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310};
const char kStoryText[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too "
    "high.\nLily";

// Texts that exercise byte fallback, merges across spaces and the dummy prefix.
const std::vector<std::string> kSamples = {
    "",
    "a",
    "Hello world",
    " leading space",
    "multiple   spaces\tand\ttabs\n\nnew lines\r\n",
    "Ünïcödé àccénts: café, naïve, Ångström, façade",
    "中文测试：你好，世界！日本語のテキスト。한국어",
    "Emoji 🎉🚀👍🏽 and flags 🇫🇷 and family 👨‍👩‍👧",
    "Кириллица: съешь же ещё этих мягких французских булок",
    "Combining: e\xCC\x81 a\xCC\x8A o\xCC\x88\xCC\x81 Z\xCD\x91\xCD\x97",
    "Numbers 1234567890 and symbols <>{}[]()#$%^&*~`|\\/",
    "trailing spaces   ",
};

std::unique_ptr<tokenizer> load_or_die(const std::string& path, int vocab) {
  auto tok = load_tokenizer(path, vocab);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(*tok) : nullptr;
}

TEST(Llama2cTokenizer, Tok512DecodesTheReferenceStory) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/tok512.bin");
  auto tok = load_or_die(shared_model_path("stories260K/tok512.bin"), 512);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->name(), "llama2c");
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  std::vector<int> with_bos = {1};
  with_bos.insert(with_bos.end(), kStoryIds.begin(), kStoryIds.end());
  EXPECT_EQ(tok->decode(with_bos), kStoryText);
  EXPECT_EQ(tok->token_bytes(1, 403), "Once");  // the space after BOS is the dummy prefix
  EXPECT_EQ(tok->token_bytes(403, 403), " Once");
  EXPECT_EQ(tok->token_bytes(426, 13), "\n");  // <0x0A> byte token
}

TEST(Llama2cTokenizer, Tok512RoundTripsTheStory) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/tok512.bin");
  auto tok = load_or_die(shared_model_path("stories260K/tok512.bin"), 512);
  ASSERT_NE(tok, nullptr);
  const auto ids = tok->encode(kStoryText, true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok->decode(ids), kStoryText);
  // The model's greedy sample happens to be the canonical encoding for its first words.
  EXPECT_EQ(std::vector<int>(ids.begin() + 1, ids.begin() + 4),
            std::vector<int>(kStoryIds.begin(), kStoryIds.begin() + 3));
  for (const auto& text : kSamples) EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
}

TEST(Llama2cTokenizer, EmptyTextIsJustBos) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/tok512.bin");
  auto tok = load_or_die(shared_model_path("stories260K/tok512.bin"), 512);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("", true), std::vector<int>{1});
  EXPECT_TRUE(tok->encode("", false).empty());
}

TEST(Llama2Tokenizer, BinAndSentencePieceModelEncodeIdentically) {
  ALISA_REQUIRE_SHARED_MODEL("llama2-tokenizer/tokenizer.bin");
  ALISA_REQUIRE_SHARED_MODEL("llama2-tokenizer/tokenizer.model");
  auto bin = load_or_die(shared_model_path("llama2-tokenizer/tokenizer.bin"), 32000);
  auto sp = load_or_die(shared_model_path("llama2-tokenizer/tokenizer.model"), 32000);
  ASSERT_NE(bin, nullptr);
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->name(), "sentencepiece");
  EXPECT_EQ(sp->vocab_size(), 32000);
  EXPECT_EQ(sp->bos_id(), 1);
  EXPECT_EQ(sp->eos_id(), 2);
  std::string all;
  for (const auto& text : kSamples) all += text;
  auto samples = kSamples;
  samples.push_back(all);
  for (const auto& text : samples) {
    for (bool bos : {false, true}) {
      const auto a = bin->encode(text, bos);
      const auto b = sp->encode(text, bos);
      EXPECT_EQ(a, b) << "text: " << text;
      EXPECT_EQ(bin->decode(a), text);
      EXPECT_EQ(sp->decode(b), text);
    }
  }
  EXPECT_EQ(bin->encode("Hello world", true), (std::vector<int>{1, 15043, 3186}));
}

TEST(Llama2Tokenizer, EncodesTenThousandCharactersQuickly) {
  ALISA_REQUIRE_SHARED_MODEL("llama2-tokenizer/tokenizer.bin");
  auto bin = load_or_die(shared_model_path("llama2-tokenizer/tokenizer.bin"), 32000);
  ASSERT_NE(bin, nullptr);
  std::string text;
  for (int i = 0; text.size() < 10000; ++i) text += kSamples[i % kSamples.size()] + " ";
  const auto start = std::chrono::steady_clock::now();
  const auto ids = bin->encode(text, true);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ info ] llama2c encode: %zu bytes -> %zu tokens in %.2f ms\n", text.size(),
              ids.size(), ms);
  EXPECT_EQ(bin->decode(ids), text);
  EXPECT_LT(ms, 2000.0);  // generous: also runs under AddressSanitizer
  // A single 10k-character word: the worst case for the O(n^2) llama2.c loop.
  const std::string word(10000, 'a');
  EXPECT_EQ(bin->decode(bin->encode(word, false)), word);
}

// ---- malformed files ---------------------------------------------------------------------------

std::string record(float score, const std::string& piece, std::int32_t len) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &score, 4);
  std::memcpy(out.data() + 4, &len, 4);
  return out + piece;
}

std::string header(std::int32_t max_len) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &max_len, 4);
  return out;
}

TEST(Llama2cTokenizerErrors, MissingFile) {
  auto tok = load_tokenizer("/nonexistent/dir/tokenizer.bin", 512);
  ASSERT_FALSE(tok.ok());
  EXPECT_TRUE(absl::IsNotFound(tok.status()));
  EXPECT_EQ(tok.status().message(), "tokenizer not found: /nonexistent/dir/tokenizer.bin");
}

TEST(Llama2cTokenizerErrors, VocabSizeMismatch) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/tok512.bin");
  const std::string path = shared_model_path("stories260K/tok512.bin");
  for (int vocab : {1000, 100}) {
    auto tok = load_tokenizer(path, vocab);
    ASSERT_FALSE(tok.ok());
    EXPECT_NE(tok.status().message().find("tokenizer has 512 tokens, model expects " +
                                          std::to_string(vocab)),
              std::string::npos)
        << tok.status();
    EXPECT_NE(tok.status().message().find(path), std::string::npos);
  }
}

TEST(Llama2cTokenizerErrors, TruncatedFile) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/tok512.bin");
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  const std::string full = alisa::testing::read_file(shared_model_path("stories260K/tok512.bin"));
  for (std::size_t keep : {std::size_t{0}, std::size_t{2}, std::size_t{9}, full.size() / 2,
                           full.size() - 1}) {
    const auto path = dir / "tokenizer.bin";
    alisa::testing::write_file(path, full.substr(0, keep));
    auto tok = load_tokenizer(path.string(), 512);
    ASSERT_FALSE(tok.ok()) << "kept " << keep << " bytes";
    EXPECT_NE(tok.status().message().find("truncated"), std::string::npos) << tok.status();
  }
}

TEST(Llama2cTokenizerErrors, BadLengths) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  const auto path = (dir / "tokenizer.bin").string();
  alisa::testing::write_file(path, header(4) + record(0, "", -3));
  auto negative = load_tokenizer(path, 1);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("negative length"), std::string::npos);

  alisa::testing::write_file(path, header(4) + record(0, "toolong", 7));
  auto too_long = load_tokenizer(path, 1);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("exceeds max_token_length"), std::string::npos);

  alisa::testing::write_file(path, header(-1));
  EXPECT_FALSE(load_tokenizer(path, 1).ok());
  alisa::testing::write_file(path, header(4) + record(0, "ab", 2) + "junk");
  EXPECT_FALSE(load_tokenizer(path, 1).ok());
}

TEST(Llama2cTokenizerErrors, TinyVocabWithoutByteTokens) {
  // Only specials and two letters: unknown characters fall back to <unk> (id 0), no crash.
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  const auto path = (dir / "tokenizer.bin").string();
  alisa::testing::write_file(path, header(5) + record(0, "<unk>", 5) + record(0, "<s>", 3) +
                                       record(0, "</s>", 4) + record(0, " ", 1) +
                                       record(0, "a", 1) + record(1, " a", 2));
  auto tok = load_or_die(path, 6);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("aab", true), (std::vector<int>{1, 5, 4, 0}));
  EXPECT_EQ(tok->decode({1, 5, 4, 0}), "aa");
}

TEST(SentencePieceTokenizerErrors, GarbageModelAndVocabCheck) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  const auto path = (dir / "tokenizer.model").string();
  alisa::testing::write_file(path, "definitely not a protobuf \xFF\xFF\xFF");
  auto tok = load_tokenizer(path, 32000);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find(path), std::string::npos);
  ALISA_REQUIRE_SHARED_MODEL("llama2-tokenizer/tokenizer.model");
  auto small = load_tokenizer(shared_model_path("llama2-tokenizer/tokenizer.model"), 512);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("tokenizer has 32000 tokens, model expects 512"),
            std::string::npos);
}

}  // namespace
}  // namespace alisa::model
