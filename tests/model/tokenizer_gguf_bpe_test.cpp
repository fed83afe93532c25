// A GGUF file's "gpt2" vocabulary (tokens, merges, token types, bos/eos, tokenizer.ggml.pre) builds
// the same byte-level BPE tokenizer as the equivalent tokenizer.json.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/byte_level.hpp"
#include "model/tokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/model/tokenizer_test_util.hpp"
#include "tests/support/gguf_writer.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;
using alisa::testing::gguf_writer;

const std::string kG = "\xC4\xA0";  // "Ġ", the byte-level space

// Ids 0..255: the bytes; then merged pieces; then <|endoftext|> (control) and <|user|> (user-defined).
struct vocab_fixture {
  std::vector<std::string> tokens;
  std::vector<std::string> merges;  // "left right"
  std::vector<int32_t> types;
  int endoftext = -1;
  int user = -1;

  vocab_fixture() {
    for (int b = 0; b < 256; ++b) tokens.push_back(byte_level::encode(std::string(1, static_cast<char>(b))));
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {kG, "w"}, {"o", "r"},
        {kG + "w", "or"}, {"l", "d"}, {kG + "wor", "ld"}, {"1", "2"}, {"12", "3"}, {kG, "h"}};
    for (const auto& [a, b] : pairs) {
      tokens.push_back(a + b);
      merges.push_back(a + " " + b);
    }
    types.assign(tokens.size(), 1);
    endoftext = static_cast<int>(tokens.size());
    tokens.push_back("<|endoftext|>");
    types.push_back(3);
    user = static_cast<int>(tokens.size());
    tokens.push_back("<|user|>");
    types.push_back(4);
  }

  gguf_writer writer(const std::string& pre) const {
    gguf_writer w;
    w.set_string("general.architecture", "gpt2");
    w.set_string("tokenizer.ggml.model", "gpt2");
    if (!pre.empty()) w.set_string("tokenizer.ggml.pre", pre);
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_strings("tokenizer.ggml.merges", merges);
    w.set_i32s("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(endoftext));
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(endoftext));
    return w;
  }

  json tokenizer_json(const json& pre_tokenizer) const {
    json vocab = json::object();
    for (std::size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
    json tok;
    tok["added_tokens"] = json::array({
        {{"id", endoftext}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}},
        {{"id", user}, {"content", "<|user|>"}, {"special", false}, {"normalized", false}},
    });
    tok["pre_tokenizer"] = pre_tokenizer;
    tok["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
    return tok;
  }
};

const std::vector<std::string> kTexts = {
    "hello world", "hello  world\n\nworld!", " hello", "12345 123 1 22",
    "hi<|endoftext|>hello<|user|> world", "héllo wörld 中文 🎉", "it's HELLO World's", ""};

std::string write_gguf(const gguf_writer& w) {
  const auto path = alisa::testing::tokenizer_scratch_dir() / "vocab.gguf";
  alisa::testing::write_file(path, w.bytes());
  return path.string();
}

void expect_same_encoding(const tokenizer& a, const tokenizer& b) {
  for (const auto& text : kTexts) {
    EXPECT_EQ(a.encode(text, false), b.encode(text, false)) << "text: " << text;
    EXPECT_EQ(a.decode(a.encode(text, false)), b.decode(b.encode(text, false))) << "text: " << text;
  }
}

TEST(GgufGpt2Vocab, EncodesLikeTheTokenizerJson) {
  const vocab_fixture v;
  auto gguf = load_tokenizer(write_gguf(v.writer("gpt-2")), 0);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  auto hf = parse_hf_tokenizer(v.tokenizer_json({{"type", "ByteLevel"}, {"add_prefix_space", false}}).dump(), "t.json", 0);
  ASSERT_TRUE(hf.ok()) << hf.status();
  EXPECT_EQ((*gguf)->name(), "hf-bpe");
  EXPECT_EQ((*gguf)->vocab_size(), v.user + 1);
  EXPECT_EQ((*gguf)->bos_id(), v.endoftext);
  EXPECT_EQ((*gguf)->eos_id(), v.endoftext);
  expect_same_encoding(**gguf, **hf);
  // "hello" is one merged token; " world" is "Ġworld"; the control token is cut out of the text
  // and decodes to nothing, the user-defined one to its text.
  const int hello = 259, gworld = 264;
  EXPECT_EQ((*gguf)->encode("hello world", false), (std::vector<int>{hello, gworld}));
  EXPECT_EQ((*gguf)->encode("hello<|endoftext|><|user|>", true),
            (std::vector<int>{v.endoftext, hello, v.endoftext, v.user}));
  EXPECT_EQ((*gguf)->decode({hello, v.endoftext, v.user, gworld}), "hello<|user|> world");
  for (const auto& text : kTexts) {
    if (text.find("<|endoftext|>") == std::string::npos) {
      EXPECT_EQ((*gguf)->decode((*gguf)->encode(text, true)), text);
    }
  }
}

