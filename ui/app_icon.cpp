#include "app_icon.h"

#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace moekd::ui {

namespace {
QPixmap drawIcon(int size) {
  QPixmap pm(size, size);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setRenderHint(QPainter::Antialiasing);
  p.scale(size / 64.0, size / 64.0);
  // Rounded tile.
  QLinearGradient bg(0, 0, 0, 64);
  bg.setColorAt(0, QColor(0x3b, 0x52, 0x8b));
  bg.setColorAt(1, QColor(0x21, 0x2d, 0x55));
  p.setPen(Qt::NoPen);
  p.setBrush(bg);
  p.drawRoundedRect(QRectF(2, 2, 60, 60), 12, 12);
  // Router node and its edges to the experts.
  const QPointF router(32, 15);
  const QRectF experts[4] = {{11, 32, 18, 10}, {35, 32, 18, 10}, {11, 46, 18, 10}, {35, 46, 18, 10}};
  const bool lit[4] = {true, false, false, true};
  for (int i = 0; i < 4; ++i) {
    p.setPen(QPen(lit[i] ? QColor(0xfd, 0xe7, 0x25) : QColor(255, 255, 255, 90), lit[i] ? 2.2 : 1.2));
    p.drawLine(router, QPointF(experts[i].center().x(), experts[i].top()));
  }
  p.setPen(Qt::NoPen);
  for (int i = 0; i < 4; ++i) {
    p.setBrush(lit[i] ? QColor(0x35, 0xb7, 0x79) : QColor(0x44, 0x5e, 0x94));
    p.drawRoundedRect(experts[i], 3, 3);
  }
  p.setBrush(QColor(0xfd, 0xe7, 0x25));
  p.drawEllipse(router, 6.5, 6.5);
  return pm;
}
}  // namespace

QIcon appIcon() {
  QIcon icon;
  for (int s : {16, 24, 32, 48, 64, 128, 256}) icon.addPixmap(drawIcon(s));
  return icon;
}

}  // namespace moekd::ui
