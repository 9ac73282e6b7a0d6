#!/usr/bin/env bash
# The CUDA check, in one command, for a bare NVIDIA machine with PyTorch 2.x (and its LibTorch),
# transformers, CMake, ninja and nvcc, but no Qt, no Debian -dev packages and no network.
#
#   scripts/device-check.sh --prepare   on a machine with the Debian packages: copies the
#                                       header-only dependencies (nlohmann/json, CLI11) into
#                                       .device-deps/include (git-ignored), to travel with the tree;
#                                       with MOEKD_PREBUILT=path/to/moekd built against the GPU
#                                       machine's exact LibTorch (MOEKD_PREBUILT_TORCH=its version,
#                                       e.g. 2.11.0+cu130) it copies that binary too, and the check
#                                       then skips its build when the versions and the sources match
#   scripts/device-check.sh [OUT]       on the GPU machine: builds the engine and `moekd` without the
#                                       studio against python3's LibTorch, then runs
#                                         moekd doctor, moekd selftest --device cuda,
#                                         moekd bench distill and bench/reference/distill_step.py on
#                                         a small pair and a large pair (same shapes, bfloat16),
#                                         moekd plan against the measured peaks,
#                                         with 2 GPUs or more: bench distill --nproc 2 on NCCL,
#                                       prints every figure and a summary table last; logs and
#                                       JSON go to OUT (default ./device-check-out).
# Each phase has its own time limit, so that a slow phase still leaves the others' figures; the
# whole script is sized to end well inside 10 minutes on one H200.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# What a carried binary was built from: a digest of the sources that go into moekd (no git needed
# on the GPU machine, which gets a copy of the tree).
source_digest() {
  find engine app CMakeLists.txt -type f ! -name '*.md' -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-16
}

if [[ "${1:-}" == "--prepare" ]]; then
  dst=.device-deps/include
  rm -rf .device-deps && mkdir -p "$dst"
  for d in /usr/include/nlohmann /usr/include/CLI; do
    [[ -d $d ]] || { echo "device-check --prepare: $d is missing (apt-get install nlohmann-json3-dev libcli11-dev)"; exit 1; }
    cp -r "$d" "$dst/"
  done
  if [[ -n ${MOEKD_PREBUILT:-} ]]; then
    [[ -n ${MOEKD_PREBUILT_TORCH:-} ]] || { echo "device-check --prepare: set MOEKD_PREBUILT_TORCH too"; exit 1; }
    mkdir -p .device-deps/bin
    strip -o .device-deps/bin/moekd "$MOEKD_PREBUILT"
    echo "$MOEKD_PREBUILT_TORCH" >.device-deps/bin/torch-version
    source_digest >.device-deps/bin/source-digest  # the binary must be built from this very tree
  fi
  echo "device-check: $(find .device-deps -type f | wc -l) files in .device-deps ($(du -sh .device-deps | cut -f1)); carry .device-deps"
  exit 0
fi

OUT=${1:-$ROOT/device-check-out}
mkdir -p "$OUT"
LOG=$OUT/check.log
: >"$LOG"
say() { echo "$@" | tee -a "$LOG"; }
# Runs a phase under a time limit; its output goes to the screen and the log.
phase() {
  local limit=$1 name=$2
  shift 2
  say ""
  say "=== $name (limit ${limit}s) ==="
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  say "--- $name: exit $rc after $((SECONDS - start)) s"
  return "$rc"
}

PY=${PYTHON:-python3}
TORCH_DIR=$($PY -c 'import os, torch; print(os.path.dirname(torch.__file__))') || { say "no PyTorch in $PY"; exit 1; }
say "device-check: $(date -u +%FT%TZ), torch $($PY -c 'import torch; print(torch.__version__, torch.version.cuda)'), $(nvcc --version | tail -1)"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$LOG"

