#include "model/causal_lm.h"

#include "model/layer_checkpoint.h"
#include "util/error.h"

namespace moekd {

namespace nn = torch::nn;

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, int64_t index) {
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  self_attn = register_module("self_attn", Attention(c));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  const auto& spec = c.layers[index];
  if (spec.moe) {
    moe = register_module("mlp", MoEBlock(c, spec));
  } else {
    dense = register_module("mlp", DenseMLP(c.hidden_size, c.intermediate_size));
  }
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const AttentionInputs& attn,
                                        const ForwardOptions& opt, RoutingRecord* record) {
  auto h = x + self_attn(input_layernorm(x), attn);
  auto normed = post_attention_layernorm(h);
  if (dense) return h + dense(normed);
  const auto shape = normed.sizes().vec();
  auto y = moe(normed.reshape({-1, shape.back()}), opt.policy, record, opt.router_noise);
  return h + y.view(shape);
}

TransformerImpl::TransformerImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers(); ++i) layers->push_back(DecoderLayer(c, i));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

CausalLMImpl::CausalLMImpl(ModelConfig cfg)
    : config(std::move(cfg)), rotary(config.head_dim, config.rope_theta, config.rope_linear_factor) {
  config.validate();
  model = register_module("model", Transformer(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module("lm_head", nn::Linear(nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
}

torch::Tensor CausalLMImpl::head_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

namespace {

// The most negative finite value of the compute dtype: a row that sees only padding stays NaN-free.
double mask_floor(torch::ScalarType t) {
  if (t == torch::kHalf) return -65504.0;
  if (t == torch::kBFloat16) return -3.38e38;
  if (t == torch::kDouble) return std::numeric_limits<double>::lowest();
  return std::numeric_limits<float>::lowest();
}

// Additive mask [B, 1, T, S]: 0 where query i (absolute position past + i) may attend to key j.
torch::Tensor build_mask(int64_t B, int64_t T, int64_t past, int64_t window, const torch::Tensor& key_keep,
                         const torch::TensorOptions& options) {
  const auto device = options.device();
  const int64_t S = past + T;
  auto opts = torch::dtype(torch::kLong).device(device);
  auto qpos = torch::arange(past, S, opts).unsqueeze(1);
  auto kpos = torch::arange(0, S, opts).unsqueeze(0);
  auto allowed = kpos.le(qpos);
  if (window > 0) allowed = allowed.logical_and((qpos - kpos).lt(window));
  auto allowed_b = allowed.unsqueeze(0).unsqueeze(0).expand({B, 1, T, S});
  if (key_keep.defined()) allowed_b = allowed_b.logical_and(key_keep.to(torch::kBool).view({B, 1, 1, S}));
  auto mask = torch::zeros({B, 1, T, S}, options);
  return mask.masked_fill(allowed_b.logical_not(), mask_floor(options.dtype().toScalarType()));
}

}  // namespace

ForwardOutput CausalLMImpl::forward(const torch::Tensor& input_ids, const ForwardOptions& opt) {
  if (input_ids.dim() != 2) fail("forward: input_ids must be [batch, tokens], got ", input_ids.dim(), " dims");
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const int64_t past = opt.cache ? opt.cache->length() : 0;
  const auto device = input_ids.device();
  if (opt.attention_mask.defined() &&
      (opt.attention_mask.size(0) != B || opt.attention_mask.size(1) != past + T))
    fail("forward: attention_mask must be [", B, ", ", past + T, "]");

  torch::Tensor positions = opt.position_ids;
  if (!positions.defined()) {
    if (opt.attention_mask.defined()) {  // left padding: count real tokens only
      positions = (opt.attention_mask.to(torch::kLong).cumsum(-1) - 1).clamp_min(0).narrow(1, past, T);
    } else {
      positions = torch::arange(past, past + T, torch::dtype(torch::kLong).device(device)).unsqueeze(0).expand({B, T});
    }
  }
  const auto mask_options = torch::dtype(head_weight().scalar_type()).device(device);
  AttentionInputs attn;
  std::tie(attn.cos, attn.sin) = rotary.tables(positions);
  attn.cache = opt.cache;
  const bool window_bites = config.sliding_window > 0 && past + T > config.sliding_window;
  if (opt.attention_mask.defined() || window_bites || (past > 0 && T > 1)) {
    attn.mask = build_mask(B, T, past, config.sliding_window, opt.attention_mask, mask_options);
  } else if (T == 1) {
    // One new token sees every cached key: no mask at all (and no causal flag in the kernel).
    attn.mask = torch::zeros({1, 1, 1, 1}, mask_options);
  }

  ForwardOutput out;
  out.routing.resize(config.num_layers());
  auto x = model->embed_tokens(input_ids);
  for (int64_t i = 0; i < config.num_layers(); ++i) {
    attn.layer = i;
    RoutingRecord record;
    const bool record_here = opt.record_routing && config.layers[i].moe;
    auto* layer = model->layers[i]->as<DecoderLayerImpl>();
    x = opt.checkpoint_layers && torch::GradMode::is_enabled()
            ? checkpointed_layer(*layer, x, attn, opt, record_here ? &record : nullptr)
            : layer->forward(x, attn, opt, record_here ? &record : nullptr);
    if (record_here) out.routing[i] = std::move(record);
  }
  x = model->norm(x);
  if (opt.last_logits_only) x = x.narrow(1, T - 1, 1);
  out.logits = torch::linear(x, head_weight());
  return out;
}

void CausalLMImpl::init_weights(double std) {
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    auto& t = p.value();
    const auto& name = p.key();
    if (t.dim() >= 2) {
      t.normal_(0.0, std);
    } else if (name.find("norm") != std::string::npos) {
      t.fill_(1.0);
    } else {
      t.zero_();
    }
  }
  for (auto& layer : *model->layers) {
    auto* dl = layer->as<DecoderLayerImpl>();
    if (dl->moe) dl->moe->experts->zero_padding();
  }
}

void CausalLMImpl::set_top_k(int64_t k) {
  if (!config.is_moe()) fail("top_k = ", k, ": the model is dense (it has no experts to choose)");
  if (k < 1 || k > config.moe.num_experts)
    fail("top_k = ", k, " is outside [1, ", config.moe.num_experts, "] (the model's experts)");
  config.moe.top_k = k;
  for (auto& layer : *model->layers) {
    auto* dl = layer->as<DecoderLayerImpl>();
    if (dl->moe) dl->moe->spec.top_k = k;
  }
}

std::vector<LayerRouter> CausalLMImpl::routers() {
  std::vector<LayerRouter> out;
  for (int64_t i = 0; i < config.num_layers(); ++i) {
    auto* dl = model->layers[i]->as<DecoderLayerImpl>();
    if (!dl->moe) continue;
    LayerRouter r{i, {}};
    const std::string prefix = "model.layers." + std::to_string(i) + ".mlp.gate.";
    for (auto& p : dl->moe->gate->named_parameters()) r.parameters.emplace_back(prefix + p.key(), p.value());
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
int64_t expert_params(const ExpertsImpl& ex, int64_t hidden) {
  int64_t n = 0;
  for (auto s : ex.sizes) n += 3 * s * hidden;
  return n;
}
}  // namespace

int64_t CausalLMImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  // Stacked experts hold zero padding that is not part of the model.
  for (const auto& layer : *model->layers) {
    const auto* dl = layer->as<DecoderLayerImpl>();
    if (!dl->moe) continue;
    const auto& ex = *dl->moe->experts;
    n -= ex.gate_proj.numel() + ex.up_proj.numel() + ex.down_proj.numel();
    n += expert_params(ex, config.hidden_size);
  }
  return n;
}

int64_t CausalLMImpl::num_active_parameters() const {
  int64_t n = num_parameters();
  for (const auto& layer : *model->layers) {
    const auto* dl = layer->as<DecoderLayerImpl>();
    if (!dl->moe) continue;
    const auto& ex = *dl->moe->experts;
    const auto all = expert_params(ex, config.hidden_size);
    const auto E = static_cast<int64_t>(ex.sizes.size());
    n -= all;
    n += all * config.moe.top_k / E;  // k experts of mean size per token
  }
  return n;
}

std::vector<int64_t> generate_greedy(CausalLM& model, const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                     const RoutingPolicy& policy, int64_t stop_id) {
  torch::NoGradGuard no_grad;
  if (stop_id < 0) stop_id = model->config.eos_token_id;
  const auto device = model->head_weight().device();
  KVCache cache;
  ForwardOptions opt;
  opt.policy = policy;
  opt.cache = &cache;
  opt.last_logits_only = true;
  std::vector<int64_t> out;
  auto input = torch::tensor(prompt, torch::kLong).unsqueeze(0).to(device);
  for (int64_t i = 0; i < max_new_tokens; ++i) {
    auto logits = model->forward(input, opt).logits;
    const auto next = logits.argmax(-1).item<int64_t>();
    out.push_back(next);
    if (next == stop_id) break;
    input = torch::full({1, 1}, next, torch::dtype(torch::kLong).device(device));
  }
  return out;
}

}  // namespace moekd
