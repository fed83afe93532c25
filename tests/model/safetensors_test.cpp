// The safetensors parser against hand-made lying files, plus sharded-index loading.
#include "model/safetensors.hpp"

#include <gtest/gtest.h>

#include "tests/model/status_matchers.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace alisa::model {
namespace {

using alisa::testing::safetensors_bytes;
using alisa::testing::safetensors_image;
using alisa::testing::st_tensor;
using alisa::testing::temp_dir;
using test::message_contains;
using test::text_contains;

absl::StatusOr<tensor_table> parse(const std::string& image) {
  return parse_safetensors(reinterpret_cast<const std::byte*>(image.data()), image.size(), "test.safetensors");
}

std::string data_of(size_t bytes) { return std::string(bytes, '\x01'); }

void expect_error(const std::string& image, const std::string& needle) {
  auto t = parse(image);
  ASSERT_FALSE(t.ok()) << "expected an error mentioning: " << needle;
  EXPECT_TRUE(message_contains(t.status(), needle));
  EXPECT_TRUE(message_contains(t.status(), "test.safetensors"));
}

TEST(Safetensors, ParsesAllSupportedDtypes) {
  const std::string image = safetensors_bytes({{"a", dtype::f32, {2, 2}, {1, 2, 3, 4}},
                                               {"b", dtype::f16, {3}, {0.5f, -1.0f, 2.0f}},
                                               {"c", dtype::bf16, {1, 1}, {-0.25f}}});
  auto t = parse(image);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->tensors.size(), 3u);
  EXPECT_EQ(describe(t->tensors.at("a")), "fp32[2,2]");
  EXPECT_EQ(element_as_float(t->tensors.at("a"), 3), 4.0f);
  EXPECT_EQ(element_as_float(t->tensors.at("b"), 1), -1.0f);
  EXPECT_EQ(element_as_float(t->tensors.at("c"), 0), -0.25f);
}

TEST(Safetensors, RealignsMisalignedTensors) {
  // A header of 9 bytes (legal, unpadded) leaves f32 data at an odd address.
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  float one = 1.0f;
  std::string data(reinterpret_cast<const char*>(&one), 4);
  std::string image(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(image.data(), &n, 8);
  image += header + data;
  auto t = parse(image);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->tensors.at("a").data) % 4, 0u);
  EXPECT_EQ(element_as_float(t->tensors.at("a"), 0), 1.0f);
}

TEST(Safetensors, RejectsHeaderLengthBeyondFile) {
  expect_error(safetensors_image(R"({})", "", 1000), "header length 1000 exceeds the file size");
  expect_error(std::string(4, '\0'), "too short");
}

TEST(Safetensors, RejectsOffsetsBeyondData) {
  expect_error(safetensors_image(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data_of(8)),
               "lie outside the data section");
}

TEST(Safetensors, RejectsSizeMismatch) {
  expect_error(safetensors_image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data_of(8)),
               "tensor w has 8 bytes, but shape [3] of fp32 needs 12");
}

TEST(Safetensors, RejectsOverlappingTensors) {
  expect_error(safetensors_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                 data_of(12)),
               "overlap");
}

// A header length one byte short still parses (the JSON is padded with spaces) and would shift
// every tensor by a byte; the data section must be tiled exactly by the tensors, so the stray
// byte, a gap between tensors and bytes after the last one are all refused.
TEST(Safetensors, RejectsAHeaderLengthOffByOneAGapAndTrailingBytes) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string padded = header;
  while (padded.size() % 8 != 0) padded.push_back(' ');
  ASSERT_GT(padded.size(), header.size()) << "the test needs padding to cut into";
  ASSERT_TRUE(parse(safetensors_image(header, data_of(8))).ok());
  expect_error(safetensors_image(header, data_of(8), static_cast<int64_t>(padded.size()) - 1),
               "data section is 9 bytes but the tensors cover 8");
  expect_error(safetensors_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                 data_of(12)),
               "4 unused bytes before tensor b");
  expect_error(safetensors_image(header, data_of(12)), "data section is 12 bytes but the tensors cover 8");
}

TEST(Safetensors, RejectsUnknownDtypeByName) {
  expect_error(safetensors_image(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data_of(8)),
               "unsupported dtype 'I64'");
}

TEST(Safetensors, RejectsNegativeShapeDuplicateNamesAndBadJson) {
  expect_error(safetensors_image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", ""),
               "non-negative");
  expect_error(safetensors_image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 data_of(8)),
               "appears twice");
  expect_error(safetensors_image(R"({"w": [1, 2)", ""), "not valid JSON");
  expect_error(safetensors_image(R"({"w":{"dtype":"F32","shape":[1]}})", data_of(4)), "data_offsets");
}

// Every prefix and many single-byte corruptions of a valid file must give OK or an error, never a
// crash or an out-of-bounds read (this suite also runs under ASan/UBSan).
TEST(Safetensors, SurvivesTruncationAndCorruption) {
  const std::string image = safetensors_bytes({{"a", dtype::f32, {2, 3}, {1, 2, 3, 4, 5, 6}},
                                               {"b", dtype::bf16, {4}, {1, 2, 3, 4}}});
  for (size_t n = 0; n < image.size(); ++n) {
    auto t = parse(image.substr(0, n));
    EXPECT_FALSE(t.ok()) << "prefix " << n;
  }
  uint64_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::string bad = image;
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    bad[static_cast<size_t>(state >> 33) % bad.size()] = static_cast<char>(state >> 20);
    auto t = parse(bad);
    if (t.ok()) {
      for (const auto& [name, view] : t->tensors) {
        for (int64_t e = 0; e < view.num_elements(); ++e) (void)element_as_float(view, e);
      }
    }
  }
}

TEST(Safetensors, ShardedIndexMergesShards) {
  temp_dir dir;
  alisa::testing::hf_fixture model = alisa::testing::tiny_llama();
  alisa::testing::write_sharded_hf_dir(dir.path(), model, 2);
  auto t = open_safetensors_dir(dir.path());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->tensors.size(), model.tensors.size());
  EXPECT_TRUE(text_contains(t->origin.at(model.tensors[1].name), "model-00002-of-00002.safetensors"));
  for (const st_tensor& s : model.tensors) {
    const tensor_view* v = t->find(s.name);
    ASSERT_NE(v, nullptr) << s.name;
    EXPECT_EQ(v->shape, s.shape);
    EXPECT_EQ(element_as_float(*v, 0), s.values[0]);
  }
}

TEST(Safetensors, ShardedIndexNamingAMissingTensorFails) {
  temp_dir dir;
  alisa::testing::write_safetensors(dir.file("a.safetensors"), {{"x", dtype::f32, {1}, {1.0f}}});
  alisa::testing::write_file(dir.file("model.safetensors.index.json"),
                             R"({"weight_map":{"x":"a.safetensors","y":"a.safetensors"}})");
  auto t = open_safetensors_dir(dir.path());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(message_contains(t.status(), "tensor y in a.safetensors, which lacks it"));
}

}  // namespace
}  // namespace alisa::model
