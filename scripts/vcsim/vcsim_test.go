package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// One in-process server for the whole test binary (govmomi's simulator is a singleton).
var srv *Server

const testInstanceUUID = "5a1c0de0-0000-4000-8000-00000000c0de"

func TestMain(m *testing.M) {
	if os.Getenv("VCSIM_TEST_SUBPROCESS") == "1" {
		main() // run as the real command (used by TestReadyLineAndStdinEOF)
		os.Exit(0)
	}
	log.SetOutput(io.Discard)
	cfg := defaultConfig()
	cfg.Clusters, cfg.Hosts, cfg.VMs = 2, 4, 16
	cfg.Datastores = "legacy:2,new:2"
	cfg.Speed = 2000
	cfg.SnapshotFraction, cfg.ConsolidateFraction = 0.5, 0.5
	cfg.InstanceUUID = testInstanceUUID
	cfg.VMotionLinkMbps = 1000
	s, err := startServer(cfg, func(string, ...interface{}) {})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test server:", err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

func login(t *testing.T) *vim25.Client {
	t.Helper()
	ctx := context.Background()
	u, _ := url.Parse(srv.URL)
	c, err := vim25.NewClient(ctx, soap.NewClient(u, true))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := session.NewManager(c).Login(ctx, url.UserPassword("user", "pass")); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func vmRef(t *testing.T, name string) types.ManagedObjectReference {
	t.Helper()
	vm := srv.world.vmByName[name]
	if vm == nil {
		t.Fatalf("no VM %s", name)
	}
	return vm.Self
}

func vmMO(t *testing.T, c *vim25.Client, name string) mo.VirtualMachine {
	t.Helper()
	var v mo.VirtualMachine
	err := property.DefaultCollector(c).RetrieveOne(context.Background(), vmRef(t, name),
		[]string{"name", "datastore", "runtime", "summary", "snapshot", "recentTask", "resourcePool"}, &v)
	if err != nil {
		t.Fatalf("retrieve %s: %v", name, err)
	}
	return v
}

func taskInfo(t *testing.T, c *vim25.Client, task types.ManagedObjectReference) types.TaskInfo {
	t.Helper()
	var m mo.Task
	if err := property.DefaultCollector(c).RetrieveOne(context.Background(), task, []string{"info"}, &m); err != nil {
		t.Fatalf("retrieve %s: %v", task, err)
	}
	return m.Info
}

// waitTask polls a task until it ends (polling keeps this test independent of
// WaitForUpdatesEx, which TestListViewFilterSeesCompletion covers).
func waitTask(t *testing.T, c *vim25.Client, task types.ManagedObjectReference, timeout time.Duration) types.TaskInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		info := taskInfo(t, c, task)
		if info.State == types.TaskInfoStateSuccess || info.State == types.TaskInfoStateError {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s after %v", task, info.State, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func control(t *testing.T, method, path string, body interface{}) map[string]interface{} {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.ControlURL+"/"+path, r)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]interface{}
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, res.StatusCode, data)
	}
	_ = json.Unmarshal(data, &out)
	return out
}

func setSpeed(t *testing.T, speed float64) {
	t.Helper()
	control(t, "POST", "config", map[string]interface{}{"speed": speed})
	t.Cleanup(func() { control(t, "POST", "config", map[string]interface{}{"speed": 2000}) })
}

func dsRef(name string) types.ManagedObjectReference { return srv.world.dsByName[name] }
func hostRef(name string) types.ManagedObjectReference {
	return srv.world.hostByName[name]
}

func relocate(t *testing.T, c *vim25.Client, vm string, spec types.VirtualMachineRelocateSpec) types.ManagedObjectReference {
	t.Helper()
	task, err := object.NewVirtualMachine(c, vmRef(t, vm)).Relocate(context.Background(), spec, types.VirtualMachineMovePriorityDefaultPriority)
	if err != nil {
		t.Fatalf("RelocateVM_Task %s: %v", vm, err)
	}
	return task.Reference()
}

