// SPDX-License-Identifier: MIT
// moekd-studio: the desktop studio. `moekd-studio [run.json]` opens on that config, otherwise on
// the demo preset; --start starts that run at once, --workspace lists another folder's runs, --open
// shows a finished run, and --screenshot writes a picture of the window and quits (how the
// README's pictures are made).
#include <QApplication>
#include <QLabel>
#include <QCommandLineParser>
#include <QDir>
#include <QMessageBox>
#include <QTabWidget>
#include <QTimer>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "app_icon.h"
#include "backend/allocator.h"
#include "backend/aten_kernels.h"
#include "backend/openblas_core.h"
#include "configure_view.h"
#include "compare_view.h"
#include "main_window.h"
#include "runs_model.h"
#include "runs_view.h"

namespace {

// The studio's command line. Built twice at most: once without a display for --help and --version
// (so that they work on a server and help2man can read them at build time), once for the window.
struct StudioOptions {
  QCommandLineOption workspace{QStringLiteral("workspace"), QStringLiteral("list the runs of this folder"),
                               QStringLiteral("dir")};
  QCommandLineOption open{QStringLiteral("open"), QStringLiteral("open this run folder in every view"),
                          QStringLiteral("run-dir")};
  QCommandLineOption tab{QStringLiteral("tab"),
                         QStringLiteral("show this view first: configure, training, experts, router, evaluation, runs, compare"),
                         QStringLiteral("view")};
  QCommandLineOption overlay{QStringLiteral("overlay"),
                             QStringLiteral("overlay these runs of the workspace on the Runs chart: folder "
                                            "names separated by commas, or `all`"),
                             QStringLiteral("runs")};
  QCommandLineOption metric{QStringLiteral("metric"),
                            QStringLiteral("the Runs chart's metric: loss, val_loss, rouge_l, exact_match, ce, "
                                           "divergence, lr, grad_norm, tokens_per_s"),
                            QStringLiteral("key")};
  QCommandLineOption screenshot{QStringLiteral("screenshot"),
                                QStringLiteral("write a PNG of the window once it is drawn, then quit"),
                                QStringLiteral("png")};
  QCommandLineOption grid{QStringLiteral("grid"),
                          QStringLiteral("open this grid folder (moekd compare --out) in the Compare view"),
                          QStringLiteral("dir")};
  QCommandLineOption start{QStringLiteral("start"),
                           QStringLiteral("start the given run configuration at once (as pressing Start)")};

