// moekd-studio: the desktop studio. `moekd-studio [run.json]` opens on that config, otherwise on
// the demo preset.
#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>

#include "app_icon.h"
#include "configure_view.h"
#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("MoE-KD Studio"));
  QApplication::setApplicationName(QStringLiteral("MoE-KD Studio"));
  QApplication::setApplicationVersion(QStringLiteral("0.1.0"));
  QGuiApplication::setDesktopFileName(QStringLiteral("moekd-studio"));
  QApplication::setWindowIcon(moekd::ui::appIcon());

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Distil Mixture-of-Experts language models"));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("config"), QStringLiteral("a run configuration (JSON) to open"),
                               QStringLiteral("[config]"));
  parser.process(app);

  moekd::ui::MainWindow window;
  window.show();
  if (!parser.positionalArguments().isEmpty()) {
    QString error;
    if (!window.configureView()->loadFile(parser.positionalArguments().first(), &error))
      QMessageBox::warning(&window, QStringLiteral("MoE-KD Studio"), error);
  }
  return app.exec();
}