func TestLoginRejectsWrongPassword(t *testing.T) {
	ctx := context.Background()
	u, _ := url.Parse(srv.URL)
	c, err := vim25.NewClient(ctx, soap.NewClient(u, true))
	if err != nil {
		t.Fatal(err)
	}
	err = session.NewManager(c).Login(ctx, url.UserPassword("user", "wrong"))
	if err == nil || !strings.Contains(err.Error(), "InvalidLogin") && !strings.Contains(err.Error(), "Login failure") {
		t.Fatalf("wrong password: got %v, want InvalidLogin", err)
	}
}

func TestRelocateStorageMovesVMAndSpace(t *testing.T) {
	c := login(t)
	ctx := context.Background()
	before := vmMO(t, c, "vm-c1-0002")
	from := before.Datastore[0]
	committed := before.Summary.Storage.Committed
	var dsBefore, dsAfter mo.Datastore
	_ = property.DefaultCollector(c).RetrieveOne(ctx, dsRef("new-02"), []string{"summary"}, &dsBefore)

	task := relocate(t, c, "vm-c1-0002", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-02"))})
	info := waitTask(t, c, task, 30*time.Second)
	if info.State != types.TaskInfoStateSuccess {
		t.Fatalf("task ended %s: %+v", info.State, info.Error)
	}
	if info.Name != "RelocateVM_Task" || info.DescriptionId != "VirtualMachine.relocate" || info.EntityName != "vm-c1-0002" || info.Cancelable {
		t.Errorf("task info: name=%q descriptionId=%q entityName=%q cancelable=%v (a finished task is not cancelable)", info.Name, info.DescriptionId, info.EntityName, info.Cancelable)
	}
	if info.StartTime == nil || info.CompleteTime == nil || info.StartTime.Before(info.QueueTime) || info.CompleteTime.Before(*info.StartTime) {
		t.Errorf("task times out of order: queue %v start %v complete %v", info.QueueTime, info.StartTime, info.CompleteTime)
	}
	wantSec := float64(committed) / (100 * mib)
	if got := info.CompleteTime.Sub(*info.StartTime).Seconds(); got < wantSec*0.99 || got > wantSec*1.01+1 {
		t.Errorf("simulated duration %.1fs, want %.1fs (committed/rate)", got, wantSec)
	}
	after := vmMO(t, c, "vm-c1-0002")
	if len(after.Datastore) != 1 || after.Datastore[0] != dsRef("new-02") {
		t.Errorf("datastore after relocation: %v, want new-02", after.Datastore)
	}
	if !strings.HasPrefix(after.Summary.Config.VmPathName, "[new-02]") {
		t.Errorf("vmPathName %q not on new-02", after.Summary.Config.VmPathName)
	}
	if len(after.RecentTask) == 0 || after.RecentTask[len(after.RecentTask)-1] != task {
		t.Errorf("VM recentTask %v lacks %v", after.RecentTask, task)
	}
	_ = property.DefaultCollector(c).RetrieveOne(ctx, dsRef("new-02"), []string{"summary"}, &dsAfter)
	if dsBefore.Summary.FreeSpace-dsAfter.Summary.FreeSpace != committed {
		t.Errorf("new-02 free space went %d -> %d, want -%d", dsBefore.Summary.FreeSpace, dsAfter.Summary.FreeSpace, committed)
	}
	st := srv.eng.stats(false)
	if st.Moves["vm-c1-0002"] != 1 {
		t.Errorf("moves of vm-c1-0002 = %d, want 1", st.Moves["vm-c1-0002"])
	}
	if st.Copies["vm-c1-0002"] != 1 || st.HostMoves != 0 {
		t.Errorf("copies of vm-c1-0002 = %d, host moves %d; want 1 and 0", st.Copies["vm-c1-0002"], st.HostMoves)
	}
	_ = from
}

func ptr(r types.ManagedObjectReference) *types.ManagedObjectReference { return &r }

func TestHostLimitQueuesThirdStorageVMotion(t *testing.T) {
	c := login(t)
	setSpeed(t, 200)
	// vm-c2-0001, -0005, -0009 are all on esx-c2-01 (round robin over 4 hosts).
	names := []string{"vm-c2-0001", "vm-c2-0005", "vm-c2-0009"}
	for _, n := range names {
		if h := *srv.world.vmByName[n].Runtime.Host; h != hostRef("esx-c2-01") {
			t.Fatalf("%s is on %s, not esx-c2-01", n, srv.world.hostName[h])
		}
	}
	var tasks []types.ManagedObjectReference
	for i, n := range names {
		tasks = append(tasks, relocate(t, c, n, types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef(fmt.Sprintf("new-0%d", i%2+1)))}))
	}
	time.Sleep(100 * time.Millisecond)
	states := map[types.TaskInfoState]int{}
	for _, task := range tasks {
		states[taskInfo(t, c, task).State]++
	}
	if states[types.TaskInfoStateRunning] != 2 || states[types.TaskInfoStateQueued] != 1 {
		t.Errorf("with host cost 4 per svMotion and limit 8, want 2 running + 1 queued, got %v", states)
	}
	control(t, "POST", "config", map[string]interface{}{"speed": 5000})
	for _, task := range tasks {
		if info := waitTask(t, c, task, 60*time.Second); info.State != types.TaskInfoStateSuccess {
			t.Errorf("%v ended %s", task, info.State)
		}
	}
	st := srv.eng.stats(true)
	h := st.Hosts["esx-c2-01"]
	if h.MaxCost > h.Limit || h.MaxCost != 8 || h.LimitQueued < 1 {
		t.Errorf("esx-c2-01 accounting: max_cost %d (limit %d), limit_queued %d; want 8, >=1", h.MaxCost, h.Limit, h.LimitQueued)
	}
	found := false
	for _, tj := range st.Tasks {
		if tj.ID == tasks[2].Value && len(tj.QueuedBy) > 0 && tj.QueuedBy[0] == "host esx-c2-01" {
			found = true
		}
	}
	if !found {
		t.Errorf("the third task does not say it was queued by host esx-c2-01")
	}
}

