// The parts of Hugging Face's pipeline around the model: added tokens (lstrip, rstrip,
// single_word, normalized), normalizers, and the one-line errors for odd or unsupported files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/hf_normalizer.hpp"
#include "model/metaspace.hpp"
#include "model/tokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/model/status_matchers.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;
using test::message_contains;

const std::string kMark = "\xE2\x96\x81";

// Unigram, one piece per character: 0 <unk>, 1 a, 2 b, 3 " ", 4 ▁, 5 "<mask>" (added, special).
json small_json(const json& mask) {
  json tok;
  json token = mask;
  token["id"] = 5;
  token["content"] = "<mask>";
  token["special"] = true;
  tok["added_tokens"] = json::array({token});
  tok["normalizer"] = nullptr;
  tok["pre_tokenizer"] = nullptr;
  tok["decoder"] = nullptr;
  tok["model"] = {{"type", "Unigram"},
                  {"unk_id", 0},
                  {"vocab", json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}),
                                         json::array({"b", -1.0}), json::array({" ", -1.0}),
                                         json::array({kMark, -1.0}), json::array({"<mask>", -1.0})})}};
  return tok;
}

std::vector<int> encode(const json& j, std::string_view text) {
  auto tok = parse_hf_tokenizer(j.dump(), "t.json", 0);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? (*tok)->encode(text, false) : std::vector<int>{};
}

TEST(HfAddedTokens, LstripAndRstripSwallowAdjacentWhitespace) {
  EXPECT_EQ(encode(small_json(json::object()), "a <mask> b"), (std::vector<int>{1, 3, 5, 3, 2}));
  EXPECT_EQ(encode(small_json({{"lstrip", true}}), "a <mask> b"), (std::vector<int>{1, 5, 3, 2}));
  EXPECT_EQ(encode(small_json({{"rstrip", true}}), "a <mask> b"), (std::vector<int>{1, 3, 5, 2}));
  EXPECT_EQ(encode(small_json({{"lstrip", true}, {"rstrip", true}}), "a  <mask>\t\n b"),
            (std::vector<int>{1, 5, 2}));
  // lstrip never reaches back into a previous token.
  EXPECT_EQ(encode(small_json({{"lstrip", true}, {"rstrip", true}}), "<mask>  <mask>"),
            (std::vector<int>{5, 5}));
}

TEST(HfAddedTokens, SingleWordOnlyMatchesAWholeWord) {
  const json j = small_json({{"single_word", true}});
  EXPECT_EQ(encode(j, "a <mask> b"), (std::vector<int>{1, 3, 5, 3, 2}));
  EXPECT_EQ(encode(j, "<mask>"), (std::vector<int>{5}));
  // Glued to "a": not a match, so "<mask>" is plain text (here the vocab has it as a piece).
  EXPECT_EQ(encode(j, "a<mask>"), (std::vector<int>{1, 5}));
  EXPECT_EQ(encode(j, "a<mask>b<"), (std::vector<int>{1, 5, 2, 0}));
}

TEST(HfAddedTokens, NormalizedTokensAreMatchedAfterTheNormalizer) {
  // Llama-2's legacy normalizer turns spaces into "▁" and prepends one. A normalized=false token
  // is cut from the raw text first; a normalized=true one is matched by its normalized content.
  json j = small_json({{"normalized", false}});
  j["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", json::array({json{{"type", "Prepend"}, {"prepend", kMark}},
                                                  json{{"type", "Replace"},
                                                       {"pattern", {{"String", " "}}},
                                                       {"content", kMark}}})}};
  // "a " | <mask> | "b": each plain section is normalized on its own ("▁a▁", "▁b").
  EXPECT_EQ(encode(j, "a <mask>b"), (std::vector<int>{4, 1, 4, 5, 4, 2}));
  j["added_tokens"][0]["normalized"] = true;
  j["added_tokens"][0]["content"] = "a b";  // normalized content: "▁a▁b"
  EXPECT_EQ(encode(j, "a b"), (std::vector<int>{5}));
  EXPECT_EQ(encode(j, "b a b"), (std::vector<int>{4, 2, 5}));  // "▁b" | "▁a▁b"
  EXPECT_EQ(encode(j, "ba b"), (std::vector<int>{4, 2, 1, 4, 2}));  // "▁ba▁b": no "▁a▁b" in it
}