TEST(GgufGpt2Vocab, PreNamesSelectTheSplit) {
  const vocab_fixture v;
  const json llama3_split = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({json{{"type", "Split"},
                         {"pattern",
                          {{"Regex",
                            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                         {"behavior", "Isolated"}},
                    json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  json hf_json = v.tokenizer_json(llama3_split);
  hf_json["model"]["ignore_merges"] = true;  // Llama-3's files say so; llama.cpp does the same
  auto hf = parse_hf_tokenizer(hf_json.dump(), "t.json", 0);
  ASSERT_TRUE(hf.ok()) << hf.status();
  for (const char* pre : {"llama-bpe", "llama3"}) {
    auto gguf = load_gguf_tokenizer(write_gguf(v.writer(pre)), 0);
    ASSERT_TRUE(gguf.ok()) << gguf.status();
    expect_same_encoding(**gguf, **hf);
  }
  // Llama-3 splits digits in threes where GPT-2 keeps the run: "12345" -> "123" "45".
  auto llama = load_gguf_tokenizer(write_gguf(v.writer("llama-bpe")), 0);
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ((*llama)->encode("12345", false), (std::vector<int>{266, '4', '5'}));
}

TEST(GgufGpt2Vocab, AddBosTokenFalseMeansNoBos) {
  const vocab_fixture v;
  auto w = v.writer("gpt-2");
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  auto tok = load_gguf_tokenizer(write_gguf(w), 0);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->bos_id(), -1);
  EXPECT_EQ((*tok)->eos_id(), v.endoftext);
  EXPECT_EQ((*tok)->encode("hello", true), (std::vector<int>{259}));
}

TEST(GgufGpt2Vocab, RefusalsAndCorruptionNameTheKey) {
  const vocab_fixture v;
  auto check = [](const gguf_writer& w, const std::string& needle, bool unimplemented) {
    const std::string path = write_gguf(w);
    auto tok = load_gguf_tokenizer(path, 0);
    ASSERT_FALSE(tok.ok()) << needle;
    EXPECT_EQ(std::string(tok.status().message()), path + ": " + needle);
    EXPECT_EQ(absl::IsUnimplemented(tok.status()), unimplemented) << needle;
  };
  check(v.writer("default"),
        "tokenizer.ggml.pre 'default' is not supported (gpt-2, phi-2, llama3, llama-v3, llama-bpe, qwen2); "
        "pass --tokenizer", true);
  check(v.writer(""), "tokenizer.ggml.pre is missing (llama.cpp's 'default' split is not supported); pass --tokenizer",
        true);
  {
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    check(w, "tokenizer.ggml.merges is missing or not an array", false);
  }
  {
    auto w = v.writer("gpt-2");
    w.set_strings("tokenizer.ggml.merges", {"zz yy"});  // a later duplicate key is refused by the parser
    const std::string path = write_gguf(w);
    EXPECT_FALSE(load_gguf_tokenizer(path, 0).ok());
  }
  {
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    w.set_strings("tokenizer.ggml.merges", {"h e", "q zz"});
    check(w, "tokenizer.ggml.merges[1] uses a token not in the vocab", false);
  }
  {
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    w.set_strings("tokenizer.ggml.merges", {"he"});
    check(w, "tokenizer.ggml.merges[0] is not \"left right\"", false);
  }
  {
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    w.set_strings("tokenizer.ggml.merges", v.merges);
    w.set_i32s("tokenizer.ggml.token_type", {1, 1});
    check(w, "tokenizer.ggml.token_type does not match the tokens", false);
  }
  {
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "bert");
    check(w, "GGUF tokenizer model 'bert' is not supported yet (only 'llama' and 'gpt2'); pass --tokenizer", true);
  }
  // More tokens than the model's embedding rows.
  const std::string path = write_gguf(v.writer("gpt-2"));
  auto small = load_gguf_tokenizer(path, 100);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().message(), path + ": tokenizer has " + std::to_string(v.user + 1) + " tokens, model expects 100");
}

}  // namespace
}  // namespace alisa::model