func TestCancelRunningTaskLeavesVMInPlace(t *testing.T) {
	c := login(t)
	setSpeed(t, 1)
	before := vmMO(t, c, "vm-c1-0003")
	task := relocate(t, c, "vm-c1-0003", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))})
	time.Sleep(50 * time.Millisecond)
	if s := taskInfo(t, c, task).State; s != types.TaskInfoStateRunning {
		t.Fatalf("task is %s, want running", s)
	}
	if _, err := methods.CancelTask(context.Background(), c, &types.CancelTask{This: task}); err != nil {
		t.Fatalf("CancelTask: %v", err)
	}
	info := taskInfo(t, c, task)
	if info.State != types.TaskInfoStateError || info.Error == nil {
		t.Fatalf("after cancel: %s %+v", info.State, info.Error)
	}
	if _, ok := info.Error.Fault.(*types.RequestCanceled); !ok {
		t.Errorf("fault %T, want RequestCanceled", info.Error.Fault)
	}
	if after := vmMO(t, c, "vm-c1-0003"); after.Datastore[0] != before.Datastore[0] {
		t.Errorf("canceled relocation moved the VM to %v", after.Datastore)
	}
	if _, err := methods.CancelTask(context.Background(), c, &types.CancelTask{This: task}); err == nil {
		t.Errorf("canceling a finished task succeeded; want InvalidState")
	}
	if st := srv.eng.stats(false); st.Hosts[srv.world.hostName[*before.Runtime.Host]].Cost != 0 {
		t.Errorf("the canceled task still holds host cost")
	}
}

