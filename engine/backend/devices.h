#pragma once
// The devices a form offers, without LibTorch's headers (the studio's forms include this).
#include <string>
#include <vector>

namespace moekd {

// cpu and cuda:N for each CUDA device this build sees; plain `cuda` when it sees none, for configs
// written here for a GPU machine.
std::vector<std::string> device_choices();

}  // namespace moekd
