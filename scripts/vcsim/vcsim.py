"""Start and stop Moonmotion's test vCenter (scripts/vcsim) from Python benchmark scripts.

    import sys; sys.path.insert(0, "scripts/vcsim")
    import vcsim
    with vcsim.start(clusters=3, hosts=8, vms=60, speed=100, tls=True) as vc:
        print(vc.url, vc.thumbprint_sha256)
        # ... pyVmomi: SmartConnect(host=vc.host, port=vc.port, user=vc.username, pwd=vc.password, ...)
        print(vc.stats()["soap_calls_total"])

Every keyword of start() is a server flag with '_' for '-' (see `vcsim -help`):
clusters=3 -> -clusters 3, rate_mbps=200 -> -rate-mbps 200, tls=True -> -tls,
fail_methods=["RelocateVM_Task"] -> -fail-methods RelocateVM_Task. A few names differ:
inventory_file -> -inventory, ds_capacity_gb -> -ds-capacity-gb. Repeatable flags take a list, one
flag per item: array=["old=legacy-*:400:knee=4", "new=new-*:800"] -> -array ... -array ...;
slow_datastore=["new-03:0.5"]. extra_args=[...] appends raw flags.

The server's stdin is a pipe held by this process: if the script dies, the server exits.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

_built = None
_build_lock = threading.Lock()

_FLAG_NAMES = {"inventory_file": "inventory"}
# Flags given once per value (a list becomes one flag per item, not a comma list).
_REPEATED = {"array", "slow_datastore"}


class VCSimError(RuntimeError):
    """The test vCenter could not be built, started or reached."""


def build():
    """Runs build.sh once per process (a no-op when the binary is up to date); returns the binary path."""
    global _built
    with _build_lock:
        if _built and os.access(_built, os.X_OK):
            return _built
        p = subprocess.run(["bash", os.path.join(HERE, "build.sh")], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise VCSimError("scripts/vcsim/build.sh failed (exit %d):\n%s%s" % (p.returncode, p.stderr, p.stdout))
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        if not lines or not os.access(lines[-1], os.X_OK):
            raise VCSimError("build.sh printed no binary path:\n%s%s" % (p.stdout, p.stderr))
        _built = lines[-1]
        return _built


def flags(**opts):
    """The command-line flags for start()'s keywords."""
    args = []
    extra = opts.pop("extra_args", None) or []
    for key, value in opts.items():
        if value is None:
            continue
        flag = "-" + _FLAG_NAMES.get(key, key).replace("_", "-")
        if isinstance(value, bool):
            args.append("%s=%s" % (flag, "true" if value else "false"))
        elif isinstance(value, (list, tuple)) and key in _REPEATED:
            for v in value:
                args += [flag, str(v)]
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, str(value)]
    return args + list(extra)


class TestVCenter:
    """A running test vCenter. Use start() to get one; stop() or a with-block ends it."""

    def __init__(self, proc, ready, stderr_lines):
        self._proc = proc
        self._stderr = stderr_lines
        self.ready = ready
        self.url = ready["url"]
        self.username = ready["username"]
        self.password = ready["password"]
        self.thumbprint_sha1 = ready["thumbprint_sha1"]
        self.thumbprint_sha256 = ready["thumbprint_sha256"]
        self.control_url = ready["control"]
        self.pid = ready["pid"]
        self.startup_seconds = ready.get("startup_seconds")
        u = urllib.parse.urlparse(self.url)
        self.host, self.port, self.scheme = u.hostname, u.port, u.scheme

    # -- control endpoint --------------------------------------------------------------
    def _control(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_url + "/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise VCSimError("%s %s: HTTP %d: %s" % (method, path, e.code, e.read().decode(errors="replace")))
        except OSError as e:
            raise VCSimError("%s %s: %s%s" % (method, path, e, "" if self.running else " (the server has exited)"))

    def stats(self, tasks=True, files=True):
        """GET /_mm/stats: soap_calls, hosts, datastores, tasks, moves, file_moves, bytes_moved,
        file_copies, sim_now, ..."""
        query = [q for q, on in (("tasks=0", not tasks), ("files=0", not files)) if on]
        return self._control("GET", "stats" + ("?" + "&".join(query) if query else ""))

    def reset_stats(self):
        return self._control("POST", "reset-stats")

    def vms(self, *names):
        """GET /_mm/vms: each VM's files now (home, disks, ISO images) and every datastore's
        and datastore cluster's space; only the VMs named, if any."""
        query = "&".join("vm=" + urllib.parse.quote(n) for n in names)
        return self._control("GET", "vms" + ("?" + query if query else ""))

    def set_host_state(self, host, connection_state=None, in_maintenance_mode=None):
        """POST /_mm/host-state: runtime.connectionState and/or runtime.inMaintenanceMode of a host."""
        body = {"host": host}
        if connection_state is not None:
            body["connection_state"] = connection_state
        if in_maintenance_mode is not None:
            body["in_maintenance_mode"] = in_maintenance_mode
        return self._control("POST", "host-state", body)

    def terminate_sessions(self):
        return self._control("POST", "terminate-sessions")

    def inject_fault(self, **rule):
        """POST /_mm/faults, e.g. inject_fault(target="task", vm="vm-c1-0001", fault="FileLocked")."""
        return self._control("POST", "faults", rule)

    def clear_faults(self):
        return self._control("DELETE", "faults")

    def set_config(self, **change):
        """POST /_mm/config, e.g. set_config(speed=50, rate_mbps=200)."""
        return self._control("POST", "config", change)

    def config(self):
        return self._control("GET", "config")

    # -- process -----------------------------------------------------------------------
    @property
    def running(self):
        return self._proc.poll() is None

    @property
    def stderr_text(self):
        return "".join(self._stderr)

    def cpu_seconds(self):
        """User+system CPU seconds the server has used so far (Linux /proc)."""
        with open("/proc/%d/stat" % self._proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def stop(self):
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass


def start(startup_timeout=180, echo_stderr=False, **opts):
    """Builds if needed, starts the server with opts as flags, waits for its ready line."""
    binary = build()
    args = [binary] + flags(**opts)
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    stderr_lines = []

    def drain():
        for line in proc.stderr:
            stderr_lines.append(line)
            if len(stderr_lines) > 5000:
                del stderr_lines[:1000]
            if echo_stderr:
                sys.stderr.write(line)

    threading.Thread(target=drain, daemon=True).start()
    result = {}

    def read_line():
        result["line"] = proc.stdout.readline()

    reader = threading.Thread(target=read_line, daemon=True)
    reader.start()
    reader.join(startup_timeout)
    line = result.get("line")
    if not line:
        why = "no ready line within %ss" % startup_timeout if reader.is_alive() else "it exited before its ready line"
        proc.kill()
        proc.wait()
        time.sleep(0.1)
        raise VCSimError("test vCenter did not start: %s (%s)\n--- its stderr ---\n%s"
                         % (why, " ".join(args), "".join(stderr_lines)))
    try:
        ready = json.loads(line)
    except ValueError:
        proc.kill()
        raise VCSimError("unexpected ready line: %r" % line)
    return TestVCenter(proc, ready, stderr_lines)


if __name__ == "__main__":
    # Smoke test: python3 scripts/vcsim/vcsim.py [flags as key=value ...]
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=", 1)
        kw[k] = {"true": True, "false": False}.get(v.lower(), v)
    with start(**kw) as vc:
        print(json.dumps(vc.ready))
        s = vc.stats(tasks=False)
        print("hosts:", len(s["hosts"]), "datastores:", len(s["datastores"]))
