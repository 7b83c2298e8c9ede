#!/usr/bin/env python3
"""The pyVmomi side of the inventory benchmark: the best-practice equivalent of
Moonmotion's VM retrieval — one ContainerView over the root folder, one
RetrievePropertiesEx with a TraversalSpec (ContinueRetrievePropertiesEx while a
token comes back), the same properties, DestroyView — with the results turned into
plain per-VM dicts. Prints one JSON line like the Swift side.

Both read each VM's files as Moonmotion does: its home (config.files.vmPathName), its
disks and images (config.hardware.device), the bytes each disk's chain occupies
(layoutEx.file / layoutEx.disk), Fault Tolerance, connection and VMware Tools state.

With --whole it is the peer of the `moonmotion inventory --json` command instead: the same
object types and properties (datacenters, folders, clusters, resource pools and datastore
clusters in one view; hosts with their vMotion network; datastores with their cluster; VMs
with their files), references resolved to names, and the whole document written as JSON on
stdout."""
import argparse, json, ssl, sys, time, resource

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim, vmodl

VM_PATHS = ["name", "runtime.host", "runtime.powerState", "runtime.consolidationNeeded", "datastore",
            "resourcePool", "summary.storage.committed", "summary.storage.uncommitted",
            "summary.config.memorySizeMB", "config.template", "snapshot",
            "config.files.vmPathName", "config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo",
            "runtime.connectionState", "guest.toolsRunningStatus"]

RDM = vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo
SPARSE = (vim.vm.device.VirtualDisk.SparseVer2BackingInfo, vim.vm.device.VirtualDisk.SparseVer1BackingInfo,
          vim.vm.device.VirtualDisk.SeSparseBackingInfo)
IMAGES = (vim.vm.device.VirtualCdrom.IsoBackingInfo, vim.vm.device.VirtualFloppy.ImageBackingInfo)


def ds_name(path):
    """`[legacy-01] vm/vm.vmx` -> `legacy-01`."""
    if path and path.startswith("[") and "]" in path:
        return path[1:path.index("]")] or None
    return None


def vm_files(p, names):
    """A VM's home, disks (with the bytes their layoutEx chains occupy) and images, as Moonmotion
    reads them (InventoryDecoding+Files.swift): the same rules, so both sides do the same work."""
    disks, media = [], []
    for d in p.get("config.hardware.device") or []:
        b = d.backing
        label = d.deviceInfo.label if d.deviceInfo else ""
        if isinstance(d, vim.vm.device.VirtualDisk):
            if isinstance(b, RDM):
                kind = "rdm_virtual" if b.compatibilityMode == "virtualMode" else "rdm_physical"
            else:
                kind = "flat"
            thin = getattr(b, "thinProvisioned", None)
            if thin is None and isinstance(b, SPARSE):
                thin = True
            disks.append({"key": d.key, "label": label, "file": getattr(b, "fileName", ""),
                          "datastore_moref": b.datastore._moId if getattr(b, "datastore", None) else None,
                          "capacity_bytes": d.capacityInBytes or (d.capacityInKB or 0) * 1024, "backing": kind,
                          "thin": bool(thin), "eager_scrub": bool(getattr(b, "eagerlyScrub", False)),
                          "sharing": getattr(b, "sharing", None) or None, "mode": getattr(b, "diskMode", None) or "persistent"})
        elif isinstance(d, (vim.vm.device.VirtualCdrom, vim.vm.device.VirtualFloppy)) and isinstance(b, IMAGES) and b.fileName:
            media.append({"key": d.key, "label": label, "file": b.fileName,
                          "datastore_moref": b.datastore._moId if b.datastore else None})
    files = {f.key: (f.type, f.size or 0) for f in p.get("layoutEx.file") or []}
    chains = {l.key: [list(u.fileKey) for u in l.chain or []] for l in p.get("layoutEx.disk") or []}
    claimed = set()
    for disk in disks:
        units = chains.get(disk["key"])
        if not files or units is None:
            disk["used_bytes"] = disk["capacity_bytes"]
            continue
        used, counted = 0, set()
        for level, unit in enumerate(units):
            for k in unit:
                claimed.add(k)
                if k in counted or k not in files:
                    continue
                counted.add(k)
                if level == 0 and disk["backing"] != "flat" and files[k][0] == "diskExtent" and files[k][1] >= disk["capacity_bytes"]:
                    continue
                used += files[k][1]
        disk["used_bytes"] = used
    config_bytes = sum(size for k, (_, size) in files.items() if k not in claimed)
    # The home: [name] among the VM's own datastores (names repeat across datacenters).
    path = p.get("config.files.vmPathName") or ""
    home, want = None, ds_name(path)
    if want:
        for f in disks + media:
            if f["datastore_moref"] and ds_name(f["file"]) == want:
                home = f["datastore_moref"]
                break
        if home is None:
            own = [d._moId for d in p.get("datastore", []) if names.get(d._moId) == want]
            if len(own) == 1:
                home = own[0]
    ft = p.get("config.ftInfo")
    return {"vm_path": path or None, "config_datastore_moref": home, "config_bytes": config_bytes if disks else None,
            "disks": disks, "media": media, "fault_tolerance_role": ft.role if ft else None,
            "connection_state": p.get("runtime.connectionState"), "tools_running_status": p.get("guest.toolsRunningStatus")}


