// Routing policies and the MoE block: grouped sparse dispatch against a per-token reference for
// every weight rule, the all-experts path, KA sampling statistics, top-p minimality, balance losses.
#include <QtTest>


#include "model/moe.h"
#include "selftest/sampling_stats.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;

namespace {

MoEBlock tiny_block(Family family, uint64_t seed = 3) {
  torch::manual_seed(seed);
  const auto cfg = tiny_config(family, 1);
  MoEBlock block(cfg, cfg.layers[0]);
  torch::NoGradGuard no_grad;
  for (auto& p : block->parameters()) p.normal_(0.0, 0.2);
  block->experts->zero_padding();  // as a loaded model has it
  return block;
}

RoutingPolicy policy_named(const QString& name) {
  if (name == "topk") return RoutingPolicy::topk();
  if (name == "all") return RoutingPolicy::all();
  if (name == "ka") return RoutingPolicy::ka(0.5, 3);  // k' != k: rows of different widths
  if (name == "ka-same-k") return RoutingPolicy::ka(0.7);
  if (name == "topp") return RoutingPolicy::topp(0.7);
  qFatal("unknown policy");
}

// Chi-square critical value for 19 degrees of freedom at p = 0.001.
constexpr double kChi2Df19P001 = 43.82;

}  // namespace

