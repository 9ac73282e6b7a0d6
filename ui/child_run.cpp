#include "child_run.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTemporaryDir>

#include "ends_with_studio.h"
#include "run/run_config.h"
#include "run/run_folder.h"

namespace moekd::ui {

namespace {
constexpr int kOutputKept = 16 << 10;
constexpr int kPollMs = 250;
}  // namespace

ChildRun::ChildRun(QObject* parent) : RunSource(parent) {
  registerMetaTypes();
  poll_.setInterval(kPollMs);
  connect(&poll_, &QTimer::timeout, this, &ChildRun::poll);
}

ChildRun::~ChildRun() {
  if (!process_ || process_->state() == QProcess::NotRunning) return;
  // The window waits for the run to stop before it closes; this is the last resort (the studio
  // quitting otherwise): stop after the current step, then the launcher's own SIGTERM handling.
  writeControl("stop");
  if (!process_->waitForFinished(10000)) {
    process_->terminate();
    process_->waitForFinished(20000);
  }
}

QString ChildRun::program() {
  const QString chosen = qEnvironmentVariable("MOEKD_CLI");
  if (!chosen.isEmpty()) return chosen;
  const QDir here(QCoreApplication::applicationDirPath());
  for (const QString& candidate : {here.filePath("moekd"), here.filePath("../app/moekd")})
    if (QFileInfo(candidate).isExecutable()) return QDir::cleanPath(candidate);
  return QStandardPaths::findExecutable("moekd");
}

void ChildRun::setState(State s) {
  state_ = s;
  Q_EMIT stateChanged(s);
}

void ChildRun::fail(const QString& message) {
  Q_EMIT failed(message);
  setState(State::Idle);
}

void ChildRun::start(const QByteArray& configJson, int processes) {
  if (state_ != State::Idle) {
    Q_EMIT failed(tr("A run is already in progress."));
    return;
  }
  RunConfig cfg;
  try {
    cfg = parse_run_config(nlohmann::json::parse(configJson.toStdString()), "studio config");
  } catch (const std::exception& e) {
    return fail(QString::fromUtf8(e.what()));
  }
  const QString cli = program();
  if (cli.isEmpty())
    return fail(tr("Training on %1 processes runs `moekd distill --nproc %1`, but no moekd program was found beside "
                   "the studio or on PATH (set MOEKD_CLI to its path).")
                    .arg(processes));
  files_ = std::make_unique<QTemporaryDir>(QDir::temp().filePath("moekd-studio-XXXXXX"));
  const QString config = files_->filePath("config.json"), control = files_->filePath("control");
  QFile out(config);
  if (!files_->isValid() || !out.open(QIODevice::WriteOnly) || out.write(configJson) != configJson.size())
    return fail(tr("Cannot write the run's configuration for the child process into %1.").arg(files_->path()));
  out.close();
  if (!writeControl("run")) return fail(tr("Cannot write the control file %1.").arg(control));

  // A folder that failed in setup before may hold an old metrics.jsonl: the child replaces it, and
  // the tail starts over once the file is shorter than what was there.
  const std::string metrics = RunFolder(cfg.run_dir).metrics().string();
  tail_ = std::make_unique<MetricsTail>(metrics);
  {
    RunObserver ignore;  // every event a no-op
    tail_->poll(ignore);   // skip what is there now
  }
  failure_.reset();
  finished_ = false;
  output_.clear();

  process_ = new QProcess(this);
  process_->setProcessChannelMode(QProcess::MergedChannels);
  endWithStudio(process_);  // the launcher passes SIGTERM on to its ranks
  connect(process_, &QProcess::readyRead, this, [this] {
    output_ += QString::fromLocal8Bit(process_->readAll());
    if (output_.size() > kOutputKept) output_ = output_.right(kOutputKept);
  });
  connect(process_, &QProcess::errorOccurred, this, [this, cli](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;
    poll_.stop();
    fail(tr("Cannot start %1: %2").arg(cli, process_->errorString()));
  });
  connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus) { onExited(code); });
  setState(State::Running);
  Q_EMIT runStarted(cfg.train.steps, QString::fromStdString(cfg.run_dir));
  const QString command = cfg.method == Method::TrainTeacher ? "train-teacher" : "distill";
  process_->start(cli, {command, "--quiet", "--config", config, "--control", control, "--nproc",
                        QString::number(processes)});
  poll_.start();
}

bool ChildRun::writeControl(const char* word) {
  if (!files_) return false;
  // Whole or not at all: the child never reads half a word.
  QSaveFile f(files_->filePath("control"));
  return f.open(QIODevice::WriteOnly) && f.write(word) >= 0 && f.write("\n") >= 0 && f.commit();
}

void ChildRun::pause() {
  if (state_ == State::Running && writeControl("pause")) setState(State::Paused);
}

void ChildRun::resume() {
  if (state_ == State::Paused && writeControl("run")) setState(State::Running);
}

void ChildRun::stop() {
  if ((state_ == State::Running || state_ == State::Paused) && writeControl("stop")) setState(State::Stopping);
}

void ChildRun::poll() {
  if (tail_) tail_->poll(*this);
}

void ChildRun::on_finished(const RunFinished& e) {
  finished_ = true;
  Q_EMIT finished(e);
}

void ChildRun::onExited(int code) {
  poll_.stop();
  poll();  // the last events
  output_ += QString::fromLocal8Bit(process_->readAll());
  // The launcher names a rank that died or failed ("moekd: rank 1 of 2 was killed by signal 9");
  // rank 0's failure in metrics.jsonl names the collective that noticed.
  QStringList launcher;
  for (const QString& line : output_.split('\n'))
    if (line.startsWith("moekd: rank ")) launcher << line.mid(7);
  if (failure_) {
    QString text = failureText(*failure_);
    if (!launcher.isEmpty()) text += "\n" + launcher.join('\n');
    fail(text);
  } else if (!finished_) {
    const QString said = output_.trimmed().isEmpty() ? tr("(it printed nothing)") : output_.trimmed().right(2000);
    fail(tr("moekd distill ended with exit code %1 before the run finished:\n%2").arg(code).arg(said));
  } else {
    setState(State::Idle);
  }
  process_->deleteLater();
  process_ = nullptr;
}

}  // namespace moekd::ui
