#include "model/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/mapped_file.hpp"

namespace alisa::model {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; a larger claim is a corrupt file.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

absl::Status bad(const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

absl::StatusOr<dtype> parse_dtype_name(const std::string& name, const std::string& tensor, const std::string& path) {
  if (name == "F32") return dtype::f32;
  if (name == "F16") return dtype::f16;
  if (name == "BF16") return dtype::bf16;
  return bad(path, absl::StrCat("tensor ", tensor, " has unsupported dtype '", name, "' (supported: F32, F16, BF16)"));
}

struct entry {
  std::string name;
  dtype type;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// Parses the JSON, rejecting duplicate top-level names (a JSON object would silently keep the last).
absl::StatusOr<json> parse_header_json(const char* text, size_t length, const std::string& path) {
  std::set<std::string> names;
  std::string duplicate;
  json::parser_callback_t remember_keys = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!names.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header = json::parse(text, text + length, remember_keys, /*allow_exceptions=*/false);
  if (header.is_discarded()) return bad(path, "safetensors header is not valid JSON");
  if (!header.is_object()) return bad(path, "safetensors header is not a JSON object");
  if (!duplicate.empty()) return bad(path, absl::StrCat("tensor name ", duplicate, " appears twice in the header"));
  return header;
}

absl::StatusOr<entry> parse_entry(const std::string& name, const json& spec, const std::string& path) {
  if (!spec.is_object()) return bad(path, absl::StrCat("tensor ", name, ": header entry is not an object"));
  const auto dt = spec.find("dtype");
  const auto shape = spec.find("shape");
  const auto offsets = spec.find("data_offsets");
  if (dt == spec.end() || !dt->is_string()) return bad(path, absl::StrCat("tensor ", name, ": missing dtype"));
  if (shape == spec.end() || !shape->is_array()) return bad(path, absl::StrCat("tensor ", name, ": missing shape"));
  if (offsets == spec.end() || !offsets->is_array() || offsets->size() != 2) {
    return bad(path, absl::StrCat("tensor ", name, ": data_offsets must be [begin, end]"));
  }
  entry e;
  e.name = name;
  auto type = parse_dtype_name(dt->get<std::string>(), name, path);
  if (!type.ok()) return type.status();
  e.type = *type;
  for (const json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return bad(path, absl::StrCat("tensor ", name, ": shape ", shape->dump(), " is not a list of non-negative integers"));
    }
    e.shape.push_back(d.get<int64_t>());
  }
  for (const json& o : *offsets) {
    if (!o.is_number_unsigned()) {
      return bad(path, absl::StrCat("tensor ", name, ": data_offsets ", offsets->dump(), " are not non-negative integers"));
    }
  }
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  return e;
}

// Checks the entry against the data section; returns the byte count the shape implies.
absl::Status check_extent(const entry& e, uint64_t data_size, const std::string& path) {
  if (e.begin > e.end || e.end > data_size) {
    return bad(path, absl::StrCat("tensor ", e.name, " data_offsets [", e.begin, ",", e.end,
                                  ") lie outside the data section of ", data_size, " bytes"));
  }
  uint64_t bytes = dtype_size(e.type);
  for (int64_t d : e.shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes)) {
      return bad(path, absl::StrCat("tensor ", e.name, " shape overflows"));
    }
  }
  if (e.end - e.begin != bytes) {
    return bad(path, absl::StrCat("tensor ", e.name, " has ", e.end - e.begin, " bytes, but shape [",
                                  absl::StrJoin(e.shape, ","), "] of ", std::string(to_string(e.type)), " needs ", bytes));
  }
  return absl::OkStatus();
}

// The format's rule: the tensors tile the data section exactly, in offset order, with no gap, no
// overlap and nothing after the last. A header length off by a few bytes (a JSON header padded
// with spaces still parses) would otherwise shift every tensor silently; here it leaves a gap or
// an excess at the end and is refused.
absl::Status check_contiguous(std::vector<entry>& entries, uint64_t data_size,
                              const std::string& path) {
  std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  const entry* previous = nullptr;
  for (const entry& e : entries) {
    if (e.begin < cursor)
      return bad(path, absl::StrCat("tensors ", previous ? previous->name : std::string("?"), " and ",
                                    e.name, " overlap"));
    if (e.begin > cursor)
      return bad(path, absl::StrCat("data section has ", e.begin - cursor,
                                    " unused bytes before tensor ", e.name, " (at offset ", cursor,
                                    "): a wrong header length or offsets"));
    cursor = e.end;
    previous = &e;
  }
  if (cursor != data_size)
    return bad(path, absl::StrCat("data section is ", data_size, " bytes but the tensors cover ",
                                  cursor, ": a wrong header length or a truncated/extended file"));
  return absl::OkStatus();
}

