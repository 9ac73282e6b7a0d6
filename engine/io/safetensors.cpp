#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"
#include "util/input_file.h"
#include "util/json_file.h"

namespace moekd {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit

torch::ScalarType scalar_type(const std::string& dtype) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"F32", torch::kFloat},  {"F16", torch::kHalf}, {"BF16", torch::kBFloat16}, {"F64", torch::kDouble},
      {"I64", torch::kLong},   {"I32", torch::kInt},  {"I16", torch::kShort},     {"I8", torch::kChar},
      {"U8", torch::kByte},    {"BOOL", torch::kBool}};
  auto it = types.find(dtype);
  if (it == types.end()) fail("unknown dtype `", dtype, "`");
  return it->second;
}

}  // namespace

size_t dtype_size(const std::string& dtype) { return c10::elementSize(scalar_type(dtype)); }

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "F32";
    case torch::kHalf: return "F16";
    case torch::kBFloat16: return "BF16";
    case torch::kDouble: return "F64";
    case torch::kLong: return "I64";
    case torch::kInt: return "I32";
    case torch::kShort: return "I16";
    case torch::kChar: return "I8";
    case torch::kByte: return "U8";
    case torch::kBool: return "BOOL";
    default: fail("safetensors: cannot store tensors of type ", c10::toString(t));
  }
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  expect_file(path, "safetensors file");  // open() on a FIFO would block
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail(path, ": truncated safetensors file (", file_size, " bytes; the header length alone needs 8)");
  }
  mapping_size_ = file_size;
  mapping_ = ::mmap(nullptr, mapping_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    fail(path, ": cannot map the file (", std::strerror(errno), ")");
  }
  const auto* bytes = static_cast<const uint8_t*>(mapping_);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  // From here on errors must release the mapping: the destructor does not run for a throwing constructor.
  try {
    if (header_len > kMaxHeaderBytes)
      fail(path, ": header length ", header_len, " exceeds the format's limit of ", kMaxHeaderBytes, " bytes");
    if (header_len > file_size - 8)
      fail(path, ": header length ", header_len, " runs past the end of the file (", file_size, " bytes)");
    const json header =
        parse_json(std::string_view(reinterpret_cast<const char*>(bytes + 8), header_len), path + ": the header");
    if (!header.is_object()) fail(path, ": header must be a JSON object");
    const uint64_t data_size = file_size - 8 - header_len;
    data_ = bytes + 8 + header_len;

    std::vector<std::pair<uint64_t, std::string>> ranges;
    for (auto& [name, value] : header.items()) {
      if (name == "__metadata__") {
        if (!value.is_object()) fail(path, ": `__metadata__` must be an object of strings");
        for (auto& [k, v] : value.items()) {
          if (!v.is_string()) fail(path, ": `__metadata__.", k, "` must be a string");
          metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      const std::string where = path + ": tensor `" + name + "`";
      if (!value.is_object()) fail(where, ": entry must be an object");
      if (!value.contains("dtype") || !value["dtype"].is_string()) fail(where, ": missing string field `dtype`");
      if (!value.contains("shape") || !value["shape"].is_array()) fail(where, ": missing array field `shape`");
      if (!value.contains("data_offsets") || !value["data_offsets"].is_array() || value["data_offsets"].size() != 2)
        fail(where, ": `data_offsets` must be [begin, end]");
      TensorEntry e;
      e.dtype = value["dtype"].get<std::string>();
      size_t elem = 0;
      try {
        elem = dtype_size(e.dtype);
      } catch (const Error&) {
        fail(where, ": unknown dtype `", e.dtype, "` (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)");
      }
      uint64_t numel = 1;
      for (auto& d : value["shape"]) {
        if (!d.is_number_unsigned()) fail(where, ": shape entries must be non-negative integers");
        const auto dim = d.get<uint64_t>();
        if (dim > (1ull << 40) || (dim != 0 && numel > (1ull << 50) / dim)) fail(where, ": shape is implausibly large");
        numel *= dim;
        e.shape.push_back(static_cast<int64_t>(dim));
      }
      for (auto& o : value["data_offsets"])
        if (!o.is_number_unsigned()) fail(where, ": `data_offsets` must be non-negative integers");
      e.begin = value["data_offsets"][0].get<uint64_t>();
      e.end = value["data_offsets"][1].get<uint64_t>();
      if (e.begin > e.end) fail(where, ": data_offsets begin ", e.begin, " is after end ", e.end);
      if (e.end > data_size)
        fail(where, ": data_offsets [", e.begin, ", ", e.end, ") run past the data section (", data_size, " bytes)");
      if (e.end - e.begin != numel * elem)
        fail(where, ": holds ", e.end - e.begin, " bytes but shape x dtype needs ", numel * elem);
      if (e.end > e.begin) ranges.emplace_back(e.begin, name);
      entries_.emplace(name, std::move(e));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      const auto& prev = entries_.at(ranges[i - 1].second);
      if (ranges[i].first < prev.end)
        fail(path, ": tensors `", ranges[i - 1].second, "` and `", ranges[i].second, "` overlap in the data section");
    }
  } catch (...) {
    ::munmap(mapping_, mapping_size_);
    mapping_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
}

const TensorEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, ": no tensor named `", name, "`");
  return it->second;
}

