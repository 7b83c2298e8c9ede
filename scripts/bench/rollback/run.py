#!/usr/bin/env python3
"""Rollback check (issue 15, "Rollback"): a finished 180-VM run rolled back on the test vCenter.

Starts a test vCenter (3 clusters x 8 hosts x 60 VMs, 1-4 disks each spread over legacy-*,
flash-* and new-*, a few powered off), runs a migration that touches every VM three ways
(every third VM: its files off legacy-* and to another host at once; every third: its files
only, each file placed on its own; every third: its host only), then
`moonmotion rollback RUN.journal --dry-run` and `moonmotion rollback RUN.journal`, and checks
against the server's own inventory and accounting (GET /_mm/vms, /_mm/stats):

  * every VM's home, each disk (by device key) and its host are where they were before the
    run — what the run's journal recorded as each file's `from` and each job's source host;
  * the dry run moved nothing;
  * the rollback relocated each VM the run moved exactly once ("moved twice": none), and no
    host or datastore went above its limit (0 violations);

and prints the figures: VMs and bytes moved each way, simulated makespan and wall time of
each run, vCenter calls per VM of the rollback. Exit status 1 when a check fails.

    python3 scripts/bench/rollback/run.py --moonmotion .build/debug/moonmotion

Figures and command: BENCHMARKS.md, "Rollback".
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))
import vcsim  # noqa: E402

GIB = 1 << 30

FORWARD = """
return {
  select = function(inv)
    local jobs = {}
    for i, vm in ipairs(inv.vms) do
      local other
      for _, h in ipairs(vm.cluster.hosts) do if h ~= vm.host then other = h; break end end
      if i % 3 == 0 then
        jobs[#jobs + 1] = { vm = vm, datastore = "new-*", from = "legacy-*", host = other }
      elseif i % 3 == 1 then
        jobs[#jobs + 1] = { vm = vm, datastore = "new-*", from = "legacy-*", keep_together = false }
      else
        jobs[#jobs + 1] = { vm = vm, host = other }
      end
    end
    return jobs
  end,
}
"""


def run(cmd, cwd, env, deadline):
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=deadline)
    return p.returncode, time.monotonic() - start, p.stdout, p.stderr


def placement(vms):
    """name -> (host, home datastore, ((disk key, datastore), ...))"""
    return {n: (v["host"], v["home"]["datastore"], tuple(sorted((d["key"], d["datastore"]) for d in v["disks"])))
            for n, v in vms.items()}


def relocations(stats):
    return [t for t in stats["tasks"] if t["method"] in ("RelocateVM_Task", "MigrateVM_Task")]


def file_moves(stats):
    """(vm, file) -> (from, to, bytes) of every file copied since the last reset."""
    return {(m["vm"], m["file"]): (m["from"], m["to"], m["source_bytes"]) for m in stats.get("file_moves") or []}


def makespan(tasks):
    if not tasks:
        return 0.0
    return max(t.get("completed_sim") or 0 for t in tasks) - min(t["created_sim"] for t in tasks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moonmotion", default=os.path.join(REPO, ".build", "debug", "moonmotion"))
    ap.add_argument("--clusters", type=int, default=3)
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--vms", type=int, default=60, help="VMs per cluster")
    ap.add_argument("--speed", type=float, default=500)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--deadline", type=float, default=900, help="real seconds per moonmotion command")
    args = ap.parse_args()

    flags = dict(clusters=args.clusters, hosts=args.hosts, vms=args.vms, seed=args.seed, speed=args.speed,
                 powered_off_fraction=0.05,
                 extra_args=["-datastores", "legacy:4,flash:2,new:4", "-disks", "1-4", "-disk-prefixes", "legacy,flash,new"])
    problems = []
    with vcsim.start(**flags) as vc, tempfile.TemporaryDirectory() as tmp:
        url = vc.url.replace("://", "://%s:%s@" % (vc.username, vc.password), 1)
        env = dict(os.environ, GOVC_URL="", MOONMOTION_INSECURE_HTTP="1")  # the loopback test vCenter serves plain HTTP
        env.pop("MOONMOTION_PATH", None)
        with open(os.path.join(tmp, "forward.lua"), "w") as f:
            f.write(FORWARD)
        journal = os.path.join(tmp, "run.journal")
        before = placement(vc.vms()["vms"])

        vc.reset_stats()
        code, wall_run, out, err = run([args.moonmotion, "run", "--url", url, "forward.lua", "--journal", journal], tmp, env, args.deadline)
        if code != 0:
            problems.append("the run exited %d:\n%s\n%s" % (code, out[-2000:], err[-2000:]))
        run_stats = vc.stats()
        moved = placement(vc.vms()["vms"])
        touched = sorted(n for n in before if moved[n] != before[n])
        run_tasks = [t for t in relocations(run_stats) if t["state"] == "success"]
        run_files = file_moves(run_stats)
        run_bytes = sum(b for _, _, b in run_files.values())

        vc.reset_stats()
        code, wall_dry, dry, err = run([args.moonmotion, "rollback", "--url", url, journal, "--dry-run"], tmp, env, args.deadline)
        if code != 0 or "dry run: nothing was moved" not in dry:
            problems.append("the dry run exited %d:\n%s\n%s" % (code, dry[-2000:], err[-2000:]))
        if vc.stats(tasks=False, files=False).get("moves"):
            problems.append("the dry run moved VMs")
        if os.path.exists(journal + ".rollback"):
            problems.append("the dry run wrote a journal")

        vc.reset_stats()
        code, wall_back, out, err = run([args.moonmotion, "rollback", "--url", url, journal], tmp, env, args.deadline)
        if code != 0:
            problems.append("the rollback exited %d:\n%s\n%s" % (code, out[-2000:], err[-2000:]))
        stats = vc.stats()
        after = placement(vc.vms()["vms"])

        wrong = [n for n in before if after[n] != before[n]]
        if wrong:
            problems.append("%d VM(s) not back where they were, e.g. %s" % (
                len(wrong), "; ".join("%s: before %s, after %s" % (n, before[n], after[n]) for n in wrong[:3])))
        moves = stats.get("moves") or {}
        twice = {n: c for n, c in moves.items() if c != 1}
        if twice:
            problems.append("VMs relocated more than once: %s" % twice)
        if sorted(moves) != touched:
            problems.append("relocated %d VMs, the run changed %d: extra %s, missing %s" % (
                len(moves), len(touched), sorted(set(moves) - set(touched))[:5], sorted(set(touched) - set(moves))[:5]))
        violations = ["host %s: %d > %d" % (h, r["max_cost"], r["limit"]) for h, r in stats["hosts"].items() if r["max_cost"] > r["limit"]]
        violations += ["datastore %s: %d > %d" % (d, r["max_cost"], r["limit"]) for d, r in stats["datastores"].items() if r["max_cost"] > r["limit"]]
        back_tasks = [t for t in relocations(stats) if t["state"] == "success"]
        back_files = file_moves(stats)
        back_bytes = sum(b for _, _, b in back_files.values())
        # Each file the run copied is copied back once, from where the run put it to where it was.
        unreversed = [k for k, (src, dst, _) in run_files.items() if back_files.get(k, (None, None))[:2] != (dst, src)]
        if unreversed or len(back_files) != len(run_files):
            problems.append("%d file copies of the run not reversed (of %d; the rollback copied %d), e.g. %s" % (
                len(unreversed), len(run_files), len(back_files), unreversed[:3]))
        left = dry.split("are left alone:")[1].count("\n  ") if "are left alone:" in dry else 0
        unfinished = [l for l in dry.split("\n") if "never finished are not rolled back" in l]

        print("test vCenter: %d clusters x %d hosts x %d VMs, 1-4 disks each, %gx time" % (args.clusters, args.hosts, args.vms, args.speed))
        print("run:      %d VMs changed (%d relocations), %d files, %.1f GiB copied, makespan %.0f s simulated, %.1f s wall"
              % (len(touched), len(run_tasks), len(run_files), run_bytes / GIB, makespan(run_tasks), wall_run))
        print("dry run:  %.1f s wall, %d VMs left alone, %s" % (wall_dry, left, unfinished[0].strip() if unfinished else "every job of the run finished"))
        print("rollback: %d VMs relocated, %d files, %.1f GiB copied, makespan %.0f s simulated, %.1f s wall, %.2f vCenter calls per VM"
              % (len(moves), len(back_files), back_bytes / GIB, makespan(back_tasks), wall_back, stats.get("soap_calls_total", 0) / max(1, len(moves))))
        print("checks:   %d/%d VMs back (files per disk and home, host), %d/%d file copies reversed, %d moved twice, %d limit violations, %d queued by a limit"
              % (len(before) - len(wrong), len(before), len(run_files) - len(unreversed), len(run_files), len(twice), len(violations), stats.get("limit_queued_total", 0)))
        if violations:
            problems.append("limit violations: %s" % violations)
    for p in problems:
        sys.stderr.write("FAILED: %s\n" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