DEPS=$ROOT/.device-deps/include
[[ -f $DEPS/nlohmann/json.hpp ]] || DEPS=""
if [[ -z $DEPS && ! -f /usr/include/nlohmann/json.hpp ]]; then
  say "device-check: no nlohmann/json headers: run scripts/device-check.sh --prepare where the Debian packages are, and carry .device-deps"
  exit 1
fi

BUILD=${MOEKD_DEVICE_BUILD:-/tmp/moekd-device-build}
L=$TORCH_DIR/lib
# PyTorch's wheels bring their own NCCL, cuDNN, ... under site-packages/nvidia/*/lib; libtorch_cuda
# needs those (newer than a system NCCL) when moekd links.
NVIDIA_LIBS=$(ls -d "$TORCH_DIR"/../nvidia/*/lib 2>/dev/null | paste -sd:)
TORCH_VERSION=$($PY -c 'import torch; print(torch.__version__)')
PREBUILT=$ROOT/.device-deps/bin/moekd
if [[ -x $PREBUILT && "$(cat "$ROOT/.device-deps/bin/torch-version" 2>/dev/null)" == "$TORCH_VERSION" &&
      "$(cat "$ROOT/.device-deps/bin/source-digest" 2>/dev/null)" == "$(source_digest)" ]] &&
   LD_LIBRARY_PATH=$L${NVIDIA_LIBS:+:$NVIDIA_LIBS} "$PREBUILT" --help >/dev/null 2>&1; then
  say "device-check: using the carried moekd, built against LibTorch $TORCH_VERSION (no build here)"
  MOEKD=$PREBUILT
else
  # The libraries are named explicitly: a system LibTorch elsewhere on the machine must not win.
  phase 120 "configure" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    ${NVIDIA_LIBS:+-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$NVIDIA_LIBS} \
    -DCMAKE_PREFIX_PATH="$TORCH_DIR/share/cmake" -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" \
    -DMOEKD_BUILD_UI=OFF -DMOEKD_BUILD_TESTS=OFF -DMOEKD_WITH_CUDA=ON -DMOEKD_WITH_SENTENCEPIECE=OFF -DMOEKD_WITH_TOKENIZER_JSON=OFF \
    -DMOEKD_UNITY_BUILD=${MOEKD_UNITY_BUILD:-OFF} ${DEPS:+-DMOEKD_HEADER_DEPS=$DEPS} \
    -DTORCH_LIBRARY="$L/libtorch.so" -Dc10_LIBRARY="$L/libc10.so" -Dtorch_cpu_LIBRARY="$L/libtorch_cpu.so" \
    -Dtorch_cuda_LIBRARY="$L/libtorch_cuda.so" -Dc10_cuda_LIBRARY="$L/libc10_cuda.so" >"$OUT/build.log" \
    || { cat "$OUT/build.log"; exit 1; }
  phase 360 "build moekd" ninja -C "$BUILD" moekd >>"$OUT/build.log" 2>&1 || { tail -60 "$OUT/build.log"; exit 1; }
  tail -3 "$OUT/build.log" | tee -a "$LOG"
  MOEKD=$BUILD/app/moekd
fi
export LD_LIBRARY_PATH=$L${NVIDIA_LIBS:+:$NVIDIA_LIBS}:${LD_LIBRARY_PATH:-}
DEV=${MOEKD_CHECK_DEVICE:-cuda}  # cpu: a rehearsal of the script's flow on a machine without a GPU

phase 60 "moekd doctor" "$MOEKD" doctor --device "$DEV"
phase 120 "moekd selftest --device $DEV" "$MOEKD" selftest --device "$DEV"
SELFTEST_RC=$?

# Two pairs, as config.json folders (fresh random weights cost the same as trained ones).
PAIRS=/tmp/moekd-device-pairs
$PY "$ROOT/bench/reference/make_pairs.py" "$PAIRS" | tee -a "$LOG"

# Ours: moekd bench distill --json (kd, ka batched and sequential, sar); the reference at the same
# shapes. Each side's figures are printed as they come and kept as JSON for the summary.
ours() {  # pair batch seq_len steps [extra options]
  local name=$1 batch=$2 len=$3 steps=$4
  shift 4
  phase 200 "moekd bench distill: $name pair, batch $batch x $len" "$MOEKD" bench distill --device "$DEV" \
    --teacher "$PAIRS/$name/teacher" --student "$PAIRS/$name/student" --batch "$batch" --seq-len "$len" \
    --steps "$steps" --output "$OUT/moekd-$name.json" "$@"
}
reference() {  # pair batch seq_len steps [extra options]
  local name=$1 batch=$2 len=$3 steps=$4
  shift 4
  phase 200 "reference (PyTorch + transformers): $name pair" env PYTHONUNBUFFERED=1 $PY \
    "$ROOT/bench/reference/distill_step.py" --device "$DEV" --teacher "$PAIRS/$name/teacher" \
    --student "$PAIRS/$name/student" --batch "$batch" --seq-len "$len" --steps "$steps" --json "$OUT/reference-$name.json" "$@"
}
if [[ $DEV == cpu ]]; then  # the rehearsal: the small pair, briefly
  ours small 2 64 2 --profile 1
  reference small 2 64 2 --profile
else
  ours small 8 512 8
  reference small 8 512 8
  ours large 8 1024 5 --profile 2
  reference large 8 1024 5 --profile
  # On-policy: the student writes half of each sequence (256 tokens) before every step.
  phase 200 "moekd bench distill --on-policy: small pair, batch 8 x 512" "$MOEKD" bench distill --device "$DEV" \
    --teacher "$PAIRS/small/teacher" --student "$PAIRS/small/student" --batch 8 --seq-len 512 --steps 3 \
    --cases kd,ka,sar --on-policy --output "$OUT/moekd-small-on-policy.json"
  # Data parallelism on NCCL needs a GPU per process (NCCL refuses two ranks on one device).
  GPUS=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
  if [[ $GPUS -ge 2 ]]; then
    phase 240 "moekd bench distill --nproc 2 (NCCL): small pair, batch 8 x 512 per process" "$MOEKD" bench distill \
      --device cuda --nproc 2 --teacher "$PAIRS/small/teacher" --student "$PAIRS/small/student" --batch 8 \
      --seq-len 512 --steps 5 --cases kd,ka,sar --output "$OUT/moekd-small-nccl.json"
  else
    say "device-check: $GPUS GPU: several processes on NCCL need one GPU each; the --nproc 2 benchmark is skipped"
  fi
fi

# moekd plan from the config files alone, for the large pair's bench shapes.
for m in kd ka sar; do
  $PY -c 'import json, sys; p, m = sys.argv[1:]; print(json.dumps({"method": m, "run_dir": "/tmp/plan-run",
    "teacher": {"path": p + "/teacher"}, "student": {"path": p + "/student"},
    "train": {"batch_size": 8, "device": "cpu", "precision": "bfloat16"}, "data": {"max_len": 1024},
    "ka": {"m": 4, "lambda": 0.1}}))' "$PAIRS/large" "$m" >"/tmp/plan-$m.json"
  "$MOEKD" plan --config "/tmp/plan-$m.json" --device cuda --memory-gb 141 --json >"/tmp/plan-$m.out" 2>>"$LOG"
done
$PY -c 'import json, sys
out = {}
for m in ("kd", "ka", "sar"):
    try:
        out[m] = json.load(open(f"/tmp/plan-{m}.out"))
    except ValueError:
        out[m] = None
json.dump(out, open(sys.argv[1], "w"), indent=1)' "$OUT/plan.json"

say ""
say "=== summary ==="
$PY "$ROOT/bench/reference/summarize.py" "$OUT" | tee -a "$LOG"
[[ $SELFTEST_RC -eq 0 ]] || say "device-check: selftest FAILED (exit $SELFTEST_RC)"
exit "$SELFTEST_RC"
