// `moekd compare`: a grid of runs (engine/grid/grid_config.h), each cell at each seed one
// `moekd distill` child with its share of the cores, N at a time; then the paired statistics
// (results.csv, results.json, results.md, rewritten after every run). Resumable: finished runs
// are not run again and an interrupted one continues from its last checkpoint, so the same
// command continues a grid after Ctrl-C, a crash or with more seeds.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands.h"
#include "export/export.h"
#include "grid/grid_config.h"
#include "grid/grid_results.h"
#include "launch.h"
#include "progress.h"
#include "backend/system_info.h"
#include "grid/grid_arithmetic.h"
#include "run/run_folder.h"
#include "run/run_record.h"
#include "util/error.h"
#include "util/folder_lock.h"
#include "util/json_file.h"
#ifdef MOEKD_WITH_PLOTS
#include "grid_plots.h"
#endif

namespace moekd::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Elsewhere: another process holds the run folder (a `moekd distill --resume` by hand).
enum class TaskState { Fresh, Resume, Running, Done, Failed, Blocked, Elsewhere };

struct Task {
  const GridCell* cell = nullptr;
  uint64_t seed = 0;
  TaskState state = TaskState::Fresh;
  int64_t resume_step = 0;
  pid_t pid = -1;
  std::chrono::steady_clock::time_point started;
  std::string failure;
  std::string holder;  // Elsewhere: who holds the folder (FolderLock::holder)
  std::string name() const { return cell->id + " seed " + std::to_string(seed); }
};

// Where a run of the grid stands on disk. A folder without a checkpoint holds nothing worth
// keeping (fewer than checkpoint_every steps): it starts again, and `start` clears it then (not
// here: `--list` and `--report` must not touch a run another `moekd compare` is running).
void read_state(Task& t, const GridFolder& folder, bool retry_failed) {
  const auto dir = folder.run_dir(t.cell->id, t.seed);
  t.holder = FolderLock::holder(dir);
  if (!t.holder.empty()) {
    t.state = TaskState::Elsewhere;
    return;
  }
  if (!is_run_dir(dir)) {
    t.state = TaskState::Fresh;
    return;
  }
  RunSummary s;
  try {
    s = load_run(dir, RunDetail::Summary).summary;
  } catch (const Error& e) {
    fail(dir, ": this grid's run folder cannot be read (", e.what(), "); move it away to run it again");
  }
  if (s.status == RunStatus::Finished) {
    t.state = TaskState::Done;
  } else if (s.status == RunStatus::Failed && !retry_failed) {
    t.state = TaskState::Failed;
    t.failure = s.failure;
  } else if (s.has_last) {
    t.state = TaskState::Resume;
    t.resume_step = s.step;
  } else {
    t.state = TaskState::Fresh;
  }
}

std::string last_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

std::string scores_text(const SeedOutcome& o) {
  if (!o.final_eval) return "";
  char b[160];
  std::snprintf(b, sizeof b, "val loss %.4f, ROUGE-L %.1f, exact match %.1f%%", o.final_eval->val_loss,
                100 * o.final_eval->rouge_l, 100 * o.final_eval->exact_match);
  return b;
}

void print_summary(const GridResults& r, const Grid& g) {
  std::printf("\n%-44s %3s %17s %13s %13s", "cell (final evaluation)", "n", "val loss", "ROUGE-L", "exact match");
  if (g.compares()) std::printf("   %-34s", "vs baseline: ROUGE-L [95% CI] (p)");
  std::printf("\n");
  for (const auto& c : r.cells) {
    const auto* v = r.find(c.cell.id, "final", "", "val_loss");
    const auto* rl = r.find(c.cell.id, "final", "", "rouge_l");
    const auto* em = r.find(c.cell.id, "final", "", "exact_match");
    const std::string label = g.cell_title(c.cell);
    if (!v) {
      std::printf("%-44s %3d %17s\n", label.c_str(), 0, "-");
      continue;
    }
    std::printf("%-44s %3lld %8.4f ± %6.4f %5.1f ± %5.1f %5.1f ± %5.1f", label.c_str(), static_cast<long long>(v->value.n),
                v->value.mean, v->value.sd, 100 * rl->value.mean, 100 * rl->value.sd, 100 * em->value.mean,
                100 * em->value.sd);
    if (rl->vs_baseline) {
      const auto& p = *rl->vs_baseline;
      if (std::isnan(p.interval.lo))
        std::printf("   %+5.1f (one seed: no interval)", 100 * p.difference.mean);
      else
        std::printf("   %+5.1f [%+5.1f, %+5.1f] (%.3f)", 100 * p.difference.mean, 100 * p.interval.lo,
                    100 * p.interval.hi, p.sign.p);
    }
    std::printf("\n");
  }
}

}  // namespace

