// libmoekd_spm: SentencePiece behind a C interface (see spm_shim.h for why).
#include "data/spm_shim.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

struct moekd_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {
void write_error(char* err, size_t capacity, const std::string& message) {
  if (!err || capacity == 0) return;
  const auto n = std::min(capacity - 1, message.size());
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}
}  // namespace

extern "C" {

moekd_spm* moekd_spm_load(const char* bytes, size_t size, char* err, size_t err_capacity) {
  auto* sp = new moekd_spm;
  const auto status = sp->processor.LoadFromSerializedProto(std::string(bytes, size));
  if (!status.ok()) {
    write_error(err, err_capacity, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

void moekd_spm_free(moekd_spm* sp) { delete sp; }

int moekd_spm_encode(moekd_spm* sp, const char* text, size_t length, int* ids, int capacity, char* err,
                     size_t err_capacity) {
  std::vector<int> out;
  const auto status = sp->processor.Encode(std::string(text, length), &out);
  if (!status.ok()) {
    write_error(err, err_capacity, status.ToString());
    return -1;
  }
  std::copy_n(out.begin(), std::min<size_t>(out.size(), static_cast<size_t>(capacity)), ids);
  return static_cast<int>(out.size());
}

int moekd_spm_decode(moekd_spm* sp, const int* ids, int count, char* out, int capacity, char* err,
                     size_t err_capacity) {
  std::string text;
  const auto status = sp->processor.Decode(std::vector<int>(ids, ids + count), &text);
  if (!status.ok()) {
    write_error(err, err_capacity, status.ToString());
    return -1;
  }
  std::memcpy(out, text.data(), std::min<size_t>(text.size(), static_cast<size_t>(capacity)));
  return static_cast<int>(text.size());
}

int moekd_spm_piece_size(moekd_spm* sp) { return sp->processor.GetPieceSize(); }
int moekd_spm_bos_id(moekd_spm* sp) { return sp->processor.bos_id(); }
int moekd_spm_eos_id(moekd_spm* sp) { return sp->processor.eos_id(); }
int moekd_spm_pad_id(moekd_spm* sp) { return sp->processor.pad_id(); }
int moekd_spm_unk_id(moekd_spm* sp) { return sp->processor.unk_id(); }
int moekd_spm_is_control(moekd_spm* sp, int id) { return sp->processor.IsControl(id) ? 1 : 0; }
int moekd_spm_id_to_piece(moekd_spm* sp, int id, char* out, int capacity) {
  if (id < 0 || id >= sp->processor.GetPieceSize()) return -1;
  const std::string& piece = sp->processor.IdToPiece(id);
  std::memcpy(out, piece.data(), std::min<size_t>(piece.size(), static_cast<size_t>(capacity)));
  return static_cast<int>(piece.size());
}
}
