#!/usr/bin/env bash
# `moonmotion report JOURNAL --out DIR` on a large journal (issue 14): a simulated run of N VMs
# (examples/storage-migration.lua on the built-in simulator, time 100,000x faster than real)
# writes the journal once; then the report is made from it `runs` times. Prints, best of the
# runs by wall time: wall and CPU seconds, peak RSS (/usr/bin/time -v), and the sizes of
# report.html and report.csv. No goal was set; the figures say what a report of that size costs.
#
# Usage: scripts/bench/report/run.sh [vms] [runs]     (default 10000 VMs, 3 runs)
#   MM_BENCH_SCRATCH=.build-x  scratch path of the release build (default .build-release)
#   MM_BENCH_BIN=/path/moonmotion  use this binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/../../.."
vms="${1:-10000}"
runs="${2:-3}"
if [[ -n "${MM_BENCH_BIN:-}" ]]; then
  bin="$MM_BENCH_BIN"
else
  scratch="${MM_BENCH_SCRATCH:-.build-release}"
  swift build -c release --scratch-path "$scratch" --product moonmotion >&2
  bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/moonmotion"
fi
clusters=$(( vms >= 2000 ? vms / 2000 : 1 ))
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
GOVC_URL= "$bin" run examples/storage-migration.lua --generate "clusters=$clusters,hosts=20,vms=$vms" --speed 100000 \
  --journal "$tmp/run.journal" >"$tmp/run.out" 2>&1 || { cat "$tmp/run.out" >&2; exit 1; }
jobs=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM jobs").fetchone()[0])' "$tmp/run.journal")
echo "moonmotion report on a journal of $vms VMs ($jobs jobs, $(du -k "$tmp/run.journal" | cut -f1) KiB) on $(nproc) core(s), $(uname -m); best of $runs; $(date -u +%Y-%m-%dT%H:%MZ)"
best=""
for _ in $(seq 1 "$runs"); do
  rm -rf "$tmp/out"
  /usr/bin/time -v "$bin" report "$tmp/run.journal" --out "$tmp/out" >/dev/null 2>"$tmp/time"
  wall=$(awk -F': ' '/Elapsed/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time")
  user=$(awk -F': ' '/User time/ {print $2}' "$tmp/time")
  sys=$(awk -F': ' '/System time/ {print $2}' "$tmp/time")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$tmp/time")
  if [[ -z "$best" ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN {exit !(a < b)}'; then best="$wall $user $sys $rss"; fi
done
read -r wall user sys rss <<<"$best"
printf '%-10s %9s %9s %9s %12s %14s %14s\n' "VMs" "wall s" "user s" "sys s" "peak RSS" "report.html" "report.csv"
printf '%-10s %9s %9s %9s %9d MB %11d KiB %11d KiB\n' "$vms" "$wall" "$user" "$sys" $(( rss / 1024 )) \
  "$(du -k "$tmp/out/report.html" | cut -f1)" "$(du -k "$tmp/out/report.csv" | cut -f1)"
