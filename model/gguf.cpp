#include "model/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"

namespace alisa::model {
namespace {

enum value_type : uint32_t {
  t_u8 = 0, t_i8 = 1, t_u16 = 2, t_i16 = 3, t_u32 = 4, t_i32 = 5, t_f32 = 6, t_bool = 7,
  t_string = 8, t_array = 9, t_u64 = 10, t_i64 = 11, t_f64 = 12,
};

constexpr size_t max_key_bytes = 65535;
constexpr size_t max_tensor_name_bytes = 256;
constexpr uint32_t max_dims = 4;

// Bytes a value of this type takes at least (strings: their length field).
size_t min_value_bytes(uint32_t type) {
  switch (type) {
    case t_u8: case t_i8: case t_bool: return 1;
    case t_u16: case t_i16: return 2;
    case t_u32: case t_i32: case t_f32: return 4;
    case t_u64: case t_i64: case t_f64: case t_string: return 8;
    case t_array: return 12;
  }
  return 0;
}

// The name of a ggml type alisa does not read, for the error.
std::string ggml_type_name(uint32_t t) {
  static const char* names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1",
                                "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
                                "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
                                "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
                                "BF16"};
  if (t < sizeof names / sizeof names[0]) return names[t];
  return absl::StrCat("unknown type ", t);
}

std::optional<ggml_type> known_type(uint32_t t) {
  switch (t) {
    case 0: return ggml_type::f32;
    case 1: return ggml_type::f16;
    case 2: return ggml_type::q4_0;
    case 8: return ggml_type::q8_0;
    case 30: return ggml_type::bf16;
  }
  return std::nullopt;
}

// Bounds-checked little-endian reads over the file; the first failure sticks.
class reader {
 public:
  reader(const std::byte* data, size_t size) : data_(data), size_(size) {}
  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  template <class T>
  bool read(T& out) {
    if (left() < sizeof(T)) return false;
    std::memcpy(&out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_string(std::string& out, size_t limit) {
    uint64_t n = 0;
    if (!read(n) || n > left() || n > limit) return false;
    out.assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  const std::byte* data_;
  size_t size_;
  size_t pos_ = 0;
};

class parser {
 public:
  parser(const std::byte* data, size_t size, const std::string& path)
      : data_(data), size_(size), in_(data, size), path_(path) {}

  absl::StatusOr<gguf_file> run() {
    if (!looks_like_gguf(data_, size_)) return fail("not a GGUF file (no GGUF magic)");
    uint32_t magic = 0;
    in_.read(magic);
    uint64_t num_tensors = 0, num_kv = 0;
    if (!in_.read(out_.version) || !in_.read(num_tensors) || !in_.read(num_kv))
      return fail("truncated header");
    if (out_.version != 2 && out_.version != 3)
      return fail(absl::StrCat("GGUF version ", out_.version, " (alisa reads versions 2 and 3)"));
    // Each entry takes bytes: a count larger than the file could hold is corrupt.
    if (num_kv > in_.left() / 14) return fail(absl::StrCat("metadata count ", num_kv, " exceeds the file"));
    for (uint64_t i = 0; i < num_kv; ++i)
      if (auto bad = read_metadata(i)) return fail(*bad);
    if (auto bad = read_alignment()) return fail(*bad);
    if (num_tensors > in_.left() / 33) return fail(absl::StrCat("tensor count ", num_tensors, " exceeds the file"));
    std::vector<gguf_tensor> infos;
    std::vector<uint64_t> offsets;
    for (uint64_t i = 0; i < num_tensors; ++i) {
      gguf_tensor t;
      uint64_t offset = 0;
      if (auto bad = read_tensor_info(i, t, offset)) return fail(*bad);
      infos.push_back(std::move(t));
      offsets.push_back(offset);
    }
    if (auto bad = place_tensors(infos, offsets)) return fail(*bad);
    for (auto& t : infos) {
      std::string name = t.name;
      out_.tensors.emplace(std::move(name), std::move(t));
    }
    return std::move(out_);
  }

 private:
  absl::Status fail(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", what));
  }

  std::optional<std::string> read_scalar(uint32_t type, gguf_scalar& out, const std::string& key) {
    const std::string truncated = absl::StrCat("metadata ", key, ": truncated value");
    switch (type) {
      case t_u8: { uint8_t v; if (!in_.read(v)) return truncated; out = uint64_t{v}; return std::nullopt; }
      case t_i8: { int8_t v; if (!in_.read(v)) return truncated; out = int64_t{v}; return std::nullopt; }
      case t_u16: { uint16_t v; if (!in_.read(v)) return truncated; out = uint64_t{v}; return std::nullopt; }
      case t_i16: { int16_t v; if (!in_.read(v)) return truncated; out = int64_t{v}; return std::nullopt; }
      case t_u32: { uint32_t v; if (!in_.read(v)) return truncated; out = uint64_t{v}; return std::nullopt; }
      case t_i32: { int32_t v; if (!in_.read(v)) return truncated; out = int64_t{v}; return std::nullopt; }
      case t_u64: { uint64_t v; if (!in_.read(v)) return truncated; out = v; return std::nullopt; }
      case t_i64: { int64_t v; if (!in_.read(v)) return truncated; out = v; return std::nullopt; }
      case t_f32: { float v; if (!in_.read(v)) return truncated; out = double{v}; return std::nullopt; }
      case t_f64: { double v; if (!in_.read(v)) return truncated; out = v; return std::nullopt; }
      case t_bool: {
        uint8_t v;
        if (!in_.read(v)) return truncated;
        if (v > 1) return absl::StrCat("metadata ", key, ": bool byte ", int{v}, " is not 0 or 1");
        out = v == 1;
        return std::nullopt;
      }
      case t_string: {
        std::string s;
        if (!in_.read_string(s, std::numeric_limits<size_t>::max())) return truncated;
        out = std::move(s);
        return std::nullopt;
      }
    }
    return absl::StrCat("metadata ", key, ": unknown value type ", type);
  }

  std::optional<std::string> read_metadata(uint64_t index) {
    std::string key;
    if (!in_.read_string(key, max_key_bytes) || key.empty())
      return absl::StrCat("metadata entry ", index, ": bad or truncated key");
    if (out_.metadata.count(key)) return absl::StrCat("metadata key ", key, " appears twice");
    gguf_value value;
    if (!in_.read(value.type)) return absl::StrCat("metadata ", key, ": truncated type");
    if (value.type == t_array) {
      uint64_t count = 0;
      if (!in_.read(value.type) || !in_.read(count)) return absl::StrCat("metadata ", key, ": truncated array");
      if (value.type == t_array) return absl::StrCat("metadata ", key, ": nested arrays are not supported");
      const size_t each = min_value_bytes(value.type);
      if (each == 0) return absl::StrCat("metadata ", key, ": unknown array element type ", value.type);
      if (count > in_.left() / each)
        return absl::StrCat("metadata ", key, ": array of ", count, " elements exceeds the file");
      value.is_array = true;
      value.array.resize(static_cast<size_t>(count));
      for (auto& element : value.array)
        if (auto bad = read_scalar(value.type, element, key)) return bad;
    } else if (auto bad = read_scalar(value.type, value.scalar, key)) {
      return bad;
    }
    out_.metadata.emplace(std::move(key), std::move(value));
    return std::nullopt;
  }

  std::optional<std::string> read_alignment() {
    const gguf_value* a = out_.find("general.alignment");
    if (!a) return std::nullopt;
    const auto* v = std::get_if<uint64_t>(&a->scalar);
    if (a->is_array || !v || *v == 0 || *v > (1u << 20) || (*v & (*v - 1)) != 0)
      return "general.alignment must be a power of two up to 1 MiB";
    out_.alignment = static_cast<size_t>(*v);
    return std::nullopt;
  }

  std::optional<std::string> read_tensor_info(uint64_t index, gguf_tensor& t, uint64_t& offset) {
    if (!in_.read_string(t.name, max_tensor_name_bytes) || t.name.empty())
      return absl::StrCat("tensor ", index, ": bad or truncated name");
    uint32_t n_dims = 0;
    if (!in_.read(n_dims)) return absl::StrCat("tensor ", t.name, ": truncated");
    if (n_dims == 0 || n_dims > max_dims)
      return absl::StrCat("tensor ", t.name, ": ", n_dims, " dimensions (1 to 4 allowed)");
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      if (!in_.read(dim)) return absl::StrCat("tensor ", t.name, ": truncated");
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / elements))
        return absl::StrCat("tensor ", t.name, ": dimension ", d, " is ", dim);
      elements *= static_cast<int64_t>(dim);
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    uint32_t type = 0;
    if (!in_.read(type) || !in_.read(offset)) return absl::StrCat("tensor ", t.name, ": truncated");
    const auto known = known_type(type);
    if (!known)
      return absl::StrCat("tensor ", t.name, " has type ", ggml_type_name(type),
                          ", which alisa does not read (F32, F16, BF16, Q8_0, Q4_0)");
    t.type = *known;
    const int64_t block = ggml_block_elements(t.type);
    if (t.dims[0] % block != 0)
      return absl::StrCat("tensor ", t.name, ": ", std::string(to_string(t.type)), " rows of ", t.dims[0],
                          " elements are not whole blocks of ", block);
    const int64_t blocks = elements / block;
    if (blocks > std::numeric_limits<int64_t>::max() / ggml_block_bytes(t.type))
      return absl::StrCat("tensor ", t.name, " is too large");
    t.num_bytes = static_cast<size_t>(blocks * ggml_block_bytes(t.type));
    if (!seen_names_.insert(t.name).second) return absl::StrCat("tensor ", t.name, " appears twice");
    return std::nullopt;
  }

  // Data starts at the next multiple of the alignment; every tensor's bytes lie inside it,
  // aligned, and no two overlap.
  std::optional<std::string> place_tensors(std::vector<gguf_tensor>& infos,
                                           const std::vector<uint64_t>& offsets) {
    const size_t a = out_.alignment;
    const size_t data_start = (in_.pos() + a - 1) / a * a;
    if (data_start > size_ && !infos.empty()) return "the tensor data section is missing (truncated file)";
    const size_t data_bytes = data_start > size_ ? 0 : size_ - data_start;
    std::vector<size_t> order(infos.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return offsets[x] < offsets[y]; });
    uint64_t end_of_previous = 0;
    std::string previous;
    for (size_t i : order) {
      gguf_tensor& t = infos[i];
      const uint64_t offset = offsets[i];
      if (offset % a != 0)
        return absl::StrCat("tensor ", t.name, ": offset ", offset, " is not a multiple of the alignment ", a);
      if (offset > data_bytes || t.num_bytes > data_bytes - offset)
        return absl::StrCat("tensor ", t.name, ": bytes [", offset, ", ", offset + t.num_bytes,
                            ") lie outside the ", data_bytes, "-byte data section (truncated file?)");
      if (!previous.empty() && offset < end_of_previous)
        return absl::StrCat("tensors ", previous, " and ", t.name, " overlap");
      end_of_previous = offset + t.num_bytes;
      previous = t.name;
      t.data = data_ + data_start + offset;
    }
    return std::nullopt;
  }

