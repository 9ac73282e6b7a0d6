// Precompiled header of moekd_engine: LibTorch dominates the compile time of every unit.
#include <torch/torch.h>
#include <nlohmann/json.hpp>
