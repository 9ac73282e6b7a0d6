#include "model/layer_checkpoint.h"

#include "backend/precision.h"
#include "backend/torch_compat.h"
#include "model/causal_lm.h"

namespace moekd {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What the second run needs, beside the layer's input: the layer, its other inputs, and the
// state the first run saw.
struct Replay : torch::CustomClassHolder {
  DecoderLayerImpl* layer = nullptr;
  AttentionInputs attn;
  ForwardOptions opt;
  bool record = false;
  std::vector<torch::Tensor> params;  // the layer's trainable parameters, in the function's input order
  torch::Device device = torch::kCPU;
  torch::ScalarType autocast = torch::kFloat;  // kFloat: autocast was off
  torch::Tensor rng_state;
  Selection selection;  // the first run's choice: ids and sampled, no gradient
  torch::Tensor logits;
};

at::Generator generator_of(const torch::Device& device) { return at::globalContext().defaultGenerator(device); }

// Runs the layer; returns y and, when recording, the differentiable parts of the routing record.
variable_list run(Replay& r, const torch::Tensor& x) {
  RoutingRecord rec;
  auto y = r.layer->forward(x, r.attn, r.opt, r.record ? &rec : nullptr);
  if (!r.record) return {y};
  r.selection = rec.selection;
  r.logits = rec.logits;
  return {y, rec.probs, rec.selection.weights};
}

struct LayerCheckpoint : torch::autograd::Function<LayerCheckpoint> {
  static variable_list forward(AutogradContext* ctx, torch::Tensor x, at::TensorList params,
                               c10::intrusive_ptr<Replay> replay) {
    ctx->save_for_backward({x});
    ctx->saved_data["replay"] = c10::IValue::make_capsule(replay);
    replay->rng_state = generator_of(replay->device).get_state();
    torch::NoGradGuard no_grad;
    return run(*replay, x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto replay = c10::static_intrusive_pointer_cast<Replay>(ctx->saved_data["replay"].toCapsule());
    auto& r = *replay;
    const auto saved = ctx->get_saved_variables()[0];
    auto generator = generator_of(r.device);
    const auto now = generator.get_state();
    generator.set_state(r.rng_state);  // the same sampled experts and router noise as the first run
    variable_list outputs;
    torch::Tensor x;
    {
      torch::AutoGradMode enable(true);
      const ComputeIn precision(r.device, r.autocast);
      x = saved.detach().requires_grad_(saved.requires_grad());
      outputs = run(r, x);
    }
    generator.set_state(now);
    std::vector<torch::Tensor> with_grads, grad_outputs, inputs;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (grads[i].defined() && outputs[i].requires_grad()) {
        with_grads.push_back(outputs[i]);
        grad_outputs.push_back(grads[i]);
      }
    if (x.requires_grad()) inputs.push_back(x);
    inputs.insert(inputs.end(), r.params.begin(), r.params.end());
    variable_list found;
    if (!with_grads.empty())
      found = torch::autograd::grad(with_grads, inputs, grad_outputs, /*retain_graph=*/false,
                                    /*create_graph=*/false, /*allow_unused=*/true);
    variable_list out;  // x, each parameter, and nothing for the replay
    size_t next = 0;
    out.push_back(x.requires_grad() && !found.empty() ? found[next] : torch::Tensor());
    if (x.requires_grad()) ++next;
    for (size_t i = 0; i < r.params.size(); ++i) out.push_back(found.empty() ? torch::Tensor() : found[next + i]);
    out.emplace_back();
    return out;
  }
};

}  // namespace

torch::Tensor checkpointed_layer(DecoderLayerImpl& layer, const torch::Tensor& x, const AttentionInputs& attn,
                                 const ForwardOptions& opt, RoutingRecord* record) {
  auto replay = c10::make_intrusive<Replay>();
  replay->layer = &layer;
  replay->attn = attn;
  replay->attn.cache = nullptr;
  replay->opt = opt;
  replay->opt.cache = nullptr;
  replay->record = record != nullptr;
  replay->device = x.device();
  if (compat::autocast_enabled(x.is_cuda())) replay->autocast = compat::autocast_dtype(x.is_cuda());
  for (auto& p : layer.parameters())
    if (p.requires_grad()) replay->params.push_back(p);
  auto outputs = LayerCheckpoint::apply(x, at::TensorList(replay->params), replay);
  if (record) {
    record->probs = outputs[1];
    record->selection = replay->selection;
    record->selection.weights = outputs[2];
    record->logits = replay->logits;
  }
  return outputs[0];
}

}  // namespace moekd