void add_compare(CLI::App& app) {
  struct Args {
    std::string config, out;
    int jobs = 1;
    bool quiet = false, list = false, report = false, retry_failed = false, mixed_arithmetic = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("compare", "run a grid of methods x settings x seeds and compare the cells, paired over seeds");
  cmd->add_option("--config", a->config,
                  "the grid (JSON): base run config, axes and/or cells, seeds, baseline; leave it out to continue the "
                  "grid in --out");
  cmd->add_option("--out", a->out, "the grid's folder: cells/, logs/, results.{csv,json,md}")->required();
  cmd->add_option("--jobs", a->jobs, "runs at a time, the cores shared between them")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--list", a->list, "list the grid's runs and where each stands; run nothing");
  cmd->add_flag("--report", a->report,
                "write results.{csv,json,md} and the plots from the runs on disk; run nothing (a grid copied without "
                "its checkpoints, or a new `baseline` or `plots` in --config)");
  cmd->add_flag("--retry-failed", a->retry_failed, "run failed runs again (from their last checkpoint)");
  cmd->add_flag("--quiet", a->quiet, "print only the table at the end");
  cmd->add_flag("--mixed-arithmetic", a->mixed_arithmetic,
                "continue a grid whose runs were computed with another arithmetic (LibTorch, BLAS kernels, threads, "
                "device: arithmetic.json); results.md then says the runs mix them. Without it such a grid is "
                "refused with exit code 3");
  cmd->callback([a] {
    const GridFolder folder(fs::absolute(a->out).lexically_normal().string());
    const bool have_saved = fs::exists(folder.grid_json());
    Grid grid;
    if (!a->config.empty()) {
      grid = load_grid(a->config);
      if (have_saved && !same_cells(read_json_file(folder.grid_json()), grid.file))
        fail(a->config, ": ", a->out, " holds another grid (its grid.json differs in more than `seeds`); choose another --out");
    } else {
      if (!have_saved) fail("--out ", a->out, " holds no grid (no grid.json): give the grid with --config");
      grid = load_grid(folder.grid_json());
    }
    if (a->list && a->report) fail("--list and --report: choose one");
    // One runner per grid: a second would start the same runs in the same folders. `--list` and
    // `--report` only read the runs, and may look at a grid that is running.
    std::unique_ptr<FolderLock> grid_lock;
    if (!a->list && !a->report) grid_lock = FolderLock::acquire(folder.dir(), "moekd compare");
    const std::string runner = grid_lock ? std::string() : FolderLock::holder(folder.dir());
    for (const char* sub : {"cells", "configs", "logs"}) fs::create_directories(fs::path(folder.dir()) / sub);
    if (runner.empty()) write_json_file(folder.grid_json(), grid.file);

    std::vector<Task> tasks;  // seed by seed, so that a partial grid already holds every cell
    for (const auto seed : grid.seeds)
      for (const auto& cell : grid.cells) {
        Task t;
        t.cell = &cell;
        t.seed = seed;
        read_state(t, folder, a->retry_failed);
        tasks.push_back(t);
      }
    auto count = [&](TaskState s) {
      return std::count_if(tasks.begin(), tasks.end(), [&](const Task& t) { return t.state == s; });
    };
    const auto total = static_cast<long long>(tasks.size());
    if (a->list || !a->quiet) {
      std::printf("grid %s: %zu cells x %zu seeds = %lld runs; %lld finished, %lld to resume, %lld failed; %s\n",
                  grid.name.c_str(), grid.cells.size(), grid.seeds.size(), total, static_cast<long long>(count(TaskState::Done)),
                  static_cast<long long>(count(TaskState::Resume)), static_cast<long long>(count(TaskState::Failed)),
                  folder.dir().c_str());
    }
    if (!runner.empty() && !a->quiet) std::printf("running now in another process (%s)\n", runner.c_str());
    if (a->list) {
      const char* names[] = {"to run", "to resume", "running", "finished", "failed", "blocked", "running"};
      for (const auto& t : tasks) {
        std::string detail;
        if (t.state == TaskState::Resume) detail = " at step " + std::to_string(t.resume_step);
        if (t.state == TaskState::Elsewhere) detail = " (" + t.holder + ")";
        std::printf("  %-48s seed %-6llu %s%s\n", t.cell->label.c_str(), static_cast<unsigned long long>(t.seed),
                    names[static_cast<int>(t.state)], detail.c_str());
      }
      return;
    }

    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    // The runs inherit this process's BLAS kernels and LibTorch: its arithmetic, at their threads,
    // is theirs. A grid keeps one, so that a paired difference is the method's and not rounding's:
    // the threads per run follow the grid's record, whatever --jobs gives, and what cannot be set
    // from here is checked against it.
    const auto recorded = read_grid_arithmetic(folder);
    const unsigned cores_per_job = std::max(1u, cores / static_cast<unsigned>(a->jobs));
    const unsigned threads_per_run = recorded ? static_cast<unsigned>(recorded->first.threads) : cores_per_job;
    const std::string threads = std::to_string(threads_per_run);
    if (!a->report)
      for (const auto& t : tasks)
        if (t.state == TaskState::Fresh || t.state == TaskState::Resume) {
          if (threads_per_run != cores_per_job && !a->quiet)
            std::printf("threads per run: %u, as this grid's runs were computed (arithmetic.json)\n", threads_per_run);
          const auto run = cell_run_config(grid, *t.cell, t.seed, folder);
          const auto device = parse_device(run.contains("device") && run["device"].is_string() ? run["device"].get<std::string>() : "cpu");
          std::string line;
          try {
            line = settle_grid_arithmetic(folder, current_arithmetic(device, static_cast<int>(threads_per_run)),
                                          a->mixed_arithmetic, count(TaskState::Done));
          } catch (const ArithmeticMismatch& e) {
            std::fprintf(stderr, "moekd: error: %s\n", e.what());
            throw CLI::RuntimeError(kArithmeticMismatchExitCode);
          }
          if (!line.empty() && !a->quiet) std::printf("%s\n", line.c_str());
          break;
        }
    // Ctrl-C reaches the running cells from the terminal; SIGTERM is passed on to them. Either
    // way each stops after its step with a checkpoint, and no new cell starts.
    ChildrenSignals signals;

    auto find_task = [&](const std::string& cell, uint64_t seed) -> Task* {
      for (auto& t : tasks)
        if (t.cell->id == cell && t.seed == seed) return &t;
      return nullptr;
    };
    // A cell that starts from another's student needs that run finished and its student exported.
    auto ready = [&](Task& t) {
      if (t.cell->from.empty()) return true;
      Task* dep = find_task(t.cell->from, t.seed);
      if (dep->state == TaskState::Failed || dep->state == TaskState::Blocked) {
        t.state = TaskState::Blocked;
        t.failure = "it starts from " + dep->name() + ", which failed";
        return false;
      }
      if (dep->state != TaskState::Done) return false;
      const auto student = folder.student_dir(t.cell->from, t.seed);
      if (!fs::exists(fs::path(student) / "config.json"))
        export_student(folder.run_dir(t.cell->from, t.seed), Checkpoint::Best, student);
      return true;
    };
    auto start = [&](Task& t) {
      std::vector<std::string> args = {program_args().front(), "--threads", threads, "distill", "--quiet"};
      if (t.state == TaskState::Resume) {
        args.insert(args.end(), {"--resume", folder.run_dir(t.cell->id, t.seed)});
      } else {
        fs::remove_all(folder.run_dir(t.cell->id, t.seed));
        const auto config_path = folder.run_config(t.cell->id, t.seed);
        write_json_file(config_path, cell_run_config(grid, *t.cell, t.seed, folder));
        args.insert(args.end(), {"--config", config_path});
      }
      const auto done_before = count(TaskState::Done) + count(TaskState::Running);
      if (!a->quiet)
        std::printf("[%lld/%lld] %s: %s\n", static_cast<long long>(done_before + 1), total, t.name().c_str(),
                    t.state == TaskState::Resume ? ("resumed at step " + std::to_string(t.resume_step)).c_str() : "started");
      std::fflush(stdout);
      t.pid = start_this_program(args, nullptr, /*die_with_parent=*/true, folder.log_file(t.cell->id, t.seed));
      if (t.pid < 0) fail("cannot start a run of ", t.name(), " (fork failed)");
      t.state = TaskState::Running;
      t.started = std::chrono::steady_clock::now();
    };
    auto finish = [&](Task& t, int code) {
      t.pid = -1;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t.started).count();
      read_state(t, folder, false);
      if (code == 130 || (code == 0 && t.state == TaskState::Resume)) {
        if (!a->quiet) std::printf("      %s: stopped at step %lld\n", t.name().c_str(), static_cast<long long>(t.resume_step));
        return;
      }
      if (t.state != TaskState::Done && t.state != TaskState::Failed) {
        t.state = TaskState::Failed;
        t.failure = last_line_of(folder.log_file(t.cell->id, t.seed));
        if (t.failure.empty()) t.failure = "exit code " + std::to_string(code);
      }
      const auto results = collect_grid_results(grid, folder);
      write_grid_results(results, grid, folder);
      if (a->quiet) return;
      if (t.state == TaskState::Done) {
        std::string scores;
        for (const auto& c : results.cells)
          if (c.cell.id == t.cell->id)
            for (const auto& o : c.seeds)
              if (o.seed == t.seed) scores = scores_text(o);
        std::printf("      %s: finished in %s: %s\n", t.name().c_str(), format_duration(seconds).c_str(), scores.c_str());
      } else {
        std::printf("      %s: failed: %s\n", t.name().c_str(), t.failure.c_str());
      }
      std::fflush(stdout);
    };

    while (true) {
      if (signals.terminated()) {
        std::vector<pid_t> running_pids;
        for (const auto& t : tasks) running_pids.push_back(t.pid);
        signals.pass_on_terminate(running_pids);
      }
      const bool stopping = signals.interrupted() || signals.terminated();
      int running = static_cast<int>(count(TaskState::Running));
      if (!stopping && !a->report)
        for (auto& t : tasks) {
          if (running >= a->jobs) break;
          if ((t.state == TaskState::Fresh || t.state == TaskState::Resume) && ready(t)) {
            start(t);
            ++running;
          }
        }
      if (running == 0) break;
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (auto& t : tasks)
        if (t.pid == pid) finish(t, exit_code_of(status));
    }
    const bool stopped = signals.interrupted() || signals.terminated();

    const auto results = collect_grid_results(grid, folder);
    write_grid_results(results, grid, folder);
    print_summary(results, grid);
#ifdef MOEKD_WITH_PLOTS
    const auto plots = ui::writeGridPlots(results, folder.plots_dir(), grid.plots);
    if (!plots.empty()) {
      std::ofstream md(folder.results("md"), std::ios::app);
      md << "\n## Curves\n\nMean over the seeds at each step; the band runs from the lowest to the highest seed.\n\n";
      for (const auto& p : plots) {
        const auto name = fs::path(p).stem().string();
        md << "![" << name << "](plots/" << fs::path(p).filename().string() << ")\n";
      }
    }
    std::printf("\nplots: %s (%zu PNG files)", folder.plots_dir().c_str(), plots.size());
#else
    std::printf("\nplots: none (this moekd was built without the studio's charts, MOEKD_BUILD_UI=OFF)");
#endif
    std::printf("\n%lld of %lld runs finished; results: %s\n", static_cast<long long>(results.runs_finished), total,
                folder.results("md").c_str());
    if (stopped) {
      std::printf("continue with: moekd compare --out %s\n", a->out.c_str());
      throw CLI::RuntimeError(130);
    }
    if (!a->report)
      for (const auto& t : tasks)
        if (t.state == TaskState::Elsewhere)
          fail(t.name(), ": its folder is in use by another process (", t.holder, "), so this grid is not finished; ",
               "run `moekd compare --out ", a->out, "` again once that process ends");
    const auto failed = count(TaskState::Failed) + count(TaskState::Blocked);
    if (failed > 0) {
      for (const auto& t : tasks)
        if (t.state == TaskState::Failed || t.state == TaskState::Blocked)
          std::fprintf(stderr, "moekd: %s failed: %s\n", t.name().c_str(), t.failure.c_str());
      fail(failed, " of ", total, " runs failed (their logs: ", folder.dir(), "/logs); --retry-failed runs them again");
    }
  });
}

}  // namespace moekd::cli