TEST(HfNormalizer, SupportedSteps) {
  auto parse = [](const json& j) {
    auto n = parse_hf_normalizer(j, "t.json");
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : hf_normalizer();
  };
  EXPECT_EQ(parse({{"type", "Lowercase"}}).apply("HeLLo ÀÉÎ ΣΑ ДОМ Łódź"), "hello àéî σα дом łódź");
  EXPECT_EQ(parse({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}).apply(" \t a b \n"), "a b");
  EXPECT_EQ(parse({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}).apply("  a  "), "  a");
  EXPECT_EQ(parse({{"type", "Prepend"}, {"prepend", kMark}}).apply("x"), kMark + "x");
  EXPECT_EQ(parse({{"type", "Prepend"}, {"prepend", kMark}}).apply(""), "");
  EXPECT_EQ(parse({{"type", "Replace"}, {"pattern", {{"String", "  "}}}, {"content", " "}}).apply("a    b"), "a  b");
  EXPECT_TRUE(parse({{"type", "NFC"}}).is_identity());  // documented: input assumed composed
  EXPECT_TRUE(parse({{"type", "Precompiled"}, {"precompiled_charsmap", ""}}).is_identity());
  EXPECT_TRUE(parse(nullptr).is_identity());
  const json seq = {{"type", "Sequence"},
                    {"normalizers", json::array({json{{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                                                 json{{"type", "Lowercase"}}})}};
  EXPECT_EQ(parse(seq).apply("  ABC "), "abc");
}

TEST(Metaspace, PrependSchemesAndSplit) {
  metaspace_options always;
  EXPECT_EQ(metaspace_pre_tokenize("Hey  you", always, false),
            (std::vector<std::string>{kMark + "Hey", kMark, kMark + "you"}));
  EXPECT_EQ(metaspace_pre_tokenize(" Hey", always, true), (std::vector<std::string>{kMark + "Hey"}));
  metaspace_options first{kMark, metaspace_options::prepend::first, false};
  EXPECT_EQ(metaspace_pre_tokenize("a b", first, true), (std::vector<std::string>{kMark + "a" + kMark + "b"}));
  EXPECT_EQ(metaspace_pre_tokenize("a b", first, false), (std::vector<std::string>{"a" + kMark + "b"}));
  metaspace_options never{kMark, metaspace_options::prepend::never, true};
  EXPECT_EQ(metaspace_pre_tokenize("a b", never, true), (std::vector<std::string>{"a", kMark + "b"}));
}

// Every refusal and every malformed file: a Status with one line naming the file and the part.
TEST(HfTokenizerJson, OddAndUnsupportedFilesGiveOneLineErrors) {
  struct odd_case {
    const char* what;
    json file;
    std::string message;
    bool unimplemented;
  };
  auto with = [](const char* key, json value) {
    json j = small_json(json::object());
    j[key] = std::move(value);
    return j;
  };
  auto with_model = [](const char* key, json value) {
    json j = small_json(json::object());
    j["model"][key] = std::move(value);
    return j;
  };
  json no_model = small_json(json::object());
  no_model.erase("model");
  const std::vector<odd_case> cases = {
      {"no model", no_model, "t.json: \"model\" is missing", false},
      {"model not object", with("model", 7), "t.json: \"model\" is missing", false},
      {"WordPiece", with_model("type", "WordPiece"), "t.json: model type WordPiece is not supported (only BPE and Unigram)", true},
      {"vocab type", with_model("vocab", 5), "t.json: model.vocab is missing or not an array", false},
      {"vocab entry", with_model("vocab", json::array({json::array({"a", "x"})})),
       "t.json: model.vocab[0] is not a [piece, score] pair", false},
      {"unk type", with_model("unk_id", "zero"), "t.json: model.unk_id is not a valid id", false},
      {"unk range", with_model("unk_id", 99), "t.json: model.unk_id 99 is outside the vocab (6 pieces)", false},
      {"NFKC", with("normalizer", {{"type", "NFKC"}}), "t.json: normalizer NFKC is not supported", true},
      {"NFD in a sequence",
       with("normalizer", {{"type", "Sequence"}, {"normalizers", json::array({json{{"type", "NFD"}}})}}),
       "t.json: normalizer NFD is not supported", true},
      {"regex replace", with("normalizer", {{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", " "}}),
       "t.json: normalizer Replace with a Regex pattern is not supported", true},
      {"precompiled", with("normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", "ALQCAACEAAAA"}}),
       "t.json: normalizer Precompiled (a SentencePiece charsmap) is not supported", true},
      {"normalizer type", with("normalizer", 42), "t.json: normalizer has no \"type\"", false},
      {"sequence list", with("normalizer", {{"type", "Sequence"}, {"normalizers", "x"}}),
       "t.json: normalizer.normalizers is missing or not an array", false},
      {"decoder", with("decoder", {{"type", "WordPiece"}}), "t.json: decoder WordPiece is not supported", true},
      {"decoder strip stop", with("decoder", {{"type", "Strip"}, {"content", " "}, {"start", 0}, {"stop", 1}}),
       "t.json: decoder Strip with stop > 0 is not supported", true},
      {"decoder type", with("decoder", "Metaspace"), "t.json: decoder has no \"type\"", false},
      {"pre_tokenizer", with("pre_tokenizer", {{"type", "Whitespace"}}), "t.json: unsupported pre_tokenizer \"Whitespace\"", true},
      {"prepend scheme", with("pre_tokenizer", {{"type", "Metaspace"}, {"prepend_scheme", "sometimes"}}),
       "t.json: Metaspace prepend_scheme \"sometimes\" is unknown", false},
      {"metaspace split type", with("pre_tokenizer", {{"type", "Metaspace"}, {"split", "yes"}}),
       "t.json: Metaspace add_prefix_space/split must be booleans", false},
      {"added token", with("added_tokens", json::array({json{{"id", "x"}, {"content", "<m>"}}})),
       "t.json: added_tokens[0] has no valid id/content", false},
      {"added tokens type", with("added_tokens", "all"), "t.json: added_tokens is not an array", false},
  };
  for (const auto& c : cases) {
    auto tok = parse_hf_tokenizer(c.file.dump(), "t.json", 0);
    ASSERT_FALSE(tok.ok()) << c.what;
    EXPECT_EQ(tok.status().message(), c.message) << c.what;
    EXPECT_EQ(absl::IsUnimplemented(tok.status()), c.unimplemented) << c.what;
    EXPECT_EQ(std::string(tok.status().message()).find('\n'), std::string::npos) << c.what;
  }
}

TEST(HfTokenizerJson, OddBpeModels) {
  json bpe = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", json::array({"a b"})}}}};
  auto ok = parse_hf_tokenizer(bpe.dump(), "b.json", 0);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->encode("abab", false), (std::vector<int>{2, 2}));
  EXPECT_EQ((*ok)->decode({2, 0}), "aba");  // no decoder block: pieces as spelled
  json prefix = bpe;
  prefix["model"]["continuing_subword_prefix"] = "##";
  auto refused = parse_hf_tokenizer(prefix.dump(), "b.json", 0);
  EXPECT_TRUE(absl::IsUnimplemented(refused.status()));
  EXPECT_EQ(refused.status().message(), "b.json: model.continuing_subword_prefix is not supported");
  json bad_merge = bpe;
  bad_merge["model"]["merges"] = json::array({"a c"});
  EXPECT_EQ(parse_hf_tokenizer(bad_merge.dump(), "b.json", 0).status().message(),
            "b.json: model.merges[0] uses a token not in the vocab");
  bad_merge["model"]["merges"] = json::array({42});
  EXPECT_EQ(parse_hf_tokenizer(bad_merge.dump(), "b.json", 0).status().message(), "b.json: model.merges[0] is malformed");
  json empty = {{"model", {{"type", "BPE"}, {"vocab", json::object()}}}};
  EXPECT_EQ(parse_hf_tokenizer(empty.dump(), "b.json", 0).status().message(), "b.json: the tokenizer has no tokens");
}

}  // namespace
}  // namespace alisa::model
