// Hugging Face byte-level BPE tokenizer.json, with a small vocabulary written by the test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/byte_level.hpp"
#include "model/pretokenizer.hpp"
#include "model/tokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/model/tokenizer_test_util.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;

// Ids 0..255: every byte (in byte order), then merges he, ll, hell, hello, Ġw; then specials.
json small_tokenizer(bool merges_as_pairs) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level::encode(std::string(1, static_cast<char>(b)))] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "w"}};
  json merge_list = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = next++;
    merge_list.push_back(merges_as_pairs ? json::array({a, b}) : json(a + " " + b));
  }
  json tok;
  tok["version"] = "1.0";
  tok["added_tokens"] = json::array({
      {{"id", 261}, {"content", "<|endoftext|>"}, {"special", true}},
      {{"id", 262}, {"content", "<|begin|>"}, {"special", true}},
      {{"id", 263}, {"content", "<|begin|>x"}, {"special", false}},
  });
  tok["normalizer"] = nullptr;
  tok["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  tok["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({json{{"SpecialToken", {{"id", "<|begin|>"}, {"type_id", 0}}}},
                              json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
  tok["decoder"] = {{"type", "ByteLevel"}};
  tok["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}};
  return tok;
}

std::unique_ptr<tokenizer> parse_or_die(const json& j, int vocab = 300) {
  auto tok = parse_hf_bpe_tokenizer(j.dump(), "test/tokenizer.json", vocab);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(*tok) : nullptr;
}

TEST(HfBpeTokenizer, EncodesWithMergesAndBos) {
  for (bool pairs : {false, true}) {
    auto tok = parse_or_die(small_tokenizer(pairs));
    ASSERT_NE(tok, nullptr);
    EXPECT_EQ(tok->name(), "hf-bpe");
    EXPECT_EQ(tok->vocab_size(), 264);
    EXPECT_EQ(tok->bos_id(), 262);  // from the TemplateProcessing post-processor
    EXPECT_EQ(tok->eos_id(), 261);
    EXPECT_EQ(tok->encode("hello world", false),
              (std::vector<int>{259, 260, 'o', 'r', 'l', 'd'}));
    EXPECT_EQ(tok->encode("hello", true), (std::vector<int>{262, 259}));
    EXPECT_EQ(tok->decode({262, 259, 260, 'o'}), "hello wo");
  }
}

TEST(HfBpeTokenizer, AddedTokensMatchLiterallyLongestFirst) {
  auto tok = parse_or_die(small_tokenizer(false));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("hi<|endoftext|>there", false),
            (std::vector<int>{'h', 'i', 261, 't', 256, 'r', 'e'}));
  EXPECT_EQ(tok->encode("<|begin|>x<|begin|>", false), (std::vector<int>{263, 262}));
  EXPECT_EQ(tok->decode({'h', 'i', 261, 't', 256, 'r', 'e'}), "hithere");  // specials: no text
  EXPECT_EQ(tok->decode({263}), "<|begin|>x");                             // non-special: text
}

TEST(HfBpeTokenizer, UnicodeRoundTrips) {
  auto tok = parse_or_die(small_tokenizer(false));
  ASSERT_NE(tok, nullptr);
  for (const std::string text :
       {"héllo wörld", "中文 日本語", "emoji 🎉👨‍👩‍👧 ok", "tabs\tand\n\nnewlines  ",
        "Кириллица e\xCC\x81", "it's 1234 <tags>"}) {
    const auto ids = tok->encode(text, true);
    EXPECT_EQ(tok->decode(ids), text);
    // Split across token boundaries, a stream still rebuilds the exact text.
    utf8_stream stream;
    std::string streamed;
    int previous = -1;
    for (int id : ids) {
      streamed += stream.push(tok->token_bytes(previous, id));
      previous = id;
    }
    streamed += stream.flush();
    EXPECT_EQ(streamed, text);
  }
  // A 4-byte emoji is four byte-level tokens here.
  EXPECT_EQ(tok->encode("🎉", false), (std::vector<int>{0xF0, 0x9F, 0x8E, 0x89}));
}

TEST(HfBpeTokenizer, Llama3SplitAndPrefixSpace) {
  auto j = small_tokenizer(false);
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({json{{"type", "Split"},
                         {"pattern",
                          {{"Regex",
                            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                         {"behavior", "Isolated"}},
                    json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  auto tok = parse_or_die(j);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->decode(tok->encode("12345 hello\n\nworld", false)), "12345 hello\n\nworld");

  auto k = small_tokenizer(false);
  k["pre_tokenizer"]["add_prefix_space"] = true;
  auto prefixed = parse_or_die(k);
  ASSERT_NE(prefixed, nullptr);
  EXPECT_EQ(prefixed->encode("w", false), (std::vector<int>{260}));  // "Ġw"
}

TEST(HfBpeTokenizer, Errors) {
  EXPECT_FALSE(parse_hf_bpe_tokenizer("{not json", "x/tokenizer.json", 0).ok());
  EXPECT_EQ(parse_hf_bpe_tokenizer("[1,2]", "x/tokenizer.json", 0).status().message(),
            "x/tokenizer.json: invalid JSON");
  // Ids beyond the model vocab (the model may pad its vocab, but not the other way round).
  auto too_small = parse_hf_bpe_tokenizer(small_tokenizer(false).dump(), "t.json", 200);
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.status().message(), "t.json: tokenizer has 264 tokens, model expects 200");
  EXPECT_TRUE(parse_hf_bpe_tokenizer(small_tokenizer(false).dump(), "t.json", 50272).ok());
  // Wrong types where objects/arrays are expected: a Status, never an exception.
  auto bad = small_tokenizer(false);
  bad["model"]["merges"] = json::array({"zz yy"});
  EXPECT_FALSE(parse_hf_bpe_tokenizer(bad.dump(), "t.json", 0).ok());
  bad = small_tokenizer(false);
  bad["model"]["vocab"]["h"] = "seven";
  EXPECT_FALSE(parse_hf_bpe_tokenizer(bad.dump(), "t.json", 0).ok());
  bad = small_tokenizer(false);
  bad["added_tokens"] = json::array({42});
  EXPECT_FALSE(parse_hf_bpe_tokenizer(bad.dump(), "t.json", 0).ok());
  bad = small_tokenizer(false);
  bad["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};  // not reproduced: Unimplemented, by name
  auto refused = parse_hf_bpe_tokenizer(bad.dump(), "t.json", 0);
  EXPECT_TRUE(absl::IsUnimplemented(refused.status()));
  EXPECT_EQ(refused.status().message(), "t.json: unsupported pre_tokenizer \"BertPreTokenizer\"");
}

TEST(HfBpeTokenizer, LoadFromFileWithInvalidJson) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  alisa::testing::write_file(dir / "tokenizer.json", "{\"model\": ");
  auto tok = load_tokenizer((dir / "tokenizer.json").string(), 100);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().message(), (dir / "tokenizer.json").string() + ": invalid JSON");
}

TEST(HfBpeTokenizer, LoadFromFileUsesTokenizerConfigSpecials) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  alisa::testing::write_file(dir / "tokenizer.json", small_tokenizer(false).dump());
  alisa::testing::write_file(dir / "tokenizer_config.json",
                             R"({"bos_token": {"content": "<|endoftext|>"}, "eos_token": "<|begin|>"})");
  auto tok = load_tokenizer((dir / "tokenizer.json").string(), 264);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->bos_id(), 261);
  EXPECT_EQ((*tok)->eos_id(), 262);
}

TEST(Pretokenizer, Gpt2Split) {
  const split_rule gpt2{split_rule::family::gpt2, 0};
  EXPECT_EQ(pretokenize("Hello world's  test 123!!\n\nok", gpt2),
            (std::vector<std::string_view>{"Hello", " world", "'s", " ", " test", " 123", "!!",
                                           "\n", "\n", "ok"}));
  EXPECT_EQ(pretokenize("héllo 世界 🎉🎉 end  ", gpt2),
            (std::vector<std::string_view>{"héllo", " 世界", " 🎉🎉", " end", "  "}));
}

TEST(Pretokenizer, Llama3Split) {
  const split_rule llama3{split_rule::family::llama3, 3};
  EXPECT_EQ(pretokenize("Hello world's  test 12345!!\n\nok (x)", llama3),
            (std::vector<std::string_view>{"Hello", " world", "'s", " ", " test", " ", "123", "45",
                                           "!!\n\n", "ok", " (", "x", ")"}));
  EXPECT_EQ(pretokenize("I'LL go\n\n  next", llama3),
            (std::vector<std::string_view>{"I", "'LL", " go", "\n\n", " ", " next"}));
}

}  // namespace
}  // namespace alisa::model
