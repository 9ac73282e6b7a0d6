#include "run/run_config.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <set>

#include "util/error.h"
#include "util/json_file.h"

namespace moekd {

using json = nlohmann::json;

namespace {

// A number as people write it: 10, 0.5, 1e-06, 65536.
std::string number_text(double x) {
  std::ostringstream out;
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e15) out << static_cast<int64_t>(x);
  else out << x;
  return out.str();
}

// "must be between 0 and 1", "must be above 0 and at most 10": a range in words.
std::string range_words(double lo, double hi, bool open_lo) {
  return open_lo ? "must be above " + number_text(lo) + " and at most " + number_text(hi)
                 : "must be between " + number_text(lo) + " and " + number_text(hi);
}

// Reads one JSON object: typed fields with ranges, and at the end refuses keys nobody asked for.
// Without a sink the first problem throws (parse_run_config); with one, every problem is kept and
// the field keeps its default (check_run_config, the studio's forms).
class Section {
 public:
  Section(const json& j, std::string path, const std::string& source, std::vector<ConfigProblem>* sink)
      : src_(source), path_(std::move(path)), sink_(sink) {
    if (j.is_null()) {
      j_ = json::object();
    } else if (!j.is_object()) {
      j_ = json::object();
      problem_at(path_, "`" + (path_.empty() ? std::string("(top level)") : path_) + "` must be an object",
                 "must be an object");
    } else {
      j_ = j;
    }
  }
  Section(const Section&) = delete;  // the key check runs once, in the one owner's destructor
  ~Section() noexcept(false) {
    if (std::uncaught_exceptions() > 0) return;
    for (auto& [key, _] : j_.items())
      if (!seen_.count(key)) {
        std::string allowed;
        for (const auto& k : seen_) allowed += (allowed.empty() ? "" : ", ") + k;
        problem_at(name(key), "unknown field `" + name(key) + "`; allowed here: " + allowed,
                   "is not a setting here (allowed: " + allowed + ")");
      }
  }

  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // `field`'s problem: `message` names it (the engine's wording), `need` says the same without it.
  void problem_at(const std::string& field, const std::string& message, const std::string& need) {
    if (!sink_) fail(src_, ": ", message);
    sink_->push_back({field, src_ + ": " + message, need});
  }
  void problem(const std::string& key, const std::string& message, const std::string& need) {
    problem_at(name(key), message, need);
  }

