#pragma once
// safetensors: an 8-byte little-endian header length, a JSON header naming every tensor's dtype,
// shape and [begin, end) byte range in the data section, then the data. Files are untrusted:
// every size and offset is checked before a byte is read, and errors name the file and tensor.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace moekd {

struct TensorEntry {
  std::string dtype;  // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // offsets within the data section
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // maps the file read-only and checks the header
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  const TensorEntry& entry(const std::string& name) const;
  // A CPU tensor that owns a copy of the bytes, in the file's dtype.
  torch::Tensor load(const std::string& name) const;
  // Copies the tensor straight from the mapping into `dst` (same shape; any dtype and device:
  // converted on the way), then lets the kernel drop the file pages it read from this process's
  // resident set: loading a model holds the model, not the model and its file.
  void copy_into(const std::string& name, torch::Tensor dst) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;  // start of the data section inside the mapping
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  std::map<std::string, TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint folder: `model.safetensors`, or shards listed by `model.safetensors.index.json`.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& dir);
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return owner_.count(name) > 0; }
  const TensorEntry& entry(const std::string& name) const;
  torch::Tensor load(const std::string& name) const;
  void copy_into(const std::string& name, torch::Tensor dst) const;
  const std::vector<std::string>& files() const { return file_paths_; }
  uint64_t total_bytes() const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<std::string> file_paths_;
  std::map<std::string, size_t> owner_;  // tensor name -> index into files_
};

size_t dtype_size(const std::string& dtype);  // throws for unknown dtypes
std::string dtype_name(torch::ScalarType t);

// Writes tensors (any device, contiguous or not) atomically: a temporary file, then rename.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace moekd
