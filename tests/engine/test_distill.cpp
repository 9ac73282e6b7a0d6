// Distillation objectives and methods: every divergence against its textbook formula (values and
// gradients), chunking, the KA forward-KL shortcut, KA(lambda = 0) == KD, SAR touching only
// routers and stepping once per optimizer step, bit-identical resume, sessions, export round trip.
// (Run configs, events and run folders: test_run.cpp.)
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/run_data.h"
#include "data/tokenizer.h"
#include "distill/divergence.h"
#include "distill/optim.h"
#include "distill/trainer.h"
#include "export/export.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "io/inspect.h"
#include "run/run_config.h"
#include "session/session.h"
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

json tiny_run(const std::string& method, const std::string& run_dir) {
  json teacher_cfg = config_to_hf(tiny_config(Family::Mixtral));
  teacher_cfg["vocab_size"] = 99;
  json student_cfg = config_to_hf(tiny_config(Family::Llama, 1));
  student_cfg["vocab_size"] = 99;
  json j = {{"name", method},
            {"run_dir", run_dir},
            {"method", method},
            {"student", {{"init", student_cfg}, {"init_std", 0.1}}},
            {"data", {{"kind", "builtin"}, {"train_examples", 200}, {"validation_examples", 24}, {"test_examples", 12},
                      {"max_len", 32}}},
            {"train", {{"steps", 6}, {"batch_size", 4}, {"lr", 1e-2}, {"warmup_steps", 2}, {"seed", 3}}},
            {"eval", {{"every", 0}, {"samples", 6}, {"max_new_tokens", 6}}},
            {"ka", {{"m", 3}, {"lambda", 0.5}}},
            {"sar", {{"router_lr", 1e-2}}},
            {"log_every", 1},
            {"routing_every", 2},
            {"checkpoint_every", 0}};
  if (method != "sft" && method != "train-teacher") j["teacher"] = {{"init", teacher_cfg}, {"init_std", 0.2}};
  if (method == "train-teacher") j["student"] = {{"init", teacher_cfg}, {"init_std", 0.1}};
  return j;
}

// A trainer built the way a session builds it, without a run directory.
struct Rig {
  RunConfig cfg;
  std::unique_ptr<Trainer> trainer;
  explicit Rig(const json& j) : cfg(parse_run_config(j, "test")) {
    torch::manual_seed(cfg.train.seed);
    auto tok = std::shared_ptr<const Tokenizer>(make_builtin_tokenizer());
    auto data = std::make_shared<RunData>(build_run_data(cfg.data, *tok));
    auto student = load_or_init_model(cfg.student, "student", torch::kCPU);
    CausalLM teacher{nullptr};
    if (cfg.needs_teacher()) teacher = load_or_init_model(cfg.teacher, "teacher", torch::kCPU);
    trainer = std::make_unique<Trainer>(cfg, student, teacher, tok, data, torch::kCPU);
  }
  void steps(int n) {
    for (int i = 0; i < n; ++i) trainer->step(true);
  }
};

