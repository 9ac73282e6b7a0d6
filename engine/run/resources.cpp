#include "run/resources.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "util/error.h"

namespace moekd {

namespace fs = std::filesystem;

std::string find_resource(const std::string& name) {
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("MOEKD_RESOURCES")) roots.emplace_back(env);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path().parent_path() / "share" / "moekd");
#ifdef MOEKD_SOURCE_RESOURCES
  roots.emplace_back(MOEKD_SOURCE_RESOURCES);
#endif
  std::string tried;
  for (const auto& root : roots) {
    const auto path = root / name;
    if (fs::exists(path, ec)) return path.string();
    tried += "\n  " + path.string();
  }
  fail("`", name, "` is not installed; looked in:", tried);
}

}  // namespace moekd
