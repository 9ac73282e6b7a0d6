#include <iostream>

#include "commands.h"
#include "format.h"
#include "io/inspect.h"

namespace moekd::cli {

void add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "describe a Hugging Face model folder without loading its weights");
  auto dir = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  cmd->add_option("DIR", *dir, "model folder (config.json + safetensors)")->required();
  cmd->add_flag("--json", *json_out, "machine-readable output");
  cmd->callback([=] {
    const auto j = inspect_model_dir(*dir);
    if (*json_out) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "architecture   " << j["architecture"].get<std::string>() << "\n";
    std::cout << "parameters     " << human_count(j["params_total"].get<double>()) << " total, "
              << human_count(j["params_active"].get<double>()) << " active per token\n";
    std::cout << "layers         " << j["num_layers"] << " (" << j["num_moe_layers"] << " MoE)\n";
    if (j["num_experts"].get<int64_t>() > 0) {
      std::cout << "experts        " << j["num_experts"] << ", top-" << j["top_k"] << "; "
                << j["weight_rule"].get<std::string>() << "\n";
      if (j["shared_expert_size"].get<int64_t>() > 0)
        std::cout << "shared expert  intermediate size " << j["shared_expert_size"] << "\n";
    }
    std::cout << "hidden         " << j["hidden_size"] << ", heads " << j["num_heads"] << " (kv " << j["num_kv_heads"]
              << ", head_dim " << j["head_dim"] << ")\n";
    std::cout << "vocabulary     " << j["vocab_size"] << (j["tie_word_embeddings"].get<bool>() ? ", tied head" : "")
              << "\n";
    std::cout << "dtype          " << j["dtype"].get<std::string>() << "\n";
    std::cout << "files          ";
    for (const auto& f : j["files"])
      std::cout << f["name"].get<std::string>() << " (" << human_bytes(f["bytes"].get<uint64_t>()) << ")  ";
    std::cout << "\n";
  });
}

}  // namespace moekd::cli
