// Llama-2-style tokenizer.json (SentencePiece BPE converted to Hugging Face's format) against the
// real thing: Meta's Llama-2 tokenizer.model run through libsentencepiece. The tokenizer.json is
// built here from that model the way transformers' LlamaConverter builds it: vocab = pieces by id,
// merges = for every piece every split into two vocab pieces, ordered by the merged piece's
// score (highest first; ties by merged id, then the parts' ids), byte_fallback, and the
// normalizer / post-processor / decoder blocks of the published Llama-2 tokenizer.json.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/tokenizer.hpp"
#include "model/tokenizer_formats.hpp"
#include "tests/model/tokenizer_test_util.hpp"
#include "tests/support/shared_models.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;
using ::alisa::testing::shared_model_path;

constexpr const char* kModel = "llama2-tokenizer/tokenizer.model";
const std::string kMark = "\xE2\x96\x81";  // "▁"

struct sp_piece {
  std::string text;
  float score = 0;
  int type = 1;  // ModelProto.SentencePiece.Type: 1 normal, 2 unknown, 3 control, 6 byte
};

// ---- a minimal protobuf reader for ModelProto.pieces (field 1) -------------------------------

std::uint64_t varint(std::string_view& in) {
  std::uint64_t value = 0;
  for (int shift = 0; !in.empty() && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    value |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  return value;
}

// Reads one field: returns its number; `bytes` gets a length-delimited payload, `number` a scalar.
int next_field(std::string_view& in, std::string_view& bytes, std::uint64_t& number) {
  const std::uint64_t key = varint(in);
  const int wire = static_cast<int>(key & 7);
  if (wire == 0) number = varint(in);
  if (wire == 5) {
    std::uint32_t raw = 0;
    std::memcpy(&raw, in.data(), 4);
    number = raw;
    in.remove_prefix(4);
  }
  if (wire == 1) in.remove_prefix(8);
  if (wire == 2) {
    const auto len = static_cast<std::size_t>(varint(in));
    bytes = in.substr(0, len);
    in.remove_prefix(len);
  }
  return static_cast<int>(key >> 3);
}

std::vector<sp_piece> read_pieces(const std::string& proto) {
  std::vector<sp_piece> pieces;
  std::string_view in(proto);
  while (!in.empty()) {
    std::string_view bytes;
    std::uint64_t number = 0;
    if (next_field(in, bytes, number) != 1) continue;
    sp_piece piece;
    while (!bytes.empty()) {
      std::string_view text;
      std::uint64_t value = 0;
      const int field = next_field(bytes, text, value);
      if (field == 1) piece.text = std::string(text);
      if (field == 2) {
        const auto raw = static_cast<std::uint32_t>(value);
        std::memcpy(&piece.score, &raw, 4);
      }
      if (field == 3) piece.type = static_cast<int>(value);
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

// ---- the conversion --------------------------------------------------------------------------

std::vector<std::size_t> code_point_starts(const std::string& s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  return starts;
}

json llama2_merges(const std::vector<sp_piece>& pieces) {
  std::unordered_map<std::string, int> ids;
  for (std::size_t id = 0; id < pieces.size(); ++id) ids.emplace(pieces[id].text, static_cast<int>(id));
  struct merge {
    int left, right, merged;
    float score;
  };
  std::vector<merge> merges;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    const std::string& piece = pieces[id].text;
    const float score = id < 3 ? 0.0f : pieces[id].score;  // the converter zeroes unk/bos/eos
    for (std::size_t cut : code_point_starts(piece)) {
      if (cut == 0) continue;
      auto left = ids.find(piece.substr(0, cut));
      auto right = ids.find(piece.substr(cut));
      if (left != ids.end() && right != ids.end())
        merges.push_back({left->second, right->second, static_cast<int>(id), score});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const merge& a, const merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.merged != b.merged) return a.merged < b.merged;
    return std::pair(a.left, a.right) < std::pair(b.left, b.right);
  });
  json out = json::array();
  for (const merge& m : merges) out.push_back(json::array({pieces[m.left].text, pieces[m.right].text}));
  return out;
}

json special(int id, const std::string& content) {
  return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},   {"normalized", false}, {"special", true}};
}

