#pragma once
// Small models and comparisons shared by the suites.
#include <QString>
#include <QTemporaryDir>

#include <torch/torch.h>

#include "io/safetensors.h"
#include "model/causal_lm.h"
#include "model/samples.h"
#include "util/error.h"

namespace moekd::test {

// A sanitized process that holds LibTorch cannot load SentencePiece (data/spm_library.cpp): the
// suites that need both skip, saying so; the normal build runs them.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSentencePieceBesideLibTorch = false;
#else
constexpr bool kSentencePieceBesideLibTorch = true;
#endif

inline QString data_path(const QString& rel) { return QStringLiteral(MOEKD_TEST_DATA "/") + rel; }
inline std::string data_dir(const char* rel) { return data_path(QString::fromUtf8(rel)).toStdString(); }

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// The engine's sample models of each family (model/samples.h).
inline ModelConfig tiny_config(Family family, int64_t layers = 2) { return sample_config(family, layers); }
inline CausalLM tiny_model(Family family, uint64_t seed = 7, int64_t layers = 2) {
  return sample_model(family, seed, layers);
}

}  // namespace moekd::test