def flatten(snapshots, parent, out):
    for s in snapshots or []:
        out.append({"moref": s.snapshot._moId, "name": s.name, "create_time": s.createTime, "parent": parent})
        flatten(s.childSnapshotList, s.snapshot._moId, out)
    return out


HOST_PATHS = ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode",
              "config.network.pnic", "config.network.vswitch", "config.network.portgroup",
              "config.network.proxySwitch", "config.virtualNicManagerInfo.netConfig"]
DS_PATHS = ["summary.name", "summary.capacity", "summary.freeSpace", "summary.type", "summary.accessible", "host", "parent"]
POD_PATHS = ["name", "childEntity", "podStorageDrsEntry.storageDrsConfig.podConfig.enabled", "summary.capacity", "summary.freeSpace"]


def retrieve(pc, content, specs):
    """{moref: (type, {path: value})} for every object of the specs' types, through one ContainerView."""
    types = [t for t, _ in specs]
    view = content.viewManager.CreateContainerView(content.rootFolder, types, True)
    traversal = vmodl.query.PropertyCollector.TraversalSpec(name="traverseView", type=vim.view.ContainerView, path="view", skip=False)
    obj_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
    props = [vmodl.query.PropertyCollector.PropertySpec(type=t, all=False, pathSet=paths) for t, paths in specs]
    filter_spec = vmodl.query.PropertyCollector.FilterSpec(objectSet=[obj_spec], propSet=props)
    out = {}
    result = pc.RetrievePropertiesEx([filter_spec], vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=5000))
    while result is not None:
        for obj in result.objects:
            out[obj.obj._moId] = (type(obj.obj).__name__, {p.name: p.val for p in obj.propSet})
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    view.Destroy()
    return out


def retrieve_refs(pc, refs, kind, paths):
    """{moref: (type, {path: value})} for the objects refs, one ObjectSpec each."""
    objs = [vmodl.query.PropertyCollector.ObjectSpec(obj=r, skip=False) for r in refs]
    prop = vmodl.query.PropertyCollector.PropertySpec(type=kind, all=False, pathSet=paths)
    result = pc.RetrievePropertiesEx([vmodl.query.PropertyCollector.FilterSpec(objectSet=objs, propSet=[prop])],
                                     vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=5000))
    out = {}
    while result is not None:
        for obj in result.objects:
            out[obj.obj._moId] = (type(obj.obj).__name__, {p.name: p.val for p in obj.propSet})
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    return out


