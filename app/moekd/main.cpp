// SPDX-License-Identifier: MIT
// moekd: the headless face of MoE-KD Studio. Every failure ends with one readable line on stderr
// and exit code 1, a wrong flag or value included (130 after Ctrl-C).
#include <c10/util/Exception.h>

#include <iostream>

#include "backend/allocator.h"
#include "backend/aten_kernels.h"
#include "backend/openblas_core.h"
#include "backend/system_info.h"
#include "commands.h"
#include "launch.h"
#include "ranges.h"
#include "util/error.h"

int main(int argc, char** argv) {
  moekd::cli::set_program_args(argc, argv);  // moekd distill --nproc starts copies of itself with them
  moekd::choose_aten_kernels();       // before any tensor operation: ATen reads its choice once
  moekd::choose_openblas_core(argv);  // may re-execute this program with better BLAS kernels
  moekd::configure_allocator();       // large tensors reuse the heap instead of mmap/munmap per step
  CLI::App app{"moekd: distil Mixture-of-Experts language models (MoE-KD Studio engine)", "moekd"};
  app.require_subcommand(1);
  // help2man reads this for the manual page (packaging/man_page.cmake): name, version, licence.
  app.set_version_flag("--version", "moekd " MOEKD_VERSION "\nCopyright 2026 MoE-KD Studio team. MIT License.");
  int threads = 0;
  app.add_option("--threads", threads, "LibTorch intra-op threads (default: as OMP_NUM_THREADS / LibTorch decide)")
      ->check(moekd::cli::thread_count());
  app.parse_complete_callback([&] { moekd::configure_threads(threads); });
  moekd::cli::add_doctor(app);
  moekd::cli::add_inspect(app);
  moekd::cli::add_forward(app);
  moekd::cli::add_training(app);
  moekd::cli::add_demo(app);
  moekd::cli::add_runs(app);
  moekd::cli::add_plan(app);
  moekd::cli::add_selftest(app);
  moekd::cli::add_tokenize(app);
  moekd::cli::add_compare(app);
  moekd::cli::add_probe(app);
  moekd::cli::add_bench(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command's own exit code (e.g. 130 after Ctrl-C)
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A flag's value out of range, an unknown flag: wrong input like any other, exit code 1.
    std::cerr << "moekd: error: " << e.what() << " (moekd " << (argc > 1 ? argv[1] : "") << " --help lists the options)\n";
    return 1;
  } catch (const moekd::Error& e) {
    std::cerr << "moekd: error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "moekd: LibTorch error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "moekd: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
