#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and ThreadSanitizer (not CI: each is a full
# instrumented build, 10-20 minutes on two cores, and a slower suite).
#
#   scripts/sanitizers/run.sh            # address, then thread
#   scripts/sanitizers/run.sh thread     # one of them
#   scripts/sanitizers/run.sh address --filter LuaHostTests   # extra arguments go to swift test
#
# Each sanitizer builds into its own folder (.build-address, .build-thread). A report fails
# the run (halt_on_error). Results of the last run: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

sanitizers=(address thread)
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then sanitizers=("$1"); shift; fi
scripts/vcsim/build.sh >/dev/null
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:abort_on_error=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
status=0
for s in "${sanitizers[@]}"; do
  echo "sanitizers: building with --sanitize=$s"
  swift build --build-tests --sanitize="$s" --scratch-path ".build-$s" 2>&1 | tail -n 3
  echo "sanitizers: testing with --sanitize=$s"
  start=$(date +%s)
  # Tests that cannot work under a sanitizer read it (Tests/LuaHostTests/SanitizerTraits.swift).
  if MM_SANITIZER="$s" swift test --skip-build --sanitize="$s" --scratch-path ".build-$s" "$@" 2>&1 | tee "/tmp/moonmotion-$s.log" | grep -E "Test run|SUMMARY: |WARNING: ThreadSanitizer|ERROR: AddressSanitizer" | tail -n 20; then
    :
  fi
  rc=${PIPESTATUS[0]}
  echo "sanitizers: $s: exit $rc after $(( $(date +%s) - start )) s (log: /tmp/moonmotion-$s.log)"
  [ "$rc" -ne 0 ] && status=1
done
exit $status
