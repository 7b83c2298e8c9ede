#!/usr/bin/env bash
# Live-task benchmark (issue 4): 200 and 1,000 concurrent relocations on the test vCenter,
# watched by Moonmotion (a Lua script through `moonmotion run`, release build), by pyVim's
# WaitForTasks and by Get-Task-style polling every 15 simulated seconds, against the test
# vCenter's PropertyCollector and vcsim 0.24's own. Prints one table. Usage:
#   scripts/bench/tasks/run.sh [--sizes 200,1000] [--speed 10] [--deadline 120] [--peers moonmotion,pyvim,gettask]
# Needs what scripts/install-deps installs (Go + govmomi for the test vCenter, pyVmomi).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scratch="$repo/${MM_BENCH_SCRATCH:-.build-release}"
echo "building moonmotion (release, $scratch) ..." >&2
(cd "$repo" && swift build -c release --scratch-path "$scratch" --product moonmotion 2>&1 | tail -n 3) >&2
"$repo/scripts/vcsim/build.sh" >/dev/null
exec python3 "$here/bench.py" --moonmotion "$scratch/release/moonmotion" "$@"
