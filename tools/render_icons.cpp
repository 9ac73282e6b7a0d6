// Renders the studio's painted icon (ui/app_icon.cpp) to the PNGs under packaging/icons/hicolor.
// Qt only, no LibTorch. Build and run from the repository root:
//   g++ -std=c++17 -fPIC -Iui tools/render_icons.cpp ui/app_icon.cpp $(pkg-config --cflags --libs Qt6Widgets) -o /tmp/render_icons && QT_QPA_PLATFORM=offscreen /tmp/render_icons packaging/icons/hicolor
#include <QDir>
#include <QGuiApplication>
#include <QIcon>
#include <QImage>
#include <QPixmap>
#include <cstdio>

#include "app_icon.h"

int main(int argc, char** argv) {
  QGuiApplication app(argc, argv);
  const QString root = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral("packaging/icons/hicolor");
  const QIcon icon = moekd::ui::appIcon();
  for (int n : {48, 64, 128, 256}) {
    const QString dir = QStringLiteral("%1/%2x%2/apps").arg(root).arg(n);
    const QString file = dir + QStringLiteral("/org.moekd.Studio.png");
    // appIcon() holds a pixmap drawn at exactly each of these sizes, so this is not a rescale.
    const QImage image = icon.pixmap(n, n).toImage();
    if (image.width() != n || !QDir().mkpath(dir) || !image.save(file, "PNG")) {
      std::fprintf(stderr, "render_icons: cannot write %s\n", qPrintable(file));
      return 1;
    }
    std::printf("%s\n", qPrintable(file));
  }
  return 0;
}
