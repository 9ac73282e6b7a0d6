#include "metric_fields.h"

namespace moekd::ui {

namespace {
using M = moekd::StepMetrics;
using E = moekd::EvalResult;
constexpr auto kStep = MetricField::Source::Step;
constexpr auto kEval = MetricField::Source::Evaluation;
}  // namespace

QString MetricField::title() const {
  QString t = QString::fromUtf8(label);
  if (!t.isEmpty() && t[0].isLower()) t[0] = t[0].toUpper();
  if (*unit) t += QStringLiteral(" (%1)").arg(QString::fromUtf8(unit));
  return t;
}

const std::vector<MetricField>& metricFields() {
  // The order of the step fields is the order of the Training legends and the CSV columns.
  static const std::vector<MetricField> fields = {
      {"loss", "train loss", kStep, [](const M& m) { return m.loss; }, nullptr, MetricField::Losses, 0, true},
      {"ce", "cross-entropy", kStep, [](const M& m) { return m.ce; }, nullptr, MetricField::Losses, 1, true},
      {"divergence", "divergence", kStep, [](const M& m) { return m.divergence; }, nullptr, MetricField::Losses, 2,
       true},
      // Auxiliary losses live on a scale of their own: on the loss axis a balance loss near 2
      // crossed the training loss and flattened it.
      {"router_loss", "router loss", kStep, [](const M& m) { return m.router_loss; }, nullptr, MetricField::Losses,
       6, false, 1.0, "", true},
      {"balance_loss", "balance loss", kStep, [](const M& m) { return m.balance_loss; }, nullptr,
       MetricField::Losses, 8, false, 1.0, "", true},
      {"lr", "student lr", kStep, [](const M& m) { return m.lr; }, nullptr, MetricField::LearningRate, 0, true},
      {"router_lr", "router lr", kStep, [](const M& m) { return m.router_lr; }, nullptr, MetricField::LearningRate, 6,
       false},
      {"grad_norm", "gradient norm", kStep, [](const M& m) { return m.grad_norm; }, nullptr, MetricField::GradNorm, 2,
       true},
      {"tokens_per_s", "tokens/s", kStep, [](const M& m) { return m.tokens_per_s; }, nullptr,
       MetricField::Throughput, 4, true},
      // On-policy batches: what the student wrote, and what writing it cost.
      {"generated_tokens", "generated tokens per step", kStep, [](const M& m) { return m.generated_tokens; }, nullptr,
       MetricField::OnPolicy, 5, true},
      {"sampling_share", "time sampling", kStep,
       [](const M& m) { return m.step_seconds > 0 ? m.sampling_seconds / m.step_seconds : 0.0; }, nullptr,
       MetricField::OnPolicy, 7, false, 100, "%", true},
      {"val_loss", "validation loss", kEval, nullptr, [](const E& r) { return r.val_loss; }, MetricField::NoChart, 3,
       true},
      {"perplexity", "perplexity", kEval, nullptr, [](const E& r) { return r.perplexity; }, MetricField::NoChart, 5,
       false},
      {"rouge_l", "ROUGE-L", kEval, nullptr, [](const E& r) { return r.rouge_l; }, MetricField::NoChart, 0, true, 100,
       "%"},
      {"exact_match", "exact match", kEval, nullptr, [](const E& r) { return r.exact_match; }, MetricField::NoChart, 1,
       true, 100, "%"},
  };
  return fields;
}

const MetricField* metricField(const QString& key) {
  for (const auto& f : metricFields())
    if (key == QLatin1String(f.key)) return &f;
  return nullptr;
}

}  // namespace moekd::ui
