#!/usr/bin/env python3
"""Migration benchmark (issue 5): the same mass Storage vMotion — every VM from legacy-* to
new-* — by Moonmotion (`moonmotion run examples/storage-migration.lua`, release build) and by
the classic PowerCLI approach redone in pyVmomi (scripts/bench/peers/powercli_style.py: one
worker thread per cluster, largest first, hosts/2 per cluster, 2 per host with a host-state
table and pro-active vMotion, task table polled every 15 simulated seconds), each against a
fresh test vCenter with the same flags and seed.

Figures per peer, all counted at the test vCenter except CPU and RSS:
  * makespan: first relocation created -> last relocation completed, simulated seconds;
  * ratio to the lower bound: per cluster max(sum of copy times / slots, longest copy), the
    largest over clusters (slots = hosts // 2, as both policies use; copy time = committed
    bytes / rate + setup);
  * limit violations: tasks vCenter queued because a host, datastore or vMotion network was
    full (limit_queued), and resources whose peak running cost went above the limit;
  * SOAP calls per migrated VM: every call after the counters were zeroed (log-in, inventory,
    monitoring and the relocations themselves) / VMs moved;
  * the runner's CPU seconds (user+sys, from wait4) and peak RSS (GNU time's: see run_process);
  * wall seconds, VMs moved (storage), VMs whose disks were copied twice ("twice"), host-only
    moves (pro-active vMotions, by RelocateVM_Task or MigrateVM_Task), failed tasks.

    python3 scripts/bench/migration/bench.py --moonmotion .build-release/release/moonmotion
"""
import argparse
import collections
import json
import socket
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "scripts", "vcsim"))
import vcsim  # noqa: E402

MIB = 1 << 20
# GNU time, for the peak RSS of a command alone (see run_process).
TIME = "/usr/bin/time"


def run_process(args, deadline, env=None, cwd=None):
    """Runs args to the end (killed at the deadline). Returns (exit status, wall s, cpu s, peak RSS MB, stdout, stderr).

    The peak RSS is GNU time's (%M): Linux carries the exec'ing memory's high-water mark into
    the new program's ru_maxrss, and Python spawns with vfork, so wait4 on a child of this
    script reads at least this script's own peak (a child of `/usr/bin/time` starts from
    time's ~1 MB). CPU is wait4's, time's own included (a millisecond)."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    rss_file = tempfile.NamedTemporaryFile(suffix=".rss")
    start = time.monotonic()
    proc = subprocess.Popen([TIME, "-f", "%M", "-o", rss_file.name] + list(args), stdin=subprocess.DEVNULL,
                            stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        if time.monotonic() - start > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.monotonic() - start
    out.seek(0)
    err.seek(0)
    code = os.waitstatus_to_exitcode(status)
    # time writes "Command exited with non-zero status N" before %M when the command fails.
    lines = open(rss_file.name).read().split()
    rss = int(lines[-1]) / 1024.0 if lines and lines[-1].isdigit() else float("nan")
    rss_file.close()
    return (code, wall, usage.ru_utime + usage.ru_stime, rss,
            out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def lower_bound(vc, rate, setup, slots_of):
    """max over clusters of max(sum(copy) / slots, longest copy), with the server's own inventory."""
    inv = vc_inventory(vc)
    per_cluster = {}
    for name, cluster, committed in inv:
        per_cluster.setdefault(cluster, []).append(setup + committed / (rate * MIB))
    bound, total_bytes = 0.0, sum(c for _, _, c in inv)
    for cluster, times in per_cluster.items():
        bound = max(bound, sum(times) / slots_of(cluster), max(times))
    return bound, len(inv), total_bytes


def vc_inventory(vc):
    """[(vm name, cluster name, committed bytes)] read with pyVmomi (before the counters are zeroed)."""
    from pyVim.connect import SmartConnect, Disconnect
    from pyVmomi import vim
    si = SmartConnect(host=vc.host, port=vc.port, user=vc.username, pwd=vc.password, protocol="http")
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        out = []
        for vm in view.view:
            host = vm.runtime.host
            out.append((vm.name, host.parent.name, vm.summary.storage.committed))
        view.DestroyView()
        return out
    finally:
        Disconnect(si)


