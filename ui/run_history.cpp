#include "run_history.h"

#include <QDir>
#include <QFileInfo>
#include <cmath>
#include <fstream>

#include "util/error.h"

namespace moekd::ui {

using json = nlohmann::json;

QString statusName(RunStatus s) {
  switch (s) {
    case RunStatus::Finished: return QStringLiteral("finished");
    case RunStatus::Stopped: return QStringLiteral("stopped");
    case RunStatus::Failed: return QStringLiteral("failed");
    case RunStatus::Running: return QStringLiteral("running");
    case RunStatus::Incomplete: return QStringLiteral("incomplete");
  }
  return {};
}

bool isRunFolder(const QString& dir) {
  const QDir d(dir);
  return QFileInfo(d.filePath("config.json")).isFile() && QFileInfo(d.filePath("metrics.jsonl")).isFile();
}

namespace {

json readConfig(const QString& dir) {
  const std::string path = QDir(dir).filePath("config.json").toStdString();
  std::ifstream in(path);
  if (!in) moekd::fail(path, ": cannot open (is ", dir.toStdString(), " a run folder?)");
  try {
    json j = json::parse(in);
    if (!j.is_object()) moekd::fail(path, ": expected a JSON object");
    return j;
  } catch (const json::exception& e) {
    moekd::fail(path, ": not valid JSON (", e.what(), ")");
  }
}

template <typename T>
T field(const json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

}  // namespace

RunHistory loadRunHistory(const QString& dirIn, RunDetail detail) {
  RunHistory h;
  const QString dir = QDir(dirIn).absolutePath();
  h.config = readConfig(dir);
  RunSummary& s = h.summary;
  s.dir = dir;
  s.name = QString::fromStdString(field<std::string>(h.config, "name", QDir(dir).dirName().toStdString()));
  s.method = QString::fromStdString(field<std::string>(h.config, "method", "?"));
  if (const auto t = h.config.find("train"); t != h.config.end() && t->is_object())
    s.totalSteps = field<int64_t>(*t, "steps", 0);
  const QDir checkpoints(QDir(dir).filePath("checkpoints"));
  s.hasBest = QFileInfo(checkpoints.filePath("best/model/config.json")).isFile();
  s.hasLast = QFileInfo(checkpoints.filePath("last/model/config.json")).isFile();

  const QString metricsPath = QDir(dir).filePath("metrics.jsonl");
  const QFileInfo metricsInfo(metricsPath);
  if (!metricsInfo.exists()) return h;  // created, not started
  s.modified = metricsInfo.lastModified();
  // The writer's compact JSON names a routing event exactly so; inside a string the quotes would be
  // escaped, so no other line contains it.
  auto keep = [](const std::string& line) { return line.find("\"type\":\"routing\"") == std::string::npos; };
  const auto events = detail == RunDetail::Summary ? moekd::read_metrics(metricsPath.toStdString(), keep)
                                                    : moekd::read_metrics(metricsPath.toStdString());
  double endedSessionsSeconds = 0;  // a resumed run: the time of every session that ended
  for (size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i];
    try {
      const std::string type = field<std::string>(e, "type", "");
      if (type == "step" || type == "eval") {  // training goes on: an earlier ending was resumed
        h.finished.reset();
        h.failed.reset();
      }
      if (type == "step") h.steps.push_back(moekd::step_metrics_from_json(e));
      else if (type == "eval") {
        h.evals.push_back(moekd::eval_result_from_json(e));
        if (detail == RunDetail::Summary) h.evals.back().samples.clear();
      } else if (type == "routing") {
        if (detail == RunDetail::Full) h.routing.push_back(moekd::routing_snapshot_from_json(e));
      } else if (type == "checkpoint") {
        h.checkpoints.push_back(moekd::checkpoint_saved_from_json(e));
      } else if (type == "finished") {
        h.finished = moekd::run_finished_from_json(e);
        endedSessionsSeconds += h.finished->seconds;
        h.failed.reset();
      } else if (type == "failed") {
        h.failed = moekd::run_failed_from_json(e);
        h.finished.reset();
      }
      else if (type == "message") h.messages.push_back(QString::fromStdString(field<std::string>(e, "text", "")));
      // Other types come from newer versions: skipped, so their runs still open.
    } catch (const json::exception& ex) {
      moekd::fail(metricsPath.toStdString(), ": event ", i + 1, " is damaged (", ex.what(), ")");
    }
  }

  // A resumed run repeats the steps after its last checkpoint: the later record of a step wins.
  auto dedupe = [](auto& v) {
    std::vector<std::decay_t<decltype(v[0])>> out;
    for (auto& x : v) {
      while (!out.empty() && out.back().step >= x.step) out.pop_back();
      out.push_back(std::move(x));
    }
    v = std::move(out);
  };
  dedupe(h.steps);
  dedupe(h.evals);

  if (!h.steps.empty()) {
    s.step = h.steps.back().step;
    s.trainLoss = h.steps.back().loss;
    // Steps are logged every log_every steps: the mean logged step time stands for all of them.
    double sum = 0;
    for (const auto& m : h.steps) sum += m.step_seconds;
    s.seconds = sum / static_cast<double>(h.steps.size()) * static_cast<double>(s.step);
  }
  if (!h.evals.empty()) {
    const auto& last = h.evals.back();
    s.step = std::max<qint64>(s.step, last.step);
    s.valLoss = last.val_loss;
    s.rougeL = last.rouge_l;
    s.exactMatch = last.exact_match;
    for (const auto& r : h.evals)
      if (std::isnan(s.bestValLoss) || r.val_loss < s.bestValLoss) s.bestValLoss = r.val_loss;
  }
  if (h.failed) {
    s.status = RunStatus::Failed;
    s.failure = QString::fromStdString(h.failed->message);
  } else if (h.finished) {
    s.status = h.finished->stopped_early ? RunStatus::Stopped : RunStatus::Finished;
    s.step = h.finished->step;
    s.seconds = endedSessionsSeconds;
  }
  return h;
}

}  // namespace moekd::ui
