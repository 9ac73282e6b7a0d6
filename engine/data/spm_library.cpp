// SPDX-License-Identifier: MIT
#include "data/spm_library.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("MOEKD_SPM_LIBRARY")) out.emplace_back(env);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / "libmoekd_spm.so").string());
    out.push_back((exe.parent_path() / ".." / "lib" / "moekd" / "plugins" / "libmoekd_spm.so").string());
  }
#ifdef MOEKD_SPM_BUILD_PATH
  out.emplace_back(MOEKD_SPM_BUILD_PATH);
#endif
  return out;
}

// Whether the shared protobuf runtime (libprotobuf.so, which LibTorch loads) is in the process:
// sentencepiece's embedded protobuf aborts beside it unless bound apart with RTLD_DEEPBIND.
bool shared_protobuf_loaded() {
  bool found = false;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (fs::path(name).filename().string().rfind("libprotobuf.so", 0) == 0) *static_cast<bool*>(data) = true;
        return 0;
      },
      &found);
  return found;
}

template <typename Fn>
Fn symbol(void* handle, const char* name, const std::string& path) {
  auto* f = reinterpret_cast<Fn>(dlsym(handle, name));
  if (!f) fail(path, ": has no symbol ", name, " (a libmoekd_spm from another version?)");
  return f;
}

SpmApi load_api() {
  std::string tried;
  for (const auto& path : candidates()) {
    if (!fs::exists(path)) {
      tried += "\n  " + path + " (missing)";
      continue;
    }
    // RTLD_DEEPBIND: sentencepiece's embedded protobuf must bind to itself, not to LibTorch's.
    // AddressSanitizer refuses DEEPBIND (its interceptors must stay first): a sanitized build
    // binds normally, which holds only where no other protobuf is loaded (the fuzz targets,
    // test_data); beside LibTorch's it would abort the process, so it is refused by name.
    if (kAddressSanitizer && shared_protobuf_loaded())
      fail("SentencePiece cannot be loaded in this process: a build with AddressSanitizer cannot keep its protobuf "
           "apart from the one LibTorch loaded (RTLD_DEEPBIND is refused by the sanitizer)");
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | (kAddressSanitizer ? 0 : RTLD_DEEPBIND));
    if (!h) {
      tried += "\n  " + path + " (" + dlerror() + ")";
      continue;
    }
    SpmApi api;
    api.load = symbol<decltype(api.load)>(h, "moekd_spm_load", path);
    api.free = symbol<decltype(api.free)>(h, "moekd_spm_free", path);
    api.encode = symbol<decltype(api.encode)>(h, "moekd_spm_encode", path);
    api.decode = symbol<decltype(api.decode)>(h, "moekd_spm_decode", path);
    api.piece_size = symbol<decltype(api.piece_size)>(h, "moekd_spm_piece_size", path);
    api.bos_id = symbol<decltype(api.bos_id)>(h, "moekd_spm_bos_id", path);
    api.eos_id = symbol<decltype(api.eos_id)>(h, "moekd_spm_eos_id", path);
    api.pad_id = symbol<decltype(api.pad_id)>(h, "moekd_spm_pad_id", path);
    api.unk_id = symbol<decltype(api.unk_id)>(h, "moekd_spm_unk_id", path);
    api.is_control = symbol<decltype(api.is_control)>(h, "moekd_spm_is_control", path);
    api.id_to_piece = symbol<decltype(api.id_to_piece)>(h, "moekd_spm_id_to_piece", path);
    api.path = path;
    return api;
  }
#ifdef MOEKD_NO_SENTENCEPIECE
  fail("this build of moekd has no SentencePiece support (configured with MOEKD_WITH_SENTENCEPIECE=OFF) and no "
       "libmoekd_spm.so was found; looked in:", tried, "\n  (set MOEKD_SPM_LIBRARY to one, or use the built-in tokenizer)");
#else
  fail("SentencePiece support (libmoekd_spm.so) was not found; looked in:", tried,
       "\n  (set MOEKD_SPM_LIBRARY to its path)");
#endif
}

}  // namespace

const SpmApi& spm_api() {
  static std::once_flag once;
  static SpmApi api;
  static std::string error;
  std::call_once(once, [] {
    try {
      api = load_api();
    } catch (const Error& e) {
      error = e.what();
    }
  });
  if (!error.empty()) throw Error(error);
  return api;
}

}  // namespace moekd
