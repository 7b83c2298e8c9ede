#!/usr/bin/env python3
"""Live-task benchmark (issue 4): n concurrent relocations on the test vCenter, watched by
  * Moonmotion: a Lua script run by the built `moonmotion run` binary, one coroutine and one
    live Task per relocation (moonmotion_tasks.lua);
  * pyVim's WaitForTasks (pyvim_waitfortasks.py);
  * Get-Task-style polling: every unfinished task's info in one call every 15 simulated
    seconds (gettask_polling.py);
against the test vCenter's own PropertyCollector and against vcsim 0.24's
(-vcsim-property-collector). Each peer gets a fresh server and a deadline.

Figures per run: tasks whose end the peer detected; SOAP calls spent on monitoring, counted at
the server (everything after the peer zeroed the counters, except the RelocateVM_Task calls
and the final Logout); detection delay = the peer's detection time - the server's completion
wall time of that task (p50/p99/max); the peer process's CPU seconds (user+sys, whole
process: start-up and inventory included); the server's CPU seconds over the run.

    python3 scripts/bench/tasks/bench.py --moonmotion .build-release/release/moonmotion
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))
import vcsim  # noqa: E402

NOT_MONITORING = {"RelocateVM_Task", "Logout"}


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def run_process(args, deadline, env=None):
    """Runs args; kills it at the deadline. Returns (finished, wall seconds, cpu seconds, stderr tail)."""
    err = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                            start_new_session=True)
    finished = True
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        if time.monotonic() - start > deadline:
            finished = False
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err.seek(0)
    tail = err.read().decode(errors="replace")[-2000:]
    if finished and proc.returncode != 0:
        raise SystemExit("%s failed (exit %d):\n%s" % (" ".join(args), proc.returncode, tail))
    return finished, wall, usage.ru_utime + usage.ru_stime, tail


def one_run(peer, n, collector, a):
    per_cluster = 100
    opts = dict(clusters=max(1, (n + per_cluster - 1) // per_cluster), hosts=8, vms=per_cluster,
                datastores="legacy:8,new:8", speed=a.speed, rate_mbps=a.rate_mbps, progress_steps=a.progress_steps,
                host_max_cost=1000000, datastore_max_cost=1000000)
    if collector == "vcsim":
        opts["extra_args"] = ["-vcsim-property-collector"]
    with vcsim.start(**opts) as vc:
        out = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
        common = ["--url", vc.url, "--user", vc.username, "--password", vc.password, "--control", vc.control_url,
                  "--n", str(n), "--out", out]
        if peer == "moonmotion":
            args = [a.moonmotion, "run", "--url", vc.url, "--username", vc.username, "--password-file", a.password_file,
                    os.path.join(HERE, "moonmotion_tasks.lua"),
                    "n=%d" % n, "out=%s" % out, "control=%s" % vc.control_url, "deadline=%d" % a.deadline]
        elif peer == "pyvim":
            args = [sys.executable, os.path.join(HERE, "pyvim_waitfortasks.py")] + common
        else:
            args = [sys.executable, os.path.join(HERE, "gettask_polling.py")] + common + ["--speed", str(a.speed)]
        server_cpu0 = vc.cpu_seconds()
        finished, wall, cpu, tail = run_process(args, a.deadline, env=dict(os.environ, PYTHONPATH=HERE, MOONMOTION_INSECURE_HTTP="1"))  # loopback HTTP test vCenter
        server_cpu = vc.cpu_seconds() - server_cpu0
        stats = vc.stats()
        detections = {}
        with open(out) as f:
            for line in f:
                line = line.strip()
                if line:
                    d = json.loads(line)
                    detections[d["id"]] = d
        os.unlink(out)
    tasks = {t["id"]: t for t in stats["tasks"] if t["method"] == "RelocateVM_Task"}
    ended = {i: t for i, t in tasks.items() if t.get("completed_wall")}
    delays = [detections[i]["detected"] - t["completed_wall"] for i, t in ended.items() if i in detections]
    monitoring = sum(c["calls"] for m, c in stats["soap_calls"].items() if m not in NOT_MONITORING)
    by_method = {m: c["calls"] for m, c in stats["soap_calls"].items() if m not in NOT_MONITORING}
    return dict(peer=peer, n=n, collector=collector, started=len(tasks), ended=len(ended), detected=len(delays),
                finished=finished, wall=wall, cpu=cpu, server_cpu=server_cpu, monitoring=monitoring, by_method=by_method,
                p50=percentile(delays, 50), p99=percentile(delays, 99), max=max(delays) if delays else None,
                failed=sum(1 for t in ended.values() if t["state"] != "success"), stderr=tail if not finished else "")


def fmt(x, digits=2):
    return "-" if x is None else ("%.*f" % (digits, x))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--moonmotion", required=True, help="the built moonmotion binary")
    p.add_argument("--sizes", default="200,1000")
    p.add_argument("--peers", default="moonmotion,pyvim,gettask")
    p.add_argument("--collectors", default="default,vcsim")
    p.add_argument("--speed", type=float, default=10, help="simulated seconds per real second (10)")
    p.add_argument("--rate-mbps", type=float, default=8000, help="simulated MB/s of one Storage vMotion (8000)")
    p.add_argument("--progress-steps", type=int, default=1)
    p.add_argument("--deadline", type=int, default=120, help="real seconds each peer gets (120)")
    p.add_argument("--json", help="also write every run's figures here")
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("pass\n")
        a.password_file = f.name

    print("live-task benchmark: speed %g (sim s per real s), %g MB/s per Storage vMotion, %d progress update(s) per task, "
          "deadline %d s per peer; no limit queueing" % (a.speed, a.rate_mbps, a.progress_steps, a.deadline), flush=True)
    rows = []
    for collector in a.collectors.split(","):
        for n in [int(x) for x in a.sizes.split(",")]:
            for peer in a.peers.split(","):
                r = one_run(peer, n, collector, a)
                rows.append(r)
                done = "yes (%.0f s)" % r["wall"] if r["finished"] else "NOT done in %d s" % a.deadline
                print("  %-8s %5d %-10s detected %4d/%-4d %-17s monitoring %5d (%.3f/task) p50 %s s p99 %s s CPU %s s  %s"
                      % (collector, n, peer, r["detected"], r["ended"], done, r["monitoring"], r["monitoring"] / float(n),
                         fmt(r["p50"]), fmt(r["p99"]), fmt(r["cpu"]), json.dumps(r["by_method"], sort_keys=True)), flush=True)
    os.unlink(a.password_file)

    head = ["collector", "tasks", "peer", "detected", "finished", "monitoring calls", "calls/task",
            "delay p50 s", "delay p99 s", "delay max s", "runner CPU s", "server CPU s"]
    table = [head]
    for r in rows:
        table.append([r["collector"], str(r["n"]), r["peer"], "%d/%d" % (r["detected"], r["ended"]),
                      "yes" if r["finished"] else "not in %d s" % a.deadline, str(r["monitoring"]),
                      "%.3f" % (r["monitoring"] / float(r["n"])), fmt(r["p50"]), fmt(r["p99"]), fmt(r["max"]),
                      fmt(r["cpu"]), fmt(r["server_cpu"])])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for k, row in enumerate(table):
        print("  ".join(c.rjust(widths[i]) if i >= 3 else c.ljust(widths[i]) for i, c in enumerate(row)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print("\ngoals (Moonmotion): all detected, <= 0.25 monitoring calls per task, p99 detection delay <= 1 s")
    for r in rows:
        if r["peer"] == "moonmotion":
            ok = r["detected"] == r["n"] and r["monitoring"] / float(r["n"]) <= 0.25 and (r["p99"] or 99) <= 1.0
            print("  %-8s %5d: %s" % (r["collector"], r["n"], "met" if ok else "NOT met"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