// The blocks of meta-llama/Llama-2-7b-hf's tokenizer.json ("legacy" flavour).
json llama2_tokenizer_json(const std::vector<sp_piece>& pieces) {
  json vocab = json::object();
  for (std::size_t id = 0; id < pieces.size(); ++id) vocab[pieces[id].text] = id;
  json tok;
  tok["version"] = "1.0";
  tok["truncation"] = nullptr;
  tok["padding"] = nullptr;
  tok["added_tokens"] = json::array({special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")});
  tok["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers", json::array({json{{"type", "Prepend"}, {"prepend", kMark}},
                                   json{{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMark}}})}};
  tok["pre_tokenizer"] = nullptr;
  tok["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({json{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
  tok["decoder"] = {
      {"type", "Sequence"},
      {"decoders", json::array({json{{"type", "Replace"}, {"pattern", {{"String", kMark}}}, {"content", " "}},
                                json{{"type", "ByteFallback"}}, json{{"type", "Fuse"}},
                                json{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  tok["model"] = {{"type", "BPE"},           {"dropout", nullptr},     {"unk_token", "<unk>"},
                  {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                  {"fuse_unk", true},        {"byte_fallback", true},  {"vocab", vocab},
                  {"merges", llama2_merges(pieces)}};
  return tok;
}

// The newer ("legacy": false, Mistral-like) flavour: no normalizer and a Metaspace pre-tokenizer
// that prepends "▁" to the first section only; the decoder stays the same.
json metaspace_flavour(json tok) {
  tok["normalizer"] = nullptr;
  tok["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", kMark}, {"prepend_scheme", "first"},
                          {"split", false}};
  return tok;
}

const std::vector<std::string> kTexts = {
    "Hello world",
    "a",
    "The quick brown fox jumps over the lazy dog.",
    " leading space",
    "   three leading spaces",
    "multiple   spaces\tand\ttabs\n\nnew lines\r\n",
    "line one\nline two\n\n\nline five",
    "trailing spaces   ",
    "Ünïcödé àccénts: café, naïve, Ångström, façade, Ελληνικά, Кириллица",
    "中文测试：你好，世界！日本語のテキスト。한국어",
    "Emoji 🎉🚀👍🏽 and flags 🇫🇷 and family 👨‍👩‍👧",
    "Combining: e\xCC\x81 a\xCC\x8A o\xCC\x88\xCC\x81",
    "Numbers 1234567890, 3.14159, -42, 1e10 and symbols <>{}[]()#$%^&*~`|\\/",
    "it's don't I'm we'll they've",
    "def f(x):\n    return x ** 2  # code\n",
    "🦙 Llama-2 tokenizer.json ≈ SentencePiece ✓",
};

class Llama2TokenizerJson : public ::testing::Test {
 protected:
  void SetUp() override {
    ALISA_REQUIRE_SHARED_MODEL(kModel);
    const std::string model_path = shared_model_path(kModel);
    auto sp = load_sentencepiece_tokenizer(model_path, 32000);
    ASSERT_TRUE(sp.ok()) << sp.status();
    sp_ = std::move(*sp);
    pieces_ = read_pieces(alisa::testing::read_file(model_path));
    ASSERT_EQ(pieces_.size(), 32000u);
    ASSERT_EQ(pieces_[1].text, "<s>");
    ASSERT_EQ(pieces_[3].text, "<0x00>");
    json_ = llama2_tokenizer_json(pieces_);
  }

  std::unique_ptr<tokenizer> parse(const json& j) const {
    auto tok = parse_hf_tokenizer(j.dump(), "llama2/tokenizer.json", 32000);
    EXPECT_TRUE(tok.ok()) << tok.status();
    return tok.ok() ? std::move(*tok) : nullptr;
  }

  std::unique_ptr<tokenizer> sp_;
  std::vector<sp_piece> pieces_;
  json json_;
};

TEST_F(Llama2TokenizerJson, EncodesLikeSentencePiece) {
  auto hf = parse(json_);
  ASSERT_NE(hf, nullptr);
  EXPECT_EQ(hf->name(), "hf-bpe");
  EXPECT_EQ(hf->vocab_size(), 32000);
  EXPECT_EQ(hf->bos_id(), 1);
  EXPECT_EQ(hf->eos_id(), 2);
  std::string all;
  for (const auto& text : kTexts) all += text;
  auto texts = kTexts;
  texts.push_back(all);
  for (const auto& text : texts) {
    for (bool bos : {false, true}) {
      const auto expected = sp_->encode(text, bos);
      const auto ids = hf->encode(text, bos);
      EXPECT_EQ(ids, expected) << "text: " << text;
      EXPECT_EQ(hf->decode(ids), sp_->decode(expected)) << "text: " << text;
      EXPECT_EQ(hf->decode(ids), text);
    }
  }
  // Spot checks against the published Llama-2 ids.
  EXPECT_EQ(hf->encode("Hello world", true), (std::vector<int>{1, 15043, 3186}));
  EXPECT_EQ(hf->encode("\n", false), (std::vector<int>{29871, 13}));  // "▁" then <0x0A>
}

TEST_F(Llama2TokenizerJson, EmojiFallsBackToUtf8ByteTokens) {
  auto hf = parse(json_);
  ASSERT_NE(hf, nullptr);
  // U+1F999 🦙 is not a piece: its four UTF-8 bytes F0 9F A6 99 become <0xF0>... = id byte + 3.
  const auto ids = hf->encode("🦙", false);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(std::vector<int>(ids.end() - 4, ids.end()), (std::vector<int>{0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0x99 + 3}));
  EXPECT_EQ(ids, sp_->encode("🦙", false));
  // Streaming the byte tokens one by one still reassembles the emoji.
  utf8_stream stream;
  std::string text;
  int previous = -1;
  for (int id : ids) {
    text += stream.push(hf->token_bytes(previous, id));
    previous = id;
  }
  EXPECT_EQ(text + stream.flush(), "🦙");
}

TEST_F(Llama2TokenizerJson, WithoutByteFallbackUnknownsBecomeOneUnk) {
  json j = json_;
  j["model"]["byte_fallback"] = false;
  auto hf = parse(j);
  ASSERT_NE(hf, nullptr);
  // fuse_unk: the two unknown emoji in a row are one <unk> (id 0).
  const auto ids = hf->encode("a🦙🦙b", false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 0), 1) << ::testing::PrintToString(ids);
  EXPECT_EQ(ids, (std::vector<int>{sp_->encode("a", false)[0], 0, ids.back()}));
}

// The Metaspace flavour agrees with SentencePiece except where Hugging Face's Metaspace differs
// by design: a text that already starts with a space gets no extra "▁" (SentencePiece adds its
// dummy prefix anyway), so " leading" is "▁leading" here but "▁▁leading" there.
TEST_F(Llama2TokenizerJson, MetaspaceFlavourEncodesLikeSentencePiece) {
  auto hf = parse(metaspace_flavour(json_));
  ASSERT_NE(hf, nullptr);
  for (const auto& text : kTexts) {
    const auto ids = hf->encode(text, true);
    EXPECT_EQ(hf->decode(ids), text.front() == ' ' ? text.substr(1) : text) << "text: " << text;
    if (text.front() == ' ') continue;
    EXPECT_EQ(ids, sp_->encode(text, true)) << "text: " << text;
  }
  const auto sp_ids = sp_->encode(" leading", false);
  const auto hf_ids = hf->encode(" leading", false);
  EXPECT_NE(hf_ids, sp_ids);
  EXPECT_EQ(hf_ids, sp_->encode("leading", false));
}

TEST_F(Llama2TokenizerJson, SpecialTokensInTextAndAfterThem) {
  auto hf = parse(json_);
  ASSERT_NE(hf, nullptr);
  // Added tokens are cut out of the raw text; the text after one is normalized on its own, so
  // it gets its own "▁" prefix (Hugging Face's legacy Llama behaviour).
  const auto ids = hf->encode("Hi</s>there", false);
  const auto hi = sp_->encode("Hi", false);
  const auto there = sp_->encode("there", false);
  std::vector<int> expected = hi;
  expected.push_back(2);
  expected.insert(expected.end(), there.begin(), there.end());
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(hf->decode(ids), "Hi there");  // </s> is special: no text
}

TEST_F(Llama2TokenizerJson, LoadTokenizerUsesTheJsonAndFallsBackForUnsupportedOnes) {
  const auto dir = alisa::testing::tokenizer_scratch_dir();
  alisa::testing::write_file(dir / "tokenizer.json", json_.dump());
  std::filesystem::copy_file(shared_model_path(kModel), dir / "tokenizer.model");
  auto tok = load_tokenizer((dir / "tokenizer.json").string(), 32000);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->name(), "hf-bpe");
  EXPECT_EQ((*tok)->encode("Hello world", true), (std::vector<int>{1, 15043, 3186}));
  // A normalizer alisa cannot reproduce: the sibling tokenizer.model is used instead...
  json nfkc = json_;
  nfkc["normalizer"] = {{"type", "NFKC"}};
  alisa::testing::write_file(dir / "tokenizer.json", nfkc.dump());
  tok = load_tokenizer((dir / "tokenizer.json").string(), 32000);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->name(), "sentencepiece");
  // ...and without one, the refusal names the normalizer.
  std::filesystem::remove(dir / "tokenizer.model");
  tok = load_tokenizer((dir / "tokenizer.json").string(), 32000);
  ASSERT_FALSE(tok.ok());
  EXPECT_TRUE(absl::IsUnimplemented(tok.status()));
  EXPECT_EQ(tok.status().message(), (dir / "tokenizer.json").string() + ": normalizer NFKC is not supported");
}

}  // namespace
}  // namespace alisa::model