// Views must be aligned for the backends that read them as float/uint16 arrays; a header whose
// length is not a multiple of 8 (legal, though HF pads) would misalign them, so copy those.
const void* aligned_data(const std::byte* p, size_t bytes, dtype type, tensor_table& table) {
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(type) == 0) return p;
  auto copy = std::shared_ptr<float[]>(new float[(bytes + 3) / 4]);
  std::memcpy(copy.get(), p, bytes);
  table.storage.push_back(copy);
  return copy.get();
}

absl::StatusOr<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status merge_into(tensor_table& into, tensor_table&& shard, const std::string& shard_path) {
  for (auto& [name, view] : shard.tensors) {
    if (into.tensors.count(name) != 0) {
      return bad(shard_path, absl::StrCat("tensor ", name, " also appears in ", into.origin[name]));
    }
    into.tensors.emplace(name, view);
    into.origin.emplace(name, shard.origin[name]);
  }
  for (auto& s : shard.storage) into.storage.push_back(std::move(s));
  return absl::OkStatus();
}

absl::StatusOr<tensor_table> open_sharded(const std::string& dir, const std::string& index_path) {
  auto text = read_text(index_path);
  if (!text.ok()) return text.status();
  json index = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object()) return bad(index_path, "not valid JSON");
  auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object()) return bad(index_path, "missing weight_map object");

  std::map<std::string, std::vector<std::string>> names_by_shard;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it.value().is_string()) return bad(index_path, absl::StrCat("weight_map entry ", it.key(), " is not a file name"));
    const std::string shard = it.value().get<std::string>();
    // Shards live beside the index; refuse paths that would read elsewhere.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "..") {
      return bad(index_path, absl::StrCat("weight_map entry ", it.key(), " names an invalid shard '", shard, "'"));
    }
    names_by_shard[shard].push_back(it.key());
  }
  if (names_by_shard.empty()) return bad(index_path, "weight_map is empty");

  tensor_table table;
  for (const auto& [shard, names] : names_by_shard) {
    const std::string shard_path = (std::filesystem::path(dir) / shard).string();
    auto part = open_safetensors(shard_path);
    if (!part.ok()) return part.status();
    for (const std::string& name : names) {
      if (part->find(name) == nullptr) {
        return bad(index_path, absl::StrCat("weight_map puts tensor ", name, " in ", shard, ", which lacks it"));
      }
    }
    if (auto s = merge_into(table, std::move(*part), shard_path); !s.ok()) return s;
  }
  return table;
}

}  // namespace

absl::StatusOr<tensor_table> parse_safetensors(const std::byte* data, size_t size, const std::string& path) {
  if (size < 8) return bad(path, absl::StrCat("file of ", size, " bytes is too short for a safetensors header"));
  uint64_t header_length = 0;
  std::memcpy(&header_length, data, 8);  // little-endian host (checked in tensor.cpp)
  if (header_length > size - 8 || header_length > kMaxHeaderBytes) {
    return bad(path, absl::StrCat("safetensors header length ", header_length, " exceeds the file size ", size));
  }
  auto header = parse_header_json(reinterpret_cast<const char*>(data + 8), header_length, path);
  if (!header.ok()) return header.status();

  const std::byte* section = data + 8 + header_length;
  const uint64_t data_size = size - 8 - header_length;
  std::vector<entry> entries;
  for (auto it = header->begin(); it != header->end(); ++it) {
    if (it.key() == "__metadata__") continue;
    auto e = parse_entry(it.key(), it.value(), path);
    if (!e.ok()) return e.status();
    if (auto s = check_extent(*e, data_size, path); !s.ok()) return s;
    entries.push_back(std::move(*e));
  }
  if (auto s = check_contiguous(entries, data_size, path); !s.ok()) return s;

  tensor_table table;
  for (const entry& e : entries) {
    tensor_view view;
    view.type = e.type;
    view.shape = e.shape;
    view.data = aligned_data(section + e.begin, e.end - e.begin, e.type, table);
    // An empty tensor still needs a non-null pointer to count as present.
    if (e.begin == e.end) view.data = section;
    table.tensors.emplace(e.name, std::move(view));
    table.origin.emplace(e.name, path);
  }
  return table;
}

absl::StatusOr<tensor_table> open_safetensors(const std::string& path) {
  auto file = mapped_file::open(path);
  if (!file.ok()) return file.status();
  auto table = parse_safetensors((*file)->data(), (*file)->size(), path);
  if (!table.ok()) return table.status();
  table->storage.push_back(*file);
  return table;
}

absl::StatusOr<tensor_table> open_safetensors_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
  const std::string single = (fs::path(dir) / "model.safetensors").string();
  std::error_code ec;
  if (fs::exists(single, ec)) return open_safetensors(single);
  if (fs::exists(index, ec)) return open_sharded(dir, index);
  return absl::NotFoundError(absl::StrCat(dir, ": no model.safetensors or model.safetensors.index.json"));
}

}  // namespace alisa::model
