// The causal LM: parity with transformers' own outputs, sharded loading, KV-cache decoding,
// padding, sliding windows, save -> load round trips for every family, and the quality of the
// demo teacher that ships with the project.
#include <QtTest>

#include <filesystem>

#include "io/hf_model.h"
#include "io/inspect.h"
#include "model/causal_attention.h"
#include "run/demo_recipe.h"
#include "session/session.h"
#include "test_util.h"

using namespace moekd;
using namespace moekd::test;

namespace {

torch::Tensor logits_of(CausalLM& m, const torch::Tensor& ids, ForwardOptions opt = {}) {
  torch::NoGradGuard no_grad;
  return m->forward(ids, opt).logits;
}

}  // namespace

class TestModel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void matchesReferenceImplementation_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"llama", "qwen2", "mixtral", "qwen2_moe", "olmoe", "llama_moe"}) QTest::newRow(n) << QString(n);
  }
  void matchesReferenceImplementation() {
    QFETCH(QString, name);
    const auto dir = data_path("hf/" + name).toStdString();
    auto model = load_pretrained(dir);
    SafetensorsFile expected(dir + "/expected.safetensors");
    auto tokens = expected.load("tokens").unsqueeze(0);
    ForwardOptions opt;
    opt.record_routing = true;
    torch::NoGradGuard no_grad;
    auto out = model->forward(tokens, opt);
    const double diff = max_abs_diff(out.logits[0], expected.load("logits"));
    QVERIFY2(diff <= 1e-4, qPrintable(QString("logits differ by %1").arg(diff)));
    int moe_layers = 0;
    for (size_t L = 0; L < out.routing.size(); ++L) {
      const auto key = std::to_string(L);
      QCOMPARE(out.routing[L].has_value(), expected.contains("expert_ids." + key));
      if (!out.routing[L]) continue;
      ++moe_layers;
      QVERIFY(torch::equal(out.routing[L]->selection.ids, expected.load("expert_ids." + key)));
      QVERIFY(max_abs_diff(out.routing[L]->probs, expected.load("router_probs." + key)) <= 1e-5);
    }
    QCOMPARE(moe_layers, model->config.num_moe_layers());
  }

  void shardedCheckpointEqualsSingleFile() {
    auto single = load_pretrained(data_dir("hf/mixtral"));
    auto sharded = load_pretrained(data_dir("hf/mixtral_sharded"));
    auto ids = torch::arange(0, 20, torch::kLong).unsqueeze(0) * 3;
    QVERIFY(torch::equal(logits_of(single, ids), logits_of(sharded, ids)));
  }

  void kvCacheMatchesFullRecomputation_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"llama", "qwen2", "mixtral", "qwen2_moe", "olmoe", "llama_moe"}) QTest::newRow(n) << QString(n);
  }
  void kvCacheMatchesFullRecomputation() {
    QFETCH(QString, name);
    auto model = load_pretrained(data_path("hf/" + name).toStdString());
    torch::manual_seed(1);
    auto ids = torch::randint(model->config.vocab_size, {2, 14}, torch::kLong);
    auto full = logits_of(model, ids);
    KVCache cache;
    ForwardOptions opt;
    opt.cache = &cache;
    std::vector<torch::Tensor> pieces;
    // A 5-token prompt, a 3-token chunk (several new tokens on top of a cache), then one at a time.
    pieces.push_back(logits_of(model, ids.narrow(1, 0, 5), opt));
    pieces.push_back(logits_of(model, ids.narrow(1, 5, 3), opt));
    for (int64_t t = 8; t < 14; ++t) pieces.push_back(logits_of(model, ids.narrow(1, t, 1), opt));
    QCOMPARE(cache.length(), int64_t{14});
    const double diff = max_abs_diff(torch::cat(pieces, 1), full);
    QVERIFY2(diff <= 1e-5, qPrintable(QString::number(diff)));
  }

  void greedyGenerationEqualsArgmaxOfFullForward() {
    auto model = load_pretrained(data_dir("hf/olmoe"));
    std::vector<int64_t> prompt = {15, 51, 6, 53};
    auto generated = generate_greedy(model, prompt, 10);
    std::vector<int64_t> seq = prompt;
    for (int i = 0; i < 10; ++i) {
      auto logits = logits_of(model, torch::tensor(seq, torch::kLong).unsqueeze(0));
      const auto next = logits[0][-1].argmax().item<int64_t>();
      QCOMPARE(generated.at(i), next);
      seq.push_back(next);
      if (next == model->config.eos_token_id) break;
    }
  }

  void leftPaddingMatchesUnpaddedSequences() {
    auto model = load_pretrained(data_dir("hf/qwen2_moe"));
    torch::manual_seed(4);
    auto a = torch::randint(96, {1, 9}, torch::kLong);
    auto b = torch::randint(96, {1, 6}, torch::kLong);
    auto batch = torch::cat({a, torch::cat({torch::zeros({1, 3}, torch::kLong), b}, 1)}, 0);
    auto mask = torch::ones({2, 9}, torch::kLong);
    mask[1].narrow(0, 0, 3).zero_();
    ForwardOptions opt;
    opt.attention_mask = mask;
    auto padded = logits_of(model, batch, opt);
    QVERIFY(max_abs_diff(padded[0], logits_of(model, a)[0]) <= 1e-5);
    QVERIFY(max_abs_diff(padded[1].narrow(0, 3, 6), logits_of(model, b)[0]) <= 1e-5);
  }

  // With a window of 4 and 2 layers, position t sees tokens t-6..t only.
  void slidingWindowLimitsTheReceptiveField() {
    torch::manual_seed(8);
    auto cfg = tiny_config(Family::Mixtral);
    cfg.sliding_window = 4;
    CausalLM model(cfg);
    model->init_weights(0.2);
    auto ids = torch::randint(64, {1, 12}, torch::kLong);
    auto changed = ids.clone();
    changed[0][0] = (ids[0][0].item<int64_t>() + 1) % 64;
    auto x = logits_of(model, ids), y = logits_of(model, changed);
    // Out of reach: equal up to float rounding (the change re-routes token 0, which changes the
    // row count, and so the blocking, of an expert's matmul).
    QVERIFY(max_abs_diff(x.narrow(1, 7, 5), y.narrow(1, 7, 5)) <= 1e-6);
    QVERIFY(max_abs_diff(x.narrow(1, 3, 1), y.narrow(1, 3, 1)) > 1e-4);  // within reach
    // And incremental decoding agrees with the windowed full forward.
    KVCache cache;
    ForwardOptions opt;
    opt.cache = &cache;
    std::vector<torch::Tensor> pieces;
    for (int64_t t = 0; t < 12; ++t) pieces.push_back(logits_of(model, ids.narrow(1, t, 1), opt));
    QVERIFY(max_abs_diff(torch::cat(pieces, 1), x) <= 1e-5);
  }

  // The CPU attention kernel (Debian's LibTorch 1.13: no fused kernel there) against the formula
  // in float64: lengths of one row, inside the first block of rows, across blocks and vectors, and
  // past 256 (larger blocks); grouped-query heads; scores large enough that exp's floor matters.
  void cpuAttentionKernelMatchesFormula_data() {
    QTest::addColumn<int>("T");
    QTest::addColumn<double>("scale");
    for (int T : {1, 17, 45, 300}) QTest::newRow(qPrintable(QString("T=%1").arg(T))) << T << 1.0;
    QTest::newRow("T=45, sharp") << 45 << 12.0;
  }
  void cpuAttentionKernelMatchesFormula() {
    QFETCH(int, T);
    QFETCH(double, scale);
    const int64_t B = 2, H = 4, Hkv = 2, D = 16;
    if (!causal_attention_cpu_available()) QSKIP("a LibTorch with a fused CPU attention kernel");
    torch::manual_seed(T);
    auto make = [&](int64_t heads) { return torch::randn({B, T, heads, D}, torch::kDouble).transpose(1, 2); };
    auto q64 = (make(H) * scale).requires_grad_(true), k64 = make(Hkv).requires_grad_(true),
         v64 = make(Hkv).requires_grad_(true);
    const auto weights = torch::randn({B, H, T, D}, torch::kDouble);
    const auto groups = H / Hkv;
    auto scores = torch::matmul(q64, k64.repeat_interleave(groups, 1).transpose(-2, -1)) / std::sqrt(double(D));
    scores = scores.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -INFINITY);
    const auto expected = torch::matmul(torch::softmax(scores, -1), v64.repeat_interleave(groups, 1));
    (expected * weights).sum().backward();

    auto as_float = [](const torch::Tensor& t) { return t.detach().to(torch::kFloat).requires_grad_(true); };
    auto q = as_float(q64), k = as_float(k64), v = as_float(v64);
    QVERIFY(causal_attention_cpu_applies(q, k, v));
    const auto out = causal_attention_cpu(q, k, v);
    QCOMPARE(out.sizes(), q.sizes());
    QVERIFY(out.transpose(1, 2).is_contiguous());  // [B, T, H, D] memory: o_proj reads it without a copy
    (out * weights.to(torch::kFloat)).sum().backward();
    QVERIFY(max_abs_diff(out, expected) <= 1e-5);
    QVERIFY(max_abs_diff(q.grad(), q64.grad()) <= 1e-4 * scale);
    QVERIFY(max_abs_diff(k.grad(), k64.grad()) <= 1e-4 * scale);
    QVERIFY(max_abs_diff(v.grad(), v64.grad()) <= 1e-5);
    torch::NoGradGuard no_grad;  // a frozen forward keeps one block of scores: the same numbers
    QVERIFY(torch::equal(causal_attention_cpu(q, k, v), out));
  }

  // What the kernel does not take goes to the general path: other dtypes, a cache (fewer queries
  // than keys), heads whose rows are not contiguous.
  void cpuAttentionKernelDeclines() {
    if (!causal_attention_cpu_available()) QSKIP("a LibTorch with a fused CPU attention kernel");
    auto x = torch::zeros({1, 2, 8, 4});
    QVERIFY(causal_attention_cpu_applies(x, x, x));
    QVERIFY(!causal_attention_cpu_applies(x.to(torch::kBFloat16), x.to(torch::kBFloat16), x.to(torch::kBFloat16)));
    QVERIFY(!causal_attention_cpu_applies(x.narrow(2, 7, 1), x, x));
    QVERIFY(!causal_attention_cpu_applies(x.transpose(2, 3), x.transpose(2, 3), x.transpose(2, 3)));
    QVERIFY(!causal_attention_cpu_applies(torch::zeros({1, 3, 8, 4}), x, x));  // 3 heads over 2
  }

  void saveLoadRoundTripIsBitIdentical_data() {
    QTest::addColumn<int>("family");
    for (const auto& [name, fam] : all_families()) QTest::newRow(name) << static_cast<int>(fam);
  }
  void saveLoadRoundTripIsBitIdentical() {
    QFETCH(int, family);
    auto model = tiny_model(static_cast<Family>(family), 21, /*layers=*/3);
    QTemporaryDir tmp;
    const auto dir = tmp.path().toStdString() + "/model";
    save_pretrained(model, dir);
    LoadReport report;
    auto loaded = load_pretrained(dir, {}, &report);
    auto ids = torch::randint(64, {2, 11}, torch::kLong);
    QVERIFY(torch::equal(logits_of(model, ids), logits_of(loaded, ids)));
    const auto info = inspect_model_dir(dir);
    QCOMPARE(info["params_total"].get<int64_t>(), model->num_parameters());
    QCOMPARE(info["params_active"].get<int64_t>(), model->num_active_parameters());
    QCOMPARE(info["architecture"].get<std::string>(), std::string(family_architecture(model->config.family)));
  }

  // Recent transformers keeps experts fused ([E, 2F, d] gate+up, [E, d, F] down); we read that too.
  void fusedExpertLayoutLoads() {
    auto model = tiny_model(Family::Olmoe, 5);
    auto tensors = hub_state_dict(model);
    std::vector<std::pair<std::string, torch::Tensor>> fused;
    for (auto& [name, t] : tensors)
      if (name.find(".experts.") == std::string::npos) fused.emplace_back(name, t);
    for (int64_t L = 0; L < 2; ++L) {
      auto& ex = *model->model->layers[L]->as<DecoderLayerImpl>()->moe->experts;
      const auto prefix = "model.layers." + std::to_string(L) + ".mlp.experts.";
      fused.emplace_back(prefix + "gate_up_proj", torch::cat({ex.gate_proj, ex.up_proj}, 1).detach());
      fused.emplace_back(prefix + "down_proj", ex.down_proj.detach());
    }
    QTemporaryDir tmp;
    const auto dir = tmp.path().toStdString();
    save_pretrained(model, dir);  // for config.json
    save_safetensors(dir + "/model.safetensors", fused);
    LoadReport report;
    auto loaded = load_pretrained(dir, {}, &report);
    QVERIFY(report.fused_experts);
    auto ids = torch::randint(64, {1, 9}, torch::kLong);
    QVERIFY(torch::equal(logits_of(model, ids), logits_of(loaded, ids)));
  }

  void bf16CheckpointLoadsAsFloat32() {
    auto model = tiny_model(Family::Mixtral, 2);
    QTemporaryDir tmp;
    const auto dir = tmp.path().toStdString();
    save_pretrained(model, dir);
    auto tensors = hub_state_dict(model);
    for (auto& [name, t] : tensors) t = t.to(torch::kBFloat16);
    save_safetensors(dir + "/model.safetensors", tensors);
    LoadReport report;
    auto loaded = load_pretrained(dir, {}, &report);
    QCOMPARE(report.dtype, std::string("BF16"));
    QCOMPARE(loaded->model->embed_tokens->weight.scalar_type(), torch::kFloat);
    QVERIFY(torch::equal(loaded->model->embed_tokens->weight,
                         model->model->embed_tokens->weight.to(torch::kBFloat16).to(torch::kFloat)));
  }

  void activeParametersCountOnlyChosenExperts() {
    auto model = tiny_model(Family::Mixtral, 1);
    // 2 layers x 4 experts x 3 x 24 x 32 expert weights, of which 2 of 4 are active per token.
    const int64_t expert_params = 2 * 4 * 3 * 24 * 32;
    QCOMPARE(model->num_parameters() - model->num_active_parameters(), expert_params / 2);
  }

  // Parameter counts from a config alone (what `moekd plan` reads) equal the built model's.
  void parameterCountFromConfig() {
    for (const auto& [name, family] : all_families()) {
      const auto config = tiny_config(family);
      CausalLM model(config);
      const auto count = config.parameter_count();
      QCOMPARE(count.total, model->num_parameters());
      QCOMPARE(count.active, model->num_active_parameters());
      int64_t routers = 0;
      for (const auto& r : model->routers())
        for (const auto& [n, p] : r.parameters) routers += p.numel();
      QCOMPARE(count.routers, routers);
      int64_t largest = 0;
      for (const auto& p : model->parameters()) largest = std::max(largest, p.numel());
      QCOMPARE(count.largest, largest);
    }
  }

  // A checkpoint loads straight into bfloat16 (every tensor rounded once from the file) and a
  // bfloat16 forward stays within bfloat16's precision of the float32 one.
  void loadsInBfloat16_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"llama", "mixtral", "qwen2_moe", "llama_moe"}) QTest::newRow(n) << QString(n);
  }
  void loadsInBfloat16() {
    QFETCH(QString, name);
    const auto dir = data_path("hf/" + name).toStdString();
    auto f32 = load_pretrained(dir);
    auto bf16 = load_pretrained(dir, {torch::kBFloat16});
    auto reference = f32->named_parameters();
    for (const auto& p : bf16->named_parameters()) {
      QCOMPARE(p.value().scalar_type(), torch::kBFloat16);
      QVERIFY2(torch::equal(p.value(), reference[p.key()].to(torch::kBFloat16)), p.key().c_str());
    }
    torch::NoGradGuard no_grad;
    const auto ids = torch::arange(1, 13, torch::kLong).unsqueeze(0);
    const auto a = f32->forward(ids).logits, b = bf16->forward(ids).logits.to(torch::kFloat);
    const double scale = a.abs().max().item<double>(), diff = max_abs_diff(a, b);
    QVERIFY2(diff <= 0.05 * scale, qPrintable(QString("max abs diff %1 of max %2").arg(diff).arg(scale)));
  }

  // The teacher that `moekd demo` distils from ships with the project: on every validation prompt
  // of the demo's data it answers at least 90% exactly, and at least 80% in every category.
  // Evaluation only, no training: it holds whatever kernels this machine has.
  void shippedDemoTeacherIsGood() {
    auto config = demo_student_run("sft", "/tmp/unused-demo-teacher-eval", "");
    config["student"] = {{"path", shipped_demo_teacher()}};
    config["eval"]["samples"] = 240;
    const auto r = Session(parse_run_config(config, "test")).evaluate_student(false, 240);
    std::string report;
    for (const auto& [category, s] : r.per_category)
      report += category + " " + std::to_string(s.exact_match) + " (" + std::to_string(s.examples) + ")  ";
    qInfo("shipped demo teacher: exact match %.3f, ROUGE-L %.3f; %s", r.exact_match, r.rouge_l, report.c_str());
    QVERIFY2(r.exact_match >= 0.9, report.c_str());
    QCOMPARE(r.per_category.size(), size_t(8));
    for (const auto& [category, s] : r.per_category) {
      QCOMPARE(s.examples, int64_t{30});
      QVERIFY2(s.exact_match >= 0.8, (category + ": " + report).c_str());
    }
  }
};

QTEST_APPLESS_MAIN(TestModel)
#include "test_model.moc"
