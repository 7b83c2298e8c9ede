#!/usr/bin/env python3
"""The classic PowerCLI mass Storage vMotion script, redone in pyVmomi: the peer Moonmotion's
migration engine is measured against (issue 5's benchmark).

What the 900-line PowerCLI scripts do, kept faithful:
  * one worker per cluster (PowerCLI: one PowerShell process per cluster; here: a thread with
    its own vCenter session, as each process must log in on its own);
  * VMs on the `from` datastores, largest first;
  * at most hosts/2 Storage vMotions per cluster and 2 per host, tracked in a host-state table;
  * `Move-VM -RunAsync` -> RelocateVM_Task; the task table (task id -> VM) is polled with one
    Get-Task-style call every 15 simulated seconds;
  * when the next VM's host already runs 2, the classic pro-active vMotion: move the VM
    synchronously (Move-VM without -RunAsync) to the cluster's least busy host first;
  * the target datastore is the `to` datastore with the most free space, reserving what is in
    flight.

Prints one JSON line: makespan (simulated seconds), VMs moved, failures, SOAP calls counted
at the test vCenter, the script's CPU seconds and peak RSS.

    python3 scripts/bench/peers/powercli_style.py --url http://127.0.0.1:PORT/sdk \
        --user user --password pass --control http://127.0.0.1:PORT/_mm --speed 100
"""
import argparse
import fnmatch
import json
import resource
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim, vmodl

POLL_SIM_SECONDS = 15.0


def connect(url, user, password):
    u = urllib.parse.urlparse(url)
    kwargs = dict(host=u.hostname, port=u.port or (443 if u.scheme == "https" else 80), user=user, pwd=password)
    if u.scheme == "http":
        kwargs["protocol"] = "http"
    else:
        kwargs["disableSslCertValidation"] = True
    return SmartConnect(**kwargs)


