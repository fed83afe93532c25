#pragma once
// gguf_writer — writes small GGUF files (model/gguf.hpp) for tests: metadata of every value type,
// tensors of any ggml type with their bytes, and the knobs corruption tests turn (a tensor's
// offset, the alignment, the version, raw entries). Little-endian hosts only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace alisa::testing {

class gguf_writer {
 public:
  enum : uint32_t { u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
                    string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12 };

  uint32_t version = 3;
  size_t alignment = 32;  // padding used; write general.alignment yourself to change the reader's

  void set_u32(const std::string& key, uint32_t v) { kv(key, u32, pod(v)); }
  void set_i32(const std::string& key, int32_t v) { kv(key, i32, pod(v)); }
  void set_u64(const std::string& key, uint64_t v) { kv(key, u64, pod(v)); }
  void set_f32(const std::string& key, float v) { kv(key, f32, pod(v)); }
  void set_bool(const std::string& key, bool v) { kv(key, boolean, std::string(1, v ? 1 : 0)); }
  void set_string(const std::string& key, const std::string& v) { kv(key, string, str(v)); }
  void set_strings(const std::string& key, const std::vector<std::string>& v) {
    std::string body = pod(uint32_t{string}) + pod(uint64_t{v.size()});
    for (const auto& s : v) body += str(s);
    kv(key, array, body);
  }
  void set_f32s(const std::string& key, const std::vector<float>& v) { kv(key, array, pod_array(f32, v)); }
  void set_i32s(const std::string& key, const std::vector<int32_t>& v) { kv(key, array, pod_array(i32, v)); }
  // Any entry, value bytes as given (corruption tests).
  void kv(const std::string& key, uint32_t type, const std::string& value_bytes) {
    metadata_ += str(key) + pod(type) + value_bytes;
    ++num_kv_;
  }

  // A tensor; dims[0] fastest. offset < 0: placed after the previous one, aligned.
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t ggml_type,
                  const std::string& bytes, int64_t offset = -1) {
    tensors_.push_back({name, std::move(dims), ggml_type, bytes, offset});
  }

  std::string bytes() const {
    std::string out = "GGUF" + pod(version) + pod(uint64_t{tensors_.size()}) + pod(num_kv_) + metadata_;
    std::string data;
    for (const auto& t : tensors_) {
      while (data.size() % alignment) data.push_back('\0');
      const uint64_t at = t.offset >= 0 ? static_cast<uint64_t>(t.offset) : data.size();
      out += str(t.name) + pod(static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) out += pod(d);
      out += pod(t.type) + pod(at);
      if (data.size() < at + t.bytes.size()) data.resize(at + t.bytes.size());
      std::memcpy(data.data() + at, t.bytes.data(), t.bytes.size());
    }
    while (out.size() % alignment) out.push_back('\0');
    return out + data;
  }

  template <class T>
  static std::string pod(T v) {
    std::string s(sizeof(T), '\0');
    std::memcpy(s.data(), &v, sizeof(T));
    return s;
  }
  static std::string str(const std::string& s) { return pod(uint64_t{s.size()}) + s; }

  // `n` floats (a multiple of 32) as Q8_0 blocks: per 32, an f16 scale max|x|/127 and the int8
  // values rounded to nearest, as llama.cpp quantises.
  static std::string q8_0(const float* x, size_t n, uint16_t (*to_f16)(float)) {
    std::string out;
    for (size_t b = 0; b < n; b += 32) {
      float amax = 0;
      for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b + j]));
      const float d = amax / 127.0f;
      out += pod(to_f16(d));
      for (size_t j = 0; j < 32; ++j)
        out.push_back(static_cast<char>(static_cast<int8_t>(d == 0 ? 0 : std::lround(x[b + j] / d))));
    }
    return out;
  }

  // `n` floats (a multiple of 32) as Q4_0 blocks: per 32, an f16 scale d = max|x|/7 and 4-bit
  // q = round(x/d) + 8 clamped to [0, 15], element j in the low nibble of byte j (j < 16) and
  // element j + 16 in its high nibble, as GGUF lays Q4_0 out.
  static std::string q4_0(const float* x, size_t n, uint16_t (*to_f16)(float)) {
    std::string out;
    for (size_t b = 0; b < n; b += 32) {
      float amax = 0;
      for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b + j]));
      const float d = amax / 7.0f;
      out += pod(to_f16(d));
      auto code = [&](size_t j) {
        return static_cast<unsigned>(std::clamp<long>(d == 0 ? 8 : std::lround(x[b + j] / d) + 8, 0, 15));
      };
      for (size_t j = 0; j < 16; ++j) out.push_back(static_cast<char>(code(j) | (code(j + 16) << 4)));
    }
    return out;
  }

 private:
  template <class T>
  static std::string pod_array(uint32_t type, const std::vector<T>& v) {
    std::string body = pod(type) + pod(uint64_t{v.size()});
    for (const T& x : v) body += pod(x);
    return body;
  }
  struct tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string bytes;
    int64_t offset;
  };
  std::string metadata_;
  uint64_t num_kv_ = 0;
  std::vector<tensor> tensors_;
};

}  // namespace alisa::testing
