#include "reveal_folder.h"

#include <QClipboard>
#include <QDesktopServices>
#include <QDir>
#include <QGuiApplication>
#include <QMessageBox>

namespace moekd::ui {

bool revealFolder(QWidget* parent, const QString& dir, const std::function<bool(const QUrl&)>& open) {
  const QUrl url = QUrl::fromLocalFile(dir);
  if (open ? open(url) : QDesktopServices::openUrl(url)) return true;
  const QString path = QDir::toNativeSeparators(QDir(dir).absolutePath());
  if (auto* clipboard = QGuiApplication::clipboard()) clipboard->setText(path);
  auto* box = new QMessageBox(QMessageBox::Information, QObject::tr("Show folder"),
                              QObject::tr("No file manager could open the folder. It is at\n%1\n"
                                          "(the path is on the clipboard).")
                                  .arg(path),
                              QMessageBox::Ok, parent);
  box->setObjectName("revealFolderMessage");
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse);
  box->open();  // window-modal, non-blocking
  return false;
}

}  // namespace moekd::ui
