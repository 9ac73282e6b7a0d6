#pragma once
// Human-readable numbers for the CLI's plain-text output.
#include <cstdint>
#include <string>

namespace moekd::cli {

std::string human_count(double n);       // 1234567 -> "1.23M"
std::string human_bytes(uint64_t bytes);  // 1536 -> "1.5 KiB"

}  // namespace moekd::cli