func TestBusyVMGetsTaskInProgress(t *testing.T) {
	c := login(t)
	setSpeed(t, 20)
	t1 := relocate(t, c, "vm-c1-0004", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))})
	t2 := relocate(t, c, "vm-c1-0004", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-02"))})
	info := waitTask(t, c, t2, 10*time.Second)
	if _, ok := info.Error.Fault.(*types.TaskInProgress); info.State != types.TaskInfoStateError || !ok {
		t.Errorf("second task on a busy VM: %s %+v, want TaskInProgress", info.State, info.Error)
	}
	_, _ = methods.CancelTask(context.Background(), c, &types.CancelTask{This: t1})
}

func TestInjectedTaskFaultAndEvery(t *testing.T) {
	c := login(t)
	control(t, "POST", "faults", map[string]interface{}{"target": "task", "vm": "vm-c1-0006", "fault": "FileLocked"})
	task := relocate(t, c, "vm-c1-0006", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))})
	info := waitTask(t, c, task, 30*time.Second)
	if _, ok := info.Error.Fault.(*types.FileLocked); info.State != types.TaskInfoStateError || !ok || !strings.Contains(info.Error.LocalizedMessage, "locked") {
		t.Fatalf("want FileLocked error, got %s %+v", info.State, info.Error)
	}
	// the rule was for one task: the retry succeeds
	if info := waitTask(t, c, relocate(t, c, "vm-c1-0006", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}), 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Fatalf("retry after a one-shot fault: %s %+v", info.State, info.Error)
	}
	control(t, "POST", "faults", map[string]interface{}{"target": "task", "method": "RelocateVM_Task", "every": 2, "count": -1, "fault": "InvalidState"})
	defer control(t, "DELETE", "faults", nil)
	var failed int
	for _, n := range []string{"vm-c1-0007", "vm-c1-0008", "vm-c1-0010", "vm-c1-0011"} {
		info := waitTask(t, c, relocate(t, c, n, types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-02"))}), 30*time.Second)
		if info.State == types.TaskInfoStateError {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("every 2nd of 4 tasks should fail: %d failed", failed)
	}
}

func TestSOAPFaultAndDelayInjection(t *testing.T) {
	c := login(t)
	ctx := context.Background()
	control(t, "POST", "faults", map[string]interface{}{"target": "soap", "method": "CurrentTime", "fault": "InvalidState", "count": 2})
	for i := 0; i < 2; i++ {
		if _, err := methods.GetCurrentTime(ctx, c); err == nil {
			t.Fatalf("call %d: want an injected fault", i+1)
		}
	}
	if _, err := methods.GetCurrentTime(ctx, c); err != nil {
		t.Fatalf("third call: %v", err)
	}
	// "every": only each 3rd matching call gets the fault.
	control(t, "POST", "faults", map[string]interface{}{"target": "soap", "method": "CurrentTime", "fault": "InvalidState", "every": 3, "count": -1})
	failed := 0
	for i := 0; i < 9; i++ {
		if _, err := methods.GetCurrentTime(ctx, c); err != nil {
			failed++
		}
	}
	if failed != 3 {
		t.Errorf("every 3rd of 9 calls should fail: %d failed", failed)
	}
	control(t, "DELETE", "faults", nil)
	control(t, "POST", "faults", map[string]interface{}{"target": "soap", "method": "CurrentTime", "delay_seconds": 0.3})
	t0 := time.Now()
	if _, err := methods.GetCurrentTime(ctx, c); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Errorf("delayed call took %v, want >= 300ms", d)
	}
}

func TestTerminateSessionsThenReLogin(t *testing.T) {
	c := login(t)
	ctx := context.Background()
	if _, err := methods.GetCurrentTime(ctx, c); err != nil {
		t.Fatal(err)
	}
	control(t, "POST", "terminate-sessions", nil)
	_, err := methods.GetCurrentTime(ctx, c)
	if err == nil || !soap.IsSoapFault(err) {
		t.Fatalf("after terminate: %v, want a SOAP fault", err)
	}
	if _, ok := soap.ToSoapFault(err).VimFault().(types.NotAuthenticated); !ok {
		t.Errorf("fault %#v, want NotAuthenticated", soap.ToSoapFault(err).VimFault())
	}
	if err := session.NewManager(c).Login(ctx, url.UserPassword("user", "pass")); err != nil {
		t.Fatalf("re-login: %v", err)
	}
	if _, err := methods.GetCurrentTime(ctx, c); err != nil {
		t.Fatalf("after re-login: %v", err)
	}
}

func TestInvalidTargetsAreFaults(t *testing.T) {
	c := login(t)
	vm := object.NewVirtualMachine(c, vmRef(t, "vm-c1-0012"))
	bogus := types.ManagedObjectReference{Type: "Datastore", Value: "datastore-nope"}
	if _, err := vm.Relocate(context.Background(), types.VirtualMachineRelocateSpec{Datastore: &bogus}, ""); err == nil {
		t.Errorf("relocation to a missing datastore succeeded")
	}
	h := hostRef("esx-c1-01")
	if _, err := vm.Relocate(context.Background(), types.VirtualMachineRelocateSpec{Datastore: &h}, ""); err == nil {
		t.Errorf("relocation to a host given as datastore succeeded")
	}
}

func TestMigrateConsolidateAndSnapshots(t *testing.T) {
	c := login(t)
	ctx := context.Background()
	vmName := "vm-c2-0002"
	before := vmMO(t, c, vmName)
	dst := hostRef("esx-c2-04")
	req := types.MigrateVM_Task{This: vmRef(t, vmName), Host: &dst, Priority: types.VirtualMachineMovePriorityDefaultPriority}
	res, err := methods.MigrateVM_Task(ctx, c, &req)
	if err != nil {
		t.Fatalf("MigrateVM_Task: %v", err)
	}
	if info := waitTask(t, c, res.Returnval, 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Fatalf("migrate: %s %+v", info.State, info.Error)
	}
	after := vmMO(t, c, vmName)
	if *after.Runtime.Host != dst || *after.Summary.Runtime.Host != dst || after.Datastore[0] != before.Datastore[0] {
		t.Errorf("after vMotion: host %v datastore %v", after.Runtime.Host, after.Datastore)
	}

	// find VMs with snapshots / needing consolidation
	var snapVM, consVM string
	for name, vm := range srv.world.vmByName {
		if vm.Snapshot != nil && snapVM == "" && srv.eng.busy[vm.Self] == nil {
			snapVM = name
		}
		if vm.Runtime.ConsolidationNeeded != nil && *vm.Runtime.ConsolidationNeeded && consVM == "" {
			consVM = name
		}
	}
	if snapVM == "" || consVM == "" {
		t.Fatalf("the generated inventory lacks a VM with snapshots (%q) or one needing consolidation (%q)", snapVM, consVM)
	}
	cres, err := methods.ConsolidateVMDisks_Task(ctx, c, &types.ConsolidateVMDisks_Task{This: vmRef(t, consVM)})
	if err != nil {
		t.Fatal(err)
	}
	if info := waitTask(t, c, cres.Returnval, 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Fatalf("consolidate: %s", info.State)
	}
	if v := vmMO(t, c, consVM); *v.Runtime.ConsolidationNeeded {
		t.Errorf("consolidationNeeded still true after ConsolidateVMDisks_Task")
	}

	sv := vmMO(t, c, snapVM)
	n := len(allSnapshots(sv.Snapshot.RootSnapshotList))
	cur := *sv.Snapshot.CurrentSnapshot
	rres, err := methods.RemoveSnapshot_Task(ctx, c, &types.RemoveSnapshot_Task{This: cur, RemoveChildren: false})
	if err != nil {
		t.Fatal(err)
	}
	if info := waitTask(t, c, rres.Returnval, 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Fatalf("remove snapshot: %s %+v", info.State, info.Error)
	}
	sv = vmMO(t, c, snapVM)
	left := 0
	if sv.Snapshot != nil {
		left = len(allSnapshots(sv.Snapshot.RootSnapshotList))
	}
	if left != n-1 {
		t.Errorf("after RemoveSnapshot_Task: %d snapshots, want %d", left, n-1)
	}
	ares, err := methods.RemoveAllSnapshots_Task(ctx, c, &types.RemoveAllSnapshots_Task{This: vmRef(t, snapVM)})
	if err != nil {
		t.Fatal(err)
	}
	if info := waitTask(t, c, ares.Returnval, 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Fatalf("remove all snapshots: %s", info.State)
	}
	if sv = vmMO(t, c, snapVM); sv.Snapshot != nil {
		t.Errorf("snapshots left after RemoveAllSnapshots_Task: %+v", sv.Snapshot)
	}
}

// TestListViewFilterSeesCompletion watches tasks the way Moonmotion's poller does: a private
// PropertyCollector, a ListView of tasks, one filter, WaitForUpdatesEx.
func TestListViewFilterSeesCompletion(t *testing.T) {
	c := login(t)
	ctx := context.Background()
	setSpeed(t, 500)
	var tasks []types.ManagedObjectReference
	for _, n := range []string{"vm-c2-0003", "vm-c2-0006", "vm-c2-0007"} {
		tasks = append(tasks, relocate(t, c, n, types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}))
	}
	pc, err := property.DefaultCollector(c).Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy(ctx)
	lv, err := methods.CreateListView(ctx, c, &types.CreateListView{This: *c.ServiceContent.ViewManager, Obj: tasks})
	if err != nil {
		t.Fatal(err)
	}
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: lv.Returnval, Skip: types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ListView", Path: "view"}}}},
		PropSet: []types.PropertySpec{{Type: "Task", PathSet: []string{"info.state", "info.progress"}}},
	}
	if err := pc.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	done := map[types.ManagedObjectReference]bool{}
	version := ""
	deadline := time.Now().Add(60 * time.Second)
	for len(done) < len(tasks) && time.Now().Before(deadline) {
		wait := int32(2)
		res, err := methods.WaitForUpdatesEx(ctx, c, &types.WaitForUpdatesEx{This: pc.Reference(), Version: version,
			Options: &types.WaitOptions{MaxWaitSeconds: &wait}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Returnval == nil {
			continue
		}
		version = res.Returnval.Version
		for _, fs := range res.Returnval.FilterSet {
			for _, ou := range fs.ObjectSet {
				for _, ch := range ou.ChangeSet {
					if ch.Name == "info.state" && (ch.Val == types.TaskInfoStateSuccess || ch.Val == types.TaskInfoStateError) {
						done[ou.Obj] = true
					}
				}
			}
		}
	}
	if len(done) != len(tasks) {
		t.Fatalf("WaitForUpdatesEx reported %d of %d completions", len(done), len(tasks))
	}
}

// TestReadyLineAndStdinEOF runs the command as a child: one JSON line on stdout, HTTPS with
// the announced thumbprint, and exit when stdin closes.
func TestReadyLineAndStdinEOF(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-clusters", "1", "-hosts", "2", "-vms", "3", "-tls")
	cmd.Env = append(os.Environ(), "VCSIM_TEST_SUBPROCESS=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v; stderr: %s", err, stderr.String())
	}
	var ready Ready
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	if !strings.HasPrefix(ready.URL, "https://127.0.0.1:") || !strings.HasSuffix(ready.URL, "/sdk") || ready.PID != cmd.Process.Pid ||
		!strings.HasPrefix(ready.Control, "http://127.0.0.1:") || ready.Username != "user" || ready.Password != "pass" {
		t.Errorf("ready line: %+v", ready)
	}
	u, _ := url.Parse(ready.URL)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	conn.Close()
	if got := colonHex(sum[:]); got != ready.ThumbprintSHA256 {
		t.Errorf("presented certificate %s, announced %s", got, ready.ThumbprintSHA256)
	}
	res, err := http.Get(ready.Control + "/stats?tasks=0")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("plain HTTP control endpoint on the TLS port: %v %v", err, res)
	}
	res.Body.Close()
	stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("did not exit after stdin EOF")
	}
}

