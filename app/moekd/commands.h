#pragma once
// Each `moekd` subcommand registers itself on the root CLI11 app; its callback does the work and
// throws moekd::Error for anything the user can fix.
#include <CLI/CLI.hpp>

namespace moekd::cli {

void add_doctor(CLI::App& app);
void add_inspect(CLI::App& app);
void add_forward(CLI::App& app);
void add_bench(CLI::App& app);
void add_training(CLI::App& app);  // distill, train-teacher, eval, export
void add_demo(CLI::App& app);
void add_runs(CLI::App& app);   // compare run folders
void add_plan(CLI::App& app);   // memory a run needs
void add_selftest(CLI::App& app);  // numerical checks on a device
void add_tokenize(CLI::App& app);  // text <-> ids with a model's tokenizer
void add_compare(CLI::App& app);   // a grid of runs over seeds, paired statistics
void add_probe(CLI::App& app);     // what a teacher's unused experts hold

}  // namespace moekd::cli
