#include "session/session.h"

#include <c10/util/Exception.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>

#include "io/hf_config.h"
#include "io/hf_model.h"
#include "util/error.h"
#include "util/system_info.h"

namespace moekd {

namespace fs = std::filesystem;

CausalLM load_or_init_model(const ModelSource& source, const std::string& role, const torch::Device& device) {
  CausalLM model{nullptr};
  if (!source.path.empty()) {
    const fs::path dir(source.path);
    const bool has_weights = fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json");
    if (has_weights) {
      model = load_pretrained(source.path);
    } else if (fs::exists(dir / "config.json")) {
      model = CausalLM(load_hf_config((dir / "config.json").string()));  // a fresh model of that shape
      model->init_weights(source.init_std);
    } else {
      fail(role, ".path = ", source.path, ": neither weights nor a config.json there");
    }
  } else {
    model = CausalLM(config_from_hf(source.init, role + ".init"));
    model->init_weights(source.init_std);
  }
  model->to(device);
  return model;
}

namespace {
// Why a split came out empty: how much data there was and which setting sizes the split.
std::string split_hint(const Dataset& ds, const DataConfig& d, const std::string& split) {
  const size_t usable = ds.train.size() + ds.validation.size() + ds.test.size();
  std::string s = std::to_string(usable) + " usable example" + (usable == 1 ? "" : "s");
  if (ds.skipped_rows > 0)
    s += ", " + std::to_string(ds.skipped_rows) + " malformed row" + (ds.skipped_rows == 1 ? "" : "s") + " skipped";
  if (split == "validation" && d.kind == "builtin") {
    s += "; set data.validation_examples above 0";
  } else if (split == "validation") {
    std::ostringstream fraction;
    fraction << d.validation_fraction;
    s += "; give more data or a larger data.validation_fraction (now " + fraction.str() + ")";
  }
  return s;
}

// Out of memory is a configuration problem: name the knobs that size the memory, with their values.
std::string out_of_memory_message(const RunConfig& c, const std::string& detail) {
  std::string s = "out of memory on " + c.train.device + " (" + detail + "): lower train.batch_size (" +
                  std::to_string(c.train.batch_size) + ", or raise train.grad_accum to keep the effective batch), "
                  "data.max_len (" + std::to_string(c.data.max_len) + ")";
  if (c.method == Method::KA)
    s += ", ka.max_teacher_batch (" + std::to_string(c.ka.max_teacher_batch) + "; 0 = all M x B sequences at once)";
  return s + " or the model sizes; checkpoints already written are kept";
}
}  // namespace

Session::Session(RunConfig config) : Session(std::move(config), false) {}

Session::Session(RunConfig config, bool resuming) : cfg_(std::move(config)), resuming_(resuming) {
  if (cfg_.run_dir.empty()) fail("run_dir is empty: where should this run write its files?");
}

std::unique_ptr<Session> Session::resume(const std::string& run_dir) {
  auto cfg = load_run_config((fs::path(run_dir) / "config.json").string());
  cfg.run_dir = run_dir;
  return std::unique_ptr<Session>(new Session(std::move(cfg), true));
}

std::string Session::checkpoint_dir(const std::string& which) const {
  return (fs::path(cfg_.run_dir) / "checkpoints" / which).string();
}

void Session::set_paused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(pause_mutex_);
    paused_ = paused;
  }
  resume_cv_.notify_all();
}

void Session::build() {
  const fs::path dir(cfg_.run_dir);
  if (evaluation_only_) {
    // nothing is written
  } else if (!resuming_) {
    if (run_dir_holds_training(cfg_.run_dir))
      fail(cfg_.run_dir, ": already holds a run (metrics.jsonl); choose another run_dir or resume it with --resume");
    fs::create_directories(dir);
    const auto tmp = dir / "config.json.tmp";
    std::ofstream(tmp) << to_json(cfg_).dump(2) << "\n";
    fs::rename(tmp, dir / "config.json");
  } else if (!fs::exists(checkpoint_dir("last"))) {
    fail(cfg_.run_dir, ": no checkpoint to resume from (checkpoints/last is missing)");
  }
  if (!evaluation_only_) {
    metrics_file_ = std::make_unique<MetricsFileObserver>((dir / "metrics.jsonl").string(), resuming_);
    observers_.insert(observers_.begin(), metrics_file_.get());
  }

  const auto device = parse_device(cfg_.train.device);
  torch::manual_seed(cfg_.train.seed);
  std::shared_ptr<const Tokenizer> tok = load_tokenizer(cfg_.data.tokenizer);

  auto data = std::make_shared<TrainingData>();
  const auto& d = cfg_.data;
  if (d.kind == "builtin") {
    data->dataset = make_builtin_tasks(d.seed, d.train_examples, d.validation_examples, d.test_examples);
  } else if (d.kind == "jsonl") {
    data->dataset = load_dolly_jsonl(d.path, d.validation_fraction, d.test_fraction, d.seed);
  } else {
    data->dataset = load_text(d.path, d.text_chunk_chars, d.validation_fraction, d.seed);
  }
  for (const auto& w : data->dataset.warnings) emit([&](RunObserver& o) { o.on_message(w); });
  auto category_index = [&](const std::string& c) {
    const auto& cats = data->dataset.categories;
    return static_cast<int64_t>(std::lower_bound(cats.begin(), cats.end(), c) - cats.begin());
  };
  for (const auto& ex : data->dataset.train)
    data->train.push_back(tokenize_example(*tok, ex, d.max_len, category_index(ex.category)));
  for (const auto& ex : data->dataset.validation)
    data->validation.push_back(tokenize_example(*tok, ex, d.max_len, category_index(ex.category)));
  if (data->train.empty())
    fail("the training split is empty (", data->dataset.source, ": ", split_hint(data->dataset, d, "train"), ")");
  for (const auto& ex : data->dataset.test)
    data->test.push_back(tokenize_example(*tok, ex, d.max_len, category_index(ex.category)));
  if (data->validation.empty())
    fail("the validation split is empty (", data->dataset.source, ": ", split_hint(data->dataset, d, "validation"), ")");

  auto student = load_or_init_model(cfg_.student, "student", device);
  CausalLM teacher{nullptr};
  if (cfg_.needs_teacher()) {
    teacher = load_or_init_model(cfg_.teacher, "teacher", device);
    check_same_vocabulary(teacher->config.vocab_size, student->config.vocab_size);
    if (cfg_.method == Method::KA && !teacher->config.is_moe())
      fail("method `ka` samples the teacher's experts, but the teacher (", family_architecture(teacher->config.family),
           ") has no MoE layers");
  }
  // Generation stops at the tokenizer's eos; fresh models learn it from here.
  for (auto* m : {&student, &teacher}) {
    if (!*m) continue;
    if ((*m)->config.eos_token_id < 0) (*m)->config.eos_token_id = tok->eos_id();
    if ((*m)->config.bos_token_id < 0) (*m)->config.bos_token_id = tok->bos_id();
  }
  if (tok->vocab_size() > student->config.vocab_size)
    fail("the tokenizer has ", tok->vocab_size(), " tokens but the student's vocabulary holds only ",
         student->config.vocab_size);
  trainer_ = std::make_unique<Trainer>(cfg_, student, teacher, tok, data, device);
  if (resuming_ && !evaluation_only_) {
    trainer_->load_checkpoint(checkpoint_dir("last"));
    emit([&](RunObserver& o) { o.on_message("resumed at step " + std::to_string(trainer_->steps_done())); });
  }
}

