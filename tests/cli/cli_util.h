#pragma once
// What the CLI suites share: running `moekd` and reading its outputs, and a tiny run config.
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/hf_config.h"
#include "test_util.h"

namespace moekd::test {

using json = nlohmann::json;

struct Run {
  int code = -1;
  QString out, err;
  json parsed() const { return json::parse(out.toStdString()); }
};

// `env` entries "NAME=value" set a variable for this run, "-NAME" removes one.
inline Run moekd_cli(const QStringList& args, const QStringList& env = {}) {
  QProcess p;
  QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
  for (const QString& v : env) {
    if (v.startsWith('-')) e.remove(v.mid(1));
    else e.insert(v.section('=', 0, 0), v.section('=', 1));
  }
  p.setProcessEnvironment(e);
  p.start(QStringLiteral(MOEKD_CLI), args);
  if (!p.waitForFinished(300000)) qFatal("moekd did not finish");
  return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

inline void write_json(const QString& path, const json& j) { std::ofstream(path.toStdString()) << j.dump(2); }

// A tiny run of the built-in tasks: small enough for CI, real enough to exercise every stage.
inline json tiny_run(const QString& run_dir, const char* method, int steps) {
  auto teacher = config_to_hf(tiny_config(Family::Mixtral));
  teacher["vocab_size"] = 99;
  auto student = config_to_hf(tiny_config(Family::Llama, 1));
  student["vocab_size"] = 99;
  return {{"run_dir", run_dir.toStdString()},
          {"method", method},
          {"student", {{"init", std::string(method) == "train-teacher" ? teacher : student}}},
          {"data", {{"kind", "builtin"}, {"train_examples", 400}, {"validation_examples", 32}, {"max_len", 32}}},
          {"train", {{"steps", steps}, {"batch_size", 8}, {"lr", 3e-3}, {"warmup_steps", 2}}},
          {"eval", {{"every", 0}, {"samples", 8}, {"max_new_tokens", 6}}},
          {"log_every", 5},
          {"routing_every", 5},
          {"checkpoint_every", 5}};
}

}  // namespace moekd::test
