#!/usr/bin/env python3
"""Orchestrates the inventory benchmark (see run.sh): starts the test vCenter with the
chosen topology, runs Moonmotion's and pyVmomi's VM retrieval alternately, reads the
server's own time for each RetrievePropertiesEx from the test vCenter's stats, captures
the same response bytes and times `xmllint --stream` on them, then prints a table.
Every request goes to the loopback test vCenter only; runs are bounded in number."""
import argparse, http.client, json, os, re, statistics, subprocess, sys, tempfile, time, urllib.request

VM_PATHS = ["name", "runtime.host", "runtime.powerState", "runtime.consolidationNeeded", "datastore",
            "resourcePool", "summary.storage.committed", "summary.storage.uncommitted",
            "summary.config.memorySizeMB", "config.template", "snapshot",
            "config.files.vmPathName", "config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo",
            "runtime.connectionState", "guest.toolsRunningStatus"]


# Runs argv[2:] and writes its wall time and rusage as JSON to the descriptor argv[1]. A fresh
# interpreter started for each measured command: Linux carries the exec'ing memory's high-water
# mark into the new program's ru_maxrss (exec_mmap), and a child spawned straight from this
# harness started from the harness's memory, which grows with every JSON document it parses
# (15 MB of JSON for 10,000 VMs with disks): three runs against one server then read 73, 91 and
# 105 MB though the command itself peaked at 72-75 MB each time. Spawned from this helper, a
# command's peak is at least the helper's ~13 MB, below any figure measured here.
SPAWNER = r"""
import json, os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
os.write(int(sys.argv[1]), json.dumps({"wall": time.perf_counter() - start, "maxrss": usage.ru_maxrss,
         "cpu": usage.ru_utime + usage.ru_stime, "code": os.waitstatus_to_exitcode(status)}).encode())
"""


def run_with_rusage(cmd, env=None, json_line=True):
    """Runs cmd to its end; returns its last JSON line (or its whole stdout), its own peak
    RSS in KiB and its wall time (both measured by SPAWNER, not inherited from this process);
    its CPU seconds (user + system) are in run_with_rusage.last_cpu."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        r, w = os.pipe()
        try:
            proc = subprocess.Popen([sys.executable, "-c", SPAWNER, str(w)] + list(cmd), stdout=out, stderr=err, env=env, pass_fds=(w,))
        finally:
            os.close(w)
        with os.fdopen(r, "rb") as report:
            measured = report.read()
        proc.wait()
        out.seek(0); err.seek(0)
        o, e = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0 or not measured:
        sys.exit(f"bench: spawning {os.path.basename(cmd[0])} failed ({proc.returncode}): {e[-2000:]}")
    m = json.loads(measured)
    if m["code"] != 0:
        sys.exit(f"bench: {os.path.basename(cmd[0])} failed ({m['code']}): {e[-2000:]}")
    run_with_rusage.last_cpu = m["cpu"]
    if not json_line:
        return o, m["maxrss"], m["wall"]
    line = [l for l in o.splitlines() if l.startswith("{")][-1]
    return json.loads(line), m["maxrss"], m["wall"]


class Control:
    def __init__(self, base):
        self.base = base

    def post(self, path):
        urllib.request.urlopen(urllib.request.Request(self.base + "/" + path, data=b"", method="POST"), timeout=60).read()

    def stats(self):
        return json.loads(urllib.request.urlopen(self.base + "/stats?tasks=0", timeout=60).read())


def envelope(body):
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' + body + '</soapenv:Body></soapenv:Envelope>').encode()


def capture_response(host, port, path, user, password, target):
    """The raw RetrievePropertiesEx response for the benchmark's VM properties, saved to target."""
    conn = http.client.HTTPConnection(host, port, timeout=300)
    cookie = None

    def call(body):
        nonlocal cookie
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:vim25/6.5"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("POST", path, envelope(body), headers)
        r = conn.getresponse()
        data = r.read()
        sc = r.getheader("Set-Cookie")
        if sc and sc.startswith("vmware_soap_session="):
            cookie = sc.split(";")[0]
        return data

    call('<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>'
         f'<userName>{user}</userName><password>{password}</password></Login>')
    view = call('<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this>'
                '<container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>')
    view_id = re.search(rb'<returnval type="ContainerView">([^<]*)<', view).group(1).decode()
    paths = "".join(f"<pathSet>{p}</pathSet>" for p in VM_PATHS)
    data = call('<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet>'
                f'<propSet><type>VirtualMachine</type><all>false</all>{paths}</propSet>'
                f'<objectSet><obj type="ContainerView">{view_id}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec">'
                '<name>traverse</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet>'
                '</specSet><options><maxObjects>5000</maxObjects></options></RetrievePropertiesEx>')
    call(f'<DestroyView xmlns="urn:vim25"><_this type="ContainerView">{view_id}</_this></DestroyView>')
    call('<Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout>')
    with open(target, "wb") as f:
        f.write(data)
    return len(data)


