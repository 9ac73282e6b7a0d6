#include "model/memory_model.h"

#include <algorithm>

#include "model/causal_attention.h"

namespace moekd {

namespace {

constexpr int64_t kFloat32 = 4;

int64_t mean_expert(const ModelConfig& c) {
  int64_t sum = 0, n = 0;
  for (const auto& l : c.layers)
    for (auto e : l.expert_sizes) sum += e, ++n;
  return n ? sum / n : 0;
}

int64_t widest_expert(const ModelConfig& c) {
  int64_t w = 0;
  for (const auto& l : c.layers)
    for (auto e : l.expert_sizes) w = std::max(w, e);
  return w;
}

// The CPU kernel takes no mask: a sliding window that bites sends attention to the formula.
bool runs_cpu_kernel(const ModelConfig& c, const ForwardShape& x) {
  return x.cpu_attention_kernel && (c.sliding_window == 0 || x.length <= c.sliding_window);
}

// The [B, H, T, T] attention scores a layer holds: the written-out formula has the scores and
// their float32 softmax at once; the CPU kernel keeps only the probabilities for backward, and a
// block of rows (nothing to speak of) in a frozen forward.
int64_t attention_scores(const ModelConfig& c, const ForwardShape& x, bool training) {
  const int64_t scores = x.batch * c.num_heads * x.length * x.length;
  if (x.fused_attention) return 0;
  if (runs_cpu_kernel(c, x)) return training ? scores * kFloat32 : 0;
  return scores * (kFloat32 + x.bytes);
}

// What one decoder layer keeps for backward. `experts` = how many experts each token runs.
int64_t layer_activations(const ModelConfig& c, const ForwardShape& x, bool moe, int64_t experts) {
  const int64_t n = x.tokens(), d = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  int64_t bytes = 6 * n * d * kFloat32;           // two RMSNorms: input and normalised, in float32
  bytes += 2 * n * (q + 2 * kv) * x.bytes;        // q, k, v and their rotated copies
  bytes += (runs_cpu_kernel(c, x) ? 1 : 2) * n * d * x.bytes;  // attention output, o_proj input (the kernel's is one)
  bytes += attention_scores(c, x, /*training=*/true);
  if (!moe) return bytes + n * (d + 4 * c.intermediate_size) * x.bytes;  // SwiGLU: input, gate, up, product
  const int64_t E = c.moe.num_experts, f = experts == E ? widest_expert(c) : mean_expert(c);
  bytes += 3 * n * E * kFloat32;                  // router logits and probabilities
  if (experts == E) {
    // Every expert as one wide MLP (ExpertsImpl::forward_all): input, gate, up, silu, product,
    // weighted product, and the down projection's [E F, d] copy.
    bytes += n * (d + 5 * E * f) * x.bytes + E * f * d * x.bytes;
  } else {
    bytes += n * experts * (2 * d + 4 * f) * x.bytes;  // gathered inputs, gate/up/product, outputs
  }
  if (c.moe.shared_expert_size > 0) bytes += n * (d + 4 * c.moe.shared_expert_size) * x.bytes;
  return bytes;
}

}  // namespace

ForwardShape forward_shape(int64_t batch, int64_t length, int64_t bytes, bool cuda) {
  return {batch, length, bytes, cuda, !cuda && bytes == kFloat32 && causal_attention_cpu_available()};
}

int64_t training_activation_bytes(const ModelConfig& c, const ForwardShape& x, bool checkpointed,
                                  int64_t experts_per_token) {
  int64_t layers = 0, widest = 0;
  const int64_t k = experts_per_token > 0 ? experts_per_token : c.moe.top_k;
  for (const auto& l : c.layers) {
    const int64_t a = layer_activations(c, x, l.moe, k);
    layers += a;
    widest = std::max(widest, a);
  }
  if (checkpointed) layers = c.num_layers() * x.tokens() * c.hidden_size * kFloat32 + widest;
  return 4 * x.tokens() * c.hidden_size * kFloat32 + layers;  // embeddings and the final norm beside the layers
}

int64_t frozen_forward_bytes(const ModelConfig& c, const ForwardShape& x) {
  const int64_t f = c.is_moe() ? c.moe.top_k * mean_expert(c) : c.intermediate_size;
  return x.tokens() * c.vocab_size * x.bytes + x.tokens() * (4 * c.hidden_size + 3 * f) * x.bytes +
         attention_scores(c, x, /*training=*/false);
}

int64_t loss_row_bytes(int64_t vocab, const ForwardShape& x, int64_t teacher_distributions) {
  return x.tokens() * vocab * x.bytes + x.tokens() * vocab * kFloat32 * (2 + teacher_distributions);
}

}  // namespace moekd