torch::Tensor SafetensorsFile::load(const std::string& name) const {
  const auto& e = entry(name);
  auto t = torch::empty(e.shape, torch::dtype(scalar_type(e.dtype)));
  if (e.end > e.begin) std::memcpy(t.data_ptr(), data_ + e.begin, e.end - e.begin);  // unaligned-safe copy
  return t;
}

void SafetensorsFile::copy_into(const std::string& name, torch::Tensor dst) const {
  const auto& e = entry(name);
  if (e.end == e.begin) return;
  const uint8_t* src = data_ + e.begin;
  if (reinterpret_cast<uintptr_t>(src) % dtype_size(e.dtype) == 0) {
    // A view of the mapped bytes (never written: the mapping is read-only).
    const auto view = torch::from_blob(const_cast<uint8_t*>(src), e.shape, torch::dtype(scalar_type(e.dtype)));
    dst.copy_(view);
  } else {
    dst.copy_(load(name));  // an unaligned tensor goes through a copy of itself alone
  }
  // The whole pages inside this tensor's bytes leave the resident set (they stay in the page cache).
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<uintptr_t>(src) + page - 1) / page * page;
  const auto last = (reinterpret_cast<uintptr_t>(data_ + e.end)) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& dir) {
  const fs::path root(dir);
  const auto single = root / "model.safetensors";
  const auto index = root / "model.safetensors.index.json";
  std::vector<std::string> shard_names;
  json weight_map;
  if (fs::exists(index)) {
    const json j = read_json_file(index.string());
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail(index.string(), ": missing object field `weight_map`");
    weight_map = j["weight_map"];
    std::set<std::string> unique;
    for (auto& [tensor, file] : weight_map.items()) {
      if (!file.is_string()) fail(index.string(), ": `weight_map.", tensor, "` must be a file name");
      const auto f = file.get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
        fail(index.string(), ": shard `", f, "` must be a plain file name inside the checkpoint folder");
      unique.insert(f);
    }
    shard_names.assign(unique.begin(), unique.end());
  } else if (fs::exists(single)) {
    shard_names.push_back("model.safetensors");
  } else {
    fail(dir, ": no model.safetensors or model.safetensors.index.json (pickled .bin checkpoints are not loaded)");
  }
  for (const auto& name : shard_names) {
    file_paths_.push_back((root / name).string());
    files_.push_back(std::make_unique<SafetensorsFile>(file_paths_.back()));
    for (const auto& [tensor, _] : files_.back()->entries()) {
      if (owner_.count(tensor))
        fail(dir, ": tensor `", tensor, "` appears in both ", file_paths_[owner_[tensor]], " and ", file_paths_.back());
      owner_[tensor] = files_.size() - 1;
    }
  }
  for (auto& [tensor, file] : weight_map.items()) {
    auto it = owner_.find(tensor);
    if (it == owner_.end() || fs::path(file_paths_[it->second]).filename() != file.get<std::string>())
      fail(index.string(), ": lists `", tensor, "` in ", file.get<std::string>(), " but that shard does not hold it");
  }
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : owner_) out.push_back(name);
  return out;
}

const TensorEntry& SafetensorsCheckpoint::entry(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) fail("checkpoint has no tensor named `", name, "`");
  return files_[it->second]->entry(name);
}

torch::Tensor SafetensorsCheckpoint::load(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) fail("checkpoint has no tensor named `", name, "`");
  return files_[it->second]->load(name);
}

void SafetensorsCheckpoint::copy_into(const std::string& name, torch::Tensor dst) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) fail("checkpoint has no tensor named `", name, "`");
  files_[it->second]->copy_into(name, std::move(dst));
}

uint64_t SafetensorsCheckpoint::total_bytes() const {
  uint64_t n = 0;
  for (const auto& p : file_paths_) n += fs::file_size(p);
  return n;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (header.contains(name)) fail(path, ": tensor `", name, "` given twice");
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(tmp, ": cannot open for writing");
    uint64_t n = text.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data) out.write(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
    out.flush();
    if (!out) fail(tmp, ": write failed (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(path, ": cannot rename the temporary file into place (", ec.message(), ")");
}

}  // namespace moekd
