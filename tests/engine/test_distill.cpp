// Distillation objectives and methods: every divergence against its textbook formula (values and
// gradients), chunking, the KA forward-KL shortcut, KA(lambda = 0) == KD, SAR touching only
// routers and stepping once per optimizer step, bit-identical resume, bfloat16 runs. Sessions:
// test_session.cpp; run configs, events and run folders: test_run.cpp.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/run_data.h"
#include "data/tokenizer.h"
#include "distill/divergence.h"
#include "distill/loss_scaler.h"
#include "distill/optim.h"
#include "distill/trainer.h"
#include "export/export.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "io/inspect.h"
#include "io/safetensors.h"
#include "run/run_config.h"
#include "session/session.h"
#include "distill_util.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;
using json = nlohmann::json;

namespace {

// The textbook formulas on whole tensors, written independently of the engine.
torch::Tensor reference_divergence(const torch::Tensor& t_logits, const torch::Tensor& s_logits, const std::string& kind,
                                   double T, double beta, double skew) {
  auto p = torch::softmax(t_logits / T, -1), q = torch::softmax(s_logits / T, -1);
  auto kl = [](const torch::Tensor& a, const torch::Tensor& b) { return (a * (a.log() - b.log())).sum(-1); };
  if (kind == "forward_kl") return kl(p, q);
  if (kind == "reverse_kl") return kl(q, p);
  if (kind == "jsd") {
    auto m = beta * p + (1 - beta) * q;
    return beta * kl(p, m) + (1 - beta) * kl(q, m);
  }
  if (kind == "tv") return 0.5 * (p - q).abs().sum(-1);
  if (kind == "skew_kl") return kl(p, skew * p + (1 - skew) * q);
  return kl(q, skew * q + (1 - skew) * p);  // skew_reverse_kl
}

}  // namespace

