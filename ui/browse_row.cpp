#include "browse_row.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace moekd::ui {

QWidget* withBrowse(QLineEdit* edit, bool directory, const QString& filter) {
  auto* row = new QWidget;
  auto* h = new QHBoxLayout(row);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(edit, 1);
  auto* browse = new QPushButton(QObject::tr("Browse…"));
  h->addWidget(browse);
  QObject::connect(browse, &QPushButton::clicked, edit, [edit, directory, filter] {
    const QString path =
        directory ? QFileDialog::getExistingDirectory(edit->window(), QObject::tr("Choose a folder"), edit->text())
                  : QFileDialog::getOpenFileName(edit->window(), QObject::tr("Choose a file"), edit->text(), filter);
    if (!path.isEmpty()) {
      edit->setText(path);
      Q_EMIT edit->editingFinished();
    }
  });
  return row;
}

}  // namespace moekd::ui