def server_figures(vc, moved_expected):
    stats = vc.stats()
    reloc = [t for t in stats["tasks"] if t["method"] == "RelocateVM_Task"]
    ok = [t for t in reloc if t["state"] == "success"]
    first = min((t["created_sim"] for t in reloc), default=0)
    last = max((t.get("completed_sim") or 0 for t in reloc), default=0)
    over = [n for kind in ("hosts", "datastores") for n, r in stats[kind].items() if r["max_cost"] > r["limit"]]
    copies = stats.get("copies", {})
    return {
        "makespan": last - first,
        "moved": len(copies),
        # a VM whose disks were copied more than once (a pro-active vMotion before its
        # Storage vMotion is a host move, counted under vMotions)
        "moved_twice": sum(1 for v in copies.values() if v > 1),
        "failed_tasks": sum(1 for t in reloc if t["state"] == "error"),
        "vmotions": stats.get("host_moves", 0),
        "limit_queued": stats["limit_queued_total"],
        "over_limit": over,
        "soap_calls": stats["soap_calls_total"],
        "calls": {k: v["calls"] for k, v in stats["soap_calls"].items()},
        "unfinished": sum(1 for t in stats["tasks"] if t["state"] in ("queued", "running")),
        "relocations_ok": len(ok),
    }