class TestDistill : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void divergencesMatchTheirFormulas_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<double>("temperature");
    for (const char* k : {"forward_kl", "reverse_kl", "jsd", "tv", "skew_kl", "skew_reverse_kl"}) {
      QTest::newRow((std::string(k) + " T=1").c_str()) << QString(k) << 1.0;
      QTest::newRow((std::string(k) + " T=2").c_str()) << QString(k) << 2.0;
    }
  }
  void divergencesMatchTheirFormulas() {
    QFETCH(QString, kind);
    QFETCH(double, temperature);
    torch::manual_seed(1);
    auto t = (torch::randn({13, 11}, torch::kDouble) * 2).requires_grad_(true);
    auto s = (torch::randn({13, 11}, torch::kDouble) * 2).requires_grad_(true);
    DivergenceSpec spec;
    spec.kind = parse_name<DivergenceKind>(kind.toStdString());
    spec.temperature = temperature;
    spec.jsd_beta = 0.3;
    spec.skew_alpha = 0.2;
    spec.chunk_rows = 4;  // several chunks, the last one partial
    auto ours = divergence_per_token(teacher_log_probs(t, temperature), s, spec);
    auto ref = reference_divergence(t, s, kind.toStdString(), temperature, 0.3, 0.2);
    QVERIFY2(max_abs_diff(ours, ref) < 1e-10, qPrintable(QString::number(max_abs_diff(ours, ref))));
    auto w = torch::randn({13}, torch::kDouble);  // a weighted sum exercises per-row gradients
    auto g_ours = torch::autograd::grad({(ours * w).sum()}, {t, s});
    auto g_ref = torch::autograd::grad({(ref * w).sum()}, {t, s});
    QVERIFY(max_abs_diff(g_ours[0], g_ref[0]) < 1e-9);  // teacher side (SAR's router step needs it)
    QVERIFY(max_abs_diff(g_ours[1], g_ref[1]) < 1e-9);
  }

  void kaForwardKlShortcutEqualsMeanOfDivergences() {
    torch::manual_seed(2);
    auto tm = torch::randn({4, 9, 17}, torch::kDouble) * 2;  // M = 4 teacher passes
    auto s = (torch::randn({9, 17}, torch::kDouble) * 2).requires_grad_(true);
    DivergenceSpec spec;
    spec.temperature = 1.5;
    auto shortcut = ka_forward_kl_per_token(tm, s, spec);
    std::vector<torch::Tensor> each;
    for (int m = 0; m < 4; ++m) each.push_back(divergence_per_token(teacher_log_probs(tm[m], 1.5), s, spec));
    auto mean = torch::stack(each).mean(0);
    QVERIFY(max_abs_diff(shortcut, mean) < 1e-10);
    auto g1 = torch::autograd::grad({shortcut.sum()}, {s})[0];
    auto g2 = torch::autograd::grad({mean.sum()}, {s})[0];
    QVERIFY(max_abs_diff(g1, g2) < 1e-10);
  }

  // The accelerator's update path (masked by the on-device finite flag) equals the CPU's in-place
  // update bit for bit when the flag holds, and changes nothing, moments included, when it is down.
  void maskedOptimizerStepMatchesInPlace() {
    torch::manual_seed(4);
    auto make = [] {
      std::vector<torch::Tensor> params = {torch::randn({5, 3}).requires_grad_(true), torch::randn({3}).requires_grad_(true)};
      return params;
    };
    auto a = make();
    std::vector<torch::Tensor> b;
    for (const auto& p : a) b.push_back(p.detach().clone().requires_grad_(true));
    AdamWOptions o;
    o.lr = 0.1;
    o.weight_decay = 0.05;
    AdamW in_place(a, {"w", "b"}, o), masked(b, {"w", "b"}, o);
    const auto yes = torch::ones({}, torch::kBool), no = torch::zeros({}, torch::kBool);
    for (int step = 0; step < 3; ++step) {
      auto g = make();
      for (size_t i = 0; i < a.size(); ++i) {
        a[i].mutable_grad() = g[i].detach().clone();
        b[i].mutable_grad() = g[i].detach().clone();
      }
      in_place.step(0.1, yes);
      masked.step_masked(0.1, yes);
      for (size_t i = 0; i < a.size(); ++i) QVERIFY(torch::equal(a[i], b[i]));
    }
    std::vector<torch::Tensor> before;
    for (const auto& p : b) before.push_back(p.detach().clone());
    const auto moments = masked.state("");
    std::vector<torch::Tensor> moments_before;
    for (const auto& [name, t] : moments) moments_before.push_back(t.clone());
    for (auto& p : b) p.mutable_grad() = torch::full_like(p, std::nan(""));
    masked.step_masked(0.1, no);
    for (size_t i = 0; i < b.size(); ++i) QVERIFY(torch::equal(b[i], before[i]));
    const auto after = masked.state("");
    for (size_t i = 0; i < after.size(); ++i) QVERIFY(torch::equal(after[i].second, moments_before[i]));
  }

  // float16's dynamic loss scale: gradients come back unscaled; an overflow skips the step and
  // halves the scale; a run of good steps doubles it.
  void lossScalerUnscalesSkipsAndGrows() {
    LossScaler scaler(torch::kCPU, 1024.0, /*growth_interval=*/3);
    auto p = torch::ones({2}, torch::requires_grad());
    scaler.scale((p * 3).sum()).backward();
    QCOMPARE(p.grad()[0].item<float>(), 3072.0f);
    QVERIFY(scaler.unscale_and_update({p}).item<bool>());
    QCOMPARE(p.grad()[0].item<float>(), 3.0f);
    QCOMPARE(scaler.current().item<float>(), 1024.0f);
    p.mutable_grad() = torch::full({2}, std::numeric_limits<float>::infinity());
    QVERIFY(!scaler.unscale_and_update({p}).item<bool>());
    QCOMPARE(scaler.current().item<float>(), 512.0f);
    for (int i = 0; i < 3; ++i) {
      p.mutable_grad() = torch::ones({2});
      QVERIFY(scaler.unscale_and_update({p}).item<bool>());
    }
    QCOMPARE(scaler.current().item<float>(), 1024.0f);
  }

  void kaWithLambdaZeroIsKd() {
    QTemporaryDir tmp;
    auto ka = tiny_run("ka", tmp.path().toStdString() + "/ka");
    ka["ka"]["lambda"] = 0.0;
    Rig a(ka), b(tiny_run("kd", tmp.path().toStdString() + "/kd"));
    a.steps(4);
    b.steps(4);
    QVERIFY(same_parameters(a.trainer->student(), b.trainer->student()));
  }

  void kaWithSamplingDiffersFromKd() {
    QTemporaryDir tmp;
    Rig a(tiny_run("ka", tmp.path().toStdString() + "/ka")), b(tiny_run("kd", tmp.path().toStdString() + "/kd"));
    a.steps(2);
    b.steps(2);
    QVERIFY(!same_parameters(a.trainer->student(), b.trainer->student()));
    auto snaps = a.trainer->take_routing();
    QVERIFY(!snaps.empty());
    QVERIFY(snaps[0].layers[0].sampled_share > 0.3);  // lambda = 0.5 of the tokens sampled
    // Top-k and sampled routing, each a distribution, mixing into the overall usage by their slots.
    for (const auto& l : snaps[0].layers) {
      QCOMPARE(l.usage_topk.size(), l.usage.size());
      QCOMPARE(l.usage_sampled.size(), l.usage.size());
      double topk = 0, sampled = 0, slots = 0;
      for (size_t e = 0; e < l.usage.size(); ++e) {
        topk += l.usage_topk[e];
        sampled += l.usage_sampled[e];
        slots += l.tokens[e];
      }
      QVERIFY(std::abs(topk - 1) < 1e-9 && std::abs(sampled - 1) < 1e-9);
      // Every token has k slots (k' = k here), so the sampled tokens' share of slots is sampled_share.
      const double w = l.sampled_share;
      for (size_t e = 0; e < l.usage.size(); ++e)
        QVERIFY(std::abs((1 - w) * l.usage_topk[e] + w * l.usage_sampled[e] - l.usage[e]) < 1e-9);
      QVERIFY(slots > 0);
    }
    // The split tells the two apart, and survives metrics.jsonl (the studio's replay).
    QVERIFY(snaps[0].layers[0].usage_topk != snaps[0].layers[0].usage_sampled);
    const json written = to_json(snaps[0]);
    QVERIFY(written["layers"][0].contains("usage_sampled"));
    QCOMPARE(to_json(routing_snapshot_from_json(written)), written);
    auto kd = b.trainer->take_routing();
    QVERIFY(!kd.empty() && kd[0].layers[0].usage_sampled.empty() && kd[0].layers[0].usage_topk.empty());
  }

  void sarMovesOnlyTheRouters() {
    QTemporaryDir tmp;
    Rig rig(tiny_run("sar", tmp.path().toStdString()));
    std::map<std::string, torch::Tensor> before;
    for (const auto& p : rig.trainer->teacher()->named_parameters()) before[p.key()] = p.value().clone();
    rig.steps(3);
    int routers = 0, others = 0;
    for (const auto& p : rig.trainer->teacher()->named_parameters()) {
      const bool router = p.key().find(".mlp.gate.") != std::string::npos;
      if (router) {
        QVERIFY2(!torch::equal(p.value(), before[p.key()]), p.key().c_str());
        ++routers;
      } else {
        QVERIFY2(torch::equal(p.value(), before[p.key()]), p.key().c_str());
        ++others;
      }
    }
    QCOMPARE(routers, 2);
    QVERIFY(others > 10);
    // The routing snapshot reports how far each layer's router moved.
    auto snaps = rig.trainer->take_routing();
    QVERIFY(!snaps.empty());
    QCOMPARE(snaps[0].model, std::string("teacher"));
    QVERIFY(snaps[0].layers[0].router_drift > 0);
  }

  // SAR with gradient accumulation: the routers take one optimizer step per training step, as the
  // student does; their gradients accumulate over the micro-batches first. Adam's first step moves
  // each weight by at most its learning rate (m / sqrt(v) = g / |g|); three steps, one per
  // micro-batch, would move the weights with a steady gradient about three times as far.
  void sarRoutersStepOncePerOptimizerStep() {
    QTemporaryDir tmp;
    auto j = tiny_run("sar", tmp.path().toStdString() + "/run");
    j["train"]["grad_accum"] = 3;
    j["train"]["schedule"] = "constant";
    j["train"]["warmup_steps"] = 0;
    const double lr = 1e-3;
    j["sar"]["router_lr"] = lr;
    Rig rig(j);
    std::map<std::string, torch::Tensor> before;
    for (const auto& r : rig.trainer->teacher()->routers())
      for (const auto& [name, p] : r.parameters) before[name] = p.detach().clone();
    QVERIFY(!before.empty());
    rig.steps(1);
    double moved = 0;
    for (const auto& r : rig.trainer->teacher()->routers())
      for (const auto& [name, p] : r.parameters)
        moved = std::max(moved, (p.detach() - before[name]).abs().max().item<double>());
    QVERIFY2(moved > 0.5 * lr, qPrintable(QString::number(moved)));
    QVERIFY2(moved <= lr * (1 + 1e-4), qPrintable(QString("moved %1, learning rate %2").arg(moved).arg(lr)));
    const auto ckpt = tmp.path().toStdString() + "/ckpt";
    rig.trainer->save_checkpoint(ckpt);
    std::ifstream in(ckpt + "/state.json");
    const auto state = json::parse(in);
    QCOMPARE(state["optimizer_steps"].get<int64_t>(), int64_t{1});
    QCOMPARE(state["router_optimizer_steps"].get<int64_t>(), int64_t{1});
  }

  // Checkpointed layers give the plain forward's gradients: the same weights after a few steps,
  // for the student's layers, SAR's teacher pass, and balance losses through the routing.
  void checkpointedLayersTrainTheSame_data() {
    QTest::addColumn<QString>("method");
    for (const char* m : {"kd", "ka", "sar", "train-teacher", "sar/llama-moe"}) QTest::newRow(m) << QString(m);
  }
  void checkpointedLayersTrainTheSame() {
    QFETCH(QString, method);
    QTemporaryDir tmp;
    auto j = tiny_run(method.section('/', 0, 0).toStdString(), tmp.path().toStdString());
    if (method.endsWith("llama-moe")) {  // its router noise must be drawn again alike in backward
      json teacher = config_to_hf(tiny_config(Family::LlamaMoe));
      teacher["vocab_size"] = 99;
      j["teacher"] = {{"init", teacher}, {"init_std", 0.2}};
    }
    Rig plain(j);
    j["train"]["checkpoint_activations"] = true;
    Rig checkpointed(j);
    torch::manual_seed(99);  // KA samples from the global generator: the same draws for both
    plain.steps(3);
    torch::manual_seed(99);
    checkpointed.steps(3);
    auto close = [](CausalLM& a, CausalLM& b) {
      auto pb = b->named_parameters();
      double worst = 0;
      for (const auto& p : a->named_parameters()) worst = std::max(worst, max_abs_diff(p.value(), pb[p.key()]));
      return worst;
    };
    const double student = close(plain.trainer->student(), checkpointed.trainer->student());
    QVERIFY2(student <= 1e-6, qPrintable(QString::number(student)));
    if (method.startsWith("sar")) {
      const double teacher = close(plain.trainer->teacher(), checkpointed.trainer->teacher());
      QVERIFY2(teacher <= 1e-6, qPrintable(QString::number(teacher)));
    }
  }

  void resumeContinuesTheSameTrajectory_data() {
    QTest::addColumn<QString>("method");
    for (const char* m : {"sft", "kd", "ka", "sar", "train-teacher"}) QTest::newRow(m) << QString(m);
  }
  void resumeContinuesTheSameTrajectory() {
    QFETCH(QString, method);
    QTemporaryDir tmp;
    const auto j = tiny_run(method.toStdString(), tmp.path().toStdString());
    Rig straight(j);
    straight.steps(6);
    Rig first(j);
    first.steps(3);
    const auto ckpt = tmp.path().toStdString() + "/ckpt";
    first.trainer->save_checkpoint(ckpt);
    torch::manual_seed(12345);  // disturb the global RNG: the checkpoint must restore it
    Rig second(j);
    second.trainer->load_checkpoint(ckpt);
    QCOMPARE(second.trainer->steps_done(), int64_t{3});
    second.steps(3);
    QVERIFY(same_parameters(straight.trainer->student(), second.trainer->student()));
    if (method == "sar") QVERIFY(same_parameters(straight.trainer->teacher(), second.trainer->teacher()));
  }

  // bfloat16: the teacher is stored and run in it, the student keeps float32 master weights and
  // computes in it; SAR's routers stay float32 and train; exports follow the run's precision.
  void bfloat16Runs_data() {
    QTest::addColumn<QString>("method");
    for (const char* m : {"kd", "ka", "sar"}) QTest::newRow(m) << QString(m);
  }
  void bfloat16Runs() {
    QFETCH(QString, method);
    QTemporaryDir tmp;
    const auto run_dir = tmp.path().toStdString() + "/run";
    auto j = tiny_run(method.toStdString(), run_dir);
    j["train"]["precision"] = "bfloat16";
    struct Watch : RunObserver {
      void on_step(const StepMetrics& m) override { steps.push_back(m); }
      void on_failed(const RunFailed& f) override { error = f.message; }
      std::vector<StepMetrics> steps;
      std::string error;
    } watch;
    Session session(parse_run_config(j, "test"));
    session.add_observer(&watch);
    QVERIFY2(session.run(), watch.error.c_str());
    for (const auto& m : watch.steps) QVERIFY(std::isfinite(m.loss) && m.loss > 0 && m.peak_memory > 0);
    for (const auto& p : session.trainer()->student()->parameters()) QCOMPARE(p.scalar_type(), torch::kFloat);
    int routers = 0;
    for (const auto& p : session.trainer()->teacher()->named_parameters()) {
      const bool router = p.key().find(".mlp.gate.") != std::string::npos;
      routers += router;
      QCOMPARE(p.value().scalar_type(), router && method == "sar" ? torch::kFloat : torch::kBFloat16);
    }
    QVERIFY(routers > 0);
    const auto bf16 = tmp.path().toStdString() + "/bf16", f32 = tmp.path().toStdString() + "/f32";
    export_student(run_dir, Checkpoint::Last, bf16);
    export_student(run_dir, Checkpoint::Last, f32, {}, Precision::Float32);
    QCOMPARE(SafetensorsFile(bf16 + "/model.safetensors").entry("lm_head.weight").dtype, std::string("BF16"));
    QCOMPARE(SafetensorsFile(f32 + "/model.safetensors").entry("lm_head.weight").dtype, std::string("F32"));
    // The float32 export holds the master weights exactly; the bfloat16 one, rounded.
    auto master = load_pretrained(f32), rounded = load_pretrained(bf16);
    const auto w = session.trainer()->student()->named_parameters()["lm_head.weight"];
    QVERIFY(torch::equal(master->named_parameters()["lm_head.weight"], w));
    QVERIFY(torch::equal(rounded->named_parameters()["lm_head.weight"], w.to(torch::kBFloat16).to(torch::kFloat)));
  }


};

QObject* make_test_distill() { return new TestDistill; }

#include "test_distill.moc"