  const json* find(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  json raw(const std::string& key) {
    const auto* v = find(key);
    return v ? *v : json();
  }
  void integer(const std::string& key, int64_t& out, int64_t lo, int64_t hi) {
    if (const auto* v = find(key)) {
      if (!v->is_number_integer())
        return problem(key, "`" + name(key) + "` must be an integer, got " + quote_json(*v),
                       "must be a whole number, not " + quote_json(*v));
      if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        return problem(key, "`" + name(key) + "` must be in [" + number_text(lo) + ", " + number_text(hi) + "], got " +
                                quote_json(*v),
                       range_words(lo, hi, false) + "; it is " + quote_json(*v));
      const int64_t x = v->get<int64_t>();
      if (x < lo || x > hi)
        return problem(key, "`" + name(key) + "` must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                "], got " + std::to_string(x),
                       range_words(lo, hi, false) + "; it is " + std::to_string(x));
      out = x;
    }
  }
  void unsigned_integer(const std::string& key, uint64_t& out) {
    if (const auto* v = find(key)) {
      if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
        return problem(key, "`" + name(key) + "` must be a non-negative integer, got " + quote_json(*v),
                       "must be a whole number from 0 up, not " + quote_json(*v));
      out = v->get<uint64_t>();
    }
  }
  void number(const std::string& key, double& out, double lo, double hi, bool open_lo = false) {
    if (const auto* v = find(key)) {
      if (!v->is_number())
        return problem(key, "`" + name(key) + "` must be a number, got " + quote_json(*v), "must be a number, not " + quote_json(*v));
      const double x = v->get<double>();
      if (!(open_lo ? x > lo : x >= lo) || !(x <= hi))
        return problem(key,
                       "`" + name(key) + "` must be in " + (open_lo ? "(" : "[") + number_text(lo) + ", " +
                           number_text(hi) + "], got " + number_text(x),
                       range_words(lo, hi, open_lo) + "; it is " + number_text(x));
      out = x;
    }
  }
  void boolean(const std::string& key, bool& out) {
    if (const auto* v = find(key)) {
      if (!v->is_boolean())
        return problem(key, "`" + name(key) + "` must be true or false, got " + quote_json(*v),
                       "must be true or false, not " + quote_json(*v));
      out = v->get<bool>();
    }
  }
  // A number in its range, or absent / null: left unset.
  void optional_number(const std::string& key, std::optional<double>& out, double lo, double hi) {
    if (find(key)) {
      double x = out.value_or(lo);
      const auto before = sink_ ? sink_->size() : 0;
      number(key, x, lo, hi);
      if (!sink_ || sink_->size() == before) out = x;
    } else {
      out.reset();
    }
  }
  // true, false, or "auto" (also null): left unset, to be decided where it is used.
  void optional_boolean(const std::string& key, std::optional<bool>& out) {
    if (const auto* v = find(key)) {
      if (v->is_boolean()) out = v->get<bool>();
      else if (v->is_null() || (v->is_string() && v->get<std::string>() == "auto")) out.reset();
      else
        problem(key, "`" + name(key) + "` must be true, false or \"auto\", got " + quote_json(*v),
                "must be true, false or \"auto\", not " + quote_json(*v));
    }
  }
  bool string(const std::string& key, std::string& out) {
    if (const auto* v = find(key)) {
      if (!v->is_string()) {
        problem(key, "`" + name(key) + "` must be a string, got " + quote_json(*v), "must be text, not " + quote_json(*v));
        return false;
      }
      out = v->get<std::string>();
    }
    return true;
  }
  // An enumerated setting: one of `allowed` (by default every spelling of E).
  template <typename E>
  void enumeration(const std::string& key, E& out, std::vector<E> allowed = {}) {
    if (allowed.empty())
      for (const auto& entry : Names<E>::table) allowed.push_back(entry.first);
    std::string text = name_of(out);
    if (!string(key, text)) return;
    std::vector<std::string> spellings;
    for (E e : allowed) {
      if (text == name_of(e)) {
        out = e;
        return;
      }
      spellings.emplace_back(name_of(e));
    }
    const std::string shown = text.size() > 40 ? text.substr(0, 40) + "..." : text;
    problem(key, "`" + name(key) + "` = `" + shown + "` is not allowed; expected one of: " + join_names(spellings),
            "must be one of " + join_names(spellings) + ", not `" + shown + "`");
  }
  Section child(const std::string& key) { return Section(raw(key), name(key), src_, sink_); }

 private:
  json j_;
  std::string src_, path_;
  std::vector<ConfigProblem>* sink_;
  std::set<std::string> seen_;
};

ModelSource read_model(Section s) {
  ModelSource m;
  s.string("path", m.path);
  m.init = s.raw("init");
  s.number("init_std", m.init_std, 0.0, 10.0, true);
  s.integer("top_k", m.top_k, 0, 4096);
  if (!m.init.is_null() && !m.init.is_object()) {
    s.problem("init", "`" + s.name("init") + "` must be a config.json object", "must be a config.json object");
    m.init = json();
  }
  return m;
}

DataConfig read_data(Section s) {
  DataConfig d;
  s.enumeration("kind", d.kind);
  s.string("path", d.path);
  s.unsigned_integer("seed", d.seed);
  s.integer("train_examples", d.train_examples, 1, 100000000);
  s.integer("validation_examples", d.validation_examples, 1, 10000000);
  s.integer("test_examples", d.test_examples, 0, 10000000);
  s.number("validation_fraction", d.validation_fraction, 0.0, 0.5, true);
  s.number("test_fraction", d.test_fraction, 0.0, 0.5);
  s.integer("text_chunk_chars", d.text_chunk_chars, 16, 1 << 20);
  s.integer("max_len", d.max_len, 4, 1 << 16);
  s.string("tokenizer", d.tokenizer);
  s.string("template", d.prompt_template);
  if (d.kind == DataKind::Jsonl && d.prompt_template.empty())
    s.problem("template", "`data.template` is empty (expected dolly, chatml, llama3, mistral, plain or a custom string)",
              "needs a template name or a custom string");
  if (d.kind != DataKind::Builtin && d.path.empty())
    s.problem("path", std::string("`data.path` is required when `data.kind` is ") + name_of(d.kind),
              std::string("is required for ") + name_of(d.kind) + " data: choose the file");
  return d;
}

}  // namespace

