#!/usr/bin/env bash
# Fuzzes Moonmotion with libFuzzer for a fixed budget per target, then prints what it found.
#
#   scripts/fuzz/run.sh                 # both targets, 300 s each
#   scripts/fuzz/run.sh response 60     # one target, 60 s
#
# Targets (Fuzz/): `response` — the SOAP reader and every response decoder
# (ResponseDecodingProbe), seeded with the captured fixtures; `lua-api` — the Lua API surface
# (random arguments of every type to every binding, hostile metatables, coroutines yielding
# from odd places) over a small simulated vCenter. Builds with --sanitize=fuzzer (libFuzzer's
# coverage-guided engine with its address checks) into .build-fuzz. A crash leaves its input
# in out/fuzz/<target>/; replay it with a normal build: .build/debug/<target>-fuzz FILE.
# Exit status: 0 when no target crashed. Figures of the last run: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

targets=("${1:-response}")
[ $# -eq 0 ] && targets=(response lua-api)
budget="${2:-300}"
status=0
for t in "${targets[@]}"; do
  product="$t-fuzz"
  echo "fuzz: building $product (sanitize=fuzzer; the first build takes several minutes)"
  swift build -c release --scratch-path .build-fuzz --sanitize=fuzzer -Xswiftc -DFUZZING --product "$product" 2>&1 | tail -n 3
  bin=".build-fuzz/release/$product"
  corpus="out/fuzz/$t/corpus"; crashes="out/fuzz/$t"
  mkdir -p "$corpus"
  seeds=()
  if [ "$t" = response ]; then seeds=(Tests/VimXMLTests/Fixtures Tests/VSphereSOAPTests/Fixtures); fi
  echo "fuzz: $product for $budget s"
  set +e
  # The Swift runtime's backtracer would catch a trap before libFuzzer's handler, which then
  # never writes the crashing input: leave crashes to libFuzzer.
  SWIFT_BACKTRACE=enable=no "$bin" -max_total_time="$budget" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" 2>&1 | tee "out/fuzz/$t.log" | grep -E "^#[0-9]+ +(DONE|pulse)|stat::|ERROR|SUMMARY" | tail -n 12
  rc=${PIPESTATUS[0]}
  set -e
  found=$(ls "$crashes" | grep -E '^(crash|leak|timeout|oom)-' || true)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    echo "fuzz: $product FOUND PROBLEMS (exit $rc): $found (log: out/fuzz/$t.log)"
    status=1
  else
    echo "fuzz: $product: no crash in $budget s ($(ls "$corpus" | wc -l) corpus inputs)"
  fi
done
exit $status
