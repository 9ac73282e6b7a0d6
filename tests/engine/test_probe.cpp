// The teacher probe (engine/probe/): its numbers on a tiny Mixtral-shaped teacher against a
// direct computation in this file: the router's discarded mass and entropy from the recorded
// probabilities with torch's own topk, the KL of each routing from top-k's over the response
// tokens, the loss under a routing, and the identities that must hold (top-E = all for a
// softmax-over-all family, KA at lambda 0 = top-k).
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include "data/run_data.h"
#include "data/tokenizer.h"
#include "distill/batch.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "probe/teacher_probe.h"
#include "run/run_config.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;

namespace {

struct Fixture {
  QTemporaryDir tmp;
  std::string dir;
  ProbeSetup setup;
  Fixture() {
    torch::manual_seed(11);
    auto cfg = tiny_config(Family::Mixtral);  // 4 experts, top-2
    cfg.vocab_size = 99;
    CausalLM teacher(cfg);
    teacher->init_weights(0.3);  // a spread-out router: top-k leaves real mass behind
    dir = tmp.path().toStdString() + "/teacher";
    save_pretrained(teacher, dir);
    setup.teacher.path = dir;
    setup.data.kind = DataKind::Builtin;
    setup.data.train_examples = 50;
    setup.data.validation_examples = 20;
    setup.data.max_len = 32;
    setup.samples = 4;
    setup.max_new_tokens = 4;
    setup.batch_size = 8;
    setup.seed = 5;
  }
};

}  // namespace

class TestProbe : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void matchesADirectComputation() {
    Fixture f;
    f.setup.policies = {{"top-1", RoutingPolicy::topk(1)},
                        {"top-2", RoutingPolicy::topk(2)},
                        {"top-4", RoutingPolicy::topk(4)},
                        {"all", RoutingPolicy::all()},
                        {"ka0", RoutingPolicy::ka(0.0, 3)},
                        {"ka", RoutingPolicy::ka(0.5, 3)}};
    const auto p = probe_teacher(f.setup);
    QCOMPARE(p.num_experts, int64_t{4});
    QCOMPARE(p.top_k, int64_t{2});
    QCOMPARE(p.policies.size(), size_t(6));

    // The same model, data and batches, computed here.
    torch::NoGradGuard no_grad;
    auto teacher = load_pretrained(f.dir);
    teacher->eval();
    auto tok = make_builtin_tokenizer();
    const auto data = build_run_data(f.setup.data, *tok);
    std::vector<Batch> batches;
    for (size_t s = 0; s < data.validation.size(); s += 8) {
      std::vector<const TokenizedExample*> ex;
      for (size_t i = s; i < std::min(data.validation.size(), s + 8); ++i) ex.push_back(&data.validation[i]);
      batches.push_back(make_batch(ex, tok->pad_id(), torch::kCPU));
    }
    // Router statistics: 1 - the two largest probabilities, and the entropy, over real tokens.
    std::vector<double> discarded(p.layers.size()), entropy(p.layers.size());
    double tokens = 0;
    for (const auto& b : batches) {
      ForwardOptions o;
      o.record_routing = true;
      const auto out = teacher->forward(b.ids, o);
      tokens += b.real.sum().item<double>();
      size_t m = 0;
      for (const auto& r : out.routing) {
        if (!r) continue;
        auto probs = r->probs.to(torch::kDouble).index({b.real});
        discarded[m] += (1 - std::get<0>(probs.topk(2, -1)).sum(-1)).sum().item<double>();
        entropy[m] += (-(probs * probs.log())).sum().item<double>();
        ++m;
      }
    }
    QCOMPARE(p.tokens, static_cast<int64_t>(tokens));
    for (size_t l = 0; l < p.layers.size(); ++l) {
      QVERIFY2(std::abs(p.layers[l].discarded_mass - discarded[l] / tokens) < 1e-9,
               qPrintable(QString("layer %1: %2 vs %3").arg(l).arg(p.layers[l].discarded_mass).arg(discarded[l] / tokens)));
      QVERIFY(std::abs(p.layers[l].entropy - entropy[l] / tokens) < 1e-9);
      QVERIFY(std::abs(p.layers[l].entropy_fraction - p.layers[l].entropy / std::log(4.0)) < 1e-12);
      QVERIFY(p.layers[l].discarded_mass > 0.05);  // the fixture has something to leave out
    }

    // KL(top-k || top-1) and the loss under top-1, over the response tokens.
    double kl = 0, nll = 0, rows = 0;
    for (const auto& b : batches) {
      ForwardOptions own, one;
      one.policy = RoutingPolicy::topk(1);
      auto ref = torch::log_softmax(target_rows(teacher->forward(b.ids, own).logits, b).to(torch::kDouble), -1);
      auto mine = torch::log_softmax(target_rows(teacher->forward(b.ids, one).logits, b).to(torch::kDouble), -1);
      kl += (ref.exp() * (ref - mine)).sum().item<double>();
      auto targets = b.targets.reshape(-1).index_select(0, b.target_index);
      nll -= mine.gather(1, targets.unsqueeze(1)).sum().item<double>();
      rows += static_cast<double>(ref.size(0));
    }
    const auto& top1 = p.policies[0];
    QVERIFY2(std::abs(top1.kl_from_topk - kl / rows) < 1e-5, qPrintable(QString("%1 vs %2").arg(top1.kl_from_topk).arg(kl / rows)));
    QVERIFY2(std::abs(top1.eval.val_loss - nll / rows) < 1e-5, qPrintable(QString("%1 vs %2").arg(top1.eval.val_loss).arg(nll / rows)));
    QCOMPARE(top1.experts_per_token, 1.0);
    QVERIFY(top1.kl_from_topk > 1e-4);

