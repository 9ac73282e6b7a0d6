// Grids of runs (engine/grid/), which need no LibTorch: the grid file's validation and its
// messages, the cells an axis product gives (with axes that collapse), the statistics against
// values computed by hand and by tools/bootstrap_reference.py, and the result tables read from
// run folders written here event by event.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "error_of.h"
#include "grid/grid_arithmetic.h"
#include "grid/grid_config.h"
#include "grid/grid_results.h"
#include "grid/paired_stats.h"
#include "run/metrics_file.h"
#include "run/run_config.h"
#include "util/error.h"

using namespace moekd;
using moekd::test::error_of;
using json = nlohmann::json;

namespace {

json base_run() {
  const json shape = {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 99}, {"hidden_size", 32},
                      {"num_hidden_layers", 1},                 {"num_attention_heads", 4}};
  return {{"method", "kd"},
          {"teacher", {{"init", shape}}},
          {"student", {{"init", shape}}},
          {"data", {{"kind", "builtin"}, {"train_examples", 100}, {"validation_examples", 16}}},
          {"train", {{"steps", 4}, {"batch_size", 2}}}};
}

json grid_with(json axes) {
  return {{"base", base_run()}, {"axes", std::move(axes)}, {"seeds", {1, 2, 3}}, {"baseline", {{"method", "kd"}}}};
}

std::vector<std::string> ids(const Grid& g) {
  std::vector<std::string> v;
  for (const auto& c : g.cells) v.push_back(c.id);
  return v;
}

// A finished run folder for `cell` at `seed`, as a session would leave it: config.json, and a
// metrics.jsonl with two evaluations, the best checkpoint at the first.
void fake_run(const Grid& g, const GridFolder& folder, const std::string& cell, uint64_t seed, double val_loss,
              double rouge, std::map<std::string, double> category_rouge, bool finish = true) {
  const auto config = cell_run_config(g, *g.cell(cell), seed, folder);
  const auto dir = config["run_dir"].get<std::string>();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << to_json(parse_run_config(config, "test")).dump(2);
  MetricsFileObserver m(dir + "/metrics.jsonl", false);
  m.on_step(StepMetrics{2, 3.0});
  EvalResult early;
  early.step = 2;
  early.val_loss = val_loss - 0.5;  // lower loss, and the higher ROUGE-L: the best checkpoint
  early.rouge_l = rouge + 0.1;
  early.exact_match = 0.5;
  m.on_eval(early);
  m.on_checkpoint({2, dir + "/checkpoints/best", true});
  m.on_step(StepMetrics{4, 2.0});
  EvalResult last;
  last.step = 4;
  last.val_loss = val_loss;
  last.rouge_l = rouge;
  last.exact_match = rouge / 2;
  for (const auto& [name, r] : category_rouge) last.per_category[name] = {r, r / 2, val_loss, 8};
  m.on_eval(last);
  if (finish) m.on_finished({4, 1.0, false});
}

}  // namespace

