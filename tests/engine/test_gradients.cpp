// Router gradients against central finite differences in float64, for both router kinds (the
// HF linear router and LLaMA-MoE's mlp gate) and the policies SAR trains under.
#include <QtTest>

#include "model/moe.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;

class TestGradients : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void routerGradientMatchesFiniteDifferences_data() {
    QTest::addColumn<int>("family");
    QTest::addColumn<QString>("policy");
    QTest::newRow("linear router, mixtral, topk") << static_cast<int>(Family::Mixtral) << "topk";
    QTest::newRow("linear router, qwen2_moe, topk") << static_cast<int>(Family::Qwen2Moe) << "topk";
    QTest::newRow("linear router, olmoe, all") << static_cast<int>(Family::Olmoe) << "all";
    QTest::newRow("mlp router, llama_moe, topk") << static_cast<int>(Family::LlamaMoe) << "topk";
    QTest::newRow("mlp router, llama_moe, all") << static_cast<int>(Family::LlamaMoe) << "all";
  }
  void routerGradientMatchesFiniteDifferences() {
    QFETCH(int, family);
    QFETCH(QString, policy);
    const QString policy_name = policy;
    torch::manual_seed(17);
    const auto cfg = tiny_config(static_cast<Family>(family), 1);
    MoEBlock block(cfg, cfg.layers[0]);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : block->parameters()) p.normal_(0.0, 0.3);
    }
    block->experts->zero_padding();
    block->to(torch::kDouble);
    const auto routing = policy_name == "all" ? RoutingPolicy::all() : RoutingPolicy::topk();
    auto x = torch::randn({9, 32}, torch::kDouble);
    auto r = torch::randn({9, 32}, torch::kDouble);
    auto loss = [&] { return (block->forward(x, routing, nullptr) * r).sum(); };

    auto params = block->gate->parameters();
    QVERIFY(!params.empty());
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    loss().backward();
    const double h = 1e-6;
    int checked = 0;
    for (auto& p : params) {
      if (!p.grad().defined()) continue;  // the noise projection: unused without noisy gating
      auto flat = p.view(-1);
      auto grad = p.grad().view(-1);
      for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 12)) {
        double plus, minus;
        {
          torch::NoGradGuard no_grad;
          const double orig = flat[i].item<double>();
          flat[i] = orig + h;
          plus = loss().item<double>();
          flat[i] = orig - h;
          minus = loss().item<double>();
          flat[i] = orig;
        }
        const double numeric = (plus - minus) / (2 * h);
        const double analytic = grad[i].item<double>();
        QVERIFY2(std::abs(numeric - analytic) <= 1e-6 + 1e-5 * std::abs(numeric),
                 qPrintable(QString("entry %1: autograd %2, finite difference %3").arg(i).arg(analytic).arg(numeric)));
        ++checked;
      }
    }
    QVERIFY(checked >= 12);
  }

  // LLaMA-MoE's noise projection receives gradients only through noisy gating (training).
  void noiseProjectionLearnsOnlyWithNoise() {
    torch::manual_seed(3);
    const auto cfg = tiny_config(Family::LlamaMoe, 1);
    MoEBlock block(cfg, cfg.layers[0]);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : block->parameters()) p.normal_(0.0, 0.3);
    }
    block->experts->zero_padding();
    auto x = torch::randn({16, 32});
    block->forward(x, RoutingPolicy::all(), nullptr, /*router_noise=*/false).pow(2).sum().backward();
    QVERIFY(!block->gate->weight_noise->weight.grad().defined());
    block->forward(x, RoutingPolicy::all(), nullptr, /*router_noise=*/true).pow(2).sum().backward();
    QVERIFY(block->gate->weight_noise->weight.grad().abs().sum().item<double>() > 0);
  }
};

QTEST_APPLESS_MAIN(TestGradients)
#include "test_gradients.moc"