func TestLoadInventoryPlan(t *testing.T) {
	doc := `{"datacenters":[{"name":"DC-A","moref":"datacenter-1"}],
 "clusters":[{"name":"prod","moref":"domain-c1","hosts":["h1","h2"]}],
 "hosts":[{"name":"h1","moref":"host-1","cluster":"prod"},{"name":"h2","moref":"host-2","cluster":"prod"},{"name":"solo","moref":"host-3"}],
 "datastores":[{"name":"old-ds","moref":"datastore-1","capacity_bytes":1000,"free_bytes":400,"hosts":["h1","h2","solo"]}],
 "vms":[{"name":"db-01","moref":"vm-1","host":"h1","datastores":["old-ds"],"committed_bytes":600,"memory_mb":8192,
         "snapshots":[{"name":"b","moref":"s2","create_time":"2026-10-02T10:00:00Z"},{"name":"a","moref":"s1","create_time":"2026-10-01T10:00:00Z"}],
         "consolidation_needed":true,"power_state":"poweredOff"}]}`
	f, _ := os.CreateTemp(t.TempDir(), "inv-*.json")
	f.WriteString(doc)
	f.Close()
	p, err := loadInventoryPlan(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	dc := p.Datacenters[0]
	if dc.Name != "DC-A" || len(dc.Clusters) != 1 || len(dc.Clusters[0].Hosts) != 2 || len(dc.Standalone) != 1 || dc.Standalone[0] != "solo" {
		t.Errorf("datacenter/clusters/hosts: %+v", dc)
	}
	vm := dc.VMs[0]
	if vm.Cluster != "prod" || vm.Host != "h1" || vm.Committed != 600 || vm.MemoryMB != 8192 || vm.PoweredOn || !vm.Consolidate ||
		len(vm.Snapshots) != 2 || vm.Snapshots[0].Name != "a" {
		t.Errorf("VM: %+v", vm)
	}
	if dc.Datastores[0].FreeBytes != 400 || len(dc.Datastores[0].Hosts) != 3 {
		t.Errorf("datastore: %+v", dc.Datastores[0])
	}
	bad := strings.Replace(doc, `"datastores":["old-ds"]`, `"datastores":["nope"]`, 1)
	os.WriteFile(f.Name(), []byte(bad), 0o644)
	if _, err := loadInventoryPlan(f.Name()); err == nil || !strings.Contains(err.Error(), "unknown datastore \"nope\"") {
		t.Errorf("unknown datastore: %v", err)
	}
}

func TestGeneratedSizesAreDeterministicAndRealistic(t *testing.T) {
	cfg := defaultConfig()
	cfg.Clusters, cfg.VMs = 4, 500
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := generatePlan(&cfg, now)
	b, _ := generatePlan(&cfg, now)
	var total, min, max int64
	min = 1 << 62
	for i, vm := range a.Datacenters[0].VMs {
		if vm.Name != b.Datacenters[0].VMs[i].Name || vm.Committed != b.Datacenters[0].VMs[i].Committed || vm.MemoryMB != b.Datacenters[0].VMs[i].MemoryMB {
			t.Fatalf("same seed, different VM %d", i)
		}
		total += vm.Committed
		if vm.Committed < min {
			min = vm.Committed
		}
		if vm.Committed > max {
			max = vm.Committed
		}
		if !strings.HasPrefix(vm.Datastores[0], "legacy-") {
			t.Fatalf("%s starts on %s, not a legacy datastore", vm.Name, vm.Datastores[0])
		}
	}
	mean := float64(total) / 2000 / float64(gib)
	if mean < 120 || mean > 220 || min < 10*gib || max > 2048*gib {
		t.Errorf("sizes: mean %.0f GiB, min %d GiB, max %d GiB", mean, min/gib, max/gib)
	}
	for _, ds := range a.Datacenters[0].Datastores {
		if ds.FreeBytes < 0 || ds.FreeBytes > ds.CapacityBytes {
			t.Errorf("datastore %s: free %d of %d", ds.Name, ds.FreeBytes, ds.CapacityBytes)
		}
	}
}

func TestInstanceUUIDAndVMotionLink(t *testing.T) {
	c := login(t)
	if got := c.ServiceContent.About.InstanceUuid; got != testInstanceUUID {
		t.Errorf("about.instanceUuid = %q, want %q", got, testInstanceUUID)
	}
	var hosts []mo.HostSystem
	pc := property.DefaultCollector(c)
	var refs []types.ManagedObjectReference
	for h := range srv.world.hostName {
		refs = append(refs, h)
	}
	if err := pc.Retrieve(context.Background(), refs, []string{"config.network.pnic", "config.virtualNicManagerInfo.netConfig"}, &hosts); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.Config == nil || h.Config.Network == nil || len(h.Config.Network.Pnic) == 0 {
			t.Fatalf("%s: no config.network.pnic", h.Self.Value)
		}
		for _, p := range h.Config.Network.Pnic {
			if p.LinkSpeed == nil || p.LinkSpeed.SpeedMb != 1000 {
				t.Errorf("%s %s: link speed %+v, want 1000 Mb/s", h.Self.Value, p.Device, p.LinkSpeed)
			}
		}
		selected := false
		for _, nc := range h.Config.VirtualNicManagerInfo.NetConfig {
			if nc.NicType == "vmotion" && len(nc.SelectedVnic) == 1 && nc.SelectedVnic[0] == vmotionVnicKey {
				selected = true
			}
		}
		if !selected {
			t.Errorf("%s: vmk0 not selected for vMotion", h.Self.Value)
		}
	}
}

