#include "probe/teacher_probe.h"

#include <cmath>
#include <cstdio>

#include "backend/system_info.h"
#include "data/run_data.h"
#include "data/tokenizer.h"
#include "distill/batch.h"
#include "distill/evaluation.h"
#include "session/models.h"
#include "util/error.h"

namespace moekd {

using json = nlohmann::json;

namespace {

std::string number(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", x);
  return b;
}

json policy_json(const RoutingPolicy& p) {
  return {{"kind", name_of(p.kind)}, {"k", p.k}, {"lambda", p.ka_lambda}, {"k_prime", p.ka_k}, {"top_p", p.top_p}};
}

RoutingPolicy policy_from_json(const json& j) {
  RoutingPolicy p;
  p.kind = parse_name<PolicyKind>(j.value("kind", std::string("topk")));
  p.k = j.value("k", int64_t{0});
  p.ka_lambda = j.value("lambda", 0.0);
  p.ka_k = j.value("k_prime", int64_t{0});
  p.top_p = j.value("top_p", 0.9);
  return p;
}

}  // namespace

std::vector<ProbePolicy> default_probe_policies(int64_t E, int64_t k) {
  std::vector<ProbePolicy> v;
  // The authors' num_selects sweeps: every k from 1 to E.
  for (int64_t i = 1; i <= E; ++i)
    v.push_back({"top-" + std::to_string(i) + (i == k ? " (own)" : ""), RoutingPolicy::topk(i)});
  // KA at the lambdas of the authors' scripts and above, with k' = k and, as they also ran it,
  // far above k (E - 1).
  std::vector<int64_t> k_primes = {k};
  if (E - 1 > k) k_primes.push_back(E - 1);
  for (const int64_t kp : k_primes)
    for (const double lambda : {0.05, 0.1, 0.3, 1.0})
      v.push_back({"ka lambda=" + number(lambda) + " k'=" + std::to_string(kp), RoutingPolicy::ka(lambda, kp)});
  v.push_back({"all", RoutingPolicy::all()});
  for (const double p : {0.5, 0.9}) v.push_back({"top-p " + number(p), RoutingPolicy::topp(p)});
  return v;
}

TeacherProbe probe_teacher(const ProbeSetup& s, const std::function<void(const std::string&)>& progress) {
  const auto device = parse_device(s.device);
  const auto tok = load_tokenizer(s.data.tokenizer);
  const RunData data = build_run_data(s.data, *tok);
  torch::manual_seed(s.seed);  // a teacher given by `init` only: the same fresh weights every time
  auto teacher = load_or_init_model(s.teacher, "teacher", device);
  const auto& cfg = teacher->config;
  if (!cfg.is_moe()) fail(s.teacher.path.empty() ? "the teacher" : s.teacher.path, ": the probe needs an MoE teacher; this model is dense");
  torch::NoGradGuard no_grad;
  teacher->eval();

  TeacherProbe out;
  out.teacher = s.teacher.path.empty() ? "(a fresh model)" : s.teacher.path;
  out.num_experts = cfg.moe.num_experts;
  out.top_k = cfg.moe.top_k;
  const auto policies = s.policies.empty() ? default_probe_policies(out.num_experts, out.top_k) : s.policies;
  const auto& split = s.test_split ? data.test : data.validation;
  if (split.empty()) fail("the ", s.test_split ? "test" : "validation", " split is empty: the probe has nothing to score");

  std::vector<Batch> batches;
  for (size_t start = 0; start < split.size(); start += static_cast<size_t>(s.batch_size)) {
    std::vector<const TokenizedExample*> ex;
    for (size_t i = start; i < std::min(split.size(), start + static_cast<size_t>(s.batch_size)); ++i) ex.push_back(&split[i]);
    batches.push_back(make_batch(ex, tok->pad_id(), device));
  }
  auto forward = [&](const Batch& b, const RoutingPolicy& p, bool record) {
    ForwardOptions o;
    o.policy = p;
    o.record_routing = record;
    return teacher->forward(b.ids, o);
  };

  // One pass over the batches. The model's own top-k runs once per batch: its router statistics
  // (what top-k leaves out, how spread the router is) and the reference distribution every
  // routing's KL is taken from. Then each routing on the same batch.
  const auto E = out.num_experts;
  const size_t categories = data.dataset.categories.size();
  std::map<int64_t, std::vector<double>> sums;  // layer -> discarded, entropy, tokens, then mean prob per expert
  std::vector<double> cat_discarded(categories), cat_slots(categories);
  std::vector<double> kl(policies.size()), experts(policies.size()), slots(policies.size());
  double rows = 0;
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    const auto& b = batches[bi];
    const auto own = forward(b, RoutingPolicy::topk(), true);
    const auto real = b.real.to(torch::kCPU);
    const auto category = b.token_category.to(torch::kCPU).masked_select(real);
    for (size_t l = 0; l < own.routing.size(); ++l) {
      if (!own.routing[l]) continue;
      const auto& r = *own.routing[l];
      const auto probs = r.probs.to(torch::kCPU, torch::kDouble);
      const auto ids = r.selection.ids.to(torch::kCPU);
      const auto kept = (probs.gather(1, ids.clamp_min(0)) * ids.ge(0)).sum(1);
      const auto discarded = (1 - kept).masked_select(real);
      const auto entropy = (-(probs * probs.clamp_min(1e-300).log()).sum(1)).masked_select(real);
      auto& v = sums[static_cast<int64_t>(l)];
      if (v.empty()) v.assign(3 + static_cast<size_t>(E), 0.0);
      v[0] += discarded.sum().item<double>();
      v[1] += entropy.sum().item<double>();
      v[2] += static_cast<double>(discarded.numel());
      const auto mean_prob = probs.index({real}).sum(0).contiguous();
      for (int64_t e = 0; e < E; ++e) v[3 + static_cast<size_t>(e)] += mean_prob.data_ptr<double>()[e];
      const auto per_cat = torch::zeros({static_cast<int64_t>(categories)}, torch::kDouble).index_add(0, category, discarded);
      const auto per_cat_n = torch::bincount(category, {}, static_cast<int64_t>(categories)).to(torch::kDouble);
      for (size_t c = 0; c < categories; ++c) {
        cat_discarded[c] += per_cat.data_ptr<double>()[c];
        cat_slots[c] += per_cat_n.data_ptr<double>()[c];
      }
    }
    const auto ref = torch::log_softmax(target_rows(own.logits, b).to(torch::kFloat), -1);
    rows += static_cast<double>(ref.size(0));
    for (size_t i = 0; i < policies.size(); ++i) {
      // Every routing draws from the same seed on a batch: its numbers do not depend on which
      // routings the probe runs, nor in which order.
      torch::manual_seed(s.seed + bi);
      const auto fo = forward(b, policies[i].policy, true);
      const auto mine = torch::log_softmax(target_rows(fo.logits, b).to(torch::kFloat), -1);
      kl[i] += (ref.exp() * (ref - mine)).sum().item<double>();
      for (const auto& r : fo.routing) {
        if (!r) continue;
        const auto used = r->selection.ids.ge(0).sum(1).masked_select(b.real);
        experts[i] += used.sum().item<double>();
        slots[i] += static_cast<double>(used.numel());
      }
    }
  }
  for (const auto& [layer, v] : sums) {
    LayerRouterStats st;
    st.layer = layer;
    const double n = std::max(1.0, v[2]);
    st.discarded_mass = v[0] / n;
    st.entropy = v[1] / n;
    st.entropy_fraction = E > 1 ? st.entropy / std::log(static_cast<double>(E)) : 0;
    for (int64_t e = 0; e < E; ++e) st.mean_prob.push_back(v[3 + static_cast<size_t>(e)] / n);
    out.layers.push_back(std::move(st));
    out.tokens = static_cast<int64_t>(v[2]);
  }
  for (size_t c = 0; c < categories; ++c)
    if (cat_slots[c] > 0) out.discarded_mass_by_category[data.dataset.categories[c]] = cat_discarded[c] / cat_slots[c];

