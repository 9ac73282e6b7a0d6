#!/usr/bin/env bash
# The README's test command: install what is missing, build everything, run every Qt Test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DMOEKD_BUILD_TESTS=ON
cd build
QT_QPA_PLATFORM=offscreen ctest --output-on-failure --timeout 900
