#!/usr/bin/env bash
# Soak: a benchmark, not a CI test. Runs the demo's KD run for 20,000 steps from the CLI (`moekd
# demo --methods kd --scale 25`) and, beside it, the studio (offscreen) training and drawing a long
# run of the same recipe, and samples each process's resident memory, open file descriptors and
# threads every few seconds into OUT/soak.csv. Memory must stay flat after warm-up (growth under
# 5%); tools/plot_soak.py draws the curves (docs/soak.png).
#
#   bash scripts/soak.sh [OUT]        SOAK_SCALE (25 = 20,000 steps), SOAK_STUDIO_STEPS (5000),
#                                     SOAK_EVERY (seconds between samples, 5), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-soak-out}
scale=${SOAK_SCALE:-25}
studio_steps=${SOAK_STUDIO_STEPS:-5000}
every=${SOAK_EVERY:-5}
build=${BUILD:-build}
moekd=$build/app/moekd
studio=$build/ui/moekd-studio
[ -x "$moekd" ] && [ -x "$studio" ] || { echo "soak.sh: build first (bash scripts/build.sh)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"

# One thread each, so that the two share the two cores without oversubscribing them.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
"$moekd" --threads 1 demo --out "$out/cli" --methods kd --scale "$scale" --quiet >"$out/cli.log" 2>&1 &
cli=$!

# The studio trains the same recipe (its demo-kd preset's run, as `moekd demo` writes it) for
# SOAK_STUDIO_STEPS steps, its views live, offscreen.
while [ ! -f "$out/cli/kd/config.json" ]; do sleep 1; done
python3 - "$out/cli/kd/config.json" "$out/studio-run.json" "$out/studio" "$studio_steps" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["run_dir"], c["name"] = sys.argv[3], "soak-studio"
c["train"]["steps"] = int(sys.argv[4])
c["eval"]["every"] = max(1, int(sys.argv[4]) // 4)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
QT_QPA_PLATFORM=offscreen "$studio" "$out/studio-run.json" --start --workspace "$out" >"$out/studio.log" 2>&1 &
gui=$!

sample() {  # seconds process pid -> one CSV row
  local t=$1 who=$2 pid=$3 rss threads fds step
  [ -d "/proc/$pid" ] || return 1
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
  step=$(grep '"type":"step"' "$4" 2>/dev/null | tail -n 1 | grep -o '"step":[0-9]*' | grep -o '[0-9]*$' || true)
  echo "$t,$who,${step:-0},$rss,$fds,$threads"
}
echo "seconds,process,step,rss_kib,fds,threads" >"$out/soak.csv"
start=$(date +%s)
studio_done=0
while kill -0 "$cli" 2>/dev/null || [ $studio_done -eq 0 ]; do
  now=$(( $(date +%s) - start ))
  sample "$now" cli "$cli" "$out/cli/kd/metrics.jsonl" >>"$out/soak.csv" || true
  if [ $studio_done -eq 0 ]; then
    sample "$now" studio "$gui" "$out/studio/metrics.jsonl" >>"$out/soak.csv" || studio_done=1
    # The studio stays open when its run ends: closed here once the run's `finished` event is written.
    if grep -q '"type":"finished"' "$out/studio/metrics.jsonl" 2>/dev/null; then
      kill "$gui" 2>/dev/null || true
      studio_done=1
    fi
  fi
  sleep "$every"
done
wait "$cli" || { echo "soak.sh: the CLI run failed:" >&2; tail -n 5 "$out/cli.log" >&2; exit 1; }
echo "soak.sh: $(($(date +%s) - start)) s; samples in $out/soak.csv"