    // Identities: the own top-k is 0 from itself; top-E renormalised over all E is `all`; KA with
    // lambda 0 is top-k; KA with lambda 0.5 and k' = 3 uses 2.5 experts per token on average.
    QCOMPARE(p.policies[1].kl_from_topk, 0.0);
    QVERIFY(std::abs(p.policies[2].kl_from_topk - p.policies[3].kl_from_topk) < 1e-6);
    QCOMPARE(p.policies[3].experts_per_token, 4.0);
    QCOMPARE(p.policies[4].kl_from_topk, 0.0);
    QCOMPARE(p.policies[4].eval.val_loss, p.policies[1].eval.val_loss);
    QVERIFY(std::abs(p.policies[5].experts_per_token - 2.5) < 0.15);
    QVERIFY(p.policies[5].kl_from_topk > 0);

    // The same seed gives the same sampled routing; the JSON reads back.
    const auto again = probe_teacher(f.setup);
    QCOMPARE(again.policies[5].kl_from_topk, p.policies[5].kl_from_topk);
    const auto back = teacher_probe_from_json(to_json(p));
    QCOMPARE(back.policies.size(), p.policies.size());
    QCOMPARE(back.policies[5].policy.policy.ka_k, int64_t{3});
    QCOMPARE(back.layers[1].discarded_mass, p.layers[1].discarded_mass);
  }

  void defaultSweep() {
    const auto v = default_probe_policies(8, 2);
    QCOMPARE(v.front().label, std::string("top-1"));
    QCOMPARE(v[1].label, std::string("top-2 (own)"));
    QCOMPARE(v[7].policy.k, int64_t{8});
    QCOMPARE(v[8].label, std::string("ka lambda=0.05 k'=2"));
    QCOMPARE(v[12].label, std::string("ka lambda=0.05 k'=7"));
    QCOMPARE(v.back().label, std::string("top-p 0.9"));
    QCOMPARE(v.size(), size_t(8 + 8 + 1 + 2));
  }

  // teacher.top_k: a teacher routed through fewer experts than its config says, everywhere the
  // model's own k counts (its top-k, the discarded mass, KA's unsampled tokens).
  void topKOverride() {
    Fixture f;
    f.setup.teacher.top_k = 1;
    f.setup.samples = 0;
    f.setup.policies = {{"own", RoutingPolicy::topk()}, {"ka0", RoutingPolicy::ka(0.0)}};
    const auto p = probe_teacher(f.setup);
    QCOMPARE(p.top_k, int64_t{1});
    QCOMPARE(p.policies[0].experts_per_token, 1.0);
    QCOMPARE(p.policies[1].experts_per_token, 1.0);
    f.setup.teacher.top_k = 0;
    const auto own = probe_teacher(f.setup);
    QVERIFY(p.layers[0].discarded_mass > own.layers[0].discarded_mass);  // top-1 leaves more behind than top-2
    f.setup.teacher.top_k = 5;
    QString err;
    try {
      probe_teacher(f.setup);
    } catch (const std::exception& e) {
      err = e.what();
    }
    QCOMPARE(err, QString("teacher.top_k = 5 is outside [1, 4] (the model's experts)"));
    // In a run config: read, written back only when set.
    nlohmann::json j = {{"run_dir", "x"}, {"teacher", {{"path", f.dir}, {"top_k", 1}}}, {"student", {{"path", f.dir}}}};
    const auto cfg = parse_run_config(j, "run.json");
    QCOMPARE(cfg.teacher.top_k, int64_t{1});
    QCOMPARE(to_json(cfg)["teacher"]["top_k"].get<int64_t>(), int64_t{1});
    QVERIFY(!to_json(cfg)["student"].contains("top_k"));
  }

  void refusesADenseTeacher() {
    QTemporaryDir tmp;
    auto cfg = tiny_config(Family::Llama, 1);
    cfg.vocab_size = 99;
    CausalLM dense(cfg);
    save_pretrained(dense, tmp.path().toStdString() + "/dense");
    ProbeSetup s;
    s.teacher.path = tmp.path().toStdString() + "/dense";
    s.data.train_examples = 20;
    s.data.validation_examples = 8;
    QString err;
    try {
      probe_teacher(s);
    } catch (const std::exception& e) {
      err = e.what();
    }
    QVERIFY2(err.endsWith("the probe needs an MoE teacher; this model is dense"), qPrintable(err));
  }
};

QTEST_GUILESS_MAIN(TestProbe)
#include "test_probe.moc"
