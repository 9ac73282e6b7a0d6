#!/usr/bin/env bash
# The README's main command: install what is missing, build, and run the main job. Until the
# studio lands this is the engine's tour: the machine check, then a bundled tiny Mixtral teacher
# inspected and run through one forward pass with each routing policy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DMOEKD_BUILD_TESTS=OFF
moekd=build/app/moekd
model=tests/data/hf/mixtral
out=$(mktemp -d)
"$moekd" doctor
echo
"$moekd" inspect "$model"
echo
for policy in topk ka all topp; do
  "$moekd" forward --model "$model" --tokens "15 51 6 53 44 52 24 57" --policy "$policy" --lambda 0.5 \
    --out "$out/forward-$policy.safetensors"
done
echo "outputs in $out"