  // Then each routing's evaluation: the loss, and greedy generations scored as a run scores them.
  for (size_t i = 0; i < policies.size(); ++i) {
    if (progress) progress(policies[i].label);
    PolicyScores ps;
    ps.policy = policies[i];
    ps.kl_from_topk = rows > 0 ? kl[i] / rows : 0;
    ps.experts_per_token = slots[i] > 0 ? experts[i] / slots[i] : 0;
    torch::manual_seed(s.seed);
    EvaluationSetup es;
    es.test_split = s.test_split;
    es.samples = s.samples;
    es.max_new_tokens = s.max_new_tokens;
    es.batch_size = s.batch_size;
    es.policy = policies[i].policy;
    ps.eval = evaluate_model(teacher, nullptr, *tok, data, es, device);
    ps.eval.samples.clear();
    out.policies.push_back(std::move(ps));
  }
  return out;
}

json to_json(const TeacherProbe& p) {
  json policies = json::array();
  for (const auto& s : p.policies) {
    json e = to_json(s.eval);
    e.erase("samples");
    e.erase("type");
    e.erase("step");
    policies.push_back({{"label", s.policy.label},
                        {"policy", policy_json(s.policy.policy)},
                        {"kl_from_topk", s.kl_from_topk},
                        {"experts_per_token", s.experts_per_token},
                        {"eval", e}});
  }
  json layers = json::array();
  for (const auto& l : p.layers)
    layers.push_back({{"layer", l.layer},
                      {"discarded_mass", l.discarded_mass},
                      {"entropy", l.entropy},
                      {"entropy_fraction", l.entropy_fraction},
                      {"mean_prob", l.mean_prob}});
  return {{"teacher", p.teacher}, {"num_experts", p.num_experts}, {"top_k", p.top_k},   {"tokens", p.tokens},
          {"policies", policies}, {"layers", layers},             {"discarded_mass_by_category", p.discarded_mass_by_category}};
}

TeacherProbe teacher_probe_from_json(const json& j) {
  TeacherProbe p;
  p.teacher = j.value("teacher", std::string());
  p.num_experts = j.value("num_experts", int64_t{0});
  p.top_k = j.value("top_k", int64_t{0});
  p.tokens = j.value("tokens", int64_t{0});
  for (const auto& e : j.value("policies", json::array())) {
    PolicyScores s;
    s.policy.label = e.value("label", std::string());
    s.policy.policy = policy_from_json(e.value("policy", json::object()));
    s.kl_from_topk = e.value("kl_from_topk", 0.0);
    s.experts_per_token = e.value("experts_per_token", 0.0);
    s.eval = eval_result_from_json(e.value("eval", json::object()));
    p.policies.push_back(std::move(s));
  }
  for (const auto& e : j.value("layers", json::array())) {
    LayerRouterStats l;
    l.layer = e.value("layer", int64_t{0});
    l.discarded_mass = e.value("discarded_mass", 0.0);
    l.entropy = e.value("entropy", 0.0);
    l.entropy_fraction = e.value("entropy_fraction", 0.0);
    l.mean_prob = e.value("mean_prob", std::vector<double>{});
    p.layers.push_back(std::move(l));
  }
  p.discarded_mass_by_category = j.value("discarded_mass_by_category", std::map<std::string, double>{});
  return p;
}

}  // namespace moekd