class TestGrid : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // method x ka.lambda x distill.divergence: ka.lambda changes only ka's runs, the divergence
  // every method with a teacher; sft would collapse both. The last axis turns fastest.
  void axesCollapseWhereTheyDoNotApply() {
    auto j = grid_with({{"method", {"sft", "kd", "ka"}}, {"ka.lambda", {0.05, 0.1}},
                        {"distill.divergence", {"forward_kl", "reverse_kl"}}});
    j["baseline"] = "sft";
    const auto g = parse_grid(j, "grid.json");
    QCOMPARE(ids(g), (std::vector<std::string>{
                         "sft", "kd_distill.divergence=forward_kl", "kd_distill.divergence=reverse_kl",
                         "ka_distill.divergence=forward_kl_ka.lambda=0.05", "ka_distill.divergence=forward_kl_ka.lambda=0.1",
                         "ka_distill.divergence=reverse_kl_ka.lambda=0.05", "ka_distill.divergence=reverse_kl_ka.lambda=0.1"}));
    QCOMPARE(g.cells[3].label, std::string("ka distill.divergence=forward_kl ka.lambda=0.05"));
    QCOMPARE(g.axes, (std::vector<std::string>{"method", "distill.divergence", "ka.lambda"}));
    // {"method": "kd"} matches two kd cells here: the message lists both.
    j["baseline"] = {{"method", "kd"}};
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); })
                .endsWith("it matches kd_distill.divergence=forward_kl, kd_distill.divergence=reverse_kl"));
  }

  void baselinePicksExactlyOneCell() {
    auto j = grid_with({{"method", {"kd", "ka"}}, {"ka.lambda", {0.05, 0.1}}});
    QCOMPARE(parse_grid(j, "grid.json").baseline, std::string("kd"));
    j["baseline"] = "ka_ka.lambda=0.1";
    QCOMPARE(parse_grid(j, "grid.json").baseline, std::string("ka_ka.lambda=0.1"));
    j["baseline"] = {{"method", "ka"}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: `baseline` {\"method\":\"ka\"} must match exactly one cell; it matches "
                     "ka_ka.lambda=0.05, ka_ka.lambda=0.1"));
    j["baseline"] = {{"method", "ka"}, {"ka.lambda", 0.1}};
    QCOMPARE(parse_grid(j, "grid.json").baseline, std::string("ka_ka.lambda=0.1"));
    j["baseline"] = "kd-rev";
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: `baseline` `kd-rev` is not a cell; the cells are kd, ka_ka.lambda=0.05, ka_ka.lambda=0.1"));
  }

  // Every message names the grid's field, and the engine's own words follow for a run field.
  void validationNamesTheField() {
    auto j = grid_with({{"method", {"kd", "ka"}}, {"ka.lambda", {0.05, 2}}});
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: axes.ka.lambda[1]: `ka.lambda` must be in [0, 1], got 2"));
    j = grid_with({{"method", {"kd", "dpo"}}});
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: `axes.method[1]` must be one of sft, kd, ka, sar, got \"dpo\""));
    j = grid_with({{"ka.lamda", {0.1}}, {"method", {"ka"}}});
    QVERIFY2(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: axes.ka.lamda[0]: unknown field `ka.lamda`"),
             qPrintable(error_of([&] { parse_grid(j, "grid.json"); })));
    j = grid_with({{"ka.lambda", {0.1}}});  // the base is kd: the axis changes nothing
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: `axes.ka.lambda` changes no run of this grid's methods (kd)"));
    j = grid_with({{"method", {"kd", "kd"}}});
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }), QString("grid.json: `axes.method` lists \"kd\" twice"));
    j = grid_with({{"train.seed", {1, 2}}});
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: `axes.train.seed`: `train.seed` is set by the grid's `seeds`; leave it out"));
    j = grid_with({{"method", {"kd"}}});
    j["base"]["run_dir"] = "runs/x";
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: `base.run_dir`: `run_dir` is set by the grid"));
    j = grid_with({{"method", {"kd"}}});
    j["base"]["train"]["lr"] = -1;
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }), QString("grid.json: base: `train.lr` must be in (0, 10], got -1"));
    j = grid_with({{"method", {"kd"}}});
    j["seeds"] = {1, 2, 1};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }), QString("grid.json: `seeds[2]` = 1 is listed twice"));
    j["seeds"] = json::array();
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: `seeds` must be a list of 1 to 1000 seeds"));
    j = grid_with({{"method", {"kd"}}});
    j["data_order"] = "shuffled";
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: `data_order` must be \"seed\""));
    j = grid_with({{"method", {"kd"}}});
    j["axis"] = json::object();
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: unknown field `axis`; allowed: name, base"));
    j = {{"base", base_run()}, {"seeds", 2}};
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: the grid has no cells"));
    // Explicit cells: the field inside the list, and `from` that names no cell.
    j["cells"] = {{{"name", "kd-rev"}, {"set", {{"distill.divergence", "backward"}}}}};
    QVERIFY2(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: cell `kd-rev`: `distill.divergence` = `backward` is not allowed"),
             qPrintable(error_of([&] { parse_grid(j, "grid.json"); })));
    j["cells"] = {{{"name", "kd/rev"}}};
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: cells[0].name must be a folder name"));
    j["cells"] = {{{"name", "kd-on-policy"}, {"set", {{"distill.on_policy", 1}}}, {"from", "sft"}}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: cell `kd-on-policy`: `from` names `sft`, which is not a cell of this grid"));
    j["cells"] = {{{"name", "a"}, {"from", "b"}}, {{"name", "b"}, {"from", "a"}}};
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).contains("its `from` chain comes back to"));
    // A cell's own baseline, and the extra charts: each names what is wrong and where.
    j["axes"] = {{"method", {"kd"}}};
    j["cells"] = {{{"name", "kd2"}, {"baseline", "sft"}}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: cell `kd2`: `baseline` names `sft`, which is not a cell of this grid"));
    j["cells"] = {{{"name", "kd2"}, {"baseline", "kd2"}}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: cells[0].baseline names the cell itself; name another cell to compare it with"));
    j["cells"] = {{{"name", "kd2"}, {"baseline", 3}}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: cells[0].baseline must be the name of another cell, got 3"));
    j["cells"] = {{{"name", "kd2"}, {"baseline", "kd"}}};
    j["plots"] = {{"pair", {"kd", "kd3"}}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: `plots.pair[1]` must name a cell, got \"kd3\"; the cells are kd, kd2"));
    j["plots"] = {{"pair", {"kd", "kd"}}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }), QString("grid.json: `plots.pair[1]` lists `kd` twice"));
    j["plots"] = {{"pair", json::array()}};
    QCOMPARE(error_of([&] { parse_grid(j, "grid.json"); }),
             QString("grid.json: `plots.pair` must be a non-empty list of cell names"));
    j["plots"] = {{"a/b", {"kd"}}};
    QVERIFY(error_of([&] { parse_grid(j, "grid.json"); }).startsWith("grid.json: `plots.a/b`: a chart's name must be a file name"));
    j["plots"] = {{"pair", {"kd2", "kd"}}};
    const auto g = parse_grid(j, "grid.json");
    QCOMPARE(g.plots.size(), size_t{1});
    QCOMPARE(g.plots[0].cells, (std::vector<std::string>{"kd2", "kd"}));
  }

  // A cell's run: the base, its settings, the seed (and the data order), its folder; a dependent
  // cell starts from the other cell's exported student of the same seed.
  void cellRunConfigs() {
    json j = grid_with({{"method", {"sft", "kd"}}});
    j["cells"] = {{{"name", "kd-on-policy"}, {"set", {{"distill.on_policy", 1}, {"distill.alpha", 1}}}, {"from", "sft"}}};
    j["baseline"] = "kd";
    auto g = parse_grid(j, "grid.json");
    const GridFolder folder("/tmp/g");
    auto c = parse_run_config(cell_run_config(g, *g.cell("kd-on-policy"), 2, folder), "t");
    QCOMPARE(c.run_dir, std::string("/tmp/g/cells/kd-on-policy/seed-2"));
    QCOMPARE(c.student.path, std::string("/tmp/g/cells/sft/seed-2.student"));
    QCOMPARE(c.on_policy, 1.0);
    QCOMPARE(c.train.seed, uint64_t{2});
    QCOMPARE(*c.train.data_seed, uint64_t{2});
    QCOMPARE(c.method, Method::KD);
    c = parse_run_config(cell_run_config(g, *g.cell("sft"), 3, folder), "t");
    QCOMPARE(c.method, Method::SFT);
    QCOMPARE(c.name, std::string("grid/sft/seed-3"));
    j["data_order"] = "fixed";
    g = parse_grid(j, "grid.json");
    c = parse_run_config(cell_run_config(g, *g.cell("kd"), 3, folder), "t");
    QCOMPARE(c.train.seed, uint64_t{3});
    QCOMPARE(*c.train.data_seed, uint64_t{0});
    // More seeds continue a grid folder; other cells do not.
    json more = j;
    more["seeds"] = 5;
    QVERIFY(same_cells(j, more));
    // Baselines and charts only change the comparisons: a grid folder takes them after the fact.
    more["baseline"] = "sft";
    more["cells"][0]["baseline"] = "sft";
    more["plots"] = {{"on-policy", {"sft", "kd-on-policy"}}};
    QVERIFY(same_cells(j, more));
    more["cells"][0]["from"] = "kd";
    QVERIFY(!same_cells(j, more));
    more = j;
    more["axes"]["method"] = {"kd"};
    QVERIFY(!same_cells(j, more));
  }

  // Every cell is compared with its own baseline where it names one, else with the grid's;
  // the baseline cell itself with none.
  void cellsNameTheirOwnBaseline() {
    QTemporaryDir tmp;
    json j = grid_with({{"method", {"sft", "kd"}}});
    j["baseline"] = "kd";
    j["cells"] = {{{"name", "kd-on-policy"}, {"set", {{"distill.on_policy", 1}}}, {"from", "sft"}, {"baseline", "sft"}}};
    const auto g = parse_grid(j, "grid.json");
    QCOMPARE(g.cell("sft")->baseline, std::string("kd"));
    QCOMPARE(g.cell("kd")->baseline, std::string());
    QCOMPARE(g.cell("kd-on-policy")->baseline, std::string("sft"));
    const GridFolder folder(tmp.path().toStdString());
    for (uint64_t seed : {1, 2, 3}) {
      const double d = 0.01 * static_cast<double>(seed);
      fake_run(g, folder, "sft", seed, 2.0, 0.30 + d, {});
      fake_run(g, folder, "kd", seed, 2.0, 0.10 + d, {});
      fake_run(g, folder, "kd-on-policy", seed, 2.0, 0.40 + 2 * d, {});
    }
    const auto r = collect_grid_results(g, folder);
    const auto* op = r.find("kd-on-policy", "final", "", "rouge_l");
    QVERIFY(op && op->vs_baseline);
    QCOMPARE(op->baseline, std::string("sft"));
    // kd-on-policy - sft: 0.11, 0.12, 0.13 (against kd it would be 0.31, 0.32, 0.33).
    QVERIFY(std::abs(op->vs_baseline->difference.mean - 0.12) < 1e-12);
    QCOMPARE(op->vs_baseline->sign.above, int64_t{3});
    const auto* sft = r.find("sft", "final", "", "rouge_l");
    QCOMPARE(sft->baseline, std::string("kd"));
    QVERIFY(std::abs(sft->vs_baseline->difference.mean - 0.2) < 1e-12);
    QVERIFY(!r.find("kd", "final", "", "rouge_l")->vs_baseline);
    const auto md = QString::fromStdString(results_markdown(r, g));
    QVERIFY2(md.contains("| kd-on-policy (vs sft) | 3 |"), qPrintable(md));
    QVERIFY(md.contains("| kd (baseline) | 3 |"));
    QVERIFY(md.contains("the cell named beside it"));
    const auto csv = QString::fromStdString(results_csv(r, g));
    QVERIFY2(csv.contains("\nkd-on-policy,kd,final,all,rouge_l,3,0.44,0.02,sft,3,0.12,"), qPrintable(csv));
    const auto rj = to_json(r, g);
    QCOMPARE(rj["cells"][2]["baseline"].get<std::string>(), std::string("sft"));
  }

  void spreadAndSignTestByHand() {
    const auto s = spread({1, 2, 3, 4});
    QCOMPARE(s.n, int64_t{4});
    QCOMPARE(s.mean, 2.5);
    QVERIFY(std::abs(s.sd - std::sqrt(5.0 / 3.0)) < 1e-15);  // sum of squares 5, over n - 1
    QCOMPARE(spread({7}).sd, 0.0);
    // 2 P(X <= k), X ~ Bin(n, 1/2): 5 of 5 above: 2/32; 4 of 5: 2 * 6/32; 9 of 10: 2 * 11/1024.
    QCOMPARE(sign_test({1, 2, 3, 4, 5}).p, 0.0625);
    QCOMPARE(sign_test({1, 2, 3, 4, -5}).p, 0.375);
    QVERIFY(std::abs(sign_test({1, 1, 1, 1, 1, 1, 1, 1, 1, -1}).p - 0.021484375) < 1e-12);
    const auto t = sign_test({1, 0, -2, 0, 3});  // ties dropped: 2 above, 1 below of 3
    QCOMPARE(t.above, int64_t{2});
    QCOMPARE(t.below, int64_t{1});
    QCOMPARE(t.ties, int64_t{2});
    QCOMPARE(t.p, 1.0);
    QCOMPARE(sign_test({0, 0}).p, 1.0);
  }

  // The bootstrap against the same procedure in Python (tools/bootstrap_reference.py, printed
  // values pasted here), and against what it must be whatever the draws: one value, one point;
  // {0, 1} with many resamples, the extremes (each has probability 1/4 per resample of 2).
  void bootstrapWithAFixedSeed() {
    // python3 tools/bootstrap_reference.py 0 10000 0.95 0.012 -0.004 0.020 0.007 0.015
    auto i = bootstrap_mean_interval({0.012, -0.004, 0.020, 0.007, 0.015}, 0.95, 10000, 0);
    QVERIFY2(std::abs(i.lo - 0.0024000000000000002) < 1e-15 && std::abs(i.hi - 0.0164) < 1e-15,
             qPrintable(QString("%1 %2").arg(i.lo, 0, 'g', 17).arg(i.hi, 0, 'g', 17)));
    // python3 tools/bootstrap_reference.py 7 1000 0.9 1 2 3 10
    i = bootstrap_mean_interval({1, 2, 3, 10}, 0.9, 1000, 7);
    QCOMPARE(i.lo, 1.5);
    QCOMPARE(i.hi, 6.5);
    i = bootstrap_mean_interval({0.3}, 0.95, 100, 1);
    QCOMPARE(i.lo, 0.3);
    QCOMPARE(i.hi, 0.3);
    i = bootstrap_mean_interval({0, 1}, 0.95, 100000, 5);
    QCOMPARE(i.lo, 0.0);
    QCOMPARE(i.hi, 1.0);
    QVERIFY(!error_of([] { bootstrap_mean_interval({}, 0.95, 10, 0); }).isEmpty());
    const auto one = paired_difference({0.4}, {0.1});  // one seed: a difference, no interval
    QVERIFY(std::abs(one.difference.mean - 0.3) < 1e-12);
    QVERIFY(std::isnan(one.interval.lo) && std::isnan(one.interval.hi));
    const auto p = paired_difference({2, 3, 4}, {1, 1, 1});
    QCOMPARE(p.difference.mean, 2.0);
    QCOMPARE(p.sign.above, int64_t{3});
    QVERIFY(p.interval.lo >= 1.0 && p.interval.hi <= 3.0 && p.interval.lo < p.interval.hi);
  }

  // Results read back from run folders: only finished seeds count, the pairs are the seeds both
  // cells finished, the best checkpoint's evaluation is the one it was saved at.
  void resultsFromRunFolders() {
    QTemporaryDir tmp;
    auto g = parse_grid(grid_with({{"method", {"kd", "ka"}}}), "grid.json");
    const GridFolder folder(tmp.path().toStdString());
    fake_run(g, folder, "kd", 1, 2.0, 0.30, {{"add", 0.2}, {"sort", 0.4}});
    fake_run(g, folder, "kd", 2, 2.2, 0.20, {{"add", 0.1}, {"sort", 0.3}});
    fake_run(g, folder, "kd", 3, 2.1, 0.25, {{"add", 0.1}, {"sort", 0.4}});
    fake_run(g, folder, "ka", 1, 1.9, 0.35, {{"add", 0.3}, {"sort", 0.4}});
    fake_run(g, folder, "ka", 2, 2.0, 0.30, {{"add", 0.2}, {"sort", 0.4}});
    fake_run(g, folder, "ka", 3, 1.5, 0.90, {}, /*finish=*/false);  // still running: not counted

    const auto r = collect_grid_results(g, folder);
    QCOMPARE(r.runs_finished, int64_t{5});
    QCOMPARE(r.runs_total, int64_t{6});
    QCOMPARE(r.categories, (std::vector<std::string>{"add", "sort"}));
    const auto* kd = r.find("kd", "final", "", "val_loss");
    QVERIFY(kd && !kd->vs_baseline);
    QCOMPARE(kd->value.n, int64_t{3});
    QVERIFY(std::abs(kd->value.mean - 2.1) < 1e-12);
    QVERIFY(std::abs(kd->value.sd - 0.1) < 1e-12);
    const auto* ka = r.find("ka", "final", "", "rouge_l");
    QCOMPARE(ka->seeds, (std::vector<uint64_t>{1, 2}));
    QVERIFY(ka->vs_baseline);
    // ka - kd on seeds 1 and 2: 0.05 and 0.10.
    QVERIFY(std::abs(ka->vs_baseline->difference.mean - 0.075) < 1e-12);
    QCOMPARE(ka->vs_baseline->sign.above, int64_t{2});
    QCOMPARE(ka->vs_baseline->sign.p, 0.5);
    QVERIFY(std::abs(ka->vs_baseline->interval.lo - 0.05) < 1e-12 && std::abs(ka->vs_baseline->interval.hi - 0.10) < 1e-12);
    const auto* best = r.find("kd", "best", "", "val_loss");
    QVERIFY(std::abs(best->value.mean - 1.6) < 1e-12);  // the evaluations at step 2
    const auto* add = r.find("ka", "final", "add", "rouge_l");
    QVERIFY(std::abs(add->vs_baseline->difference.mean - 0.1) < 1e-12);

    write_grid_results(r, g, folder);
    const auto md = QString::fromStdString(results_markdown(r, g));
    QVERIFY(md.contains("5 of 6 runs finished"));
    QVERIFY2(md.contains("| ka | 2 | 1.9500 ± 0.0707 | 32.5 ± 3.5 | 16.2 ± 1.8 | -0.1500 [-0.2000, -0.1000]* (0.500) |"),
             qPrintable(md));
    const auto csv = QString::fromStdString(results_csv(r, g));
    QVERIFY(csv.startsWith("cell,method,at,category,metric,n,mean,sd,baseline,paired_n"));
    QVERIFY2(csv.contains("\nka,ka,final,all,rouge_l,2,0.325,0.0353553391,kd,2,0.075,0.05,0.1,2,0,0.5\n"), qPrintable(csv));
    const auto j = read_json_file_for_test(folder.results("json"));
    QCOMPARE(j["runs_finished"].get<int64_t>(), int64_t{5});
    QCOMPARE(j["cells"][1]["seeds"][2]["status"].get<std::string>(), std::string("incomplete"));
  }

  // A grid's arithmetic: recorded by its first run, the same one continues silently, another is
  // refused with what differs and how to match it, or joins the record when mixing is asked for;
  // results.md says which. A damaged record names its file and field.
  void aGridKeepsOneArithmetic() {
    QTemporaryDir tmp;
    const GridFolder folder(tmp.path().toStdString());
    const std::string record = folder.dir() + "/arithmetic.json";
    const Arithmetic cooperlake{"1.13.0", "OpenBLAS Cooperlake", "AVX512", 1, "cpu"};
    Arithmetic skylake = cooperlake;
    skylake.blas = "OpenBLAS SkylakeX";
    QCOMPARE(describe(cooperlake), std::string("LibTorch 1.13.0, OpenBLAS Cooperlake, ATen AVX512 kernels, 1 thread, cpu"));

    QVERIFY(!read_grid_arithmetic(folder));
    QCOMPARE(settle_grid_arithmetic(folder, cooperlake, false, 0), std::string());
    QVERIFY(read_grid_arithmetic(folder)->first == cooperlake);
    QCOMPARE(settle_grid_arithmetic(folder, cooperlake, false, 5), std::string());

    const QString refused = error_of([&] { settle_grid_arithmetic(folder, skylake, false, 5); });
    QCOMPARE(refused, QString::fromStdString(
                          record + ": this grid's runs were computed with LibTorch 1.13.0, OpenBLAS Cooperlake, ATen AVX512 "
                                   "kernels, 1 thread, cpu; this process would compute with LibTorch 1.13.0, OpenBLAS "
                                   "SkylakeX, ATen AVX512 kernels, 1 thread, cpu (BLAS: OpenBLAS Cooperlake there, "
                                   "OpenBLAS SkylakeX here). Runs of one grid must round alike, or a paired difference "
                                   "mixes the method with the rounding. Match it with OPENBLAS_CORETYPE=Cooperlake in the "
                                   "environment (where this CPU runs those kernels), or pass --mixed-arithmetic to "
                                   "continue anyway (results.md will say the grid mixes them)"));
    QVERIFY(read_grid_arithmetic(folder)->mixed_with.empty());  // a refusal writes nothing

    Arithmetic elsewhere{"2.11.0", "OpenBLAS Cooperlake", "AVX2", 2, "cpu"};
    QCOMPARE(arithmetic_differences(cooperlake, elsewhere, "there", "here"),
             (std::vector<std::string>{"LibTorch: 1.13.0 there, 2.11.0 here", "ATen's CPU kernels: AVX512 there, AVX2 here",
                                       "threads per run: 1 there, 2 here"}));
    QCOMPARE(arithmetic_remedies(cooperlake, elsewhere),
             (std::vector<std::string>{"ATEN_CPU_CAPABILITY=avx512 in the environment (where this CPU has them)",
                                       "1 thread per run (`moekd --threads 1`)"}));
    Arithmetic mkl = cooperlake;
    mkl.blas = "built into LibTorch";
    QVERIFY(arithmetic_remedies(cooperlake, mkl).empty());  // no variable makes MKL round like OpenBLAS
    QVERIFY(error_of([&] { settle_grid_arithmetic(folder, mkl, false, 1); }).contains("Continue it where it was run, or pass"));

    const std::string mixed = settle_grid_arithmetic(folder, skylake, true, 5);
    QVERIFY2(mixed.find("arithmetic: continuing with LibTorch 1.13.0, OpenBLAS SkylakeX") == 0, mixed.c_str());
    QCOMPARE(read_grid_arithmetic(folder)->mixed_with.size(), size_t{1});
    QVERIFY(settle_grid_arithmetic(folder, skylake, false, 6).find("this grid mixes arithmetics") != std::string::npos);
    QCOMPARE(read_grid_arithmetic(folder)->mixed_with.size(), size_t{1});

    auto g = parse_grid(grid_with({{"method", {"kd"}}}), "grid.json");
    const auto md = results_markdown(collect_grid_results(g, folder), g);
    QVERIFY2(md.find("**The runs mix arithmetics** (`arithmetic.json`): LibTorch 1.13.0, OpenBLAS Cooperlake, ATen "
                     "AVX512 kernels, 1 thread, cpu; then LibTorch 1.13.0, OpenBLAS SkylakeX") != std::string::npos,
             md.c_str());

    // A grid from before records: its finished runs are said to be unrecorded.
    QTemporaryDir older;
    const GridFolder old_folder(older.path().toStdString());
    QCOMPARE(settle_grid_arithmetic(old_folder, cooperlake, false, 27),
             std::string("arithmetic: the 27 finished runs came with no record of theirs; recorded this process's "
                         "(LibTorch 1.13.0, OpenBLAS Cooperlake, ATen AVX512 kernels, 1 thread, cpu)"));
    const auto one = results_markdown(collect_grid_results(g, old_folder), g);
    QVERIFY(one.find(" Computed with LibTorch 1.13.0, OpenBLAS Cooperlake, ATen AVX512 kernels, 1 thread, cpu "
                     "(`arithmetic.json`).") != std::string::npos);

    std::ofstream(record) << R"({"libtorch": "1.13.0", "blas": "OpenBLAS Cooperlake", "cpu_kernels": "AVX512", "threads": 0, "device": "cpu"})";
    QCOMPARE(error_of([&] { read_grid_arithmetic(folder); }),
             QString::fromStdString(record + ": `threads` must be a whole number from 1 to 4096"));
    std::ofstream(record) << R"({"libtorch": "1.13.0", "cpu_kernels": "AVX512", "threads": 1, "device": "cpu"})";
    QCOMPARE(error_of([&] { read_grid_arithmetic(folder); }), QString::fromStdString(record + ": `blas` must be a non-empty string"));
  }
 private:
  static json read_json_file_for_test(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
  }

};

QTEST_GUILESS_MAIN(TestGrid)
#include "test_grid.moc"
