// A run config: parsed (first problem), checked (every problem) and written back.
#include "fuzz_input.h"
#include "run/run_config.h"
#include "run/run_folder.h"
#include "util/json_file.h"

int moekd_fuzz_run_config(const uint8_t* data, size_t size) {
  return moekd::fuzz::refusals_allowed([&] {
    const auto j = moekd::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "run.json");
    moekd::RunConfig partial;
    const auto problems = moekd::check_run_config(j, "run.json", &partial);
    for (const auto& p : problems) (void)p.need.size();
    (void)moekd::relocate_run_config(j, "/nonexistent/run");
    const auto config = moekd::parse_run_config(j, "run.json");
    if (!problems.empty()) std::abort();  // parse accepted what check refused
    if (moekd::to_json(moekd::parse_run_config(moekd::to_json(config), "again")) != moekd::to_json(config)) std::abort();
  });
}