bool same_parameters(CausalLM& a, CausalLM& b) {
  auto pb = b->named_parameters();
  for (const auto& p : a->named_parameters())
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
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

  void sessionWritesMetricsAndExportsAStudent() {
    QTemporaryDir tmp;
    const auto run_dir = tmp.path().toStdString() + "/run";
    auto j = tiny_run("kd", run_dir);
    j["eval"]["every"] = 3;
    Session session(parse_run_config(j, "test"));
    QVERIFY(session.run());
    const auto events = read_metrics(run_dir + "/metrics.jsonl");
    int steps = 0, evals = 0, routing = 0, finished = 0;
    for (const auto& e : events) {
      const auto type = e["type"].get<std::string>();
      if (type == "step") {  // L = (1 - alpha) CE + alpha D, alpha = 0.5, each term its own number
        const double ce = e["ce"].get<double>(), div = e["divergence"].get<double>();
        QVERIFY(std::abs(e["loss"].get<double>() - (0.5 * ce + 0.5 * div)) < 1e-4);
        QVERIFY(std::abs(ce - div) > 1e-6);
        QVERIFY(e["tokens_per_s"].get<double>() > 0);
      }
      // Every line replays (the studio's run browser) into the struct that wrote it.
      json back;
      if (type == "step") back = to_json(step_metrics_from_json(e));
      else if (type == "routing") back = to_json(routing_snapshot_from_json(e));
      else if (type == "eval") back = to_json(eval_result_from_json(e));
      else if (type == "checkpoint") back = to_json(checkpoint_saved_from_json(e));
      else if (type == "finished") back = to_json(run_finished_from_json(e));
      else back = e;
      QVERIFY2(back == e, (type + ": " + json::diff(e, back).dump()).c_str());
      steps += type == "step";
      evals += type == "eval";
      routing += type == "routing";
      finished += type == "finished";
    }
    QCOMPARE(steps, 6);
    QCOMPARE(evals, 2);  // step 3 and the final one
    QCOMPARE(routing, 3);
    QCOMPARE(finished, 1);
    // Export -> load gives identical logits to the checkpointed student.
    const auto out = tmp.path().toStdString() + "/export";
    std::vector<std::pair<int, int>> progress;
    std::string last_stage;
    const auto summary = export_student(run_dir, Checkpoint::Last, out, [&](int done, int total, const std::string& stage) {
      progress.emplace_back(done, total);
      last_stage = stage;
    });
    QVERIFY(progress.size() >= 3);
    for (size_t i = 1; i < progress.size(); ++i) QVERIFY(progress[i].first > progress[i - 1].first);
    QCOMPARE(progress.back().first, progress.back().second);
    QCOMPARE(progress.front(), std::make_pair(0, 4));
    QCOMPARE(progress.back(), std::make_pair(4, 4));
    QCOMPARE(last_stage, std::string("done"));
    QCOMPARE(summary.architecture, std::string("LlamaForCausalLM"));
    for (const char* f : {"config.json", "model.safetensors", "generation_config.json", "moekd_tokenizer.json", "README.md"})
      QVERIFY2(std::filesystem::exists(out + "/" + f), f);
    {  // The model card says how the student was made and what it scored at the exported step.
      std::ifstream in(out + "/README.md");
      const std::string card((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      double last_val = 0;
      for (const auto& e : events)
        if (e["type"] == "eval") last_val = e["val_loss"].get<double>();
      std::ostringstream val;
      val << last_val;
      for (const std::string want : {std::string("library_name: transformers"), std::string("checkpoint `last` (step 6)"),
                                     std::string("`kd`: forward_kl, alpha 0.5, temperature 1"),
                                     std::string("## Evaluation at step 6"), "| all | " + val.str() + " |",
                                     std::string("| training | 6 steps, batch 4")})
        QVERIFY2(card.find(want) != std::string::npos, (want + "\n--- card:\n" + card).c_str());
    }
    auto exported = load_pretrained(out);
    auto ids = torch::randint(99, {2, 10}, torch::kLong);
    torch::NoGradGuard no_grad;
    auto trained = session.trainer()->student();
    QVERIFY(torch::equal(exported->forward(ids).logits, trained->forward(ids).logits));
    QCOMPARE(inspect_model_dir(out)["params_total"].get<int64_t>(), trained->num_parameters());
  }

  // A run that failed in setup may be started again in its folder; one that trained, or one still
  // setting up in another process, may not.
  void runFolderReuse() {
    QTemporaryDir tmp;
    const auto busy = tmp.path().toStdString() + "/busy";
    std::filesystem::create_directories(busy);
    std::ofstream(busy + "/metrics.jsonl") << R"({"type":"message","text":"loading the teacher"})" << "\n";
    QVERIFY(run_dir_holds_training(busy));
    const auto run_dir = tmp.path().toStdString() + "/run";
    auto bad = tiny_run("sft", run_dir);
    bad["data"] = {{"kind", "jsonl"}, {"path", data_dir("jsonl/dolly_malformed.jsonl")}, {"max_len", 32}};
    {
      Session session(parse_run_config(bad, "test"));
      QVERIFY(!session.run());  // the validation split is empty
    }
    QVERIFY(std::filesystem::exists(run_dir + "/metrics.jsonl"));
    QVERIFY(!run_dir_holds_training(run_dir));
    {
      Session session(parse_run_config(tiny_run("sft", run_dir), "test"));
      QVERIFY(session.run());
    }
    QVERIFY(run_dir_holds_training(run_dir));
    int failed = 0, finished = 0;
    for (const auto& e : read_metrics(run_dir + "/metrics.jsonl")) {  // the failed setup's lines are gone
      failed += e["type"] == "failed";
      finished += e["type"] == "finished";
    }
    QCOMPARE(failed, 0);
    QCOMPARE(finished, 1);
    struct Failure : RunObserver {
      void on_failed(const RunFailed& f) override { message = f.message; }
      std::string message;
    } failure;
    Session again(parse_run_config(tiny_run("sft", run_dir), "test"));
    again.add_observer(&failure);
    QVERIFY(!again.run());
    QVERIFY2(failure.message.find("already holds a run") != std::string::npos, failure.message.c_str());
  }

  // Setup and training errors reach observers as messages that say what to change.
  void runErrorsAreReadable_data() {
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("message");
    // 64 x 2^40 floats: no allocator can serve it, on any machine.
    QTest::newRow("out of memory") << R"({"student": {"init": {"intermediate_size": 1099511627776}}})"
                                   << "out of memory on cpu";
    QTest::newRow("vocabulary") << R"({"teacher": {"init": {"vocab_size": 120}}})"
                                << "teacher vocabulary has 120 tokens but the student's has 99";
    QTest::newRow("malformed data") << QString(R"({"data": {"kind": "jsonl", "path": "%1"}})")
                                              .arg(QString::fromStdString(data_dir("jsonl/dolly_malformed.jsonl")))
                                    << "malformed rows skipped; give more data or a larger data.validation_fraction";
    // A damaged teacher checkpoint (a NaN in its output layer), written below.
    QTest::newRow("nan loss") << "nan-teacher" << "the divergence is not finite";
  }
  void runErrorsAreReadable() {
    QFETCH(QString, patch);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    auto j = tiny_run("kd", tmp.path().toStdString() + "/run");
    j["train"]["steps"] = 40;
    if (patch == "nan-teacher") {
      auto config = tiny_config(Family::Mixtral);
      config.vocab_size = 99;  // the built-in tokenizer's
      CausalLM teacher(config);
      teacher->init_weights(0.2);
      {
        torch::NoGradGuard no_grad;
        for (auto& p : teacher->named_parameters())
          if (p.key().find("lm_head") != std::string::npos) p.value()[5][3] = std::nan("");
      }
      const auto dir = tmp.path().toStdString() + "/teacher";
      save_pretrained(teacher, dir);
      j["teacher"] = {{"path", dir}};
    } else {
      j.merge_patch(json::parse(patch.toStdString()));
    }
    struct Failure : RunObserver {
      void on_failed(const RunFailed& f) override { text = f.message; }
      std::string text;
    } failure;
    Session session(parse_run_config(j, "test"));
    session.add_observer(&failure);
    QVERIFY(!session.run());
    QVERIFY2(QString::fromStdString(failure.text).contains(message), failure.text.c_str());
    qInfo("%s", failure.text.c_str());
  }

  // libsentencepiece and LibTorch cannot share a process's symbols (protobuf); the tokenizer goes
  // through libmoekd_spm. This process has LibTorch loaded: the ids must equal Python's.
  void sentencePieceWorksBesideLibTorch() {
    auto tok = load_tokenizer(data_dir("spm/tiny.model"));
    std::ifstream in(data_dir("spm/expected.json"));
    const auto expected = json::parse(in);
    QCOMPARE(tok->vocab_size(), expected["model"]["vocab_size"].get<int64_t>());
    QCOMPARE(tok->eos_id(), expected["model"]["eos_id"].get<int64_t>());
    QCOMPARE(tok->pad_id(), tok->eos_id());  // the model has no pad piece
    for (const auto& c : expected["cases"]) {
      const auto ids = tok->encode(c["text"].get<std::string>());
      QCOMPARE(ids, c["ids"].get<std::vector<int64_t>>());
      QCOMPARE(tok->decode(ids), c["decoded"].get<std::string>());
    }
  }

  void dollyRunWithSentencePiece() {
    QTemporaryDir tmp;
    auto j = tiny_run("sft", tmp.path().toStdString() + "/run");
    j["data"] = {{"kind", "jsonl"}, {"path", data_dir("jsonl/dolly_small.jsonl")}, {"validation_fraction", 0.2},
                 {"test_fraction", 0.0}, {"max_len", 96}, {"tokenizer", data_dir("spm/tiny.model")}};
    j["student"]["init"]["vocab_size"] = 320;
    j["train"]["steps"] = 3;
    j["eval"]["samples"] = 2;
    Session session(parse_run_config(j, "test"));
    struct Last : RunObserver {
      void on_eval(const EvalResult& r) override { eval = r; }
      void on_failed(const RunFailed& f) override { error = f.message; }
      EvalResult eval;
      std::string error;
    } last;
    session.add_observer(&last);
    QVERIFY2(session.run(), last.error.c_str());
    QVERIFY(std::isfinite(last.eval.val_loss) && last.eval.val_loss > 0);
    QCOMPARE(static_cast<int>(last.eval.samples.size()), 2);
  }

};

QTEST_APPLESS_MAIN(TestDistill)
#include "test_distill.moc"