def whole(content):
    """The whole inventory as one JSON-ready document, like `moonmotion inventory --json`."""
    pc = content.propertyCollector
    structure = retrieve(pc, content, [(vim.Datacenter, ["name"]), (vim.Folder, ["parent"]),
                                       (vim.ClusterComputeResource, ["name", "parent", "host"]),
                                       (vim.ResourcePool, ["name", "owner", "parent"]), (vim.StoragePod, POD_PATHS)])
    hosts = retrieve(pc, content, [(vim.HostSystem, HOST_PATHS)])
    stores = retrieve(pc, content, [(vim.Datastore, DS_PATHS)])
    # govmomi's simulator does not walk a view into a datastore cluster: read the members it missed.
    missed = {c._moId: c for m, (t, p) in structure.items() if t.endswith("StoragePod") for c in p.get("childEntity", [])
              if c._moId not in stores}
    if missed:
        stores.update(retrieve_refs(pc, list(missed.values()), vim.Datastore, DS_PATHS))
    vms = retrieve(pc, content, [(vim.VirtualMachine, VM_PATHS)])
    name = lambda ref: (structure.get(ref) or hosts.get(ref) or stores.get(ref) or ({}, {}))[1].get("name")
    ds_names = {m: p["summary.name"] for m, (t, p) in stores.items()}
    pods = {m: p for m, (t, p) in structure.items() if t.endswith("StoragePod")}
    clusters = {m: p for m, (t, p) in structure.items() if t.endswith("ClusterComputeResource")}
    cluster_of = {h._moId: c for c, p in clusters.items() for h in p.get("host", [])}

    def datacenter(ref):
        while ref in structure and not structure[ref][0].endswith("Datacenter"):
            parent = structure[ref][1].get("parent")
            ref = parent._moId if parent else None
        return ref

    def link_mbps(p):
        speeds = [n.linkSpeed.speedMb for n in (p.get("config.network.pnic") or []) if n.linkSpeed]
        return max(speeds) if speeds else None

    doc = {
        "datacenters": [{"name": p["name"], "moref": m} for m, (t, p) in structure.items() if t.endswith("Datacenter")],
        "clusters": [{"name": p["name"], "moref": m, "datacenter": name(datacenter(p["parent"]._moId)),
                      "hosts": [hosts[h._moId][1]["name"] for h in p.get("host", [])]} for m, p in clusters.items()],
        "resource_pools": [{"name": p["name"], "moref": m, "owner_moref": p["owner"]._moId, "parent_moref": p["parent"]._moId}
                           for m, (t, p) in structure.items() if t.endswith("ResourcePool")],
        "hosts": [{"name": p["name"], "moref": m, "cluster": clusters.get(cluster_of.get(m), {}).get("name"),
                   "cluster_moref": cluster_of.get(m), "connection_state": p.get("runtime.connectionState"),
                   "in_maintenance_mode": p.get("runtime.inMaintenanceMode"), "vmotion_link_speed_mbps": link_mbps(p)}
                  for m, (t, p) in hosts.items()],
        "datastores": [{"name": p["summary.name"], "moref": m, "capacity_bytes": p["summary.capacity"],
                        "free_bytes": p["summary.freeSpace"], "type": p.get("summary.type"),
                        "accessible": p.get("summary.accessible"),
                        "hosts": [hosts[h.key._moId][1]["name"] for h in p.get("host", []) if h.key._moId in hosts],
                        "host_morefs": [h.key._moId for h in p.get("host", [])],
                        "datastore_cluster_moref": p["parent"]._moId if p.get("parent") and p["parent"]._moId in pods else None,
                        "datastore_cluster": pods[p["parent"]._moId]["name"] if p.get("parent") and p["parent"]._moId in pods else None}
                       for m, (t, p) in stores.items()],
        "datastore_clusters": [{"name": p["name"], "moref": m, "datastore_morefs": [c._moId for c in p.get("childEntity", [])],
                                "datastores": [ds_names.get(c._moId) for c in p.get("childEntity", [])],
                                "sdrs_enabled": p.get("podStorageDrsEntry.storageDrsConfig.podConfig.enabled", False),
                                "capacity_bytes": p.get("summary.capacity", 0), "free_bytes": p.get("summary.freeSpace", 0)}
                               for m, p in pods.items()],
        "vms": [],
    }
    for m, (t, p) in vms.items():
        host = p["runtime.host"]._moId if p.get("runtime.host") else None
        snap = p.get("snapshot")
        doc["vms"].append({
            "name": p.get("name"), "moref": m, "host": name(host), "host_moref": host,
            "cluster": clusters.get(cluster_of.get(host), {}).get("name"), "cluster_moref": cluster_of.get(host),
            "resource_pool": name(p["resourcePool"]._moId) if p.get("resourcePool") else None,
            "datastores": [stores[d._moId][1]["summary.name"] for d in p.get("datastore", []) if d._moId in stores],
            "datastore_morefs": [d._moId for d in p.get("datastore", [])],
            "committed_bytes": p.get("summary.storage.committed", 0),
            "uncommitted_bytes": p.get("summary.storage.uncommitted", 0),
            "memory_mb": p.get("summary.config.memorySizeMB", 0), "power_state": p.get("runtime.powerState"),
            "template": p.get("config.template", False), "consolidation_needed": p.get("runtime.consolidationNeeded", False),
            "snapshots": flatten(snap.rootSnapshotList, None, []) if snap else [],
        })
        files = vm_files(p, ds_names)
        for f in files["disks"] + files["media"]:
            f["datastore"] = ds_names.get(f["datastore_moref"])
        files["config_datastore"] = ds_names.get(files["config_datastore_moref"])
        doc["vms"][-1].update(files)
    per_store = {}
    for vm in doc["vms"]:
        for d in vm["datastore_morefs"]:
            count, committed = per_store.get(d, (0, 0))
            per_store[d] = (count + 1, committed + vm["committed_bytes"])
    for ds in doc["datastores"]:
        ds["vm_count"], ds["committed_bytes"] = per_store.get(ds["moref"], (0, 0))
    return doc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--username", default="user")
    p.add_argument("--password", default="pass")
    p.add_argument("--http", action="store_true", help="plain HTTP (the test vCenter's default)")
    p.add_argument("--whole", action="store_true", help="the whole inventory as one JSON document on stdout")
    a = p.parse_args()

    kw = dict(host=a.host, port=a.port, user=a.username, pwd=a.password)
    if a.http:
        kw["protocol"] = "http"
    else:
        kw["disableSslCertValidation"] = True
    si = SmartConnect(**kw)
    content = si.RetrieveContent()
    if a.whole:
        json.dump(whole(content), sys.stdout, default=str, sort_keys=True)
        sys.stdout.write("\n")
        Disconnect(si)
        return 0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    start = time.perf_counter()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    traversal = vmodl.query.PropertyCollector.TraversalSpec(name="traverseView", type=vim.view.ContainerView, path="view", skip=False)
    obj_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
    prop_spec = vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, all=False, pathSet=VM_PATHS)
    filter_spec = vmodl.query.PropertyCollector.FilterSpec(objectSet=[obj_spec], propSet=[prop_spec])
    pc = content.propertyCollector
    result = pc.RetrievePropertiesEx([filter_spec], vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=5000))
    vms = []
    while result is not None:
        for obj in result.objects:
            props = {p.name: p.val for p in obj.propSet}
            snap = props.get("snapshot")
            vms.append({
                "moref": obj.obj._moId, "name": props.get("name"),
                "host": props["runtime.host"]._moId if props.get("runtime.host") else None,
                "power_state": props.get("runtime.powerState"),
                "consolidation_needed": props.get("runtime.consolidationNeeded", False),
                "datastores": [d._moId for d in props.get("datastore", [])],
                "resource_pool": props["resourcePool"]._moId if props.get("resourcePool") else None,
                "committed_bytes": props.get("summary.storage.committed", 0),
                "uncommitted_bytes": props.get("summary.storage.uncommitted", 0),
                "memory_mb": props.get("summary.config.memorySizeMB", 0),
                "template": props.get("config.template", False),
                "snapshots": flatten(snap.rootSnapshotList, None, []) if snap else [],
            })
            vms[-1].update(vm_files(props, {}))
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    view.Destroy()
    seconds = time.perf_counter() - start

    committed = sum(v["committed_bytes"] for v in vms)
    disks = sum(len(v["disks"]) for v in vms)
    used = sum(d["used_bytes"] for v in vms for d in v["disks"])
    Disconnect(si)
    print(json.dumps({"tool": "pyvmomi", "mode": "vms", "vms": len(vms), "committed_bytes": committed, "disks": disks, "disk_used_bytes": used,
                      "seconds": seconds, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "rss_before_kib": rss_before}))


if __name__ == "__main__":
    sys.exit(main())
