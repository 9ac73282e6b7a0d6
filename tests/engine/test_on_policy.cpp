// On-policy distillation (distill.on_policy): the sampler against its distribution, batched
// left-padded decoding against one prompt at a time, the loss mask of student-written batches,
// KA's per-pass reverse KL, SAR's router step on the student's sequences, and resume.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <set>

#include "distill/divergence.h"
#include "distill/on_policy.h"
#include "distill/teacher_targets.h"
#include "distill_util.h"
#include "model/sampling.h"
#include "model/samples.h"

using namespace moekd;
using namespace moekd::test;

namespace {

// The distribution of sample_tokens written out independently: T, then top-k, then the smallest
// most-likely set reaching top_p, renormalised. Doubles throughout.
std::vector<double> reference_distribution(const std::vector<double>& logits, const SamplingConfig& s) {
  const size_t V = logits.size();
  std::vector<double> p(V);
  const double top = *std::max_element(logits.begin(), logits.end()) / s.temperature;
  double z = 0;
  for (size_t v = 0; v < V; ++v) z += p[v] = std::exp(logits[v] / s.temperature - top);
  for (auto& x : p) x /= z;
  std::vector<size_t> order(V);
  for (size_t v = 0; v < V; ++v) order[v] = v;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  std::vector<bool> keep(V, false);
  const size_t k = s.top_k > 0 ? std::min<size_t>(s.top_k, V) : V;
  double kept_mass = 0;
  for (size_t i = 0; i < k; ++i) kept_mass += p[order[i]];
  double before = 0;
  for (size_t i = 0; i < k; ++i) {  // nucleus over the top-k distribution, renormalised
    if (before >= s.top_p) break;
    keep[order[i]] = true;
    before += p[order[i]] / kept_mass;
  }
  double sum = 0;
  for (size_t v = 0; v < V; ++v) sum += keep[v] ? p[v] : 0;
  for (size_t v = 0; v < V; ++v) p[v] = keep[v] ? p[v] / sum : 0;
  return p;
}

json on_policy_run(const std::string& method, const std::string& dir, double on_policy = 1.0) {
  auto j = tiny_run(method, dir);
  j["distill"] = {{"on_policy", on_policy}, {"ce_weight", 0.0}, {"divergence", "reverse_kl"},
                  {"sampling", {{"max_new_tokens", 12}}}};
  return j;
}

}  // namespace

