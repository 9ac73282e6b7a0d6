#pragma once
// Child processes the studio starts (a run's launcher, a grid's runner, a probe) get SIGTERM when
// the studio dies, however it dies: each stops as on Stop (runs after their step, with a
// checkpoint) instead of going on where nobody sees or stops it.
#include <QProcess>

#include <sys/prctl.h>

#include <csignal>

namespace moekd::ui {

inline void endWithStudio(QProcess* process) {
  process->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
}

}  // namespace moekd::ui
