#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "ranges.h"
#include "backend/precision.h"
#include "io/hf_model.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace moekd::cli {

namespace {

std::vector<int64_t> parse_tokens(const std::string& text, int64_t vocab) {
  std::vector<int64_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (...) {
      used = 0;
    }
    if (used != word.size()) fail("--tokens: `", word, "` is not a token id (expected integers separated by spaces)");
    if (id < 0 || id >= vocab) fail("--tokens: id ", id, " is outside the vocabulary [0, ", vocab, ")");
    ids.push_back(id);
  }
  if (ids.empty()) fail("--tokens: no token ids given");
  return ids;
}

}  // namespace

void add_forward(CLI::App& app) {
  struct Args {
    std::string model, tokens, policy = "topk", out, dtype = "float32";
    double lambda = 0.0, top_p = 0.9;
    int64_t k_prime = 0;
    uint64_t seed = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("forward", "one forward pass on CPU; writes logits and routing to safetensors");
  cmd->add_option("--model", a->model, "Hugging Face model folder")->required();
  cmd->add_option("--tokens", a->tokens, "token ids, e.g. \"1 15 27\"")->required();
  cmd->add_option("--policy", a->policy, "routing policy: topk, ka, all, topp")->capture_default_str();
  cmd->add_option("--lambda", a->lambda, "KA: per-token sampling probability")->capture_default_str()->check(finite_in(0, 1));
  cmd->add_option("--k-prime", a->k_prime, "KA: experts per sampled token (0 = the model's k)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));
  cmd->add_option("--top-p", a->top_p, "topp: probability mass to reach")->capture_default_str()->check(finite_in(0, 1, true));
  cmd->add_option("--seed", a->seed, "seed of the KA sampling")->capture_default_str();
  cmd->add_option("--out", a->out, "output .safetensors file")->required();
  cmd->add_option("--dtype", a->dtype, "float32 or bfloat16: the model is loaded and run in it (logits written in float32)")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "machine-readable summary");
  cmd->callback([a] {
    RoutingPolicy policy;
    policy.kind = parse_name<PolicyKind>(a->policy);
    policy.ka_lambda = a->lambda;
    policy.ka_k = a->k_prime;
    policy.top_p = a->top_p;
    const auto precision = parse_name<Precision>(a->dtype);
    if (precision != Precision::Float32 && precision != Precision::BFloat16)
      fail("--dtype: `", a->dtype, "` is not supported on the CPU; expected float32 or bfloat16");
    auto model = load_pretrained(a->model, {scalar_type_of(precision)});
    model->eval();
    const auto ids = parse_tokens(a->tokens, model->config.vocab_size);
    if (static_cast<int64_t>(ids.size()) > model->config.max_position_embeddings)
      fail("--tokens: ", ids.size(), " tokens, more than the model's max_position_embeddings (",
           model->config.max_position_embeddings, ")");
    torch::manual_seed(a->seed);
    torch::NoGradGuard no_grad;
    ForwardOptions opt;
    opt.policy = policy;
    opt.record_routing = true;
    auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);
    auto result = model->forward(input, opt);
    std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"logits", result.logits[0].to(torch::kFloat).contiguous()}};
    nlohmann::json layers = nlohmann::json::array();
    for (size_t L = 0; L < result.routing.size(); ++L) {
      if (!result.routing[L]) continue;
      const auto& r = *result.routing[L];
      tensors.emplace_back("router_probs." + std::to_string(L), r.probs);
      tensors.emplace_back("expert_ids." + std::to_string(L), r.selection.ids.contiguous());
      layers.push_back({{"layer", L},
                        {"sampled_tokens", r.selection.sampled.sum().item<int64_t>()},
                        {"experts_per_token", r.selection.ids.size(1)}});
    }
    save_safetensors(a->out, tensors, {{"policy", a->policy}});
    if (a->json) {
      std::cout << nlohmann::json{{"out", a->out}, {"tokens", ids.size()}, {"vocab_size", model->config.vocab_size},
                                  {"policy", a->policy}, {"moe_layers", layers}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << "wrote " << a->out << ": logits [" << ids.size() << ", " << model->config.vocab_size << "]";
      if (!layers.empty()) {
        std::cout << " and routing of " << layers.size() << " MoE layers (policy " << a->policy;
        if (policy.kind == PolicyKind::KA) {
          int64_t sampled = 0;
          for (const auto& l : layers) sampled += l["sampled_tokens"].get<int64_t>();
          std::cout << ", " << sampled << " of " << ids.size() * layers.size() << " token routings sampled";
        }
        std::cout << ")";
      }
      std::cout << "\n";
    }
  });
}

}  // namespace moekd::cli
