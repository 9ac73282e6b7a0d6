#!/usr/bin/env bash
# The README's main command: install what is missing, build, and open MoE-KD Studio on the
# built-in demo preset. With --headless (servers, no display) it runs the same demo from the CLI:
# train a small MoE teacher, distil it with sft, kd, ka and sar (~10 minutes on 2 cores); a
# finished headless demo in ./moekd-demo is shown again rather than retrained.
set -euo pipefail
cd "$(dirname "$0")/.."
headless=0
for arg in "$@"; do
  case "$arg" in
    --headless) headless=1 ;;
    *) echo "usage: bash scripts/run.sh [--headless]" >&2; exit 2 ;;
  esac
done
if [ "$headless" = 0 ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh: no display (DISPLAY and WAYLAND_DISPLAY are unset): running the headless demo;" \
       "pass --headless to choose it explicitly" >&2
  headless=1
fi
bash scripts/setup.sh
if [ "$headless" = 1 ]; then
  bash scripts/build.sh -DMOEKD_BUILD_TESTS=OFF -DMOEKD_BUILD_UI=OFF
  build/app/moekd doctor
  echo
  if [ -f moekd-demo/results.json ]; then
    echo "moekd-demo already holds a finished demo (delete moekd-demo/ to train again):"
  else
    build/app/moekd demo --out moekd-demo
  fi
  echo
  build/app/moekd runs moekd-demo
else
  bash scripts/build.sh -DMOEKD_BUILD_TESTS=OFF -DMOEKD_BUILD_UI=ON
  exec build/ui/moekd-studio
fi
