#include "session/session.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <new>
#include <optional>

#include "backend/precision.h"
#include "data/run_data.h"
#include "data/tasks.h"
#include "util/error.h"
#include "util/join.h"
#include "util/json_file.h"
#include "backend/system_info.h"
#include "session/plan.h"

namespace moekd {

namespace fs = std::filesystem;

namespace {

// The arithmetic the run in `run` last reported (its metrics' latest "arithmetic" event); none for
// runs from before the event existed.
std::optional<ArithmeticUsed> last_arithmetic(const RunFolder& run) {
  if (!fs::exists(run.metrics())) return std::nullopt;
  const auto events = read_metrics(run.metrics().string(), [](const std::string& line) {
    return line.find("\"type\":\"arithmetic\"") != std::string::npos;
  });
  if (events.empty()) return std::nullopt;
  return arithmetic_used_from_json(events.back());
}
// Out of memory is a configuration problem: name the knobs that size the memory, with their values.
std::string out_of_memory_message(const RunConfig& c, const std::string& detail) {
  std::string s = "out of memory on " + c.train.device + " (" + detail + "): lower train.batch_size (" +
                  std::to_string(c.train.batch_size) + ", or raise train.grad_accum to keep the effective batch), "
                  "data.max_len (" + std::to_string(c.data.max_len) + ")";
  if (c.method == Method::KA)
    s += ", ka.max_teacher_batch (" + std::to_string(c.ka.max_teacher_batch) + "; 0 = all M x B sequences at once)";
  s += " or the model sizes; checkpoints already written are kept";
  // What the memory model says fits this device; the plan is an estimate, so it is advice, and a
  // plan that cannot be made (a missing config.json) leaves the message as it is.
  try {
    const auto device = parse_device(c.train.device);
    const int64_t memory = total_memory_bytes(device);
    if (memory > 0) {
      const auto plan = plan_memory(c, device.is_cuda() ? "cuda" : "cpu", memory);
      s += ". `moekd plan` estimates " + std::to_string(plan.total >> 20) + " MiB for this configuration on a " +
           std::to_string(memory >> 20) + " MiB device; ";
      s += plan.max_batch_size > 0 ? "train.batch_size " + std::to_string(plan.max_batch_size) + " would fit"
                                   : "not even train.batch_size 1 fits: use smaller models or a larger device";
    }
  } catch (const std::exception&) {
  }
  return s;
}

// The tokenizer a model folder ships, or null: none there, or the run's own data.tokenizer is that
// folder (then there is nothing to compare).
std::unique_ptr<Tokenizer> folder_tokenizer(const ModelSource& source, const std::string& run_spec) {
  std::error_code ec;
  if (source.path.empty() || !fs::is_directory(source.path, ec)) return nullptr;
  const fs::path dir(source.path);
  if (!fs::exists(dir / "tokenizer.json", ec) && !fs::exists(dir / "tokenizer.model", ec)) return nullptr;
  if (fs::exists(run_spec, ec) && fs::equivalent(dir, run_spec, ec)) return nullptr;
  return load_tokenizer(source.path);
}
}  // namespace

Session::Session(RunConfig config) : Session(std::move(config), false) {}

Session::Session(RunConfig config, bool resuming, bool new_total)
    : cfg_(std::move(config)), dist_(read_dist_env()), resuming_(resuming), new_total_(new_total) {
  if (cfg_.run_dir.empty()) fail("run_dir is empty: where should this run write its files?");
}

void Session::emit_failure(int64_t step, const std::string& message) {
  std::string m = message;
  if (dist_.distributed() && m.rfind("rank ", 0) != 0)
    m = "rank " + std::to_string(dist_.rank) + " of " + std::to_string(dist_.world_size) + ": " + m;
  for (auto* o : observers_) o->on_failed({step, m});
}

void Session::read_control_file() {
  if (control_file_.empty() || !writes()) return;
  std::ifstream in(control_file_);
  std::string word;
  if (!(in >> word) || word == control_word_) return;
  control_word_ = word;
  if (word == "pause") set_paused(true);
  else if (word == "run") set_paused(false);
  else if (word == "stop") request_stop();
  else
    emit([&](RunObserver& o) {
      o.on_message(control_file_ + ": expected pause, run or stop, found `" + word + "`; ignored");
    });
}

bool Session::proceed() {
  for (;;) {
    read_control_file();
    const Directive mine = stopping() ? Directive::Stop : paused_ ? Directive::Pause : Directive::Run;
    Directive agreed = mine;
    if (group_)
      for (const double d : group_->all_gather(static_cast<double>(mine)))
        agreed = std::max(agreed, static_cast<Directive>(static_cast<int>(d)));
    if (agreed != Directive::Pause) return agreed == Directive::Run;
    // Woken at once by Resume or Stop here; otherwise looks again soon (the control file, the
    // other ranks' wishes), so that a paused run costs nothing but this wait.
    std::unique_lock<std::mutex> lock(pause_mutex_);
    resume_cv_.wait_for(lock, std::chrono::milliseconds(200),
                        [&] { return stop_ || (mine == Directive::Pause && !paused_); });
  }
}

std::unique_ptr<Session> Session::resume(const std::string& run_dir, int64_t total_steps) {
  // Rank 0 writes the run, so it holds the folder; then a run killed while writing a checkpoint is
  // made whole again, by the one process that may.
  std::unique_ptr<FolderLock> lock;
  if (read_dist_env().rank == 0) {
    if (!fs::is_directory(run_dir)) fail(run_dir, ": no such run folder");
    lock = FolderLock::acquire(run_dir, "a training run");
    recover_checkpoints(RunFolder(run_dir));
  }
  auto cfg = load_run_folder_config(run_dir);
  cfg.run_dir = run_dir;
  const bool extend = total_steps > 0 && total_steps != cfg.train.steps;
  if (extend) {
    // Checked before anything is written: a refused request leaves the run as it was.
    const auto state = RunFolder(run_dir).checkpoint(Checkpoint::Last).state_json();
    if (!fs::exists(state)) fail(run_dir, ": no checkpoint to resume from (checkpoints/last is missing)");
    const int64_t at = read_checkpoint_state(state.string(), std::numeric_limits<int64_t>::max()).step;
    if (total_steps <= at)
      fail(run_dir, ": the last checkpoint is at step ", at, "; continuing needs a total above that, got train.steps = ",
           total_steps);
    cfg.train.steps = total_steps;
  }
  std::unique_ptr<Session> session(new Session(std::move(cfg), /*resuming=*/true, /*new_total=*/extend));
  session->lock_ = std::move(lock);
  return session;
}

std::unique_ptr<Session> Session::open_for_evaluation(const std::string& run_dir) {
  if (FolderLock::try_acquire(run_dir, "an evaluation")) recover_checkpoints(RunFolder(run_dir));
  auto cfg = load_run_folder_config(run_dir);
  cfg.run_dir = run_dir;
  return std::unique_ptr<Session>(new Session(std::move(cfg), /*resuming=*/true));
}

void Session::set_paused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(pause_mutex_);
    paused_ = paused;
  }
  resume_cv_.notify_all();
}