class TestOnPolicy : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void samplerMatchesItsDistribution_data() {
    QTest::addColumn<double>("temperature");
    QTest::addColumn<int>("top_k");
    QTest::addColumn<double>("top_p");
    QTest::newRow("plain") << 1.0 << 0 << 1.0;
    QTest::newRow("T=0.7 top-k 3") << 0.7 << 3 << 1.0;
    QTest::newRow("T=1.5 top-p 0.8") << 1.5 << 0 << 0.8;
    QTest::newRow("top-k 5 top-p 0.6") << 1.0 << 5 << 0.6;
  }
  // Pearson's chi-squared over the kept tokens, N = 60000 draws: below df + 6 sqrt(2 df) (a
  // false alarm about once in 10^5 for a correct sampler); a token outside the cut is never drawn.
  void samplerMatchesItsDistribution() {
    QFETCH(double, temperature);
    QFETCH(int, top_k);
    QFETCH(double, top_p);
    SamplingConfig s;
    s.temperature = temperature;
    s.top_k = top_k;
    s.top_p = top_p;
    const std::vector<double> row = {1.1, -0.3, 0.4, 2.0, 0.0, -1.2, 0.9, 1.6};
    const auto expected = reference_distribution(row, s);
    const int64_t N = 60000, V = static_cast<int64_t>(row.size());
    const auto logits = torch::tensor(row, torch::kDouble).to(torch::kFloat).unsqueeze(0).expand({N, V}).contiguous();
    auto gen = seeded_generator(torch::kCPU, 7);
    const auto drawn = sample_tokens(logits, s, gen);
    QCOMPARE(drawn.size(0), N);
    const auto counts = torch::bincount(drawn, {}, V).to(torch::kDouble);
    double chi2 = 0;
    int df = -1;
    for (int64_t v = 0; v < V; ++v) {
      const double observed = counts[v].item<double>();
      if (expected[v] == 0) {
        QCOMPARE(observed, 0.0);
        continue;
      }
      const double e = N * expected[v];
      chi2 += (observed - e) * (observed - e) / e;
      ++df;
    }
    QVERIFY(df >= 1);
    QVERIFY2(chi2 < df + 6 * std::sqrt(2.0 * df), qPrintable(QString("chi2 %1 with %2 df").arg(chi2).arg(df)));
    // The distribution the engine reports is the same one.
    const auto reported = sampling_distribution(logits.narrow(0, 0, 1), s).squeeze(0).to(torch::kDouble);
    for (int64_t v = 0; v < V; ++v) QVERIFY(std::abs(reported[v].item<double>() - expected[v]) < 1e-6);
  }

  // Left padding and the KV cache change nothing: with top-k 1 (greedy) the batch writes what
  // one-prompt-at-a-time greedy decoding writes, each row stopping at its eos or its limit.
  void batchedSamplingEqualsOnePromptAtATime() {
    for (const auto family : {Family::Llama, Family::Mixtral, Family::Olmoe}) {
      auto model = sample_model(family, 11);
      model->eval();
      const std::vector<std::vector<int64_t>> prompts = {{5, 9, 13, 4, 7, 30, 8}, {3}, {12, 40, 41}, {6, 6, 6, 6, 6}};
      const std::vector<int64_t> limits = {10, 4, 10, 7};
      SamplingConfig greedy;
      greedy.top_k = 1;
      auto gen = seeded_generator(torch::kCPU, 1);
      const int64_t eos = model->config.eos_token_id;
      const auto batch = sample_responses(model, prompts, limits, greedy, eos, /*pad=*/0, gen);
      int64_t total = 0;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const auto one = generate_greedy(model, prompts[i], limits[i]);
        QCOMPARE(batch.tokens[i], one);
        QVERIFY(static_cast<int64_t>(one.size()) <= limits[i]);
        total += static_cast<int64_t>(one.size());
      }
      QCOMPARE(batch.total, total);
    }
  }

  // The targets of a student-written batch are exactly the tokens it wrote (eos included), and
  // they count under the "generated" category; the prompts are the examples' own.
  void lossMaskEqualsGeneratedSpan() {
    QTemporaryDir tmp;
    Rig rig(on_policy_run("kd", tmp.path().toStdString()));
    std::vector<const TokenizedExample*> examples;
    for (int i = 0; i < 4; ++i) examples.push_back(&rig.data->train[i]);
    const int64_t generated = static_cast<int64_t>(rig.data->dataset.categories.size());
    const auto b = student_written_batch(rig.trainer->student(), examples, rig.cfg, 0, 0, rig.tok->eos_id(),
                                         rig.tok->pad_id(), generated, torch::kCPU);
    const auto ids = b.ids, mask = b.target_mask, category = b.token_category.view({b.ids.size(0), -1});
    int64_t written = 0;
    for (int64_t i = 0; i < 4; ++i) {
      const auto& e = *examples[i];
      const int64_t P = e.response_start;
      QVERIFY(P >= 1);
      for (int64_t t = 0; t < P; ++t) QCOMPARE(ids[i][t].item<int64_t>(), e.ids[t]);
      int64_t R = 0;  // response length: tokens after the prompt up to and including eos
      for (int64_t t = P; t < ids.size(1) && b.attention_mask[i][t].item<int64_t>() == 1; ++t) ++R;
      QVERIFY(R >= 1 && R <= rig.cfg.sampling.max_new_tokens && P + R <= rig.cfg.data.max_len);
      for (int64_t t = 0; t + 1 < ids.size(1); ++t) {
        const bool target = t + 1 >= P && t + 1 < P + R;  // logits at t predict token t + 1
        QCOMPARE(mask[i][t].item<bool>(), target);
        QCOMPARE(category[i][t + 1].item<int64_t>(), target ? generated : e.category);
      }
      for (int64_t t = P; t < P + R - 1; ++t) QVERIFY(ids[i][t].item<int64_t>() != rig.tok->eos_id());
      written += R;
    }
    QCOMPARE(b.generated_tokens, written);
    QCOMPARE(b.target_tokens, written);
  }

  // KA on student-written sequences: the reverse KL averaged over the M passes is the mean of M
  // separate reverse KLs, value and student gradient.
  void kaReverseKlIsTheMeanOfItsPasses() {
    torch::manual_seed(5);
    const int64_t M = 4, N = 9, V = 17;
    DivergenceSpec spec;
    spec.kind = DivergenceKind::ReverseKL;
    spec.temperature = 1.0;
    TeacherTargets t;
    std::vector<torch::Tensor> teacher;
    for (int64_t m = 0; m < M; ++m) {
      teacher.push_back(torch::randn({N, V}, torch::kDouble) * 2);
      t.pass_log_probs.push_back(teacher_log_probs(teacher.back(), spec.temperature));
    }
    auto s1 = (torch::randn({N, V}, torch::kDouble)).requires_grad_(true);
    auto s2 = s1.detach().clone().requires_grad_(true);
    const auto averaged = distillation_loss(t, s1, spec);
    averaged.backward();
    torch::Tensor separate = torch::zeros({}, torch::kDouble);
    for (int64_t m = 0; m < M; ++m) {
      const auto logq = torch::log_softmax(s2, -1), logp = torch::log_softmax(teacher[m], -1);
      separate = separate + (logq.exp() * (logq - logp)).sum(-1).mean() / static_cast<double>(M);
    }
    separate.backward();
    QVERIFY(std::abs(averaged.item<double>() - separate.item<double>()) < 1e-12);
    QVERIFY(torch::allclose(s1.grad(), s2.grad(), 1e-10, 1e-12));
  }

  // SAR: the router step of step 1 is the one a hand-made update computes on the batch the
  // student wrote for that step; the student step counts that batch's tokens.
  void sarRouterStepSeesTheStudentSequences() {
    QTemporaryDir tmp;
    auto j = on_policy_run("sar", tmp.path().toStdString());
    j["train"]["schedule"] = "constant";
    j["train"]["warmup_steps"] = 0;
    Rig trained(j), by_hand(j), untouched(j);
    const auto m = trained.trainer->step(true);

    ExampleSampler order(static_cast<int64_t>(by_hand.data->train.size()), by_hand.cfg.train.seed);
    std::vector<const TokenizedExample*> examples;
    for (auto i : order.next(by_hand.cfg.train.batch_size)) examples.push_back(&by_hand.data->train[i]);
    auto& student = by_hand.trainer->student();
    student->train();
    const auto b = student_written_batch(student, examples, by_hand.cfg, 0, 0, by_hand.tok->eos_id(),
                                         by_hand.tok->pad_id(),
                                         static_cast<int64_t>(by_hand.data->dataset.categories.size()), torch::kCPU);
    torch::Tensor rows;
    {
      torch::NoGradGuard no_grad;
      rows = target_rows(student->forward(b.ids).logits, b);
    }
    SarRouterUpdate sar(by_hand.trainer->teacher(), by_hand.cfg);
    sar.zero_grad();
    sar.accumulate(b, rows, 1, nullptr);
    sar.step(by_hand.cfg.sar.router_lr, torch::tensor(true));
    QVERIFY(m.has_value());
    QCOMPARE(m->tokens, b.tokens);
    QCOMPARE(m->generated_tokens, static_cast<double>(b.generated_tokens));
    auto hand = by_hand.trainer->teacher()->named_parameters();
    auto start = untouched.trainer->teacher()->named_parameters();
    bool moved = false;
    for (const auto& p : trained.trainer->teacher()->named_parameters()) {
      QVERIFY2(torch::allclose(p.value(), hand[p.key()], 1e-6, 1e-7), p.key().c_str());
      moved |= !torch::equal(p.value(), start[p.key()]);
    }
    QVERIFY(moved);  // the routers did learn something in that step
  }

  // Resume: the on-policy coin and the student's responses follow from (seed, step, micro-batch),
  // so a resumed run repeats the straight run bit for bit, mixing included.
  void resumeIsBitIdentical_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<double>("on_policy");
    QTest::newRow("kd") << "kd" << 1.0;
    QTest::newRow("kd mixed") << "kd" << 0.5;
    QTest::newRow("ka") << "ka" << 1.0;
    QTest::newRow("sar") << "sar" << 1.0;
  }
  void resumeIsBitIdentical() {
    QFETCH(QString, method);
    QFETCH(double, on_policy);
    QTemporaryDir tmp;
    auto j = on_policy_run(method.toStdString(), tmp.path().toStdString(), on_policy);
    j["train"]["grad_accum"] = 2;
    Rig straight(j);
    straight.steps(4);
    Rig first(j);
    first.steps(2);
    const auto ckpt = tmp.path().toStdString() + "/ckpt";
    first.trainer->save_checkpoint(ckpt);
    torch::manual_seed(999);
    Rig second(j);
    second.trainer->load_checkpoint(ckpt);
    second.steps(2);
    QVERIFY(same_parameters(straight.trainer->student(), second.trainer->student()));
    if (method == "sar") QVERIFY(same_parameters(straight.trainer->teacher(), second.trainer->teacher()));
  }

  // The mixing probability: 0 never, 1 always, 0.5 about half of 2000 micro-batches.
  void mixingFollowsItsProbability() {
    QTemporaryDir tmp;
    auto cfg = parse_run_config(on_policy_run("kd", tmp.path().toStdString(), 0.5), "test");
    int on = 0;
    for (int64_t step = 0; step < 1000; ++step)
      for (int64_t micro = 0; micro < 2; ++micro) on += on_policy_micro_batch(cfg, step, micro) ? 1 : 0;
    QVERIFY2(std::abs(on - 1000) < 5 * std::sqrt(500.0), qPrintable(QString::number(on)));
    for (const double p : {0.0, 1.0}) {
      cfg.on_policy = p;
      for (int64_t step = 0; step < 50; ++step) QCOMPARE(on_policy_micro_batch(cfg, step, 0), p == 1.0);
    }
  }

  // At on_policy 0 the sampling settings are never read, ce_weight unset is 1 - alpha, and
  // routing has no "generated" category: the off-policy run of before, bit for bit.
  void offPolicyIsUnchanged() {
    QTemporaryDir tmp;
    auto plain = tiny_run("kd", tmp.path().toStdString() + "/a");
    auto spelled = plain;
    spelled["distill"] = {{"on_policy", 0.0}, {"ce_weight", 0.5}, {"alpha", 0.5},
                          {"sampling", {{"temperature", 0.3}, {"top_k", 2}, {"max_new_tokens", 3}}}};
    Rig a(plain), b(spelled);
    a.steps(3);
    std::optional<StepMetrics> m;
    for (int i = 0; i < 3; ++i) m = b.trainer->step(true);
    QVERIFY(same_parameters(a.trainer->student(), b.trainer->student()));
    QCOMPARE(m->generated_tokens, 0.0);
    QCOMPARE(m->sampling_seconds, 0.0);
    for (const auto& snap : b.trainer->take_routing()) QVERIFY(!snap.usage_by_category.count("generated"));
  }

  // On-policy KD trains on what the student writes and reports it; its routing gains "generated".
  void onPolicyStepReportsWhatWasWritten() {
    QTemporaryDir tmp;
    Rig rig(on_policy_run("kd", tmp.path().toStdString()));
    const auto m = rig.trainer->step(true);
    QVERIFY(m->generated_tokens >= rig.cfg.train.batch_size && m->generated_tokens <= 4 * 12);
    QVERIFY(m->sampling_seconds > 0 && m->sampling_seconds <= m->step_seconds);
    QCOMPARE(m->ce, m->ce);  // computed (for the chart) even though ce_weight is 0
    QVERIFY(std::abs(m->loss - rig.cfg.alpha * m->divergence) < 1e-6);  // divergence only
    // The latest written answer, scored by both models, survives metrics.jsonl.
    const auto g = rig.trainer->take_generation();
    QVERIFY(g.has_value());
    QCOMPARE(g->step, int64_t{1});
    QVERIFY(!g->pieces.empty() && g->pieces.size() <= 12);
    QCOMPARE(g->teacher_logprob.size(), g->pieces.size());
    for (size_t i = 0; i < g->pieces.size(); ++i)
      QVERIFY(g->teacher_logprob[i] <= 0 && g->student_logprob[i] <= 0 && std::isfinite(g->teacher_logprob[i]));
    QVERIFY(!g->category.empty());
    QCOMPARE(to_json(generation_sample_from_json(to_json(*g))), to_json(*g));
    QVERIFY(!rig.trainer->take_generation().has_value());  // taken: nothing new until the next step
    rig.trainer->step(true);
    const auto snaps = rig.trainer->take_routing();
    QVERIFY(!snaps.empty());
    QVERIFY(snaps[0].usage_by_category.count("generated"));
  }

  void configFieldsAreValidatedByName() {
    QTemporaryDir tmp;
    auto j = on_policy_run("kd", tmp.path().toStdString());
    const std::vector<std::pair<std::string, json>> bad = {
        {"on_policy", 1.5}, {"ce_weight", -1}, {"sampling.temperature", 0}, {"sampling.top_k", -2},
        {"sampling.top_p", 0}, {"sampling.max_new_tokens", 0}};
    for (const auto& [field, value] : bad) {
      auto k = j;
      apply_override(k, "distill." + field + "=" + value.dump());
      const auto problems = check_run_config(k, "run.json");
      QVERIFY2(problems.size() == 1, field.c_str());
      QCOMPARE(problems[0].field, "distill." + field);
    }
    auto sft = tiny_run("sft", tmp.path().toStdString());
    sft["distill"] = {{"on_policy", 0.5}};
    const auto problems = check_run_config(sft, "run.json");
    QVERIFY(problems.size() == 1 && problems[0].field == "distill.on_policy");
    // The fields survive the round trip through a run folder's config.json.
    const auto back = to_json(parse_run_config(j, "run.json"));
    QCOMPARE(back["distill"]["on_policy"].get<double>(), 1.0);
    QCOMPARE(back["distill"]["ce_weight"].get<double>(), 0.0);
    QCOMPARE(back["distill"]["sampling"]["max_new_tokens"].get<int64_t>(), int64_t{12});
    QVERIFY(to_json(parse_run_config(tiny_run("kd", "x"), "run.json"))["distill"]["ce_weight"].is_null());
  }
};

QTEST_APPLESS_MAIN(TestOnPolicy)
#include "test_on_policy.moc"
