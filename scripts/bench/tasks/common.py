"""What the Python peers of the live-task benchmark share: connecting, reading VMs and target
datastores in bulk (ContainerView + RetrievePropertiesEx), zeroing the server's counters, and
starting the relocations."""
import urllib.parse
import urllib.request

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim, vmodl


def add_arguments(p):
    p.add_argument("--url", required=True)
    p.add_argument("--user", default="user")
    p.add_argument("--password", default="pass")
    p.add_argument("--control", required=True, help="the test vCenter's control URL")
    p.add_argument("--n", type=int, required=True, help="relocations to start")
    p.add_argument("--out", required=True, help="detections, one JSON line per task")


def connect(url, user, password):
    u = urllib.parse.urlparse(url)
    kwargs = dict(host=u.hostname, port=u.port or (443 if u.scheme == "https" else 80), user=user, pwd=password)
    if u.scheme == "http":
        kwargs["protocol"] = "http"
    else:
        kwargs["disableSslCertValidation"] = True
    return SmartConnect(**kwargs)


def disconnect(si):
    try:
        Disconnect(si)
    except Exception:
        pass


def _retrieve(si, obj_type, props):
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
        objects = []
        while result:
            objects += result.objects
            result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
        return [(o.obj, {p.name: p.val for p in o.propSet}) for o in objects]
    finally:
        view.DestroyView()


def vms_and_targets(si, n):
    """The first n VMs by name and the new-* datastores."""
    vms = sorted(_retrieve(si, vim.VirtualMachine, ["name"]), key=lambda o: o[1]["name"])
    targets = sorted((o for o in _retrieve(si, vim.Datastore, ["name"]) if o[1]["name"].startswith("new-")),
                     key=lambda o: o[1]["name"])
    if len(vms) < n:
        raise SystemExit("the server has %d VMs, the benchmark needs %d" % (len(vms), n))
    return [v[0] for v in vms[:n]], [t[0] for t in targets]


def reset_stats(control):
    urllib.request.urlopen(urllib.request.Request(control + "/reset-stats", data=b"", method="POST"), timeout=30).read()


def start_relocations(vms, targets, n):
    """RelocateVM_Task for each VM, one after the other (as a script's loop does)."""
    tasks = []
    for i, vm in enumerate(vms[:n]):
        spec = vim.vm.RelocateSpec(datastore=targets[(i + 1) % len(targets)])
        tasks.append(vm.RelocateVM_Task(spec))
    return tasks