def print_command_only(cmd, runs, binary):
    """The command's figures alone: what comparing two builds of moonmotion needs."""
    wall = statistics.median(r["wall"] for r in cmd)
    rss = max(r["rss"] for r in cmd) / 1024
    cpu = statistics.median(r["cpu"] for r in cmd)
    print()
    print(f"{binary}")
    print(f"  moonmotion inventory --json: {cmd[0]['vms']} VMs, median wall {wall:.3f} s and CPU {cpu:.2f} s of {runs},"
          f" peak RSS {rss:.0f} MB (max), {cmd[0]['calls']} SOAP calls, {cmd[0]['bytes'] / 1e6:.1f} MB of JSON")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vcsim", required=True)
    p.add_argument("--swift-bench", help="the inventory-bench binary (VSphereSOAP retrieval); not needed with --command-only")
    p.add_argument("--moonmotion", required=True, help="the moonmotion binary (release) whose `inventory --json` is timed")
    p.add_argument("--pyvmomi", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clusters", type=int, default=10)
    p.add_argument("--hosts", type=int, default=16)
    p.add_argument("--vms", type=int, default=1000, help="VMs per cluster")
    p.add_argument("--vcsim-arg", action="append", default=[],
                   help="a further flag for the test vCenter, repeatable: --vcsim-arg=-disks --vcsim-arg=1-4")
    p.add_argument("--command-only", action="store_true",
                   help="time only `moonmotion inventory --json` (to compare two moonmotion binaries; no pyVmomi, no library rows)")
    a = p.parse_args()
    if not a.command_only and not a.swift_bench:
        p.error("--swift-bench is required unless --command-only")
    runs = max(1, min(a.runs, 10))

    server = subprocess.Popen([a.vcsim, "-clusters", str(a.clusters), "-hosts", str(a.hosts), "-vms", str(a.vms)] + a.vcsim_arg,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready = json.loads(server.stdout.readline())
        url, user, password = ready["url"], ready["username"], ready["password"]
        m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        control = Control(ready["control"])
        flags = (" " + " ".join(a.vcsim_arg)) if a.vcsim_arg else ""
        print(f"test vCenter: {ready['vms']} VMs ({a.clusters} clusters × {a.hosts} hosts × {a.vms} VMs{flags}), started in {ready.get('startup_seconds', 0):.1f} s")

        swift, py = [], []
        for i in range(0 if a.command_only else runs):
            for tool, out in (("moonmotion", swift), ("pyvmomi", py)):
                control.post("reset-stats")
                if tool == "moonmotion":
                    res, rss, wall = run_with_rusage([a.swift_bench, "--url", url, "--username", user, "--password", password])
                else:
                    res, rss, wall = run_with_rusage([sys.executable, a.pyvmomi, "--host", host, "--port", str(port),
                                                      "--username", user, "--password", password, "--http"])
                st = control.stats()["soap_calls"].get("RetrievePropertiesEx", {})
                res.update(process_peak_rss_kib=rss, process_wall=wall, server_seconds=st.get("seconds", 0.0))
                out.append(res)
                print(f"  run {i + 1} {tool:10s} {res['vms']} VMs  retrieval {res['seconds']:.3f} s  server {res['server_seconds']:.3f} s"
                      f"  process {wall:.2f} s, peak RSS {rss / 1024:.0f} MB")
        # The command itself, end to end: `moonmotion inventory --json` (the whole inventory:
        # datacenters, clusters, hosts, datastores, VMs, JSON written) as a process.
        env = dict(os.environ, GOVC_URL=url, GOVC_USERNAME=user, GOVC_PASSWORD=password, MOONMOTION_INSECURE_HTTP="1")  # the loopback test vCenter serves plain HTTP
        cmd = []
        for i in range(runs):
            control.post("reset-stats")
            doc, rss, wall = run_with_rusage([a.moonmotion, "inventory", "--json"], env=env, json_line=False)
            st = control.stats()
            calls = st["soap_calls_total"]
            # The server's own time in its calls, summed (parallel reads overlap: may exceed wall).
            server_s = sum(m.get("seconds", 0.0) for m in st.get("soap_calls", {}).values())
            n = len(json.loads(doc)["vms"])
            cpu = run_with_rusage.last_cpu
            cmd.append({"wall": wall, "rss": rss, "cpu": cpu, "calls": calls, "vms": n, "bytes": len(doc), "server": server_s})
            print(f"  run {i + 1} moonmotion inventory --json: {n} VMs, {len(doc) / 1e6:.1f} MB of JSON in {wall:.2f} s"
                  f" (CPU {cpu:.2f} s), peak RSS {rss / 1024:.0f} MB, {calls} SOAP calls, server {server_s:.2f} s in them")
        if a.command_only:
            print_command_only(cmd, runs, a.moonmotion)
            return
        # Its pyVmomi peer: the same object types and properties, names resolved, JSON written.
        pycmd = []
        for i in range(runs):
            control.post("reset-stats")
            doc, rss, wall = run_with_rusage([sys.executable, a.pyvmomi, "--host", host, "--port", str(port),
                                              "--username", user, "--password", password, "--http", "--whole"], json_line=False)
            calls = control.stats()["soap_calls_total"]
            n = len(json.loads(doc)["vms"])
            pycmd.append({"wall": wall, "rss": rss, "calls": calls, "vms": n, "bytes": len(doc)})
            print(f"  run {i + 1} pyVmomi whole inventory as JSON: {n} VMs, {len(doc) / 1e6:.1f} MB of JSON in {wall:.2f} s,"
                  f" peak RSS {rss / 1024:.0f} MB, {calls} SOAP calls")
        control.post("reset-stats")
        full, full_rss, _ = run_with_rusage([a.swift_bench, "--url", url, "--username", user, "--password", password, "--mode", "full"])
        full_calls = control.stats()["soap_calls_total"]
        print(f"  moonmotion whole inventory (datacenters, clusters, hosts, datastores, VMs): {full['seconds']:.3f} s,"
              f" {full_calls} SOAP calls, peak RSS {full_rss / 1024:.0f} MB")
        keys = ("vms", "committed_bytes", "disks", "disk_used_bytes")
        if any(swift[0].get(k) != py[0].get(k) for k in keys):
            print("WARNING: results differ: " + ", ".join(f"{k} moonmotion {swift[0].get(k)} pyvmomi {py[0].get(k)}" for k in keys))

        with tempfile.TemporaryDirectory() as tmp:
            xml = os.path.join(tmp, "vms.xml")
            size = capture_response(host, port, path, user, password, xml)
            xt = []
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run(["xmllint", "--stream", "--noout", xml], check=True)
                xt.append(time.perf_counter() - t)
            reader, _, _ = run_with_rusage([a.swift_bench, "--parse", xml])
    finally:
        server.stdin.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    med = lambda rs, k: statistics.median(r[k] for r in rs)
    s_t, p_t = med(swift, "seconds"), med(py, "seconds")
    s_srv = med(swift, "server_seconds")
    x_t = statistics.median(xt)
    s_rss = max(r["process_peak_rss_kib"] for r in swift) / 1024
    p_rss = max(r["process_peak_rss_kib"] for r in py) / 1024
    print()
    print(f"VM retrieval of {swift[0]['vms']} VMs, response {size / 1e6:.1f} MB, median of {runs} runs:")
    print(f"  {'':28s}{'wall s':>10s}{'peak RSS MB':>14s}")
    print(f"  {'moonmotion (VSphereSOAP)':28s}{s_t:10.3f}{s_rss:14.0f}")
    print(f"  {'pyVmomi':28s}{p_t:10.3f}{p_rss:14.0f}")
    print(f"  {'server (RetrievePropertiesEx)':28s}{s_srv:10.3f}")
    print(f"  {'xmllint --stream':28s}{x_t:10.3f}")
    print(f"  {'VimXML reader alone':28s}{reader['seconds']:10.3f}   ({reader['objects']} objects, {reader['properties']} properties, from memory)")
    print()
    c_wall = statistics.median(r["wall"] for r in cmd)
    c_rss = max(r["rss"] for r in cmd) / 1024
    p_wall = statistics.median(r["wall"] for r in pycmd)
    p_cmd_rss = max(r["rss"] for r in pycmd) / 1024
    print(f"The command, end to end (process wall time, median of {runs}; peak RSS, max):")
    print(f"  {'moonmotion inventory --json':28s}{c_wall:10.3f}{c_rss:14.0f}   (whole inventory, {cmd[0]['calls']} SOAP calls, JSON written)")
    print(f"  {'pyVmomi, the same as JSON':28s}{p_wall:10.3f}{p_cmd_rss:14.0f}   (whole inventory, {pycmd[0]['calls']} SOAP calls,"
          f" interpreter start-up included)")
    print()
    ratio_cmd = c_wall / p_wall
    print(f"command: moonmotion / pyVmomi   = {ratio_cmd:.3f}   (goal <= 0.2)   {'OK' if ratio_cmd <= 0.2 else 'MISSED'}")
    print(f"command: moonmotion peak RSS    = {c_rss:.0f} MB   (goal <= 100 MB) {'OK' if c_rss <= 100 else 'MISSED'}")
    ratio_py = s_t / p_t
    ratio_floor = s_t / (s_srv + x_t)
    print(f"retrieval: moonmotion / pyVmomi = {ratio_py:.3f}   (goal <= 0.2)   {'OK' if ratio_py <= 0.2 else 'MISSED'}")
    print(f"retrieval: moonmotion / (server + xmllint) = {ratio_floor:.3f}   (goal <= 1.3)   {'OK' if ratio_floor <= 1.3 else 'MISSED'}")
    print(f"retrieval: moonmotion peak RSS  = {s_rss:.0f} MB   (goal <= 100 MB) {'OK' if s_rss <= 100 else 'MISSED'}")


if __name__ == "__main__":
    main()