def run_moonmotion(vc, args, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        url = vc.url.replace("://", "://%s:%s@" % (vc.username, vc.password), 1)
        vc.reset_stats()
        env = dict(os.environ, GOVC_URL="", MOONMOTION_INSECURE_HTTP="1")  # the loopback test vCenter serves plain HTTP
        env.pop("MOONMOTION_PATH", None)
        code, wall, cpu, rss, out, err = run_process(
            [args.moonmotion, "run", "--url", url, os.path.join(REPO, "examples", "storage-migration.lua"),
             "--journal", os.path.join(tmp, "bench.journal"), "--events", os.path.join(tmp, "events.jsonl")] + list(extra),
            args.deadline, env=env, cwd=tmp)
        if code != 0:
            sys.stderr.write("moonmotion exited %s:\n%s\n%s\n" % (code, out[-3000:], err[-3000:]))
        return {"wall": wall, "cpu": cpu, "rss": rss, "exit": code}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browsers(port, stop, counts, n=20):
    """n clients watching the --listen page the way people do: half hold the page's event
    stream (/events) open and reconnect when it ends, half reload /api/status every second;
    one of them also scrapes /metrics every 5 s, as Prometheus would."""
    def streamer():
        while not stop.is_set():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/events" % port, timeout=5) as r:
                    for line in r:
                        if line.startswith(b"data: "):
                            counts["events"] += 1
                        if stop.is_set():
                            break
            except Exception:
                counts["errors"] += 1
                stop.wait(0.5)

    def reloader(k):
        while not stop.is_set():
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/api/status" % port, timeout=5).read()
                counts["status"] += 1
                if k == 0 and counts["status"] % 5 == 0:
                    urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
                    counts["metrics"] += 1
            except Exception:
                counts["errors"] += 1
            stop.wait(1)

    threads = [threading.Thread(target=streamer, daemon=True) for _ in range(n // 2)]
    threads += [threading.Thread(target=reloader, args=(k,), daemon=True) for k in range(n - n // 2)]
    for t in threads:
        t.start()
    return threads


def run_moonmotion_listen(vc, args):
    """Moonmotion with --listen and 20 browsers watching (issue 14: the page must not slow the run)."""
    port = free_port()
    stop = threading.Event()
    counts = collections.Counter()
    started = threading.Event()

    def watch():
        # The server is up once the port answers; then the browsers start.
        while not stop.is_set():
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/api/status" % port, timeout=1).read()
                break
            except Exception:
                stop.wait(0.05)
        if not stop.is_set():
            started.set()
            browsers(port, stop, counts)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = run_moonmotion(vc, args, extra=["--listen", "127.0.0.1:%d" % port])
    finally:
        stop.set()
    result["watchers"] = dict(counts)
    sys.stderr.write("moonmotion --listen: 20 watchers: %s\n" % dict(counts))
    return result


def run_powercli(vc, args):
    code, wall, cpu, rss, out, err = run_process(
        [sys.executable, os.path.join(REPO, "scripts", "bench", "peers", "powercli_style.py"),
         "--url", vc.url, "--user", vc.username, "--password", vc.password, "--control", vc.control_url,
         "--speed", str(args.speed)],
        args.deadline)
    if code != 0:
        sys.stderr.write("powercli_style.py exited %s:\n%s\n%s\n" % (code, out[-3000:], err[-3000:]))
    return {"wall": wall, "cpu": cpu, "rss": rss, "exit": code}


PEERS = {"moonmotion": ("Moonmotion (storage-migration.lua)", run_moonmotion),
         "moonmotion-listen": ("Moonmotion --listen, 20 watchers", run_moonmotion_listen),
         "powercli": ("PowerCLI-style (pyVmomi)", run_powercli)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moonmotion", required=True, help="the moonmotion binary (release build)")
    ap.add_argument("--clusters", type=int, default=3)
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--vms", type=int, default=60, help="VMs per cluster")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=100, help="Storage vMotion MB/s (simulated)")
    ap.add_argument("--speed", type=float, default=100, help="simulated seconds per real second")
    ap.add_argument("--setup", type=float, default=0, help="setup seconds per Storage vMotion (-svmotion-setup-seconds)")
    ap.add_argument("--deadline", type=float, default=3600, help="real seconds before a peer is killed")
    ap.add_argument("--peers", default="moonmotion,powercli")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = ap.parse_args()
    args.moonmotion = os.path.abspath(args.moonmotion)

    flags = dict(clusters=args.clusters, hosts=args.hosts, vms=args.vms, seed=args.seed, rate_mbps=args.rate,
                 speed=args.speed, svmotion_setup_seconds=args.setup)
    slots = max(1, args.hosts // 2)
    rows = []
    for key in args.peers.split(","):
        label, runner = PEERS[key]
        with vcsim.start(**flags) as vc:
            bound, nvms, total = lower_bound(vc, args.rate, args.setup, lambda c: slots)
            cpu0 = vc.cpu_seconds()
            proc = runner(vc, args)
            fig = server_figures(vc, nvms)
            fig.update(proc)
            fig.update(peer=label, bound=bound, vms=nvms, total_bytes=total, server_cpu=vc.cpu_seconds() - cpu0)
            rows.append(fig)

    print("Migration benchmark: %d clusters x %d hosts x %d VMs (%d VMs, %.1f TiB), %.0f MB/s per Storage vMotion, "
          "%d slots per cluster (hosts/2), 2 per host; test vCenter at %gx, seed %d; %d core(s)"
          % (args.clusters, args.hosts, args.vms, rows[0]["vms"] if rows else 0,
             (rows[0]["total_bytes"] / 2**40) if rows else 0, args.rate, slots, args.speed, args.seed, os.cpu_count()))
    if rows:
        print("lower bound: %.0f simulated s (max over clusters of sum(copy time) / slots, or the longest copy)" % rows[0]["bound"])
    head = ("peer", "makespan s", "x bound", "moved", "twice", "failed", "vMotions", "queued", "over lim",
            "SOAP", "calls/VM", "CPU s", "RSS MB", "wall s", "server CPU")
    print("%-36s %10s %7s %6s %5s %6s %8s %6s %8s %6s %8s %6s %6s %7s %10s" % head)
    for r in rows:
        print("%-36s %10.0f %7.3f %6d %5d %6d %8d %6d %8d %6d %8.2f %6.2f %6.0f %7.1f %10.2f" % (
            r["peer"], r["makespan"], r["makespan"] / r["bound"] if r["bound"] else 0, r["moved"], r["moved_twice"],
            r["failed_tasks"], r["vmotions"], r["limit_queued"], len(r["over_limit"]), r["soap_calls"],
            r["soap_calls"] / max(1, r["moved"]), r["cpu"], r["rss"], r["wall"], r["server_cpu"]))
    for r in rows:
        print("  %s SOAP calls: %s" % (r["peer"], ", ".join("%s %d" % kv for kv in sorted(r["calls"].items(), key=lambda kv: -kv[1]))))
    print("goal (issue 5): makespan <= 1.02 x bound, 0 queued by a limit, <= 3 SOAP calls per VM")
    if args.json:
        print(json.dumps(rows))
    bad = [r for r in rows if r["exit"] != 0 or r["moved"] != r["vms"] or r["moved_twice"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
