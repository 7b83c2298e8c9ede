#!/usr/bin/env bash
# Migration benchmark (issue 5): the same migration (every VM from legacy-* to new-*) by
# Moonmotion (`moonmotion run examples/storage-migration.lua`, release build) and by the
# classic PowerCLI approach in pyVmomi (scripts/bench/peers/powercli_style.py), each against
# a fresh test vCenter with the same flags and seed. Prints one table: makespan against the
# lower bound, limit violations, SOAP calls per migrated VM (counted at the server), runner
# CPU and peak RSS. Goal: makespan <= 1.02 x bound, 0 violations, <= 3 calls per VM.
#
# Usage: scripts/bench/migration/run.sh [--clusters 3 --hosts 8 --vms 60] [--speed 100]
#          [--rate 100] [--seed 1] [--peers moonmotion,powercli] [--json]
#   MM_BENCH_SCRATCH=.build-x  scratch path of the release build (default .build-release)
#   MM_BENCH_BIN=/path/moonmotion  use this binary instead of building one
#
# Speed: each completion reaches a runner through the collector ~0.1-0.3 real seconds late,
# i.e. speed x that many simulated seconds per copy; at the default 100x that is 10-30 s
# against copies of ~1,700 s on average (3x8x60: ~5 minutes of real time per peer).
# Needs what scripts/install-deps installs (Go + govmomi for the test vCenter, pyVmomi).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
if [[ -n "${MM_BENCH_BIN:-}" ]]; then
  bin="$MM_BENCH_BIN"
else
  scratch="$repo/${MM_BENCH_SCRATCH:-.build-release}"
  echo "building moonmotion (release, $scratch) ..." >&2
  (cd "$repo" && swift build -c release --scratch-path "$scratch" --product moonmotion 2>&1 | tail -n 3) >&2
  bin="$scratch/release/moonmotion"
fi
"$repo/scripts/vcsim/build.sh" >/dev/null
exec python3 "$here/bench.py" --moonmotion "$bin" "$@"