  const std::byte* data_;
  size_t size_;
  reader in_;
  const std::string& path_;
  gguf_file out_;
  std::set<std::string> seen_names_;
};

}  // namespace

std::string_view to_string(ggml_type t) {
  switch (t) {
    case ggml_type::f32: return "F32";
    case ggml_type::f16: return "F16";
    case ggml_type::q4_0: return "Q4_0";
    case ggml_type::q8_0: return "Q8_0";
    case ggml_type::bf16: return "BF16";
  }
  return "?";
}

int64_t ggml_block_elements(ggml_type t) {
  return t == ggml_type::q8_0 || t == ggml_type::q4_0 ? 32 : 1;
}

int64_t ggml_block_bytes(ggml_type t) {
  switch (t) {
    case ggml_type::f32: return 4;
    case ggml_type::f16: case ggml_type::bf16: return 2;
    case ggml_type::q8_0: return 2 + 32;     // f16 scale, 32 int8
    case ggml_type::q4_0: return 2 + 16;     // f16 scale, 32 nibbles
  }
  return 0;
}

std::optional<int64_t> gguf_file::integer(const std::string& key) const {
  const gguf_value* v = find(key);
  if (!v || v->is_array) return std::nullopt;
  if (const auto* u = std::get_if<uint64_t>(&v->scalar)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v->scalar)) return *i;
  return std::nullopt;
}

std::optional<double> gguf_file::number(const std::string& key) const {
  const gguf_value* v = find(key);
  if (!v || v->is_array) return std::nullopt;
  if (const auto* d = std::get_if<double>(&v->scalar)) return *d;
  if (auto i = integer(key)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<std::string> gguf_file::text(const std::string& key) const {
  const gguf_value* v = find(key);
  if (!v || v->is_array) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&v->scalar)) return *s;
  return std::nullopt;
}

bool looks_like_gguf(const std::byte* data, size_t size) {
  return size >= 4 && std::memcmp(data, "GGUF", 4) == 0;
}

absl::StatusOr<gguf_file> parse_gguf(const std::byte* data, size_t size, const std::string& path) {
  return parser(data, size, path).run();
}

}  // namespace alisa::model
