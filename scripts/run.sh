#!/usr/bin/env bash
# The README's main command: install what is missing, build, check the machine, then run the
# built-in demo (train a small MoE teacher, distil it with sft, kd, ka and sar; ~10 minutes on
# 2 cores). A finished demo in ./moekd-demo is shown again rather than retrained.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DMOEKD_BUILD_TESTS=OFF
moekd=build/app/moekd
"$moekd" doctor
echo
if [ -f moekd-demo/results.json ]; then
  echo "moekd-demo/results.json (delete moekd-demo/ to train again):"
  cat moekd-demo/results.json
else
  "$moekd" demo --out moekd-demo
fi
