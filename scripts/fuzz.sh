#!/usr/bin/env bash
# Fuzzing with libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer (Debian's clang):
#
#   bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   bash scripts/fuzz.sh all SECONDS           every target in turn
#
# Targets (tests/fuzz/TARGET.cpp): safetensors, hf_config, run_config, jsonl, text, metrics, state,
# sentencepiece, tokenizer_json, prompt_template. Builds them into build-fuzz/ (the engine compiled with clang and the sanitizers),
# then runs TARGET for SECONDS (or until -runs=N) on a working copy of its seed corpus
# (tests/fuzz/corpus/TARGET/), printing executions and coverage. A crash is written to
# build-fuzz/findings/TARGET/: fix it, then add the file to tests/data/malformed/TARGET/, where
# test_malformed runs it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(safetensors hf_config run_config jsonl text metrics state sentencepiece tokenizer_json prompt_template)
[ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer options]" >&2; exit 2; }
target=$1 seconds=$2
shift 2
if [ "$target" = all ]; then
  for t in "${targets[@]}"; do bash "$0" "$t" "$seconds" "$@"; done
  exit 0
fi
printf '%s\n' "${targets[@]}" | grep -qx "$target" || { echo "fuzz.sh: unknown target $target (one of: ${targets[*]})" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang (apt install clang)" >&2; exit 1; }

build=build-fuzz
flags="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOEKD_BUILD_UI=OFF -DMOEKD_BUILD_TESTS=ON \
    -DMOEKD_BUILD_FUZZ=ON -DMOEKD_UNITY_BUILD=ON -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    >"$build.cmake.log" 2>&1 || { cat "$build.cmake.log"; exit 1; }
fi
cmake --build "$build" --target "fuzz_$target" moekd_spm -j"$(nproc)" >"$build.build.log" 2>&1 ||
  { tail -n 40 "$build.build.log"; exit 1; }

corpus=$build/corpus/$target findings=$build/findings/$target
mkdir -p "$corpus" "$findings"
cp -n tests/fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
[ -d tests/data/malformed/"$target" ] && cp -n tests/data/malformed/"$target"/* "$corpus"/ 2>/dev/null || true
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One input at most 1 MiB, 2 GiB of memory, 10 s per input: beyond that is a finding too.
"$build/tests/fuzz_$target" "$corpus" -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$findings/" -print_final_stats=1 "$@" 2>&1 | tee "$build/fuzz_$target.log" |
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^(stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY|artifact" || true
grep -q "ERROR: \|SUMMARY: " "$build/fuzz_$target.log" && { echo "fuzz.sh: $target found a problem (see $build/fuzz_$target.log)" >&2; exit 1; }
exit 0
