#include "presets.h"

#include <QDir>
#include <QFile>
#include <algorithm>
#include <filesystem>

#include "run/demo_recipe.h"
#include "run/run_folder.h"
#include "util/json_file.h"

namespace moekd::ui {

using json = nlohmann::json;
namespace fs = std::filesystem;

QString latestTeacherModel(const QString& workspace) { return latestRunModel(workspace, Method::TrainTeacher); }

QString latestRunModel(const QString& workspace, Method method) {
  std::string found;
  fs::file_time_type newest{};
  std::error_code ec;
  if (workspace.isEmpty() || !fs::is_directory(workspace.toStdString(), ec)) return {};
  for (const auto& dir : list_runs(workspace.toStdString())) {
    const RunFolder run(dir);
    try {
      if (read_json_file(run.config().string()).value("method", std::string()) != name_of(method)) continue;
    } catch (const std::exception&) {
      continue;
    }
    for (Checkpoint which : {Checkpoint::Best, Checkpoint::Last}) {
      const auto ckpt = run.checkpoint(which);
      if (!ckpt.exists()) continue;
      const auto when = fs::last_write_time(run.metrics(), ec);
      if (!ec && (found.empty() || when > newest)) {
        found = ckpt.model().string();
        newest = when;
      }
      break;
    }
  }
  return QString::fromStdString(found);
}

std::optional<json> presetConfig(const QString& name, const QString& workspace) {
  json config;
  if (name.startsWith("demo-") && name != "demo-teacher") {
    const std::string method = name.mid(5).toStdString();
    const auto& known = demo_methods();
    if (std::find(known.begin(), known.end(), method) == known.end()) return std::nullopt;
    QString teacher = latestTeacherModel(workspace);
    if (teacher.isEmpty()) {
      try {
        teacher = QString::fromStdString(shipped_demo_teacher());
      } catch (const std::exception&) {
        // Not installed and no source tree: the form asks for the teacher's folder.
      }
    }
    // The on-policy runs start from the workspace's latest sft student, as `moekd demo` starts
    // them from its sft run's (a fresh student writes little worth scoring).
    const QString sft = demo_run_is_on_policy(method) ? latestRunModel(workspace, Method::SFT) : QString();
    config = demo_student_run(method, "runs/" + name.toStdString(), teacher.toStdString(), 1.0, "cpu",
                              sft.toStdString());
    config["name"] = name.toStdString();
    // In the studio the teacher's answers show beside the student's (Evaluation); the CLI demo
    // leaves them out for time.
    if (method != "sft") config["eval"]["teacher"] = true;
  } else {
    QFile f(":/presets/" + name + ".json");
    if (!f.open(QIODevice::ReadOnly)) return std::nullopt;
    try {
      config = json::parse(f.readAll().toStdString());
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (config.contains("run_dir") && config["run_dir"].is_string()) {
    std::string dir = config["run_dir"].get<std::string>();
    if (!workspace.isEmpty())
      dir = QDir(workspace).filePath(QString::fromStdString(fs::path(dir).filename().string())).toStdString();
    config["run_dir"] = dir;
    // Applied again after its run trained: the first free sibling folder, not one that Start
    // would refuse.
    if (run_dir_holds_training(dir)) {
      const std::string fresh = free_sibling_dir(dir);
      config["run_dir"] = fresh;
      if (config.contains("name")) config["name"] = fs::path(fresh).filename().string();
    }
  }
  return config;
}

}  // namespace moekd::ui
