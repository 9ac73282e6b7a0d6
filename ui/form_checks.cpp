#include "form_checks.h"

#include <QObject>
#include <QString>
#include <algorithm>
#include <filesystem>

#include "data/prompt_template.h"
#include "io/hf_config.h"
#include "run/run_folder.h"

namespace moekd::ui {

namespace {

using json = nlohmann::json;

moekd::ConfigProblem problem(const char* field, const QString& need) {
  const std::string n = need.toStdString();
  return {field, std::string("`") + field + "` " + n, n};
}

bool hasProblem(const std::vector<moekd::ConfigProblem>& problems, const std::string& field) {
  return std::any_of(problems.begin(), problems.end(), [&](const auto& p) { return p.field == field; });
}

// A fresh student's shape, checked as the engine will build it: the field is the first
// `key` the engine's message names.
void checkStudentShape(const json& init, std::vector<moekd::ConfigProblem>& problems) {
  try {
    config_from_hf(init, "student.init").validate();
  } catch (const std::exception& e) {
    std::string what = e.what();
    for (const char* prefix : {"student.init: ", "model config: ", "field "})
      if (what.rfind(prefix, 0) == 0) what = what.substr(std::string(prefix).size());
    const auto open = what.find('`'), close = open == std::string::npos ? open : what.find('`', open + 1);
    const std::string key = close == std::string::npos ? "" : "student.init." + what.substr(open + 1, close - open - 1);
    problems.push_back({key, std::string("student.init: ") + what, what});
  }
}

// What the form checks beyond the parser, for Start too: the run folder, and the files and
// folders the run would open. Only fields without a problem yet are looked at.
void checkInputs(const RunConfig& c, std::vector<moekd::ConfigProblem>& problems) {
  namespace fs = std::filesystem;
  auto add = [&](const char* field, const QString& need) {
    if (!hasProblem(problems, field)) problems.push_back(problem(field, need));
  };
  auto model = [&](const char* field, const std::string& path) {
    if (path.empty()) return;
    if (!fs::is_directory(path)) add(field, QObject::tr("does not exist: %1").arg(QString::fromStdString(path)));
    else if (!fs::exists(fs::path(path) / "config.json"))
      add(field, QObject::tr("holds no config.json: choose a Hugging Face model folder"));
  };
  if (c.run_dir.empty())
    add("run_dir", QObject::tr("is empty: choose where config.json, metrics.jsonl and the checkpoints go"));
  else if (run_dir_holds_training(c.run_dir))
    add("run_dir", QObject::tr("%1 already holds a run: choose a new folder for this one (the Runs view opens the "
                               "old one)")
                       .arg(QString::fromStdString(c.run_dir)));
  if (c.needs_teacher()) model("teacher.path", c.teacher.path);
  model("student.path", c.student.path);
  if (c.data.kind != DataKind::Builtin && !c.data.path.empty() && !fs::is_regular_file(c.data.path))
    add("data.path", QObject::tr("does not exist: %1").arg(QString::fromStdString(c.data.path)));
  if (c.data.tokenizer.empty())
    add("data.tokenizer", QObject::tr("is empty: write builtin, or choose a tokenizer.json, a tokenizer.model or a "
                                      "folder holding one (usually the teacher's)"));
  else if (c.data.tokenizer != "builtin" && !fs::exists(c.data.tokenizer))
    add("data.tokenizer", QObject::tr("does not exist: %1").arg(QString::fromStdString(c.data.tokenizer)));
  if (c.data.kind == DataKind::Jsonl && !hasProblem(problems, "data.template")) {
    try {
      parse_prompt_template(c.data.prompt_template);
    } catch (const std::exception& e) {
      add("data.template", QString::fromStdString(e.what()));
    }
  }
}

}  // namespace

std::vector<moekd::ConfigProblem> checkForm(const json& config, moekd::RunConfig* parsed) {
  std::vector<moekd::ConfigProblem> problems = check_run_config(config, "configuration", parsed);
  if (!parsed->student.init.is_null() && !hasProblem(problems, "student.init"))
    checkStudentShape(parsed->student.init, problems);
  checkInputs(*parsed, problems);
  return problems;
}

}  // namespace moekd::ui