DataConfig parse_data_config(const json& j, const std::string& source) {
  return read_data(Section(j, "data", source, nullptr));
}

namespace {

RunConfig read_run(const json& j, const std::string& src, std::vector<ConfigProblem>* sink) {
  RunConfig c;
  Section top(j, "", src, sink);
  top.string("name", c.name);
  if (c.name.empty())
    top.problem("name", "`name` must not be empty (the run's label in `moekd runs` and the studio)",
                "must not be empty: it labels the run in the Runs view and on charts");
  top.string("run_dir", c.run_dir);
  top.enumeration("method", c.method);
  c.teacher = read_model(top.child("teacher"));
  c.student = read_model(top.child("student"));
  {
    auto s = top.child("teacher_policy");
    s.enumeration("kind", c.teacher_policy.kind);
    s.number("lambda", c.teacher_policy.ka_lambda, 0.0, 1.0);
    s.integer("k_prime", c.teacher_policy.ka_k, 0, 4096);
    s.number("top_p", c.teacher_policy.top_p, 0.0, 1.0, true);
    s.integer("k", c.teacher_policy.k, 0, 4096);
  }
  c.data = read_data(top.child("data"));
  {
    auto s = top.child("distill");
    s.enumeration("divergence", c.divergence.kind);
    s.number("temperature", c.divergence.temperature, 0.0, 100.0, true);
    s.number("jsd_beta", c.divergence.jsd_beta, 0.0, 1.0);
    s.number("skew_alpha", c.divergence.skew_alpha, 0.0, 1.0);
    s.integer("chunk_rows", c.divergence.chunk_rows, 1, 1 << 24);
    s.number("alpha", c.alpha, 0.0, 1.0);
    s.optional_number("ce_weight", c.ce_weight, 0.0, 100.0);
    s.number("on_policy", c.on_policy, 0.0, 1.0);
    auto g = s.child("sampling");
    g.number("temperature", c.sampling.temperature, 0.0, 100.0, true);
    g.integer("top_k", c.sampling.top_k, 0, 1 << 24);
    g.number("top_p", c.sampling.top_p, 0.0, 1.0, true);
    g.integer("max_new_tokens", c.sampling.max_new_tokens, 1, 1 << 16);
  }
  if (c.on_policy > 0 && !c.needs_teacher())
    top.problem("distill.on_policy",
                std::string("`distill.on_policy` needs a teacher to score the student's responses; method `") +
                    name_of(c.method) + "` has none (set it to 0)",
                std::string("needs a teacher to score what the student writes; method ") + name_of(c.method) +
                    " has none: set it to 0");
  {
    auto s = top.child("ka");
    s.integer("m", c.ka.m, 1, 256);
    s.number("lambda", c.ka.lambda, 0.0, 1.0);
    s.integer("k_prime", c.ka.k_prime, 0, 4096);
    s.optional_boolean("batched", c.ka.batched);
    s.integer("max_teacher_batch", c.ka.max_teacher_batch, 0, 1 << 20);
  }
  {
    auto s = top.child("sar");
    s.number("router_lr", c.sar.router_lr, 0.0, 1.0);
    s.enumeration("direction", c.sar.direction);
    s.enumeration("policy", c.sar.policy, {PolicyKind::All, PolicyKind::TopP});
    s.number("top_p", c.sar.top_p, 0.0, 1.0, true);
    s.enumeration("balance", c.sar.balance);
    s.number("balance_weight", c.sar.balance_weight, 0.0, 100.0);
  }
  {
    auto s = top.child("train");
    s.integer("steps", c.train.steps, 1, 100000000);
    s.integer("batch_size", c.train.batch_size, 1, 1 << 16);
    s.integer("grad_accum", c.train.grad_accum, 1, 1 << 12);
    s.number("lr", c.train.lr, 0.0, 10.0, true);
    s.number("min_lr_ratio", c.train.min_lr_ratio, 0.0, 1.0);
    s.enumeration("schedule", c.train.schedule);
    s.integer("warmup_steps", c.train.warmup_steps, 0, 100000000);
    s.number("weight_decay", c.train.weight_decay, 0.0, 10.0);
    s.number("clip_norm", c.train.clip_norm, 0.0, 1e6);
    s.number("balance_weight", c.train.balance_weight, 0.0, 100.0);
    s.enumeration("balance", c.train.balance);
    s.unsigned_integer("seed", c.train.seed);
    if (s.raw("data_seed").is_null()) {
      c.train.data_seed.reset();
    } else {
      uint64_t data_seed = 0;
      s.unsigned_integer("data_seed", data_seed);
      c.train.data_seed = data_seed;
    }
    s.string("device", c.train.device);
    s.enumeration("precision", c.train.precision);
    s.boolean("checkpoint_activations", c.train.checkpoint_activations);
    s.integer("dist_timeout_s", c.train.dist_timeout_s, 1, 7 * 24 * 3600);
  }
  {
    auto s = top.child("eval");
    s.integer("every", c.eval.every, 0, 100000000);
    s.integer("samples", c.eval.samples, 0, 1000000);
    s.integer("max_new_tokens", c.eval.max_new_tokens, 1, 4096);
    s.boolean("teacher", c.eval.teacher);
  }
  top.integer("log_every", c.log_every, 1, 100000000);
  top.integer("routing_every", c.routing_every, 0, 100000000);
  top.integer("checkpoint_every", c.checkpoint_every, 0, 100000000);

  if (c.needs_teacher() && c.teacher.path.empty() && c.teacher.init.is_null())
    top.problem("teacher.path",
                std::string("method `") + name_of(c.method) + "` needs `teacher.path` (a Hugging Face folder)",
                std::string("is needed by method ") + name_of(c.method) + ": choose the teacher's Hugging Face folder");
  if (c.student.path.empty() && c.student.init.is_null())
    top.problem("student.path", "`student.path` or `student.init` is required",
                "is required: choose a student folder, or a new model's shape");
  if (c.method == Method::KA) c.teacher_policy = RoutingPolicy::ka(c.ka.lambda, c.ka.k_prime);
  if (c.method == Method::SAR) {
    c.teacher_policy.kind = c.sar.policy;
    c.teacher_policy.top_p = c.sar.top_p;
  }
  return c;
}

}  // namespace

