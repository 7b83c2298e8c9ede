#!/usr/bin/env bash
# `moonmotion plan` end to end (release build): generate the inventory, run the real Lua
# strategy (examples/storage-migration.lua) through the real engine on the simulated
# vCenter on virtual time, build and print the PlanReport. Prints wall time, CPU time and
# peak RSS (/usr/bin/time -v) for each case, best of N runs by wall time.
# Goals (issue 6): 3,000 VMs / ~500 TB in < 1 s wall; 100,000 VMs in < 30 s.
#
# Usage: scripts/bench/plan/run.sh [runs]        (default 3 runs per case)
#   MM_BENCH_SCRATCH=.build-x  scratch path of the release build (default .build-release)
#   MM_BENCH_BIN=/path/moonmotion  use this binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/../../.."
runs="${1:-3}"
if [[ -n "${MM_BENCH_BIN:-}" ]]; then
  bin="$MM_BENCH_BIN"
else
  scratch="${MM_BENCH_SCRATCH:-.build-release}"
  swift build -c release --scratch-path "$scratch" --product moonmotion >&2
  bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/moonmotion"
fi
strategy=examples/storage-migration.lua
cases=(
  "3,000 VMs (3 clusters x 8 hosts, ~500 TB)|clusters=3,hosts=8,vms=3000"
  "100,000 VMs (100 clusters x 10 hosts, ~16 PB)|clusters=100,hosts=10,vms=100000"
)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "moonmotion plan $strategy on $(nproc) core(s), $(uname -m); best of $runs; $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-48s %9s %9s %9s %10s  %s\n' "case" "wall s" "user s" "sys s" "peak RSS" "predicted makespan"
for c in "${cases[@]}"; do
  label="${c%%|*}"; spec="${c#*|}"
  best_wall=""; best_line=""
  for ((i = 0; i < runs; i++)); do
    GOVC_URL="" /usr/bin/time -v "$bin" plan "$strategy" --generate "$spec" >"$tmp/out" 2>"$tmp/time" || {
      echo "plan failed for $spec:" >&2; cat "$tmp/time" >&2; exit 1; }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; print s }' "$tmp/time")
    user=$(awk -F': ' '/User time/ { print $2 }' "$tmp/time")
    sys=$(awk -F': ' '/System time/ { print $2 }' "$tmp/time")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f MB", $2 / 1024 }' "$tmp/time")
    makespan=$(awk '/Predicted makespan/ { sub(/.*Predicted makespan +/, ""); print; exit }' "$tmp/out")
    line=$(printf '%-48s %9.2f %9.2f %9.2f %10s  %s' "$label" "$wall" "$user" "$sys" "$rss" "$makespan")
    if [[ -z "$best_wall" ]] || awk "BEGIN { exit !($wall < $best_wall) }"; then best_wall="$wall"; best_line="$line"; fi
  done
  echo "$best_line"
done
