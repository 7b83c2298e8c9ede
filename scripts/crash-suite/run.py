#!/usr/bin/env python3
"""Crash and fault suite: a storage migration on the test vCenter that is killed with SIGKILL
at random instants and resumed each time, while the vCenter drops connections, ends sessions
and fails tasks. A verifier then checks, from the test vCenter's own accounting and the
journal, that every VM moved exactly once (or failed with its reason), that no host or
datastore limit was exceeded, and that the journal is consistent. It prints the figures.

    swift build -c release --scratch-path .build-release --product moonmotion
    scripts/crash-suite/run.py                         # 20 kills, 300 VMs (minutes)
    # CI's version (CrashSuiteTests, about 70 s): 3 kills, 20 VMs, denser faults
    scripts/crash-suite/run.py --kills 3 --clusters 2 --hosts 4 --vms 10 --drop-every 12
        --fail-every 8 --terminate-every 6 --min-gap 3 --max-gap 8

Exit status: 0 when every check holds, 1 otherwise (the failed checks are printed).
CI runs the small version above (Tests/IntegrationTests/CrashSuiteTests.swift); the full
size runs for minutes, by hand. See BENCHMARKS.md for its figures.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))
import vcsim  # noqa: E402


def default_binary():
    for path in (".build-release/release/moonmotion", ".build/release/moonmotion", ".build/debug/moonmotion"):
        full = os.path.join(REPO, path)
        if os.access(full, os.X_OK):
            return full
    return None


def journal_has_run(path):
    """Whether the journal holds a run (a kill before its first write leaves none: start anew)."""
    if not os.path.exists(path):
        return False
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            return db.execute("SELECT count(*) FROM runs").fetchone()[0] > 0
        finally:
            db.close()
    except sqlite3.Error:
        return False


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs during the run, each followed by --resume (default 20)")
    p.add_argument("--clusters", type=int, default=3)
    p.add_argument("--hosts", type=int, default=8, help="hosts per cluster")
    p.add_argument("--vms", type=int, default=100, help="VMs per cluster (default 100: 300 in all)")
    p.add_argument("--speed", type=float, default=200, help="simulated seconds per real second (default 200)")
    p.add_argument("--drop-every", type=int, default=40, help="drop the connection of every Nth SOAP call, after handling it (0: never)")
    p.add_argument("--fail-every", type=int, default=20, help="every Nth relocation fails with FileLocked (20: 5%%; 0: never)")
    p.add_argument("--terminate-every", type=float, default=30, help="end every session this often, real seconds (0: never)")
    p.add_argument("--min-gap", type=float, default=2, help="shortest time a run lives before its kill, seconds")
    p.add_argument("--max-gap", type=float, default=10, help="longest time a run lives before its kill, seconds")
    p.add_argument("--seed", type=int, default=1, help="seed of the kill instants")
    p.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds in all")
    p.add_argument("--binary", default=default_binary(), help="the moonmotion binary (default: the newest build)")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the journal and logs (printed at the end)")
    return p.parse_args()


class Terminator(threading.Thread):
    """Ends every session of the test vCenter every `period` seconds."""

    def __init__(self, vc, period):
        super().__init__(daemon=True)
        self.vc, self.period, self.count = vc, period, 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.period):
            try:
                self.vc.terminate_sessions()
                self.count += 1
            except vcsim.VCSimError:
                return


def main():
    args = parse_args()
    if not args.binary:
        sys.exit("crash-suite: no moonmotion binary; build one (see the top of this file) or give --binary")
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="mm-crash-suite-")
    journal = os.path.join(work, "run.journal")
    strategy = os.path.join(REPO, "examples", "storage-migration.lua")
    started = time.time()
    checks = []

    with vcsim.start(clusters=args.clusters, hosts=args.hosts, vms=args.vms, speed=args.speed,
                     datastores="legacy:4,new:4", snapshot_fraction=0, consolidate_fraction=0,
                     svmotion_setup_seconds=15, tls=True) as vc:
        vm_count = vc.ready.get("vms")
        if args.drop_every > 0:
            # Every Nth call of what a run makes all the time (the moves, the task poller's
            # calls, inventory reads): handled by the server, then the connection is closed
            # unanswered, so the client cannot tell whether the call arrived.
            vc.inject_fault(target="soap", method="RelocateVM_Task,WaitForUpdatesEx,RetrievePropertiesEx,ModifyListView,CreateFilter",
                            every=args.drop_every, count=-1, drop="after")
        if args.fail_every > 0:
            vc.inject_fault(target="task", method="RelocateVM_Task", every=args.fail_every, count=-1, fault="FileLocked")
        terminator = Terminator(vc, args.terminate_every) if args.terminate_every > 0 else None
        if terminator:
            terminator.start()

        base = [args.binary, "run", "--url", vc.url, "--username", vc.username, "--thumbprint", vc.thumbprint_sha256,
                "--journal", journal, strategy]
        env = dict(os.environ, GOVC_PASSWORD=vc.password)
        env.pop("GOVC_URL", None)
        kills, resumes, runs = 0, 0, []
        final = None
        log_paths = []

        def launch(resume):
            log = open(os.path.join(work, "run-%02d.log" % len(runs)), "w")
            log_paths.append(log.name)
            cmd = base[:-1] + (["--resume"] if resume else []) + base[-1:]
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env), log

        while kills < args.kills and time.time() - started < args.timeout:
            resume = journal_has_run(journal)
            proc, log = launch(resume=resume)
            if resume:
                resumes += 1
            gap = rng.uniform(args.min_gap, args.max_gap)
            try:
                proc.wait(gap)
                runs.append(("ended", proc.returncode))
                log.close()
                final = proc.returncode
                break  # the migration ended before this kill
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                runs.append(("killed", -9))
                log.close()
        if final is None:
            resume = journal_has_run(journal)
            proc, log = launch(resume=resume)
            if resume:
                resumes += 1
            remaining = max(60, args.timeout - (time.time() - started))
            try:
                final = proc.wait(remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                final = "timed out"
            runs.append(("ended", final))
            log.close()
        if terminator:
            terminator.stopped.set()

        stats = vc.stats()
        rules = (vc._control("GET", "faults") or {}).get("rules", [])

    # ---- verification -------------------------------------------------------------------
    # Storage moves per VM ("copies"), not "moves": the latter also counts the host vMotions a
    # strategy makes before a storage move (pro-active vMotion), which are not a second copy.
    moves = stats.get("copies", {})
    copies = stats.get("file_copies", {})  # {vm: {file: times copied}}
    db = sqlite3.connect("file:%s?mode=ro" % journal, uri=True)
    run_row = db.execute("SELECT id, state FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    jobs = db.execute("SELECT vm_name, state, last_error, attempts FROM jobs WHERE run_id = ? AND parent IS NULL",
                      (run_row[0],)).fetchall() if run_row else []
    by_vm = {name: (state, error, attempts) for name, state, error, attempts in jobs}
    inventory_vms = set(by_vm)  # every VM of the test vCenter starts on legacy-*: all are selected
    moved_twice = sorted(vm for vm, n in moves.items() if n > 1)
    files_twice = sorted("%s %s" % (vm, f) for vm, fs in copies.items() if isinstance(fs, dict) for f, n in fs.items() if n > 1)
    done = [vm for vm, (state, _, _) in by_vm.items() if state == "done"]
    failed = {vm: err for vm, (state, err, _) in by_vm.items() if state in ("failed", "skipped")}
    not_moved = sorted(vm for vm in done if moves.get(vm, 0) != 1)
    unexplained = sorted(vm for vm in inventory_vms if moves.get(vm, 0) != 1 and vm not in failed)
    violations = []
    for kind in ("hosts", "datastores"):
        for name, r in stats.get(kind, {}).items():
            if r.get("max_cost", 0) > r.get("limit", r.get("max_cost", 0)):
                violations.append("%s %s: %d > %d" % (kind[:-1], name, r["max_cost"], r["limit"]))
    queued_by_limit = stats.get("limit_queued_total", 0)
    pending = [vm for vm, (state, _, _) in by_vm.items() if state not in ("done", "failed", "skipped")]

    def check(ok, text):
        checks.append((ok, text))

    check(final == 0, "the last --resume exited 0 (got %s)" % final)
    check(len(inventory_vms) == vm_count, "every VM of the test vCenter has a job (%d of %s)" % (len(inventory_vms), vm_count))
    check(run_row is not None and run_row[1] == "completed", "the journal's run is completed (%s)" % (run_row[1] if run_row else "no run"))
    check(not pending, "no job left pending or running in the journal (%d)" % len(pending))
    check(not moved_twice, "no VM moved twice (%s)" % (", ".join(moved_twice[:5]) or "none"))
    check(not files_twice, "no file copied twice (%s)" % (", ".join(files_twice[:5]) or "none"))
    check(not not_moved, "every VM the journal calls done moved exactly once on the test vCenter (%s)" % (", ".join(not_moved[:5]) or "all"))
    check(not unexplained, "every VM moved once or failed with its reason (%s)" % (", ".join(unexplained[:5]) or "all"))
    check(not violations, "no host or datastore limit exceeded (%s)" % ("; ".join(violations[:5]) or "none"))
    check(all(err for err in failed.values()), "every failed or skipped job says why")

    hits = {("soap drop" if r.get("drop") else "task %s" % r.get("fault")): r.get("hits", 0) for r in rules}
    figures = {
        "vms": len(inventory_vms), "kills": kills, "resumes": resumes, "runs": len(runs),
        "moved_once": sum(1 for n in moves.values() if n == 1), "moved_twice": len(moved_twice),
        "files_copied_twice": len(files_twice), "host_vmotions": stats.get("host_moves", 0), "failed_or_skipped": len(failed),
        "limit_violations": len(violations), "queued_by_limit": queued_by_limit,
        "connections_dropped": hits.get("soap drop", 0), "tasks_failed": sum(v for k, v in hits.items() if k.startswith("task")),
        "sessions_terminated": terminator.count if terminator else 0,
        "soap_calls": stats.get("soap_calls_total"), "seconds": round(time.time() - started, 1),
        "checks_failed": sum(1 for ok, _ in checks if not ok),
    }
    print("crash suite: %(vms)d VMs, %(kills)d kills, %(resumes)d resumes, %(seconds)ss" % figures)
    print("  moved once %(moved_once)d, moved twice %(moved_twice)d, files copied twice %(files_copied_twice)d, "
          "failed or skipped %(failed_or_skipped)d; host vMotions %(host_vmotions)d" % figures)
    print("  limit violations %(limit_violations)d (tasks queued by a limit in vCenter: %(queued_by_limit)d)" % figures)
    print("  faults survived: %(connections_dropped)d connections dropped, %(tasks_failed)d tasks failed, "
          "%(sessions_terminated)d session terminations; %(soap_calls)s SOAP calls" % figures)
    for ok, text in checks:
        print("  %s %s" % ("ok  " if ok else "FAIL", text))
    for vm, err in sorted(failed.items())[:10]:
        print("  failed/skipped: %s: %s" % (vm, err))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    if args.keep or figures["checks_failed"]:
        print("  journal and logs: %s" % work)
    else:
        for path in os.listdir(work):
            os.remove(os.path.join(work, path))
        os.rmdir(work)
    return 0 if figures["checks_failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
