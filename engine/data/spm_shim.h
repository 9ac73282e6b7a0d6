#pragma once
// The C interface of libmoekd_spm, the one library that links Debian's libsentencepiece.
//
// Why a separate library: libsentencepiece embeds its own protobuf-lite and exports its
// google::protobuf symbols; LibTorch loads the full libprotobuf. In one process the two interpose
// on each other and the process crashes during static initialisation. The tokenizer therefore
// loads this shim with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): sentencepiece then resolves to its own
// protobuf and nothing of it leaks into the global symbol scope.
#include <cstddef>

extern "C" {

struct moekd_spm;

// Loads a serialized ModelProto; on failure returns null and writes a message into `err`.
moekd_spm* moekd_spm_load(const char* bytes, size_t size, char* err, size_t err_capacity);
void moekd_spm_free(moekd_spm* sp);
// Returns the number of ids (written up to `capacity`; call again with more room if larger),
// or -1 with a message in `err`.
int moekd_spm_encode(moekd_spm* sp, const char* text, size_t length, int* ids, int capacity, char* err,
                     size_t err_capacity);
// Returns the byte length of the text (written up to `capacity`), or -1 with a message in `err`.
int moekd_spm_decode(moekd_spm* sp, const int* ids, int count, char* out, int capacity, char* err,
                     size_t err_capacity);
int moekd_spm_piece_size(moekd_spm* sp);
int moekd_spm_bos_id(moekd_spm* sp);
int moekd_spm_eos_id(moekd_spm* sp);
int moekd_spm_pad_id(moekd_spm* sp);
int moekd_spm_unk_id(moekd_spm* sp);
int moekd_spm_is_control(moekd_spm* sp, int id);
// The piece of `id` as the model holds it ("\xe2\x96\x81the", "<0x0A>"): returns its byte length
// (written up to `capacity`), or -1 for an id outside the vocabulary.
int moekd_spm_id_to_piece(moekd_spm* sp, int id, char* out, int capacity);
}
