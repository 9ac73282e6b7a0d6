#pragma once
// A path field with a "Browse…" button beside it; a chosen path counts as an edit that finished.
#include <QString>

class QLineEdit;
class QWidget;

namespace moekd::ui {

QWidget* withBrowse(QLineEdit* edit, bool directory, const QString& filter = {});

}  // namespace moekd::ui
