#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan, halting on
# the first error) and runs each for a fixed time from its committed corpus.
#
#   scripts/fuzz.sh [seconds per target, default 60] [target ...]
#
# New inputs go to a scratch corpus, not into the repository. A crash leaves
# its input in build-fuzz/artifacts/; commit it under test/fuzz-regressions/
# and add a test. Prints one line per target: "fuzz <target>: ok|FAILED".
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(deserialize build_search signatures)

CLANG=${CLANG:-$(command -v clang || command -v clang-14 || true)}
if [ -z "$CLANG" ]; then
  echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
out=build-fuzz
mkdir -p "$out/artifacts"
flags=(-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -D_POSIX_C_SOURCE=200809L -DKNOWHERE_API= -I. -Inative)
sources=(native/*.c)
status=0
for target in "${targets[@]}"; do
  binary="$out/fuzz_$target"
  if ! "$CLANG" "${flags[@]}" "fuzz/fuzz_$target.c" "${sources[@]}" -lpthread -lm -o "$binary"; then
    echo "fuzz $target: FAILED (build)"
    status=1
    continue
  fi
  scratch=$(mktemp -d)
  cp -r "fuzz/corpus/$target/." "$scratch/" 2>/dev/null || true
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
       -artifact_prefix="$out/artifacts/$target-" "$scratch" > "$out/$target.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | grep -o '[0-9]*$')
    echo "fuzz $target: ok (${runs:-?} runs in ${seconds}s, corpus $(ls "$scratch" | wc -l))"
  else
    echo "fuzz $target: FAILED (see $out/$target.log and $out/artifacts/)"
    tail -40 "$out/$target.log"
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
