#pragma once
// Causal self-attention on the CPU in float32, for LibTorch builds without a fused kernel
// (Debian's 1.13; later LibTorch has scaled_dot_product_attention's). Per head and per block of
// query rows, the products go straight to the BLAS (backend/blas.h) and only the causal part of
// the scores is computed: a block of rows ending at row r needs keys 0..r, not all T. The softmax
// runs over each row's visible keys in place. A forward without gradients keeps one block of
// scores, not [B, H, T, T]; one with gradients keeps the probabilities for backward, as the
// written-out formula does. Grouped-query heads read their shared key/value head in place (no
// repeated copies), and the output is laid out [B, T, H, D] for the output projection.
#include <torch/torch.h>

namespace moekd {

// Causal self-attention of q [B, H, T, D] over k, v [B, Hkv, Tk, D] (H a multiple of Hkv), or
// attention under `additive_mask` where it is defined -> [B, H, T, D]. The CPU kernel below
// where it applies, else compat::attention (the fused kernel of LibTorch 2.x, the written-out
// formula on 1.13) on keys and values repeated for every head of their group.
torch::Tensor self_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& additive_mask);

// Whether this build and process run float32 CPU attention with the kernel below: a LibTorch
// without a fused CPU kernel, a BLAS in the process, and MOEKD_CPU_ATTENTION not set to 0.
bool causal_attention_cpu_available();

// Whether causal_attention_cpu() takes these: where it is available, float32 CPU tensors
// q [B, H, T, D] and k, v [B, Hkv, T, D] (H a multiple of Hkv, the same T: no cache) whose rows
// are contiguous.
bool causal_attention_cpu_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// softmax(q k^T / sqrt(D) + causal mask) v -> [B, H, T, D] (a view of [B, T, H, D] memory).
// Differentiable in q, k and v (once: its backward is not itself recorded).
torch::Tensor causal_attention_cpu(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

}  // namespace moekd