  void addTo(QCommandLineParser& parser) const {
    parser.setApplicationDescription(QStringLiteral("Distil Mixture-of-Experts language models"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("config"), QStringLiteral("a run configuration (JSON) to open"),
                                 QStringLiteral("[config]"));
    parser.addOptions({workspace, open, tab, overlay, metric, screenshot, grid, start});
  }
};

void setIdentity() {
  QCoreApplication::setOrganizationName(QStringLiteral("MoE-KD Studio"));
  QCoreApplication::setApplicationName(QStringLiteral("moekd-studio"));
  QCoreApplication::setApplicationVersion(QStringLiteral(MOEKD_VERSION));
}

bool asksOnlyForText(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help" || a == "-?" || a == "--help-all" || a == "-v" || a == "--version") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const StudioOptions options;
  if (asksOnlyForText(argc, argv)) {
    QCoreApplication core(argc, argv);
    setIdentity();
    QCommandLineParser parser;
    options.addTo(parser);
    parser.process(core);  // prints the help or the version and exits
    return 0;
  }
  moekd::choose_aten_kernels();       // before any tensor operation: ATen reads its choice once
  moekd::choose_openblas_core(argv);  // may re-execute this program with better BLAS kernels
  moekd::configure_allocator();       // large tensors reuse the heap instead of mmap/munmap per step
  QApplication app(argc, argv);
  setIdentity();
  QApplication::setApplicationDisplayName(QStringLiteral("MoE-KD Studio"));
  QGuiApplication::setDesktopFileName(QStringLiteral("org.moekd.Studio"));
  QApplication::setWindowIcon(moekd::ui::appIcon());

  QCommandLineParser parser;
  options.addTo(parser);
  parser.process(app);
  const QCommandLineOption &workspace = options.workspace, &open = options.open, &tab = options.tab,
                           &overlay = options.overlay, &metric = options.metric, &screenshot = options.screenshot,
                           &start = options.start, &grid = options.grid;

  moekd::ui::MainWindow window;
  if (parser.isSet(screenshot)) window.resize(1400, 900);
  window.show();
  auto refuse = [&](const QString& error) {
    if (parser.isSet(screenshot)) {  // no one is there to read a dialog
      std::fprintf(stderr, "moekd-studio: %s\n", qPrintable(error));
      std::exit(1);
    }
    QMessageBox::warning(&window, QStringLiteral("MoE-KD Studio"), error);
  };
  if (!parser.positionalArguments().isEmpty()) {
    QString error;
    if (!window.configureView()->loadFile(parser.positionalArguments().first(), &error)) refuse(error);
  }
  if (parser.isSet(workspace)) {
    const QString dir = parser.value(workspace);
    if (!QDir(dir).exists()) refuse(QStringLiteral("--workspace: %1 is not a folder").arg(dir));
    window.setWorkspace(dir);
  }
  if (parser.isSet(overlay)) {
    const QStringList names = parser.value(overlay).split(',', Qt::SkipEmptyParts);
    moekd::ui::RunsModel* runs = window.runsModel();
    for (const QString& name : names) {
      if (name == QLatin1String("all")) {
        for (int row = 0; row < runs->rowCount(); ++row) runs->setOverlay(runs->dirAt(row), true);
      } else if (runs->rowOf(QDir(runs->workspace()).filePath(name)) < 0) {
        refuse(QStringLiteral("--overlay: %1 holds no run `%2`").arg(runs->workspace(), name));
      } else {
        runs->setOverlay(QDir(runs->workspace()).filePath(name), true);
      }
    }
  }
  if (parser.isSet(metric) && !window.runsView()->setMetric(parser.value(metric)))
    refuse(QStringLiteral("--metric: `%1` is not a chart metric").arg(parser.value(metric)));
  if (parser.isSet(open)) {
    QString error;
    if (!window.openRun(parser.value(open), &error)) refuse(error);
  }
  if (parser.isSet(grid)) {
    if (!window.compareView()->openGrid(parser.value(grid)))
      refuse(QStringLiteral("--grid: ") + window.compareView()->status()->text());
    else if (!parser.isSet(tab))
      window.tabs()->setCurrentWidget(window.compareView());
  }
  if (parser.isSet(tab)) {
    const QString want = parser.value(tab).toLower();
    int found = -1;
    for (int i = 0; i < window.tabs()->count(); ++i)
      if (window.tabs()->tabText(i).toLower() == want) found = i;
    if (found < 0) refuse(QStringLiteral("--tab: `%1` is not a view").arg(parser.value(tab)));
    else window.tabs()->setCurrentIndex(found);
  }
  if (parser.isSet(start)) {
    if (parser.positionalArguments().isEmpty()) refuse(QStringLiteral("--start needs a run configuration to start"));
    else if (!window.configureView()->isValid()) refuse(window.configureView()->validationMessage());
    else window.startRun();
  }
  if (parser.isSet(screenshot)) {
    const QString path = parser.value(screenshot);
    QTimer::singleShot(1500, &window, [&window, path] {  // layouts settle and charts replot first
      if (!window.grab().save(path)) {
        std::fprintf(stderr, "moekd-studio: cannot write %s\n", qPrintable(path));
        QApplication::exit(1);
        return;
      }
      QApplication::quit();
    });
  }
  return app.exec();
}
