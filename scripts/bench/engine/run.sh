#!/usr/bin/env bash
# The migration engine alone on simulated backends: 100,000 jobs over 1,000 hosts
# (100 clusters × 10 hosts), release build. Prints CPU time, wall time and peak RSS
# for the Scheduler alone, the MigrationRunner on a lean virtual-time backend, and the
# runner on VCenterSimulator (what `moonmotion plan` runs). Goal: < 2 s CPU for the engine.
#
# Usage: scripts/bench/engine/run.sh [scheduler|runner|simulator ...] [clusters=N] [hosts=N] [vms=N]
set -euo pipefail
cd "$(dirname "$0")/../../.."
scratch="${MM_BENCH_SCRATCH:-.build-release}"
swift build -c release --scratch-path "$scratch" --product engine-bench >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/engine-bench"
echo "engine-bench on $(nproc) core(s), $(uname -m); $(date -u +%Y-%m-%dT%H:%MZ)"
"$bin" "$@"