func TestDroppedConnectionAfterTheCall(t *testing.T) {
	c := login(t)
	setSpeed(t, 20)
	before := len(srv.eng.stats(true).Tasks)
	control(t, "POST", "faults", map[string]interface{}{"target": "soap", "method": "RelocateVM_Task", "drop": "after"})
	_, err := object.NewVirtualMachine(c, vmRef(t, "vm-c2-0003")).Relocate(context.Background(),
		types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}, types.VirtualMachineMovePriorityDefaultPriority)
	if err == nil {
		t.Fatal("RelocateVM_Task answered; want the connection dropped")
	}
	if n := len(srv.eng.stats(true).Tasks); n != before+1 {
		t.Errorf("tasks: %d, want %d (the call was handled before the drop)", n, before+1)
	}
	// "before" drops the call unhandled.
	control(t, "POST", "faults", map[string]interface{}{"target": "soap", "method": "CurrentTime", "drop": "before"})
	c2 := login(t)
	if _, err := methods.GetCurrentTime(context.Background(), c2); err == nil {
		t.Error("CurrentTime answered; want the connection dropped")
	}
	if _, err := methods.GetCurrentTime(context.Background(), c2); err != nil {
		t.Errorf("the next call: %v", err)
	}
	for _, task := range srv.eng.stats(true).Tasks {
		if task.VM == "vm-c2-0003" && (task.State == "running" || task.State == "queued") {
			_, _ = methods.CancelTask(context.Background(), c, &types.CancelTask{This: types.ManagedObjectReference{Type: "Task", Value: task.ID}})
		}
	}
}
