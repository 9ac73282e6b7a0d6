#pragma once
// "Show folder" buttons: the desktop's file manager, or, where there is none (a server, a bare
// window manager), a message with the path, copied to the clipboard, instead of silence.
#include <QString>
#include <QUrl>
#include <functional>

class QWidget;

namespace moekd::ui {

// Returns whether a file manager took the folder. `open` is the desktop's (replaceable in tests).
bool revealFolder(QWidget* parent, const QString& dir, const std::function<bool(const QUrl&)>& open = {});

}  // namespace moekd::ui