def retrieve(si, obj_type, props):
    """ContainerView + RetrievePropertiesEx (+ Continue), the best-practice bulk read."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [obj_type], True)
    try:
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(
                obj=view, skip=True,
                selectSet=[vmodl.query.PropertyCollector.TraversalSpec(name="t", type=vim.view.ContainerView, path="view", skip=False)])],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=obj_type, pathSet=props)])
        pc = content.propertyCollector
        result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
        out = []
        while result:
            for oc in result.objects:
                out.append((oc.obj, {p.name: p.val for p in (oc.propSet or [])}))
            result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
        return out
    finally:
        view.DestroyView()


class ClusterWorker(threading.Thread):
    """One cluster's migration loop, with its own session like a PowerCLI process."""

    def __init__(self, args, cluster_name, host_ids, jobs, targets, lock, results):
        super().__init__(name="worker-" + cluster_name, daemon=True)
        self.args, self.cluster_name, self.host_ids = args, cluster_name, host_ids
        self.jobs = jobs            # [(vm_id, vm_name, host_id, committed)] largest first
        self.targets = targets      # shared {ds_id: free bytes}, reserved under lock
        self.lock, self.results = lock, results
        self.slots = max(1, len(host_ids) // 2)
        self.poll = POLL_SIM_SECONDS / args.speed

    def pick_target(self, size):
        with self.lock:
            ds_id = max(self.targets, key=lambda d: self.targets[d])
            self.targets[ds_id] -= size
            return ds_id

    def run(self):
        si = connect(self.args.url, self.args.user, self.args.password)
        try:
            self.loop(si)
        finally:
            Disconnect(si)

    def loop(self, si):
        stub = si._stub
        vm_of = lambda i: vim.VirtualMachine(i, stub)
        host_of = lambda i: vim.HostSystem(i, stub)
        ds_of = lambda i: vim.Datastore(i, stub)
        host_running = {h: 0 for h in self.host_ids}     # the host-state table
        vm_host = {j[0]: j[2] for j in self.jobs}
        queue = list(self.jobs)
        running = {}                                       # task id -> (task, vm id, host id)
        moved = failed = vmotions = 0
        pc = si.RetrieveContent().propertyCollector
        while queue or running:
            # Dispatch while the cluster has slots.
            while queue and len(running) < self.slots:
                idx = next((i for i, j in enumerate(queue) if host_running[vm_host[j[0]]] < 2), None)
                if idx is None:
                    # Every queued VM sits on a full host: pro-active vMotion of the next one.
                    vm_id, name, _, size = queue[0]
                    free = [h for h in self.host_ids if host_running[h] < 2]
                    if not free:
                        break
                    dest = min(free, key=lambda h: host_running[h])
                    t = vm_of(vm_id).MigrateVM_Task(host=host_of(dest), priority="defaultPriority")
                    while t.info.state not in ("success", "error"):   # Move-VM (synchronous)
                        time.sleep(self.poll)
                    vmotions += 1
                    if t.info.state == "success":
                        vm_host[vm_id] = dest
                    idx = 0
                    if host_running[vm_host[vm_id]] >= 2:
                        continue
                vm_id, name, _, size = queue.pop(idx)
                host = vm_host[vm_id]
                spec = vim.vm.RelocateSpec(datastore=ds_of(self.pick_target(size)))
                task = vm_of(vm_id).RelocateVM_Task(spec=spec, priority="defaultPriority")
                running[task._moId] = (task, vm_id, host)
                host_running[host] += 1
            if not running:
                if queue:
                    time.sleep(self.poll)
                continue
            time.sleep(self.poll)
            # Get-Task: one call for the whole task table.
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=t) for (t, _, _) in running.values()],
                propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=["info.state"])])
            res = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
            for oc in (res.objects if res else []):
                state = oc.propSet[0].val if oc.propSet else None
                if state in ("success", "error"):
                    _, vm_id, host = running.pop(oc.obj._moId)
                    host_running[host] -= 1
                    if state == "success":
                        moved += 1
                    else:
                        failed += 1
        with self.lock:
            self.results.append({"cluster": self.cluster_name, "moved": moved, "failed": failed, "vmotions": vmotions})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--control", required=True, help="the test vCenter's control URL (for counting SOAP calls)")
    ap.add_argument("--speed", type=float, default=1.0, help="the test vCenter's time compression")
    ap.add_argument("--from", dest="src", default="legacy-*")
    ap.add_argument("--to", dest="dst", default="new-*")
    args = ap.parse_args()

    def control(path, method="GET"):
        req = urllib.request.Request(args.control + "/" + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    control("reset-stats", "POST")
    start_wall = time.time()
    si = connect(args.url, args.user, args.password)
    hosts = retrieve(si, vim.HostSystem, ["name", "parent"])
    dss = retrieve(si, vim.Datastore, ["summary.name", "summary.freeSpace"])
    vms = retrieve(si, vim.VirtualMachine, ["name", "runtime.host", "datastore", "summary.storage.committed"])
    Disconnect(si)

    src = {d._moId for d, p in dss if fnmatch.fnmatch(p["summary.name"], args.src)}
    targets = {d._moId: p["summary.freeSpace"] for d, p in dss if fnmatch.fnmatch(p["summary.name"], args.dst)}
    cluster_hosts = {}
    host_cluster = {}
    for h, p in hosts:
        c = p["parent"]._moId
        cluster_hosts.setdefault(c, []).append(h._moId)
        host_cluster[h._moId] = c
    per_cluster = {}
    for v, p in vms:
        if any(d._moId in src for d in p.get("datastore", [])):
            h = p["runtime.host"]._moId
            per_cluster.setdefault(host_cluster[h], []).append((v._moId, p["name"], h, p["summary.storage.committed"]))
    lock, results = threading.Lock(), []
    workers = [ClusterWorker(args, c, cluster_hosts[c], sorted(j, key=lambda x: -x[3]), targets, lock, results)
               for c, j in per_cluster.items()]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.time() - start_wall

    stats = control("stats")
    relocations = [t for t in stats.get("tasks", []) if t["method"] == "RelocateVM_Task"]
    first = min((t["created_sim"] for t in relocations), default=0)
    last = max((t.get("completed_sim") or 0 for t in relocations), default=0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "peer": "powercli-style (pyVmomi)",
        "vms": sum(len(j) for j in per_cluster.values()),
        "moved": sum(r["moved"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "proactive_vmotions": sum(r["vmotions"] for r in results),
        "makespan_sim_s": round(last - first, 1),
        "wall_s": round(wall, 2),
        "soap_calls": stats.get("soap_calls_total"),
        "limit_queued": stats.get("limit_queued_total"),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    sys.exit(main())
