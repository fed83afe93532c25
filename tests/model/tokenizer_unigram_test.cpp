// Hugging Face tokenizer.json with a Unigram model: Viterbi segmentation on a hand-made vocab whose
// best paths are worked out in the comments, unknown-text fusing, byte fallback, Metaspace.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/tokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "model/unigram_model.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;

// id: piece (score)
//  0 <unk> (0)   1 <s> (0)   2 </s> (0)
//  3 a (-2)      4 b (-2)    5 c (-2)     6 ab (-3)    7 bc (-1.5)   8 abc (-8)
//  9 x (-1)     10 y (-1)   11 xy (-2)   12 " " (-2)  13 <0x3F> (-5)  14 ▁ (-2)   15 ▁a (-2.5)
// The lowest score is -8, so an unknown character costs -8 - 10 = -18.
json unigram_vocab() {
  return json::array({json::array({"<unk>", 0.0}), json::array({"<s>", 0.0}), json::array({"</s>", 0.0}),
                      json::array({"a", -2.0}),    json::array({"b", -2.0}),  json::array({"c", -2.0}),
                      json::array({"ab", -3.0}),   json::array({"bc", -1.5}), json::array({"abc", -8.0}),
                      json::array({"x", -1.0}),    json::array({"y", -1.0}),  json::array({"xy", -2.0}),
                      json::array({" ", -2.0}),    json::array({"<0x3F>", -5.0}),
                      json::array({"\xE2\x96\x81", -2.0}), json::array({"\xE2\x96\x81" "a", -2.5})});
}

json unigram_json(bool byte_fallback) {
  json tok;
  tok["added_tokens"] = json::array({
      {{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
      {{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
      {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}},
  });
  tok["normalizer"] = nullptr;
  tok["pre_tokenizer"] = nullptr;
  tok["decoder"] = nullptr;
  tok["model"] = {{"type", "Unigram"}, {"unk_id", 0}, {"byte_fallback", byte_fallback}, {"vocab", unigram_vocab()}};
  return tok;
}

std::unique_ptr<tokenizer> parse_or_die(const json& j) {
  auto tok = parse_hf_tokenizer(j.dump(), "unigram/tokenizer.json", 0);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(*tok) : nullptr;
}

TEST(UnigramTokenizer, ViterbiBeatsGreedyLongestMatch) {
  auto tok = parse_or_die(unigram_json(false));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->name(), "hf-unigram");
  EXPECT_EQ(tok->vocab_size(), 16);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  // "abc": abc = -8; ab + c = -3 - 2 = -5; a + bc = -2 - 1.5 = -3.5; a + b + c = -6.
  // Greedy longest match would take "abc"; the best path is a + bc.
  EXPECT_EQ(tok->encode("abc", false), (std::vector<int>{3, 7}));
  // "ab": ab = -3 beats a + b = -4.
  EXPECT_EQ(tok->encode("ab", false), (std::vector<int>{6}));
  // "abcab": (a + bc) + ab = -3.5 - 3 = -6.5, the best of all splits.
  EXPECT_EQ(tok->encode("abcab", true), (std::vector<int>{1, 3, 7, 6}));
  // "xy": xy = -2 ties x + y = -2; the path found first (the longer last piece) is kept, as in
  // Hugging Face.
  EXPECT_EQ(tok->encode("xy", false), (std::vector<int>{11}));
  EXPECT_EQ(tok->decode({1, 3, 7, 12, 11}), "abc xy");
}

TEST(UnigramTokenizer, ConsecutiveUnknownsBecomeOneUnk) {
  auto tok = parse_or_die(unigram_json(false));
  ASSERT_NE(tok, nullptr);
  // '?', 'é' and '!' are not pieces: each costs -18, so the path goes around nothing else, and
  // the run of three unknown characters comes out as a single <unk>.
  EXPECT_EQ(tok->encode("a?\xC3\xA9!b", false), (std::vector<int>{3, 0, 4}));
  EXPECT_EQ(tok->encode("?a?", false), (std::vector<int>{0, 3, 0}));
  EXPECT_EQ(tok->decode({3, 0, 4}), "ab");  // <unk> is a special added token here: no text
}

TEST(UnigramTokenizer, ByteFallbackForUnknownText) {
  auto tok = parse_or_die(unigram_json(true));
  ASSERT_NE(tok, nullptr);
  // '?' (0x3F) has a byte piece; the fused run "??" becomes two of them.
  EXPECT_EQ(tok->encode("a??b", false), (std::vector<int>{3, 13, 13, 4}));
  // 'é' (C3 A9) has no byte pieces: the whole fused run falls back to <unk>.
  EXPECT_EQ(tok->encode("a?\xC3\xA9" "b", false), (std::vector<int>{3, 0, 4}));
}

TEST(UnigramTokenizer, MetaspacePreTokenizerAndDecoder) {
  json j = unigram_json(false);
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"},
                        {"split", true}};
  j["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}};
  auto tok = parse_or_die(j);
  ASSERT_NE(tok, nullptr);
  // "a bc" -> "▁a▁bc" -> words "▁a" and "▁bc"; "▁a" is a piece (-2.5 beats ▁ + a = -4);
  // "▁bc": ▁ + bc = -3.5 beats ▁ + b + c = -6.
  const auto ids = tok->encode("a bc", true);
  EXPECT_EQ(ids, (std::vector<int>{1, 15, 14, 7}));
  EXPECT_EQ(tok->decode(ids), "a bc");  // the first token loses its "▁"
  EXPECT_EQ(tok->token_bytes(7, 15), " a");
  EXPECT_EQ(tok->token_bytes(1, 15), "a");
}

TEST(UnigramModel, BuildChecks) {
  EXPECT_FALSE(unigram_model::build({}, -1, false, "u").ok());
  auto bad_unk = unigram_model::build({{"a", -1.0}}, 3, false, "u");
  ASSERT_FALSE(bad_unk.ok());
  EXPECT_EQ(bad_unk.status().message(), "u: model.unk_id 3 is outside the vocab (1 pieces)");
  // Without an unk piece, unknown text is dropped (there is no id to say it with).
  auto no_unk = unigram_model::build({{"a", -1.0}}, -1, false, "u");
  ASSERT_TRUE(no_unk.ok());
  std::vector<int> out;
  no_unk->encode_word("a?a", out);
  EXPECT_EQ(out, (std::vector<int>{0, 0}));
}

TEST(UnigramTokenizer, LongTextIsFast) {
  auto tok = parse_or_die(unigram_json(false));
  ASSERT_NE(tok, nullptr);
  std::string text;
  while (text.size() < 100000) text += "abcxy ab?";
  const auto ids = tok->encode(text, false);
  EXPECT_GT(ids.size(), 40000u);
}

}  // namespace
}  // namespace alisa::model
