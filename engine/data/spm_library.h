// SPDX-License-Identifier: MIT
#pragma once
// Finds and loads libmoekd_spm (see spm_shim.h) once per process.
#include <string>

#include "data/spm_shim.h"

namespace moekd {

struct SpmApi {
  decltype(&moekd_spm_load) load;
  decltype(&moekd_spm_free) free;
  decltype(&moekd_spm_encode) encode;
  decltype(&moekd_spm_decode) decode;
  decltype(&moekd_spm_piece_size) piece_size;
  decltype(&moekd_spm_bos_id) bos_id;
  decltype(&moekd_spm_eos_id) eos_id;
  decltype(&moekd_spm_pad_id) pad_id;
  decltype(&moekd_spm_unk_id) unk_id;
  decltype(&moekd_spm_is_control) is_control;
  decltype(&moekd_spm_id_to_piece) id_to_piece;
  std::string path;  // the library loaded (moekd doctor shows it)
};

// Looks in $MOEKD_SPM_LIBRARY, next to the executable, in ../lib/moekd/plugins beside it, and in the build
// tree; throws Error listing the places when none holds it.
const SpmApi& spm_api();

}  // namespace moekd