class TestRouting : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void sparseMatchesPerTokenReference_data() {
    QTest::addColumn<int>("family");
    QTest::addColumn<QString>("policy");
    for (const auto& [name, fam] : all_families()) {
      if (fam == Family::Llama || fam == Family::Qwen2) continue;
      for (const char* pol : {"topk", "ka", "ka-same-k", "topp", "all"})
        QTest::newRow((std::string(name) + "/" + pol).c_str()) << static_cast<int>(fam) << QString(pol);
    }
  }
  void sparseMatchesPerTokenReference() {
    QFETCH(int, family);
    QFETCH(QString, policy);
    auto block = tiny_block(static_cast<Family>(family));
    torch::NoGradGuard no_grad;
    auto x = torch::randn({37, 32});
    RoutingRecord rec;
    torch::manual_seed(11);
    auto y = block->forward(x, policy_named(policy), &rec);
    auto ref = block->forward_reference(x, rec.selection);
    const double diff = max_abs_diff(y, ref);
    QVERIFY2(diff <= 1e-5, qPrintable(QString("max abs diff %1").arg(diff)));
    QVERIFY(y.abs().max().item<double>() > 1e-2);  // a real output, not zeros matching zeros
  }

  void allPolicyIsTheDenseSoftmaxMixture_data() {
    QTest::addColumn<int>("family");
    for (const auto& [name, fam] : all_families())
      if (fam != Family::Llama && fam != Family::Qwen2) QTest::newRow(name) << static_cast<int>(fam);
  }
  void allPolicyIsTheDenseSoftmaxMixture() {
    QFETCH(int, family);
    auto block = tiny_block(static_cast<Family>(family));
    torch::NoGradGuard no_grad;
    auto x = torch::randn({19, 32});
    RoutingRecord rec;
    auto y = block->forward(x, RoutingPolicy::all(), &rec);
    // Weights are the softmax over all E router logits, for every family (Mixtral's and OLMoE's
    // renormalisation divides by a float32 sum of 1 +- a few ulp: 1e-7 was below that rounding).
    const double weights_diff = max_abs_diff(rec.selection.weights, torch::softmax(rec.logits, -1));
    QVERIFY2(weights_diff < 5e-7, qPrintable(QString::number(weights_diff)));
    // Dense sum, written independently: every expert on every token.
    auto& ex = *block->experts;
    auto expected = torch::zeros_like(x);
    for (int64_t e = 0; e < 4; ++e) {
      const auto s = ex.sizes[e];
      auto h = torch::silu(x.mm(ex.gate_proj[e].narrow(0, 0, s).t())) * x.mm(ex.up_proj[e].narrow(0, 0, s).t());
      expected += rec.selection.weights.select(1, e).unsqueeze(1) * h.mm(ex.down_proj[e].narrow(1, 0, s).t());
    }
    expected *= block->score_scale;
    if (block->shared_expert) expected += torch::sigmoid(block->shared_expert_gate(x)) * block->shared_expert(x);
    QVERIFY2(max_abs_diff(y, expected) <= 1e-5, qPrintable(QString::number(max_abs_diff(y, expected))));
  }

  void kaWithLambdaZeroIsTopkExactly() {
    for (const auto& [name, fam] : all_families()) {
      if (fam == Family::Llama || fam == Family::Qwen2) continue;
      auto block = tiny_block(fam);
      torch::NoGradGuard no_grad;
      auto x = torch::randn({29, 32});
      RoutingRecord a, b;
      auto ya = block->forward(x, RoutingPolicy::topk(), &a);
      auto yb = block->forward(x, RoutingPolicy::ka(0.0), &b);
      QVERIFY2(torch::equal(ya, yb), name);
      QVERIFY(torch::equal(a.selection.ids, b.selection.ids));
      QVERIFY(!b.selection.sampled.any().item<bool>());
    }
  }

  void weightRulesOfEachFamily() {
    torch::NoGradGuard no_grad;
    auto logits = torch::randn({50, 6});
    auto probs = torch::softmax(logits, -1);
    MoeSpec spec;
    spec.num_experts = 6;
    spec.top_k = 2;
    spec.weight_rule = WeightRule::SoftmaxAllRenormalised;  // Mixtral
    auto sel = select_experts(logits, spec, RoutingPolicy::topk());
    auto chosen = probs.gather(1, sel.ids);
    QVERIFY(max_abs_diff(sel.weights, chosen / chosen.sum(-1, true)) < 1e-7);
    QVERIFY(torch::equal(sel.ids, std::get<1>(probs.topk(2, -1))));
    spec.weight_rule = WeightRule::SoftmaxAll;  // Qwen2-MoE / OLMoE without norm_topk_prob
    sel = select_experts(logits, spec, RoutingPolicy::topk());
    QVERIFY(max_abs_diff(sel.weights, chosen) < 1e-7);
    spec.weight_rule = WeightRule::SoftmaxChosen;  // LLaMA-MoE
    sel = select_experts(logits, spec, RoutingPolicy::topk());
    QVERIFY(max_abs_diff(sel.weights, torch::softmax(logits.gather(1, sel.ids), -1)) < 1e-7);
    QVERIFY(torch::equal(sel.ids, std::get<1>(logits.topk(2, -1))));
  }

  // With lambda = 1 every token samples k' experts without replacement from softmax(logits):
  // the ordered pair (a, b) has probability p_a * p_b / (1 - p_a).
  void kaSamplingFollowsSamplingWithoutReplacement() {
    torch::NoGradGuard no_grad;
    const int64_t E = 5, N = 20000;
    auto row = torch::tensor({1.2f, 0.3f, -0.4f, 0.9f, -1.5f});
    auto logits = row.unsqueeze(0).expand({N, E}).contiguous();
    auto p = torch::softmax(row, -1);
    MoeSpec spec;
    spec.num_experts = E;
    spec.top_k = 2;
    auto chi2_of = [&](const torch::Tensor& ids) { return ordered_pair_chi2(ids, p); };
    torch::manual_seed(2024);
    auto sampled = select_experts(logits, spec, RoutingPolicy::ka(1.0));
    QVERIFY(sampled.sampled.all().item<bool>());
    const double chi2 = chi2_of(sampled.ids);
    QVERIFY2(chi2 < kChi2Df19P001, qPrintable(QString("chi2 = %1 (df 19, p = 0.001 bound %2)").arg(chi2).arg(kChi2Df19P001)));
    // The same statistic rejects plain top-k, so the test can tell the two apart.
    const double chi2_topk = chi2_of(select_experts(logits, spec, RoutingPolicy::topk()).ids);
    QVERIFY(chi2_topk > 100 * kChi2Df19P001);
    // With lambda = 0.3 about 30% of the tokens sample (6 standard deviations: 0.019).
    auto mixed = select_experts(logits, spec, RoutingPolicy::ka(0.3));
    const double share = mixed.sampled.to(torch::kDouble).mean().item<double>();
    QVERIFY2(std::abs(share - 0.3) < 0.02, qPrintable(QString::number(share)));
  }

  void toppPicksTheMinimalSet() {
    torch::NoGradGuard no_grad;
    torch::manual_seed(5);
    auto logits = torch::randn({300, 8}) * 1.5;
    auto probs = torch::softmax(logits, -1);
    MoeSpec spec;
    spec.num_experts = 8;
    spec.top_k = 2;
    const double p = 0.6;
    auto sel = select_experts(logits, spec, RoutingPolicy::topp(p));
    auto ids = sel.ids.accessor<int64_t, 2>();
    for (int64_t t = 0; t < 300; ++t) {
      std::vector<double> chosen;
      for (int64_t j = 0; j < sel.ids.size(1); ++j)
        if (ids[t][j] >= 0) chosen.push_back(probs[t][ids[t][j]].item<double>());
      auto sorted = std::get<0>(probs[t].sort(-1, true));
      double mass = 0;
      int64_t minimal = 0;
      while (mass < p) mass += sorted[minimal++].item<double>();
      QCOMPARE(static_cast<int64_t>(chosen.size()), minimal);
      for (size_t j = 0; j < chosen.size(); ++j)  // and they are the most probable ones, in order
        QVERIFY(std::abs(chosen[j] - sorted[j].item<double>()) < 1e-7);
    }
    QVERIFY(sel.padded);  // sizes differ between tokens
  }

  void balanceLossesMatchTheirFormulas() {
    torch::NoGradGuard no_grad;
    torch::manual_seed(9);
    const int64_t N = 64, E = 4;
    auto logits = torch::randn({N, E});
    auto probs = torch::softmax(logits, -1);
    MoeSpec spec;
    spec.num_experts = E;
    spec.top_k = 2;
    auto sel = select_experts(logits, spec, RoutingPolicy::topk());
    std::vector<double> f(E, 0.0), importance(E, 0.0);
    for (int64_t t = 0; t < N; ++t)
      for (int64_t j = 0; j < 2; ++j) {
        const auto e = sel.ids[t][j].item<int64_t>();
        f[e] += 1.0;
        importance[e] += sel.weights[t][j].item<double>();
      }
    double switch_expected = 0;
    for (int64_t e = 0; e < E; ++e) switch_expected += (f[e] / N) * probs.select(1, e).mean().item<double>();
    switch_expected *= E;
    QVERIFY(std::abs(switch_balance_loss(probs, sel).item<double>() - switch_expected) < 1e-6);
    auto cv2 = [](const std::vector<double>& v) {
      double mean = 0, var = 0;
      for (double x : v) mean += x / v.size();
      for (double x : v) var += (x - mean) * (x - mean) / (v.size() - 1);  // unbiased, as torch.var
      return var / (mean * mean + 1e-10);
    };
    const double cv2_expected = cv2(importance) + cv2(f);
    QVERIFY(std::abs(cv2_balance_loss(sel, E).item<double>() - cv2_expected) < 1e-5);
    // Perfect balance gives the Switch loss its minimum k (sum_e f_e = k when P is uniform).
    auto uniform = torch::zeros({N, E});
    Selection balanced;
    balanced.ids = torch::tensor({0, 1, 2, 3}, torch::kLong).repeat({N / 2}).view({N, 2});
    balanced.weights = torch::full({N, 2}, 0.5);
    QVERIFY(std::abs(switch_balance_loss(torch::softmax(uniform, -1), balanced).item<double>() - 2.0) < 1e-6);
    QVERIFY(cv2_balance_loss(balanced, E).item<double>() < 1e-9);
  }

  void invalidPolicyParametersAreRefused() {
    MoeSpec spec;
    spec.num_experts = 4;
    spec.top_k = 2;
    auto logits = torch::randn({3, 4});
    QVERIFY_THROWS_EXCEPTION(moekd::Error, select_experts(logits, spec, RoutingPolicy::ka(1.5)));
    QVERIFY_THROWS_EXCEPTION(moekd::Error, select_experts(logits, spec, RoutingPolicy::ka(0.5, 9)));
    QVERIFY_THROWS_EXCEPTION(moekd::Error, select_experts(logits, spec, RoutingPolicy::topp(0.0)));
    try {
      parse_name<PolicyKind>("top2");
      QFAIL("no exception");
    } catch (const moekd::Error& e) {
      QVERIFY(QString(e.what()).contains("topk, ka, all, topp"));
    }
  }
};

QTEST_APPLESS_MAIN(TestRouting)
#include "test_routing.moc"