RunConfig parse_run_config(const json& j, const std::string& src) { return read_run(j, src, nullptr); }

std::vector<ConfigProblem> check_run_config(const json& j, const std::string& source, RunConfig* parsed) {
  std::vector<ConfigProblem> problems;
  try {
    RunConfig c = read_run(j, source, &problems);
    if (parsed) *parsed = std::move(c);
  } catch (const std::exception& e) {  // a setting read outside Section's checks
    problems.push_back({"", e.what(), e.what()});
  }
  return problems;
}

namespace {
json model_json(const ModelSource& m) {
  json j = json::object();
  if (!m.path.empty()) j["path"] = m.path;
  if (!m.init.is_null()) {
    j["init"] = m.init;
    j["init_std"] = m.init_std;
  }
  if (m.top_k > 0) j["top_k"] = m.top_k;
  return j;
}
}  // namespace

json to_json(const RunConfig& c) {
  json j;
  j["name"] = c.name;
  j["run_dir"] = c.run_dir;
  j["method"] = name_of(c.method);
  j["teacher"] = model_json(c.teacher);
  j["student"] = model_json(c.student);
  j["teacher_policy"] = {{"kind", name_of(c.teacher_policy.kind)},
                         {"lambda", c.teacher_policy.ka_lambda},
                         {"k_prime", c.teacher_policy.ka_k},
                         {"top_p", c.teacher_policy.top_p},
                         {"k", c.teacher_policy.k}};
  const auto& d = c.data;
  j["data"] = {{"kind", name_of(d.kind)},
               {"path", d.path},
               {"seed", d.seed},
               {"train_examples", d.train_examples},
               {"validation_examples", d.validation_examples},
               {"test_examples", d.test_examples},
               {"validation_fraction", d.validation_fraction},
               {"test_fraction", d.test_fraction},
               {"text_chunk_chars", d.text_chunk_chars},
               {"max_len", d.max_len},
               {"tokenizer", d.tokenizer},
               {"template", d.prompt_template}};
  j["distill"] = {{"divergence", name_of(c.divergence.kind)},
                  {"temperature", c.divergence.temperature},
                  {"jsd_beta", c.divergence.jsd_beta},
                  {"skew_alpha", c.divergence.skew_alpha},
                  {"chunk_rows", c.divergence.chunk_rows},
                  {"alpha", c.alpha},
                  {"ce_weight", c.ce_weight ? json(*c.ce_weight) : json()},
                  {"on_policy", c.on_policy},
                  {"sampling",
                   {{"temperature", c.sampling.temperature},
                    {"top_k", c.sampling.top_k},
                    {"top_p", c.sampling.top_p},
                    {"max_new_tokens", c.sampling.max_new_tokens}}}};
  j["ka"] = {{"m", c.ka.m}, {"lambda", c.ka.lambda}, {"k_prime", c.ka.k_prime}, {"batched", c.ka.batched ? json(*c.ka.batched) : json("auto")},
             {"max_teacher_batch", c.ka.max_teacher_batch}};
  j["sar"] = {{"router_lr", c.sar.router_lr},       {"direction", name_of(c.sar.direction)},
              {"policy", name_of(c.sar.policy)},     {"top_p", c.sar.top_p},
              {"balance", name_of(c.sar.balance)},   {"balance_weight", c.sar.balance_weight}};
  const auto& t = c.train;
  j["train"] = {{"steps", t.steps},
                {"batch_size", t.batch_size},
                {"grad_accum", t.grad_accum},
                {"lr", t.lr},
                {"min_lr_ratio", t.min_lr_ratio},
                {"schedule", name_of(t.schedule)},
                {"warmup_steps", t.warmup_steps},
                {"weight_decay", t.weight_decay},
                {"clip_norm", t.clip_norm},
                {"balance_weight", t.balance_weight},
                {"balance", name_of(t.balance)},
                {"seed", t.seed},
                {"data_seed", t.data_seed ? json(*t.data_seed) : json()},
                {"device", t.device},
                {"precision", name_of(t.precision)},
                {"checkpoint_activations", t.checkpoint_activations},
                {"dist_timeout_s", t.dist_timeout_s}};
  j["eval"] = {{"every", c.eval.every},
               {"samples", c.eval.samples},
               {"max_new_tokens", c.eval.max_new_tokens},
               {"teacher", c.eval.teacher}};
  j["log_every"] = c.log_every;
  j["routing_every"] = c.routing_every;
  j["checkpoint_every"] = c.checkpoint_every;
  return j;
}

RunConfig load_run_config(const std::string& path) { return parse_run_config(read_json_file(path), path); }

void apply_override(json& j, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("override `", assignment, "` must look like key.path=value (e.g. train.steps=200)");
  const auto key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  // Checked here: a JSON string must be UTF-8, and a run folder must not be half-created by a
  // value that cannot be written into its config.json.
  if (!is_valid_utf8(assignment)) fail("override `", key.substr(0, 40), "=...` is not valid UTF-8 text");
  if (json_depth(text) < 0) fail("override `", key, "` is nested deeper than ", kMaxJsonDepth, " levels");
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;  // a bare word is a string
  json* node = &j;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const auto part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) fail("override `", assignment, "` has an empty key segment");
    if (!node->is_object()) *node = json::object();
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

}  // namespace moekd
