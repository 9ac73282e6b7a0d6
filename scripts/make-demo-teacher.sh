#!/usr/bin/env bash
# Trains the demo teacher from its recipe (resources/presets/demo-teacher.json) with this project's
# own commands and exports it to resources/demo-teacher, the teacher `moekd demo` ships with.
# About 10 minutes on 2 cores. Run after a build (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
moekd=build/app/moekd
[ -x "$moekd" ] || { echo "make-demo-teacher.sh: build first (bash scripts/build.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$moekd" doctor
"$moekd" train-teacher --config resources/presets/demo-teacher.json --run-dir "$work/demo-teacher"
rm -rf resources/demo-teacher.new
"$moekd" export --run "$work/demo-teacher" --checkpoint best --out resources/demo-teacher.new
rm -rf resources/demo-teacher
mv resources/demo-teacher.new resources/demo-teacher
"$moekd" eval --run "$work/demo-teacher" --checkpoint best --samples 240