torch::Device Session::run_device() const {
  return parse_device(device_for_rank(cfg_.train.device, dist_, static_cast<int>(torch::cuda::device_count())));
}

void Session::build() {
  const RunFolder run = folder();
  if (dist_.distributed() && !evaluation_only_) {
    const auto device = run_device();
    group_ = std::make_unique<ProcessGroup>(dist_, device, std::chrono::seconds(cfg_.train.dist_timeout_s));
  }
  if (evaluation_only_ || !writes()) {
    // nothing is written (several processes: rank 0 writes)
  } else if (!resuming_) {
    run_config_text(run, cfg_);  // a config that cannot be written fails before the folder exists
    lock_ = FolderLock::acquire(cfg_.run_dir, "a training run");
    if (run_dir_holds_training(cfg_.run_dir))
      fail(cfg_.run_dir, ": already holds a run (metrics.jsonl); choose another run_dir or resume it with --resume");
    write_run_config(run, cfg_);
  } else if (!fs::exists(run.checkpoint(Checkpoint::Last).dir)) {
    fail(cfg_.run_dir, ": no checkpoint to resume from (checkpoints/last is missing)");
  }
  if (!evaluation_only_ && writes()) {
    metrics_file_ = std::make_unique<MetricsFileObserver>(run.metrics().string(), resuming_);
    observers_.insert(observers_.begin(), metrics_file_.get());
  }

  const auto device = run_device();
  torch::manual_seed(cfg_.train.seed);
  std::shared_ptr<const Tokenizer> tok = load_tokenizer(cfg_.data.tokenizer);
  auto data = std::make_shared<RunData>(build_run_data(cfg_.data, *tok));
  for (const auto& w : data->dataset.warnings) emit([&](RunObserver& o) { o.on_message(w); });

  // The student keeps float32 master weights and computes in the run's precision; the frozen
  // teacher is stored in it (SAR's routers, which train, stay float32).
  const Precision precision = resolve_precision(cfg_.train.precision, device);
  const auto compute = scalar_type_of(precision);
  if (!evaluation_only_ && precision != Precision::Float32)
    emit([&](RunObserver& o) {
      o.on_message(std::string("precision ") + name_of(precision) + ": the teacher in " + name_of(precision) +
                   ", the student computing in it over float32 master weights");
    });
  auto student = load_or_init_model(cfg_.student, "student", device);
  CausalLM teacher{nullptr};
  if (cfg_.needs_teacher()) {
    teacher = load_or_init_model(cfg_.teacher, "teacher", device, compute, cfg_.method == Method::SAR);
    const auto teacher_tok = folder_tokenizer(cfg_.teacher, cfg_.data.tokenizer);
    const auto student_tok = folder_tokenizer(cfg_.student, cfg_.data.tokenizer);
    const int64_t shared = check_vocabularies({"teacher", teacher->config.vocab_size, teacher_tok.get()},
                                              {"student", student->config.vocab_size, student_tok.get()}, *tok);
    if (teacher->config.vocab_size != student->config.vocab_size)
      emit([&](RunObserver& o) {
        o.on_message("vocabularies: the teacher has " + std::to_string(teacher->config.vocab_size) +
                     " embedding rows, the student " + std::to_string(student->config.vocab_size) +
                     "; the divergence runs over the " + std::to_string(shared) + " rows both have (the tokenizer's " +
                     std::to_string(tok->vocab_size()) + " tokens among them)");
      });
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
  // Positions past what a model was built for: rotary embeddings would still compute, but not what
  // the checkpoint learned. Refused by name, with both numbers.
  for (const auto& [model, role] : {std::pair{&student, "student"}, std::pair{&teacher, "teacher"}})
    if (*model && cfg_.data.max_len > (*model)->config.max_position_embeddings)
      fail("`data.max_len` = ", cfg_.data.max_len, " is longer than the ", role, "'s max_position_embeddings (",
           (*model)->config.max_position_embeddings, ")");
  if (tok->vocab_size() > student->config.vocab_size)
    fail("the tokenizer has ", tok->vocab_size(), " tokens but the student's vocabulary holds only ",
         student->config.vocab_size);
  trainer_ = std::make_unique<Trainer>(cfg_, student, teacher, tok, data, device, compute, group_.get());
  if (group_) {
    // KA's expert draws (the global generator): a stream per rank, rank 0's the one-process one.
    if (dist_.rank > 0) torch::manual_seed(mix_seed(cfg_.train.seed, static_cast<uint64_t>(dist_.rank)));
    const int64_t effective = cfg_.train.batch_size * cfg_.train.grad_accum * dist_.world_size;
    emit([&](RunObserver& o) {
      o.on_message(std::to_string(dist_.world_size) + " processes (" + group_->backend() + "), train.batch_size " +
                   std::to_string(cfg_.train.batch_size) + " each: " + std::to_string(effective) +
                   " sequences per optimizer step");
    });
  }
  if (resuming_ && !evaluation_only_) {
    trainer_->load_checkpoint(run.checkpoint(Checkpoint::Last).dir.string());
    // The checkpoint holds rank 0's generator: the other ranks go on with streams of their own.
    if (group_ && dist_.rank > 0)
      torch::manual_seed(mix_seed(mix_seed(cfg_.train.seed, static_cast<uint64_t>(dist_.rank)),
                                  static_cast<uint64_t>(trainer_->steps_done())));
    if (new_total_ && writes()) write_run_config(run, cfg_);  // a later resume, and every reader, sees the new total
    emit([&](RunObserver& o) { o.on_message("resumed at step " + std::to_string(trainer_->steps_done())); });
  }
  if (!evaluation_only_) {
    // What the run computes with from here on. A resume elsewhere rounds differently: said, so that
    // nobody expects it to retrace the steps it would have taken where it started.
    const ArithmeticUsed used{trainer_->steps_done(), current_arithmetic(device, at::get_num_threads())};
    if (resuming_ && writes()) {
      const auto before = last_arithmetic(run);
      if (before && before->arithmetic != used.arithmetic) {
        const auto what = join(arithmetic_differences(before->arithmetic, used.arithmetic, "before", "now"), "; ");
        emit([&](RunObserver& o) {
          o.on_message("arithmetic: this run computed with " + describe(before->arithmetic) + " until step " +
                       std::to_string(used.step) + ", and goes on with " + describe(used.arithmetic) + " (" + what +
                       "): from here it rounds differently, so it will not retrace what it would have computed there");
        });
      }
    }
    emit([&](RunObserver& o) { o.on_arithmetic(used); });
  }
}

EvalResult Session::evaluate_checkpoint(Checkpoint which, bool test_split, int64_t samples) {
  const auto ckpt = folder().checkpoint(which);
  if (!fs::exists(ckpt.dir)) fail(cfg_.run_dir, ": no checkpoint `", name_of(which), "`");
  evaluation_only_ = true;
  build();
  trainer_->load_checkpoint(ckpt.dir.string());
  return trainer_->evaluate(samples, test_split);
}

EvalResult Session::evaluate_student(bool test_split, int64_t samples) {
  evaluation_only_ = true;
  build();
  return trainer_->evaluate(samples, test_split);
}

void Session::save_checkpoint(Checkpoint which) {
  if (!writes()) return;
  const auto dir = folder().checkpoint(which).dir.string();
  trainer_->save_checkpoint(dir);
  emit([&](RunObserver& o) { o.on_checkpoint({trainer_->steps_done(), dir, which == Checkpoint::Best}); });
}

void Session::evaluate_and_checkpoint() {
  const auto r = trainer_->evaluate(cfg_.eval.samples, /*test_split=*/false);
  emit([&](RunObserver& o) { o.on_eval(r); });
  if (trainer_->record_if_best(r)) save_checkpoint(Checkpoint::Best);
}

bool Session::run() {
  const auto start = std::chrono::steady_clock::now();
  int64_t step = 0;
  try {
    reset_peak_memory(run_device());  // the run's own peak, models included
    build();
    auto& t = *trainer_;
    step = t.steps_done();
    bool stopped = false;
    while (t.steps_done() < cfg_.train.steps) {
      if (!proceed()) {
        stopped = true;
        break;
      }
      const int64_t next = t.steps_done() + 1;
      const bool last = next == cfg_.train.steps;
      auto metrics = t.step(next % cfg_.log_every == 0 || last);
      step = t.steps_done();
      if (metrics) emit([&](RunObserver& o) { o.on_step(*metrics); });
      const bool routing_now = cfg_.routing_every > 0 && (step % cfg_.routing_every == 0 || last);
      if (routing_now)
        for (const auto& snap : t.take_routing()) emit([&](RunObserver& o) { o.on_routing(snap); });
      // On-policy runs: the latest response the student wrote, as often as the routing (with the
      // metrics when routing is off).
      if (routing_now || (cfg_.routing_every == 0 && metrics))
        if (const auto g = t.take_generation()) emit([&](RunObserver& o) { o.on_generation(*g); });
      if (cfg_.eval.every > 0 && step % cfg_.eval.every == 0 && !last) evaluate_and_checkpoint();
      if (cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0 && !last) save_checkpoint(Checkpoint::Last);
    }
    if (!stopped) evaluate_and_checkpoint();
    save_checkpoint(Checkpoint::Last);  // finished or stopped: the last state is always on disk
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    emit([&](RunObserver& o) { o.on_finished({step, seconds, stopped}); });
    return true;
  } catch (const Error& e) {
    emit_failure(step, e.what());
  } catch (const c10::OutOfMemoryError& e) {
    emit_failure(step, out_of_memory_message(cfg_, e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    emit_failure(step, out_of_memory_message(cfg_, "allocation failed"));
  } catch (const c10::Error& e) {
    // LibTorch 1.13's CPU allocator reports failure as a plain c10::Error.
    const std::string what = e.what_without_backtrace();
    const bool oom = what.find("can't allocate memory") != std::string::npos ||
                     what.find("out of memory") != std::string::npos;
    emit_failure(step, oom ? out_of_memory_message(cfg_, what) : "LibTorch: " + what);
  } catch (const std::exception& e) {
    emit_failure(step, e.what());
  }
  return false;
}

}  // namespace moekd