EvalResult Session::evaluate_checkpoint(const std::string& which, bool test_split, int64_t samples) {
  if (!fs::exists(checkpoint_dir(which))) fail(cfg_.run_dir, ": no checkpoint `", which, "`");
  evaluation_only_ = true;
  build();
  trainer_->load_checkpoint(checkpoint_dir(which));
  return trainer_->evaluate(samples, test_split);
}

void Session::evaluate_and_checkpoint(bool final) {
  auto& t = *trainer_;
  if (cfg_.eval.every > 0 || final) {
    const auto r = t.evaluate(cfg_.eval.samples, /*test_split=*/false);
    emit([&](RunObserver& o) { o.on_eval(r); });
    if (t.record_if_best(r)) {
      t.save_checkpoint(checkpoint_dir("best"));
      emit([&](RunObserver& o) { o.on_checkpoint({t.steps_done(), checkpoint_dir("best"), true}); });
    }
  }
}


bool Session::run() {
  const auto start = std::chrono::steady_clock::now();
  int64_t step = 0;
  try {
    build();
    auto& t = *trainer_;
    step = t.steps_done();
    while (t.steps_done() < cfg_.train.steps && !stopping()) {
      {
        std::unique_lock<std::mutex> lock(pause_mutex_);
        resume_cv_.wait(lock, [&] { return !paused_ || stop_; });
      }
      if (stopping()) break;
      const int64_t next = t.steps_done() + 1;
      const bool last = next == cfg_.train.steps;
      auto metrics = t.step(next % cfg_.log_every == 0 || last);
      step = t.steps_done();
      if (metrics) emit([&](RunObserver& o) { o.on_step(*metrics); });
      if (cfg_.routing_every > 0 && (step % cfg_.routing_every == 0 || last))
        for (const auto& snap : t.take_routing()) emit([&](RunObserver& o) { o.on_routing(snap); });
      if (cfg_.eval.every > 0 && step % cfg_.eval.every == 0 && !last) evaluate_and_checkpoint(false);
      if (cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0 && !last) {
        t.save_checkpoint(checkpoint_dir("last"));
        emit([&](RunObserver& o) { o.on_checkpoint({step, checkpoint_dir("last"), false}); });
      }
    }
    const bool stopped = stopping();
    if (!stopped) evaluate_and_checkpoint(true);
    // Finished or stopped: the last state is always on disk.
    t.save_checkpoint(checkpoint_dir("last"));
    emit([&](RunObserver& o) { o.on_checkpoint({step, checkpoint_dir("last"), false}); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    emit([&](RunObserver& o) { o.on_finished({step, seconds, stopped}); });
    return true;
  } catch (const Error& e) {
    emit([&](RunObserver& o) { o.on_failed({step, e.what()}); });
  } catch (const c10::OutOfMemoryError& e) {
    emit([&](RunObserver& o) { o.on_failed({step, out_of_memory_message(cfg_, e.what_without_backtrace())}); });
  } catch (const std::bad_alloc&) {
    emit([&](RunObserver& o) { o.on_failed({step, out_of_memory_message(cfg_, "allocation failed")}); });
  } catch (const c10::Error& e) {
    // LibTorch 1.13's CPU allocator reports failure as a plain c10::Error.
    const std::string what = e.what_without_backtrace();
    const bool oom = what.find("can't allocate memory") != std::string::npos ||
                     what.find("out of memory") != std::string::npos;
    emit([&](RunObserver& o) { o.on_failed({step, oom ? out_of_memory_message(cfg_, what) : "LibTorch: " + what}); });
  } catch (const std::exception& e) {
    emit([&](RunObserver& o) { o.on_failed({step, e.what()}); });
  }
  return false;
}

}  // namespace moekd
