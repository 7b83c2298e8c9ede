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
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/view"
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
	cfg.Datastores = "legacy:2,flash:1,new:2"
	cfg.Pods = stringList{"new"}
	cfg.Speed = 2000
	cfg.SnapshotFraction, cfg.ConsolidateFraction = 0.5, 0.5
	cfg.InstanceUUID = testInstanceUUID
	cfg.VMotionLinkMbps = 1000
	cfg.Folders = "prod,prod/db,test"
	cfg.Attributes = stringList{"wave=1|2", "owner=fin"}
	cfg.Tags = stringList{"migration-wave=wave-1|wave-2|wave-3", "team=fin"}
	cfg.GuestOS = "windows2019srv_64Guest,rhel9_64Guest"
	p, err := generatePlan(&cfg, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "planning the test server:", err)
		os.Exit(1)
	}
	addFixtures(p, &cfg)
	s, err := startServerWithPlan(cfg, p, time.Now(), func(string, ...interface{}) {})
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
	// Nothing running anywhere first, at the fast speed: an earlier test's copy still on one of
	// the datastores would otherwise last for ever at speed 1 and hold the datastore's cost, so
	// only one of the three started (seen once in ten suite runs: 1 running + 2 queued).
	waitIdle(t)
	// Speed 1 while the states are read: each copy then lasts minutes, so none can end first
	// however slowly this machine answers (at speed 200 a loaded one saw all three succeed).
	setSpeed(t, 1)
	// vm-c2-0001, -0005, -0009 are all on esx-c2-01 (round robin over 4 hosts).
	names := []string{"vm-c2-0001", "vm-c2-0005", "vm-c2-0009"}
	for _, n := range names {
		if h := *srv.world.vmByName[n].Runtime.Host; h != hostRef("esx-c2-01") {
			t.Fatalf("%s is on %s, not esx-c2-01", n, srv.world.hostName[h])
		}
	}
	// Nothing else on the host (another test's copies end within moments at speed 2000), and
	// each VM goes to a new datastore it is not on yet (a move in place would succeed at once),
	// so that the test also passes when run again (-count).
	waitHostIdle(t, "esx-c2-01")
	var tasks []types.ManagedObjectReference
	for i, n := range names {
		target := dsRef(fmt.Sprintf("new-0%d", i%2+1))
		for _, ds := range vmMO(t, c, n).Datastore {
			if ds == target {
				target = dsRef(fmt.Sprintf("new-0%d", (i+1)%2+1))
			}
		}
		tasks = append(tasks, relocate(t, c, n, types.VirtualMachineRelocateSpec{Datastore: ptr(target)}))
	}
	// The engine's loop starts tasks after the call returns: read the states until two run,
	// at most 10 s (a bound on a stuck engine, not a wait for anything).
	var states map[types.TaskInfoState]int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		states = map[types.TaskInfoState]int{}
		for _, task := range tasks {
			states[taskInfo(t, c, task).State]++
		}
		if states[types.TaskInfoStateRunning] >= 2 || time.Now().After(deadline) {
			break
		}
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

// Two tasks the engine starts in one step each show "running" in their own TaskInfo. Go 1.19
// shares a range variable across iterations, and the start actions, which run after the
// dispatch loop, once all updated the last task of the queue: the other showed "queued" while
// it ran (TestHostLimitQueuesThirdStorageVMotion failed 7 times in 100 that way).
func TestTasksStartedInOneStepEachShowRunning(t *testing.T) {
	c := login(t)
	waitIdle(t)
	setSpeed(t, 1) // each copy lasts minutes: both are still running when read
	e := srv.eng
	names := []string{"vm-c2-0014", "vm-c2-0015"} // used by no other test
	var tasks []*mmTask
	for _, n := range names {
		vm := srv.world.vmByName[n]
		target := dsRef("new-01")
		for _, ds := range vm.Datastore {
			if ds == target {
				target = dsRef("new-02")
			}
		}
		p, fault := e.planRelocation(vm, relocRequestOf(types.VirtualMachineRelocateSpec{Datastore: ptr(target)}))
		if fault != nil {
			t.Fatalf("%s: %v", n, fault)
		}
		mt := e.newTask(nil, vm, "RelocateVM_Task", "VirtualMachine.relocate", true, false)
		mt.kind = kindRelocate
		e.planMove(mt, vm, p)
		tasks = append(tasks, mt)
	}
	// Both admitted and started in one step, taken here under the engine's lock (the loop
	// cannot step in between); its actions are applied as the loop applies them. No wait:
	// each TaskInfo must say "running" as soon as the step's actions ran.
	e.mu.Lock()
	for _, mt := range tasks {
		e.admitLocked(mt)
	}
	acts, _ := e.stepLocked(e.clock.now())
	started := tasks[0].state == string(types.TaskInfoStateRunning) && tasks[1].state == string(types.TaskInfoStateRunning)
	e.mu.Unlock()
	for _, a := range acts {
		a()
	}
	if !started {
		t.Fatalf("the engine did not start both tasks in one step")
	}
	for i, mt := range tasks {
		if info := taskInfo(t, c, mt.task.Self); info.State != types.TaskInfoStateRunning || info.StartTime == nil {
			t.Errorf("%s runs in the engine but its TaskInfo says %s (start %v)", names[i], info.State, info.StartTime)
		}
	}
	control(t, "POST", "config", map[string]interface{}{"speed": 5000})
	for _, mt := range tasks {
		if info := waitTask(t, c, mt.task.Self, 60*time.Second); info.State != types.TaskInfoStateSuccess {
			t.Errorf("%s ended %s", mt.vmName, info.State)
		}
	}
}

// waitHostIdle waits until no task charges host name, at most 30 s.
// waitIdle waits until the test vCenter runs and queues no task (bounded at 30 s).
func waitIdle(t *testing.T) {
	t.Helper()
	busy := func() bool {
		counts := srv.eng.stats(true).TaskCounts
		return counts["running"]+counts["queued"] > 0
	}
	for deadline := time.Now().Add(30 * time.Second); busy(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the test vCenter still runs tasks after 30 s: %v", srv.eng.stats(true).TaskCounts)
		}
	}
}

func waitHostIdle(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); srv.eng.stats(false).Hosts[name].Cost > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still runs tasks after 30 s", name)
		}
	}
}

func TestCancelRunningTaskLeavesVMInPlace(t *testing.T) {
	c := login(t)
	setSpeed(t, 1)
	before := vmMO(t, c, "vm-c1-0003")
	task := relocate(t, c, "vm-c1-0003", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))})
	// The engine's loop starts it after the call returns: wait for running, at most 10 s.
	s := taskInfo(t, c, task).State
	for deadline := time.Now().Add(10 * time.Second); s == types.TaskInfoStateQueued && time.Now().Before(deadline); s = taskInfo(t, c, task).State {
		time.Sleep(20 * time.Millisecond)
	}
	if s != types.TaskInfoStateRunning {
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
	setSpeed(t, 1) // the first task surely still runs when the second comes, however loaded the machine
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

// The generated VMs sit in -folders (created under the datacenter's vm folder), carry the
// -attribute values (defined once in CustomFieldsManager) and the -guest-os ids with their
// full names, each given in turn.
func TestFoldersAttributesAndGuestOS(t *testing.T) {
	c := login(t)
	ctx := context.Background()
	pc := property.DefaultCollector(c)
	m, err := object.GetCustomFieldsManager(c)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := m.Field(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fieldName := map[int32]string{}
	for _, d := range defs {
		fieldName[d.Key] = d.Name
	}
	if len(fieldName) != 2 {
		t.Errorf("custom fields: %+v", defs)
	}
	pathOf := func(r types.ManagedObjectReference) string {
		p := ""
		for {
			var e mo.ManagedEntity
			if err := pc.RetrieveOne(ctx, r, []string{"name", "parent"}, &e); err != nil {
				t.Fatal(err)
			}
			if e.Parent == nil { // the root folder: not part of the path
				return p
			}
			p = "/" + e.Name + p
			r = *e.Parent
		}
	}
	want := []struct{ vm, folder, wave, guestID, guestName string }{
		{"vm-c1-0001", "/dc-1/vm/prod", "1", "windows2019srv_64Guest", "Microsoft Windows Server 2019 (64-bit)"},
		{"vm-c1-0002", "/dc-1/vm/prod/db", "2", "rhel9_64Guest", "Red Hat Enterprise Linux 9 (64-bit)"},
		{"vm-c1-0003", "/dc-1/vm/test", "1", "windows2019srv_64Guest", "Microsoft Windows Server 2019 (64-bit)"},
	}
	for _, w := range want {
		var v mo.VirtualMachine
		if err := pc.RetrieveOne(ctx, vmRef(t, w.vm), []string{"parent", "customValue", "config.guestFullName", "config.guestId"}, &v); err != nil {
			t.Fatal(err)
		}
		if got := pathOf(*v.Parent); got != w.folder {
			t.Errorf("%s: folder %s, want %s", w.vm, got, w.folder)
		}
		attrs := map[string]string{}
		for _, cv := range v.CustomValue {
			attrs[fieldName[cv.GetCustomFieldValue().Key]] = cv.(*types.CustomFieldStringValue).Value
		}
		if attrs["wave"] != w.wave || attrs["owner"] != "fin" || len(attrs) != 2 {
			t.Errorf("%s: attributes %v", w.vm, attrs)
		}
		if v.Config.GuestId != w.guestID || v.Config.GuestFullName != w.guestName {
			t.Errorf("%s: guest %s / %s", w.vm, v.Config.GuestId, v.Config.GuestFullName)
		}
	}
}

// An inventory file with today's names (power, committed, capacity, folder, attributes,
// tags, guest_os) loads like one with the older names; a tag without its category is refused.
func TestLoadInventoryPlanCurrentNames(t *testing.T) {
	doc := `{"datacenters":[{"name":"DC-A","moref":"datacenter-1"}],
 "clusters":[{"name":"prod","moref":"domain-c1","hosts":["h1"]}],
 "hosts":[{"name":"h1","moref":"host-1","cluster":"prod","maintenance":true}],
 "datastores":[{"name":"old-ds","moref":"datastore-1","capacity":1000,"free":400}],
 "vms":[{"name":"db-01","moref":"vm-1","host":"h1","datastores":["old-ds"],"committed":600,"power":"poweredOff",
         "folder":"/DC-A/vm/prod/db","attributes":{"wave":"2"},"tags":["team:fin","migration-wave:wave-2"],"guest_os":"Red Hat Enterprise Linux 9 (64-bit)","guest_id":"rhel9_64Guest",
         "fault_tolerance":"primary","tools":"guestToolsNotRunning"}]}`
	f, _ := os.CreateTemp(t.TempDir(), "inv-*.json")
	f.WriteString(doc)
	f.Close()
	p, err := loadInventoryPlan(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	dc := p.Datacenters[0]
	vm := dc.VMs[0]
	if vm.Committed != 600 || vm.PoweredOn || vm.Folder != "prod/db" || vm.Attributes["wave"] != "2" || vm.GuestID != "rhel9_64Guest" ||
		vm.GuestName != "Red Hat Enterprise Linux 9 (64-bit)" || vm.FTRole != 1 || vm.Tools != "guestToolsNotRunning" ||
		!reflect.DeepEqual(vm.Tags, []string{"migration-wave:wave-2", "team:fin"}) {
		t.Errorf("VM: %+v", vm)
	}
	if dc.Datastores[0].CapacityBytes != 1000 || dc.Datastores[0].FreeBytes != 400 || !dc.HostStates["h1"].Maintenance {
		t.Errorf("datastore %+v, host states %+v", dc.Datastores[0], dc.HostStates)
	}
	os.WriteFile(f.Name(), []byte(strings.Replace(doc, `"team:fin"`, `"fin"`, 1)), 0o644)
	if _, err := loadInventoryPlan(f.Name()); err == nil || !strings.Contains(err.Error(), `want "category:tag"`) {
		t.Errorf("a tag without its category: %v", err)
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
		// committed = the drawn size (disks + small home files) + a powered-on VM's swap (its memory)
		total += vm.Committed
		if vm.Committed < min {
			min = vm.Committed
		}
		if vm.Committed > max {
			max = vm.Committed
		}
		if len(vm.Disks) != 1 || vm.Disks[0].DS != vm.Home || vm.Home != vm.Datastores[0] {
			t.Fatalf("%s: default flags give one disk on the home datastore: %+v", vm.Name, vm.Disks)
		}
		if !strings.HasPrefix(vm.Datastores[0], "legacy-") {
			t.Fatalf("%s starts on %s, not a legacy datastore", vm.Name, vm.Datastores[0])
		}
	}
	mean := float64(total) / 2000 / float64(gib)
	if mean < 120 || mean > 230 || min < 10*gib || max > 2048*gib+64*gib {
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

// ---- VM files, disk locators, formats, cold migrations, Storage DRS -------------------------

// Fixture VMs added to the generated inventory of the test server (home files: 16 KiB + 1 MiB
// of log, no swap, so sizes are round).
const (
	fxHost    = "esx-c1-03"
	fxHome    = int64(16<<10) + 1<<20
	fxColdVMs = 9
)

func fxFlat(ds string, used, capacity int64, format string) planDisk {
	return planDisk{DS: ds, Used: used, Capacity: capacity, Backing: backingFlat, Thin: format == formatThin, Eager: format == formatEager}
}

func fxRDM(ds string, b diskBacking, lun int64) planDisk {
	return planDisk{DS: ds, Used: rdmMappingBytes, Capacity: lun, Backing: b, LUN: "/vmfs/devices/disks/naa.60000000000000000000000000000001"}
}

func fxVM(name, host, home string, on bool, disks ...planDisk) planVM {
	vm := planVM{Name: name, Cluster: "cluster-1", Host: host, Home: home, Datastores: []string{home}, MemoryMB: 4096, NumCPUs: 2, PoweredOn: on,
		VMPath: name + "/" + name + ".vmx", Disks: disks,
		HomeFiles: []homeFile{{name + ".vmx", "config", 8 << 10}, {name + ".nvram", "nvram", 8 << 10}, {"vmware.log", "log", 1 << 20}}}
	vm.finish()
	return vm
}

func addFixtures(p *plan, cfg *Config) {
	dc := &p.Datacenters[0]
	dc.Datastores = append(dc.Datastores, planDS{Name: "local-01", Type: "VMFS", FreeBytes: -1, Accessible: true, Hosts: []string{"esx-c1-01"}})
	spread := func(name string) planVM {
		return fxVM(name, fxHost, "legacy-01", true,
			fxFlat("legacy-01", 10*gib, 40*gib, formatThin), fxFlat("legacy-02", 20*gib, 20*gib, formatThick), fxFlat("flash-01", 5*gib, 30*gib, formatThin))
	}
	mw := planDisk{DS: "legacy-01", Used: 2 * gib, Capacity: 2 * gib, Backing: backingFlat, Eager: true, Sharing: "sharingMultiWriter"}
	ft := fxVM("fx-ft", fxHost, "legacy-01", true, fxFlat("legacy-01", gib, gib, formatThick))
	ft.FTRole = 1
	orphan := fxVM("fx-orphan", fxHost, "legacy-01", true, fxFlat("legacy-01", gib, gib, formatThick))
	orphan.ConnState = "orphaned"
	iso := fxVM("fx-iso", fxHost, "legacy-01", true, fxFlat("legacy-01", gib, gib, formatThick))
	iso.Media = []planMedia{{Key: cdromKey, Label: "CD/DVD drive 1", DS: "legacy-02", File: "[legacy-02] iso/win2019.iso"}}
	iso.finish()
	dc.VMs = append(dc.VMs,
		spread("fx-spread"), spread("fx-spread2"),
		fxVM("fx-formats", fxHost, "legacy-01", true,
			fxFlat("legacy-01", 4*gib, 16*gib, formatThin), fxFlat("legacy-01", 2*gib, 8*gib, formatThin), fxFlat("legacy-01", 8*gib, 8*gib, formatThick),
			fxRDM("legacy-01", backingRDMVirtual, 100*gib), fxRDM("legacy-01", backingRDMPhysical, 200*gib)),
		fxVM("fx-mw", fxHost, "legacy-01", true, fxFlat("legacy-01", gib, gib, formatThick), mw),
		fxVM("fx-mw-off", fxHost, "legacy-01", false, fxFlat("legacy-01", gib, gib, formatThick), mw),
		ft, orphan, iso,
		fxVM("fx-hoststate", "esx-c1-02", "legacy-01", true, fxFlat("legacy-01", gib, gib, formatThick)),
		fxVM("fx-sdrs", fxHost, "legacy-01", true, fxFlat("legacy-01", 3*gib, 3*gib, formatThick), fxFlat("legacy-02", 2*gib, 10*gib, formatThin)),
		fxVM("fx-big", fxHost, "legacy-02", true, fxFlat("legacy-02", gib, 100*tib, formatThin)),
	)
	for i := 1; i <= fxColdVMs; i++ {
		dc.VMs = append(dc.VMs, fxVM(fmt.Sprintf("fx-cold-%02d", i), "esx-c1-04", "legacy-02", false, fxFlat("legacy-02", gib, gib, formatThick)))
	}
	sizeDatastores(dc, cfg, 3)
}

// vmFull reads a VM's storage properties.
func vmFull(t *testing.T, c *vim25.Client, name string) mo.VirtualMachine {
	t.Helper()
	var v mo.VirtualMachine
	err := property.DefaultCollector(c).RetrieveOne(context.Background(), vmRef(t, name),
		[]string{"name", "datastore", "config", "layoutEx", "storage", "summary", "runtime", "guest"}, &v)
	if err != nil {
		t.Fatalf("retrieve %s: %v", name, err)
	}
	return v
}

func dsFree(t *testing.T, c *vim25.Client, name string) int64 {
	t.Helper()
	var d mo.Datastore
	if err := property.DefaultCollector(c).RetrieveOne(context.Background(), dsRef(name), []string{"summary"}, &d); err != nil {
		t.Fatal(err)
	}
	return d.Summary.FreeSpace
}

func diskOf(v mo.VirtualMachine, key int32) *types.VirtualDisk {
	for _, d := range v.Config.Hardware.Device {
		if vd, ok := d.(*types.VirtualDisk); ok && vd.Key == key {
			return vd
		}
	}
	return nil
}

// faultName is the vim25 fault type of a SOAP fault error ("" when err is no SOAP fault).
func faultName(err error) string {
	if err == nil || !soap.IsSoapFault(err) {
		return ""
	}
	return typeName(soap.ToSoapFault(err).VimFault())
}

func relocateErr(c *vim25.Client, vm types.ManagedObjectReference, spec types.VirtualMachineRelocateSpec) error {
	_, err := object.NewVirtualMachine(c, vm).Relocate(context.Background(), spec, types.VirtualMachineMovePriorityDefaultPriority)
	return err
}

func loc(key int32, ds string, backing types.BaseVirtualDeviceBackingInfo) types.VirtualMachineRelocateSpecDiskLocator {
	return types.VirtualMachineRelocateSpecDiskLocator{DiskId: key, Datastore: dsRef(ds), DiskBackingInfo: backing}
}

func flatFormat(thin, eager bool) *types.VirtualDiskFlatVer2BackingInfo {
	return &types.VirtualDiskFlatVer2BackingInfo{ThinProvisioned: types.NewBool(thin), EagerlyScrub: types.NewBool(eager)}
}

// mmStats reads GET /_mm/stats over HTTP.
func mmStats(t *testing.T) statsJSON {
	t.Helper()
	res, err := http.Get(srv.ControlURL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st statsJSON
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func movesOf(st statsJSON, task string) map[string]fileMoveJSON {
	out := map[string]fileMoveJSON{}
	if st.FileMoves != nil {
		for _, m := range *st.FileMoves {
			if m.Task == task {
				out[m.File] = m
			}
		}
	}
	return out
}

func engTask(id string) *mmTask {
	srv.eng.mu.Lock()
	defer srv.eng.mu.Unlock()
	return srv.eng.tasks[id]
}

func reservedOn(ds string) int64 {
	srv.eng.mu.Lock()
	defer srv.eng.mu.Unlock()
	return srv.eng.dsReserved[dsRef(ds)]
}

func simSeconds(info types.TaskInfo) float64 { return info.CompleteTime.Sub(*info.StartTime).Seconds() }

func TestGeneratedVMHasDevicesAndLayout(t *testing.T) {
	c := login(t)
	v := vmFull(t, c, "vm-c1-0005")
	var disks []*types.VirtualDisk
	var scsi, cdrom int
	for _, d := range v.Config.Hardware.Device {
		switch x := d.(type) {
		case *types.VirtualDisk:
			disks = append(disks, x)
		case *types.ParaVirtualSCSIController:
			scsi++
			if x.Key != 1000 {
				t.Errorf("SCSI controller key %d", x.Key)
			}
		case *types.VirtualCdrom:
			cdrom++
		}
	}
	if len(disks) != 1 || scsi != 1 || cdrom != 1 {
		t.Fatalf("devices: %d disks, %d SCSI controllers, %d CD/DVD drives", len(disks), scsi, cdrom)
	}
	d := disks[0]
	b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if !ok || d.Key != 2000 || d.DeviceInfo.GetDescription().Label != "Hard disk 1" || d.ControllerKey != 1000 || d.UnitNumber == nil ||
		b.FileName != "[legacy-01] vm-c1-0005/vm-c1-0005.vmdk" || b.Datastore == nil || *b.Datastore != dsRef("legacy-01") ||
		d.CapacityInKB*1024 != d.CapacityInBytes || b.DiskMode != "persistent" || b.ThinProvisioned == nil || b.Sharing != "sharingNone" {
		t.Errorf("disk: %+v backing %+v", d, d.Backing)
	}
	if v.Config.Files.VmPathName != "[legacy-01] vm-c1-0005/vm-c1-0005.vmx" || v.Summary.Config.VmPathName != v.Config.Files.VmPathName {
		t.Errorf("vmPathName %q / %q", v.Config.Files.VmPathName, v.Summary.Config.VmPathName)
	}
	var sum int64
	types_ := map[string]int{}
	for _, f := range v.LayoutEx.File {
		sum += f.Size
		types_[f.Type]++
	}
	if sum != v.Summary.Storage.Committed || types_["config"] != 1 || types_["nvram"] != 1 || types_["log"] != 1 || types_["swap"] != 1 ||
		types_["diskDescriptor"] != 1 || types_["diskExtent"] != 1 {
		t.Errorf("layoutEx: sum %d vs committed %d, types %v", sum, v.Summary.Storage.Committed, types_)
	}
	if len(v.LayoutEx.Disk) != 1 || v.LayoutEx.Disk[0].Key != 2000 || len(v.LayoutEx.Disk[0].Chain) != 1 || len(v.LayoutEx.Disk[0].Chain[0].FileKey) != 2 {
		t.Errorf("layoutEx.disk: %+v", v.LayoutEx.Disk)
	}
	if v.Guest.ToolsRunningStatus != "guestToolsRunning" || v.Runtime.ConnectionState != "connected" || v.Config.FtInfo != nil {
		t.Errorf("tools %q, connection %q, ftInfo %v", v.Guest.ToolsRunningStatus, v.Runtime.ConnectionState, v.Config.FtInfo)
	}
	if len(v.Storage.PerDatastoreUsage) != 1 || v.Storage.PerDatastoreUsage[0].Committed != v.Summary.Storage.Committed {
		t.Errorf("perDatastoreUsage %+v", v.Storage.PerDatastoreUsage)
	}
	ft := vmFull(t, c, "fx-ft")
	if info, ok := ft.Config.FtInfo.(*types.FaultTolerancePrimaryConfigInfo); !ok || info.Role != 1 {
		t.Errorf("fx-ft ftInfo %#v", ft.Config.FtInfo)
	}
	iso := vmFull(t, c, "fx-iso")
	if len(iso.Datastore) != 2 || iso.Datastore[1] != dsRef("legacy-02") {
		t.Errorf("fx-iso datastores %v, want legacy-01 and the ISO's legacy-02", iso.Datastore)
	}
	formats := vmFull(t, c, "fx-formats")
	if b, ok := diskOf(formats, 2004).Backing.(*types.VirtualDiskRawDiskMappingVer1BackingInfo); !ok || b.CompatibilityMode != "physicalMode" ||
		!strings.HasPrefix(b.DeviceName, "/vmfs/devices/disks/naa.") || b.FileName != "[legacy-01] fx-formats/fx-formats_4.vmdk" {
		t.Errorf("pRDM backing %#v", diskOf(formats, 2004).Backing)
	}
}

// TestDiskLocatorsMoveOnlyWhatChangesPlace is the acceptance case: home and disk 2000 on
// legacy-01, 2001 on legacy-02, 2002 on flash-01; spec.datastore=new-01 with locators
// 2000→new-01, 2001→new-02, 2002→flash-01 copies exactly the home, 2000 and 2001.
func TestDiskLocatorsMoveOnlyWhatChangesPlace(t *testing.T) {
	c := login(t)
	control(t, "POST", "reset-stats", nil)
	freeBefore := map[string]int64{}
	for _, n := range []string{"legacy-01", "legacy-02", "flash-01", "new-01", "new-02"} {
		freeBefore[n] = dsFree(t, c, n)
	}
	task := relocate(t, c, "fx-spread", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01")),
		Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2000, "new-01", nil), loc(2001, "new-02", nil), loc(2002, "flash-01", nil)}})
	mt := engTask(task.Value)
	for _, n := range []string{"legacy-01", "legacy-02", "new-01", "new-02"} {
		if mt.dsCost[dsRef(n)] != 16 {
			t.Errorf("%s charged %d, want 16", n, mt.dsCost[dsRef(n)])
		}
	}
	if _, charged := mt.dsCost[dsRef("flash-01")]; charged || len(mt.dsCost) != 4 || mt.hostCost[hostRef(fxHost)] != 4 {
		t.Errorf("datastore costs %v, host costs %v: flash-01 holds only a file that stays", mt.dsCost, mt.hostCost)
	}
	info := waitTask(t, c, task, 30*time.Second)
	if info.State != types.TaskInfoStateSuccess {
		t.Fatalf("relocation: %s %+v", info.State, info.Error)
	}
	want := fxHome + 10*gib + 20*gib
	if got := simSeconds(info); math.Abs(got-float64(want)/(100*mib)) > 1 {
		t.Errorf("duration %.1f s, want %.1f s (the bytes of the 3 files that move, not the VM's %d)", got, float64(want)/(100*mib), want+5*gib)
	}
	st := mmStats(t)
	moves := movesOf(st, task.Value)
	if len(moves) != 3 || moves["config"].Bytes != fxHome || moves["disk-2000"].Bytes != 10*gib || moves["disk-2001"].Bytes != 20*gib ||
		moves["config"].From != "legacy-01" || moves["config"].To != "new-01" || moves["disk-2001"].From != "legacy-02" || moves["disk-2001"].To != "new-02" {
		t.Errorf("file moves: %+v", moves)
	}
	if _, moved := moves["disk-2002"]; moved {
		t.Errorf("disk 2002 was copied though its locator keeps it on flash-01")
	}
	for name, ds := range map[string]string{"legacy-01": "legacy-01", "legacy-02": "legacy-02", "new-01": "new-01", "new-02": "new-02"} {
		if r := st.Datastores[ds]; r.MaxCost != 16 {
			t.Errorf("%s max_cost %d, want 16", name, r.MaxCost)
		}
	}
	if st.Datastores["flash-01"].MaxCost != 0 {
		t.Errorf("flash-01 max_cost %d, want 0", st.Datastores["flash-01"].MaxCost)
	}
	if b := st.BytesMoved["legacy-01"]; b.Out != fxHome+10*gib {
		t.Errorf("bytes_moved legacy-01 %+v", b)
	}
	if b := st.BytesMoved["new-02"]; b.In != 20*gib {
		t.Errorf("bytes_moved new-02 %+v", b)
	}
	if fc := st.FileCopies["fx-spread"]; fc["config"] != 1 || fc["disk-2000"] != 1 || fc["disk-2001"] != 1 || fc["disk-2002"] != 0 {
		t.Errorf("file_copies %v", fc)
	}
	// What a client sees afterwards.
	v := vmFull(t, c, "fx-spread")
	if v.Config.Files.VmPathName != "[new-01] fx-spread/fx-spread.vmx" || v.Summary.Config.VmPathName != v.Config.Files.VmPathName {
		t.Errorf("vmPathName %q", v.Config.Files.VmPathName)
	}
	for key, wantFile := range map[int32]string{2000: "[new-01] fx-spread/fx-spread.vmdk", 2001: "[new-02] fx-spread/fx-spread_1.vmdk", 2002: "[flash-01] fx-spread/fx-spread_2.vmdk"} {
		b := diskOf(v, key).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if b.FileName != wantFile {
			t.Errorf("disk %d file %q, want %q", key, b.FileName, wantFile)
		}
	}
	if len(v.Datastore) != 3 {
		t.Errorf("datastores %v, want new-01, new-02, flash-01", v.Datastore)
	}
	for _, f := range v.LayoutEx.File {
		if strings.Contains(f.Name, "legacy") {
			t.Errorf("layoutEx still names %s", f.Name)
		}
	}
	wantFree := map[string]int64{"legacy-01": fxHome + 10*gib, "legacy-02": 20 * gib, "flash-01": 0, "new-01": -(fxHome + 10*gib), "new-02": -20 * gib}
	for n, delta := range wantFree {
		if got := dsFree(t, c, n) - freeBefore[n]; got != delta {
			t.Errorf("%s free space changed by %d, want %d", n, got, delta)
		}
	}

	// Only spec.datastore: every disk follows it (vSphere's rule), the one on flash-01 too.
	task2 := relocate(t, c, "fx-spread2", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-02"))})
	info2 := waitTask(t, c, task2, 30*time.Second)
	if info2.State != types.TaskInfoStateSuccess {
		t.Fatalf("relocation: %s %+v", info2.State, info2.Error)
	}
	m2 := movesOf(mmStats(t), task2.Value)
	if len(m2) != 4 || m2["disk-2002"].From != "flash-01" || m2["disk-2002"].To != "new-02" {
		t.Errorf("spec.datastore alone: moves %+v, want all 4 files to new-02", m2)
	}
	mt2 := engTask(task2.Value)
	if len(mt2.dsCost) != 4 || mt2.dsCost[dsRef("flash-01")] != 16 {
		t.Errorf("costs %v: legacy-01, legacy-02, flash-01 and new-02", mt2.dsCost)
	}
	// Nothing changes place: setup only, no charge, no copy.
	task3 := relocate(t, c, "fx-spread2", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-02"))})
	info3 := waitTask(t, c, task3, 30*time.Second)
	if info3.State != types.TaskInfoStateSuccess || simSeconds(info3) > 0.5 || len(engTask(task3.Value).dsCost) != 0 || len(movesOf(mmStats(t), task3.Value)) != 0 {
		t.Errorf("a relocation where nothing moves: %s, %.1f s, costs %v", info3.State, simSeconds(info3), engTask(task3.Value).dsCost)
	}
}

func TestFormatConversions(t *testing.T) {
	c := login(t)
	before := map[string]int64{"legacy-01": dsFree(t, c, "legacy-01"), "new-01": dsFree(t, c, "new-01")}
	// pRDM with a format: refused from the call.
	err := relocateErr(c, vmRef(t, "fx-formats"), types.VirtualMachineRelocateSpec{
		Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2004, "new-01", flatFormat(true, false))}})
	if faultName(err) != "RDMConversionNotSupported" {
		t.Errorf("format on a physical-mode RDM: %v, want RDMConversionNotSupported", err)
	}
	task := relocate(t, c, "fx-formats", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{
		loc(2000, "new-01", flatFormat(false, false)), // thin 4/16 GiB -> lazy thick: writes 4, takes 16
		loc(2001, "new-01", flatFormat(false, true)),  // thin 2/8 GiB  -> eager: writes 8, takes 8
		loc(2002, "new-01", flatFormat(true, false)),  // thick 8 GiB   -> thin: writes 8, takes 8
		loc(2003, "new-01", flatFormat(true, false)),  // vRDM 100 GiB  -> flat thin: writes 100, takes 100
		loc(2004, "new-01", nil),                      // pRDM: its mapping file only
	}})
	info := waitTask(t, c, task, 30*time.Second)
	if info.State != types.TaskInfoStateSuccess {
		t.Fatalf("relocation: %s %+v", info.State, info.Error)
	}
	moves := movesOf(mmStats(t), task.Value)
	want := map[string][3]int64{ // written, source, destination
		"disk-2000": {4 * gib, 4 * gib, 16 * gib}, "disk-2001": {8 * gib, 2 * gib, 8 * gib}, "disk-2002": {8 * gib, 8 * gib, 8 * gib},
		"disk-2003": {100 * gib, rdmMappingBytes, 100 * gib}, "disk-2004": {rdmMappingBytes, rdmMappingBytes, rdmMappingBytes},
	}
	var written int64
	for f, w := range want {
		m := moves[f]
		if m.Bytes != w[0] || m.SourceBytes != w[1] || m.DestBytes != w[2] {
			t.Errorf("%s: wrote %d, freed %d, took %d; want %v", f, m.Bytes, m.SourceBytes, m.DestBytes, w)
		}
		written += w[0]
	}
	if len(moves) != 5 || moves["disk-2000"].Format != "thick" || moves["disk-2001"].Format != "eager" || moves["disk-2003"].Format != "thin" || moves["disk-2004"].Format != "rdm_physical" {
		t.Errorf("moves %+v (the home stays: no spec.datastore)", moves)
	}
	if got := simSeconds(info); math.Abs(got-float64(written)/(100*mib)) > 1 {
		t.Errorf("duration %.1f s, want %.1f s", got, float64(written)/(100*mib))
	}
	if d := dsFree(t, c, "new-01") - before["new-01"]; d != -(132*gib + rdmMappingBytes) {
		t.Errorf("new-01 free changed by %d, want -(132 GiB + 4 KiB)", d)
	}
	if d := dsFree(t, c, "legacy-01") - before["legacy-01"]; d != 14*gib+2*rdmMappingBytes {
		t.Errorf("legacy-01 free changed by %d, want 14 GiB + 8 KiB", d)
	}
	v := vmFull(t, c, "fx-formats")
	b0 := diskOf(v, 2000).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	b1 := diskOf(v, 2001).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	b3, flat := diskOf(v, 2003).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if *b0.ThinProvisioned || *b0.EagerlyScrub || *b1.ThinProvisioned || !*b1.EagerlyScrub || !flat || !*b3.ThinProvisioned ||
		b3.FileName != "[new-01] fx-formats/fx-formats_3.vmdk" {
		t.Errorf("formats after the move: 2000 %+v, 2001 %+v, 2003 %#v", b0, b1, diskOf(v, 2003).Backing)
	}
	var sum int64
	for _, f := range v.LayoutEx.File {
		sum += f.Size
	}
	if wantC := fxHome + 16*gib + 8*gib + 8*gib + 100*gib + rdmMappingBytes; sum != wantC || v.Summary.Storage.Committed != wantC {
		t.Errorf("committed %d, layoutEx %d, want %d", v.Summary.Storage.Committed, sum, wantC)
	}
}

func TestRelocationRefusals(t *testing.T) {
	c := login(t)
	cases := []struct {
		vm, fault, prop string
		spec            types.VirtualMachineRelocateSpec
	}{
		{"fx-sdrs", "InvalidArgument", "spec.disk.diskId", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(4000, "new-01", nil)}}},
		{"fx-sdrs", "InvalidArgument", "spec.disk.diskId", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2999, "new-01", nil)}}},
		{"fx-sdrs", "ManagedObjectNotFound", "", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{
			{DiskId: 2000, Datastore: types.ManagedObjectReference{Type: "Datastore", Value: "datastore-nope"}}}}},
		{"fx-sdrs", "InvalidArgument", "spec.disk.datastore", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2001, "local-01", nil)}}},
		{"fx-sdrs", "InvalidArgument", "spec.datastore", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("local-01"))}},
		{"fx-mw", "MultiWriterNotSupported", "", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2000, "new-01", nil)}}},
		{"fx-ft", "NotSupported", "", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}},
		{"fx-orphan", "InvalidState", "", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}},
	}
	for _, tc := range cases {
		err := relocateErr(c, vmRef(t, tc.vm), tc.spec)
		if got := faultName(err); got != tc.fault {
			t.Errorf("%s %+v: %v, want %s", tc.vm, tc.spec, err, tc.fault)
			continue
		}
		if tc.prop != "" {
			if ia, ok := soap.ToSoapFault(err).VimFault().(types.InvalidArgument); !ok || ia.InvalidProperty != tc.prop {
				t.Errorf("%s: invalidProperty %+v, want %s", tc.vm, soap.ToSoapFault(err).VimFault(), tc.prop)
			}
		}
		if tc.fault == "NotSupported" && !strings.Contains(soap.ToSoapFault(err).String, "Storage vMotion is not supported for a Fault Tolerance VM") {
			t.Errorf("FT message: %q", soap.ToSoapFault(err).String)
		}
	}
	// The FT VM may still change host (vMotion), and a powered-off VM with a multi-writer disk move.
	if info := waitTask(t, c, relocate(t, c, "fx-ft", types.VirtualMachineRelocateSpec{Host: ptr(hostRef("esx-c1-04"))}), 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Errorf("vMotion of the FT VM: %s %+v", info.State, info.Error)
	}
	if info := waitTask(t, c, relocate(t, c, "fx-mw-off", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}), 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Errorf("cold relocation with a multi-writer disk: %s %+v", info.State, info.Error)
	}
	// Host disconnected, or in maintenance mode with the VM powered on.
	control(t, "POST", "host-state", map[string]interface{}{"host": "esx-c1-02", "connection_state": "disconnected"})
	err := relocateErr(c, vmRef(t, "fx-hoststate"), types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))})
	control(t, "POST", "host-state", map[string]interface{}{"host": "esx-c1-02", "connection_state": "connected", "in_maintenance_mode": true})
	err2 := relocateErr(c, vmRef(t, "fx-hoststate"), types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))})
	control(t, "POST", "host-state", map[string]interface{}{"host": "esx-c1-02", "in_maintenance_mode": false})
	if faultName(err) != "HostNotConnected" || faultName(err2) != "InvalidState" {
		t.Errorf("disconnected host: %v (want HostNotConnected); maintenance mode: %v (want InvalidState)", err, err2)
	}
	// Not enough room where the files arrive: the task ends in NoDiskSpace, nothing moves.
	free := dsFree(t, c, "new-02")
	task := relocate(t, c, "fx-big", types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2000, "new-02", flatFormat(false, true))}})
	info := waitTask(t, c, task, 30*time.Second)
	if nd, ok := info.Error.Fault.(*types.NoDiskSpace); info.State != types.TaskInfoStateError || !ok || nd.Datastore != "new-02" {
		t.Errorf("eager 100 TiB onto new-02: %s %+v, want NoDiskSpace", info.State, info.Error)
	}
	if dsFree(t, c, "new-02") != free || reservedOn("new-02") != 0 {
		t.Errorf("a failed relocation changed new-02's space")
	}
}

// TestColdMigrationsCostTheHostOne: powered-off VMs move as provisioning operations (host
// cost 1, nothing on datastores): 9 on one host run 8 at a time even with a datastore limit
// that would hold one Storage vMotion.
func TestColdMigrationsCostTheHostOne(t *testing.T) {
	c := login(t)
	// Nothing running anywhere first: an earlier test's task still on esx-c1-04 would last for
	// ever at speed 0.05 and hold the host's cost, so only one of the nine ran (seen once in
	// ten suite runs on an idle machine: 1 running + 8 queued).
	waitIdle(t)
	setSpeed(t, 0.05) // each move takes 200 s: all 9 are submitted and seen before one ends, however loaded the machine
	control(t, "POST", "config", map[string]interface{}{"datastore_max_cost": 16})
	defer control(t, "POST", "config", map[string]interface{}{"datastore_max_cost": 128})
	control(t, "POST", "reset-stats", nil)
	var tasks []types.ManagedObjectReference
	for i := 1; i <= fxColdVMs; i++ {
		tasks = append(tasks, relocate(t, c, fmt.Sprintf("fx-cold-%02d", i), types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("new-01"))}))
	}
	for _, task := range tasks {
		if mt := engTask(task.Value); len(mt.dsCost) != 0 || len(mt.netHosts) != 0 || mt.hostCost[hostRef("esx-c1-04")] != 1 {
			t.Errorf("cold relocation costs: host %v, datastores %v, network %v", mt.hostCost, mt.dsCost, mt.netHosts)
		}
	}
	// The states clients read follow the engine's decisions by a moment on a loaded machine:
	// read them until 8 run, at most 10 s (a bound on a stuck engine).
	states := map[types.TaskInfoState]int{}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		states = map[types.TaskInfoState]int{}
		for _, task := range tasks {
			states[taskInfo(t, c, task).State]++
		}
		if states[types.TaskInfoStateRunning] == 8 {
			break
		}
	}
	if states[types.TaskInfoStateRunning] != 8 || states[types.TaskInfoStateQueued] != 1 {
		t.Errorf("9 cold relocations on one host: %v, want 8 running + 1 queued", states)
	}
	control(t, "POST", "config", map[string]interface{}{"speed": 5000})
	for _, task := range tasks {
		if info := waitTask(t, c, task, 60*time.Second); info.State != types.TaskInfoStateSuccess {
			t.Errorf("%v: %s", task, info.State)
		}
	}
	st := mmStats(t)
	if h := st.Hosts["esx-c1-04"]; h.MaxCost != 8 || h.LimitQueued < 1 {
		t.Errorf("esx-c1-04: max_cost %d, limit_queued %d; want 8 and >= 1", h.MaxCost, h.LimitQueued)
	}
	if st.Datastores["new-01"].MaxCost != 0 || st.Datastores["legacy-02"].MaxCost != 0 {
		t.Errorf("cold migrations charged datastores: new-01 %d, legacy-02 %d", st.Datastores["new-01"].MaxCost, st.Datastores["legacy-02"].MaxCost)
	}
	if len(movesOf(st, tasks[0].Value)) != 2 {
		t.Errorf("a cold relocation still copies the files: %+v", movesOf(st, tasks[0].Value))
	}
}

func podRef(t *testing.T, name string) types.ManagedObjectReference {
	t.Helper()
	for r, n := range srv.world.podName {
		if n == name {
			return r
		}
	}
	t.Fatalf("no datastore cluster %s", name)
	return types.ManagedObjectReference{}
}

func recommend(c *vim25.Client, vm, pod types.ManagedObjectReference, rs *types.VirtualMachineRelocateSpec, disks ...types.PodDiskLocator) (*types.StoragePlacementResult, error) {
	spec := types.StoragePlacementSpec{Type: string(types.StoragePlacementSpecPlacementTypeRelocate), Vm: &vm, RelocateSpec: rs,
		PodSelectionSpec: types.StorageDrsPodSelectionSpec{StoragePod: &pod}}
	if len(disks) > 0 {
		spec.PodSelectionSpec.InitialVmConfig = []types.VmPodConfigForPlacement{{StoragePod: pod, Disk: disks}}
	}
	res, err := methods.RecommendDatastores(context.Background(), c, &types.RecommendDatastores{This: *c.ServiceContent.StorageResourceManager, StorageSpec: spec})
	if err != nil {
		return nil, err
	}
	return &res.Returnval, nil
}

func applyRec(c *vim25.Client, key string) (types.ManagedObjectReference, error) {
	res, err := methods.ApplyStorageDrsRecommendation_Task(context.Background(), c,
		&types.ApplyStorageDrsRecommendation_Task{This: *c.ServiceContent.StorageResourceManager, Key: []string{key}})
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	return res.Returnval, nil
}

func TestStoragePodFromFlags(t *testing.T) {
	c := login(t)
	pod := podRef(t, "new-pod")
	var p mo.StoragePod
	if err := property.DefaultCollector(c).RetrieveOne(context.Background(), pod, []string{"name", "childEntity", "summary", "podStorageDrsEntry", "parent"}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != "new-pod" || len(p.ChildEntity) != 2 || p.ChildEntity[0] != dsRef("new-01") || p.ChildEntity[1] != dsRef("new-02") ||
		p.PodStorageDrsEntry == nil || !p.PodStorageDrsEntry.StorageDrsConfig.PodConfig.Enabled {
		t.Fatalf("pod: %+v", p)
	}
	var dss []mo.Datastore
	if err := property.DefaultCollector(c).Retrieve(context.Background(), p.ChildEntity, []string{"summary", "parent"}, &dss); err != nil {
		t.Fatal(err)
	}
	var capacity, free int64
	for _, d := range dss {
		capacity += d.Summary.Capacity
		free += d.Summary.FreeSpace
		if d.Parent == nil || *d.Parent != pod {
			t.Errorf("%s parent %v, want the pod", d.Summary.Name, d.Parent)
		}
	}
	if p.Summary.Capacity != capacity || p.Summary.FreeSpace != free {
		t.Errorf("pod summary %+v, members' sums %d / %d", p.Summary, capacity, free)
	}
	var dc mo.Folder
	_ = property.DefaultCollector(c).RetrieveOne(context.Background(), *p.Parent, []string{"name"}, &dc)
	if dc.Name != "datastore" {
		t.Errorf("the pod is in folder %q, want the datacenter's datastore folder", dc.Name)
	}
}

func TestStorageDRSRecommendAndApply(t *testing.T) {
	c := login(t)
	pod := podRef(t, "new-pod")
	vm := vmRef(t, "fx-sdrs")
	// Not a pod / no VM: InvalidArgument.
	if _, err := recommend(c, vm, dsRef("new-01"), nil); faultName(err) != "InvalidArgument" {
		t.Errorf("a datastore as pod: %v", err)
	}
	res, err := recommend(c, vm, pod, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recommendations) != 2 || res.DrsFault != nil {
		t.Fatalf("recommendations: %+v", res)
	}
	freeOf := func(ds types.ManagedObjectReference) int64 { return dsFree(t, c, srv.world.dsName[ds]) }
	r0 := res.Recommendations[0]
	a0 := r0.Action[0].(*types.StoragePlacementAction)
	a1 := res.Recommendations[1].Action[0].(*types.StoragePlacementAction)
	if freeOf(a0.Destination) < freeOf(a1.Destination) || r0.Reason != "storagePlacement" || *r0.Target != pod || *a0.Vm != vm ||
		*a0.RelocateSpec.Datastore != a0.Destination || len(a0.RelocateSpec.Disk) != 2 || r0.Rating <= res.Recommendations[1].Rating {
		t.Errorf("best first, a locator for every disk: %+v %+v", r0, a0)
	}
	for _, l := range a0.RelocateSpec.Disk {
		if l.Datastore != a0.Destination {
			t.Errorf("locator %+v not on the destination", l)
		}
	}
	// A locator in relocateSpec pins its disk.
	pinned, err := recommend(c, vm, pod, &types.VirtualMachineRelocateSpec{Disk: []types.VirtualMachineRelocateSpecDiskLocator{loc(2001, "legacy-02", nil)}})
	if err != nil || len(pinned.Recommendations) == 0 {
		t.Fatalf("pinned: %v %+v", err, pinned)
	}
	for _, l := range pinned.Recommendations[0].Action[0].(*types.StoragePlacementAction).RelocateSpec.Disk {
		if l.DiskId == 2001 && l.Datastore != dsRef("legacy-02") {
			t.Errorf("the pinned disk moved: %+v", l)
		}
	}
	// None fits: 100 TiB eager-zeroed.
	big, err := recommend(c, vmRef(t, "fx-big"), pod, nil, types.PodDiskLocator{DiskId: 2000, DiskBackingInfo: flatFormat(false, true)})
	if err != nil || len(big.Recommendations) != 0 || big.DrsFault == nil {
		t.Fatalf("nothing fits: %v %+v", err, big)
	}
	if f := big.DrsFault.FaultsByVm[0].(*types.ClusterDrsFaultsFaultsByVm).Fault[0].Fault; typeName(f) != "InsufficientStorageSpace" {
		t.Errorf("drsFault %T", f)
	}

	control(t, "POST", "reset-stats", nil)
	task, err := applyRec(c, r0.Key)
	if err != nil {
		t.Fatal(err)
	}
	info := waitTask(t, c, task, 30*time.Second)
	if info.State != types.TaskInfoStateSuccess || info.Name != "ApplyStorageDrsRecommendation_Task" || info.DescriptionId != "StorageResourceManager.applyRecommendation" ||
		info.Entity == nil || *info.Entity != vm {
		t.Fatalf("apply task: %+v", info)
	}
	if r, ok := info.Result.(types.ApplyStorageRecommendationResult); !ok || r.Vm == nil || *r.Vm != vm {
		t.Errorf("result %#v", info.Result)
	}
	v := vmFull(t, c, "fx-sdrs")
	if len(v.Datastore) != 1 || v.Datastore[0] != a0.Destination {
		t.Errorf("after apply: datastores %v, want %v", v.Datastore, a0.Destination)
	}
	if vmo := vmMO(t, c, "fx-sdrs"); vmo.RecentTask[len(vmo.RecentTask)-1] != task {
		t.Errorf("the VM's recentTask lacks the apply task")
	}
	st := mmStats(t)
	if len(movesOf(st, task.Value)) != 3 || st.Moves["fx-sdrs"] != 1 {
		t.Errorf("apply moved %+v", movesOf(st, task.Value))
	}
	// Applied (with its alternatives), then unknown; expired.
	if _, err := applyRec(c, r0.Key); faultName(err) != "InvalidArgument" {
		t.Errorf("applying twice: %v", err)
	}
	if _, err := applyRec(c, res.Recommendations[1].Key); faultName(err) != "InvalidArgument" {
		t.Errorf("the alternative of an applied recommendation: %v", err)
	}
	control(t, "POST", "config", map[string]interface{}{"sdrs_ttl_seconds": 0.05})
	defer control(t, "POST", "config", map[string]interface{}{"sdrs_ttl_seconds": 600})
	res2, err := recommend(c, vm, pod, nil)
	if err != nil || len(res2.Recommendations) == 0 {
		t.Fatalf("%v %+v", err, res2)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := applyRec(c, res2.Recommendations[0].Key); faultName(err) != "InvalidArgument" {
		t.Errorf("expired key: %v", err)
	}
}

func TestFilesReport(t *testing.T) {
	res, err := http.Get(srv.ControlURL + "/vms?vm=fx-iso")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep filesReportJSON
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	v, ok := rep.VMs["fx-iso"]
	if !ok || len(rep.VMs) != 1 || v.Home.Datastore != "legacy-01" || len(v.Disks) != 1 || v.Disks[0].Format != "thick" || v.Disks[0].Bytes != gib ||
		len(v.Media) != 1 || v.Media[0].Datastore != "legacy-02" || v.Committed != fxHome+gib {
		t.Errorf("fx-iso: %+v", v)
	}
	if p := rep.Pods["new-pod"]; len(p.Datastores) != 2 || !p.SDRS || p.Free != rep.Datastores["new-01"].Free+rep.Datastores["new-02"].Free {
		t.Errorf("new-pod: %+v", p)
	}
	// The ISO stays when the VM moves.
	c := login(t)
	if info := waitTask(t, c, relocate(t, c, "fx-iso", types.VirtualMachineRelocateSpec{Datastore: ptr(dsRef("flash-01"))}), 30*time.Second); info.State != types.TaskInfoStateSuccess {
		t.Fatal(info.State)
	}
	after := vmFull(t, c, "fx-iso")
	if len(after.Datastore) != 2 || after.Datastore[0] != dsRef("flash-01") || after.Datastore[1] != dsRef("legacy-02") {
		t.Errorf("after the move: %v, want flash-01 and the ISO's legacy-02", after.Datastore)
	}
	st := mmStats(t)
	if st.FileMoves == nil || len(*st.FileMoves) == 0 || len(st.BytesMoved) == 0 || len(st.FileCopies) == 0 {
		t.Fatalf("no file moves counted: %+v %+v", st.BytesMoved, st.FileCopies)
	}
	control(t, "POST", "reset-stats", nil)
	if st = mmStats(t); st.FileMoves == nil || len(*st.FileMoves) != 0 || len(st.BytesMoved) != 0 || len(st.FileCopies) != 0 || len(st.Copies) != 0 {
		t.Errorf("reset-stats left file_moves %v, bytes_moved %v, file_copies %v", st.FileMoves, st.BytesMoved, st.FileCopies)
	}
	// Every datastore: capacity - free = the bytes of the files on it.
	full := srv.filesReport(nil)
	for name, d := range full.Datastores {
		if d.Capacity-d.Free != d.Used {
			t.Errorf("%s: capacity %d - free %d != files %d", name, d.Capacity, d.Free, d.Used)
		}
	}
}

// fullFlags is the brief's generated inventory: 3 clusters × 8 hosts × 60 VMs (per cluster:
// 180) with every kind of file.
var fullFlags = []string{"-clusters", "3", "-hosts", "8", "-vms", "60", "-datastores", "legacy:4,flash:2,new:4", "-disks", "1-4",
	"-disk-prefixes", "legacy,flash,new", "-rdm-physical", "0.02", "-multiwriter", "0.02", "-iso", "0.03", "-powered-off-fraction", "0.05",
	"-template-fraction", "0.02", "-ft", "0.01", "-pod", "new"}

func TestGenerationFlags(t *testing.T) {
	cfg, err := parseFlags(fullFlags, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := generatePlan(&cfg, now)
	b, _ := generatePlan(&cfg, now)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different inventory")
	}
	dc := a.Datacenters[0]
	if len(dc.Pods) != 1 || dc.Pods[0].Name != "new-pod" || len(dc.Pods[0].Members) != 4 || !dc.Pods[0].SDRS {
		t.Errorf("pods: %+v", dc.Pods)
	}
	count := map[string]int{}
	used := map[string]int64{}
	var extra, spread int
	for _, vm := range dc.VMs {
		regular := 0
		for i, d := range vm.Disks {
			used[d.DS] += d.Used
			switch {
			case d.Backing == backingRDMPhysical:
				count["rdm_physical"]++
			case d.Sharing == "sharingMultiWriter":
				count["multiwriter"]++
				if !d.Eager || d.Thin {
					t.Errorf("%s: a multi-writer disk must be eager-zeroed thick", vm.Name)
				}
			default:
				regular++
			}
			if i == 0 && d.DS != vm.Home {
				t.Errorf("%s: the first disk is on %s, the home on %s", vm.Name, d.DS, vm.Home)
			}
			if i > 0 {
				extra++
				if d.DS != vm.Home {
					spread++
				}
			}
			if d.Thin && d.Capacity < d.Used || !d.Thin && d.Backing == backingFlat && d.Capacity != d.Used {
				t.Errorf("%s disk %d: capacity %d, used %d, thin %v", vm.Name, d.Key, d.Capacity, d.Used, d.Thin)
			}
		}
		for _, h := range vm.HomeFiles {
			used[vm.Home] += h.size
		}
		if regular < 1 || regular > 4 || !strings.HasPrefix(vm.Home, "legacy-") {
			t.Errorf("%s: %d regular disks, home %s", vm.Name, regular, vm.Home)
		}
		if len(vm.Media) > 0 {
			count["iso"]++
		}
		if vm.Template {
			count["template"]++
			if vm.PoweredOn {
				t.Errorf("%s: a powered-on template", vm.Name)
			}
		}
		if vm.FTRole == 1 {
			count["ft"]++
		}
		if !vm.PoweredOn {
			count["off"]++
		}
	}
	for _, k := range []string{"rdm_physical", "multiwriter", "iso", "template", "ft", "off"} {
		if count[k] == 0 {
			t.Errorf("no VM with %s among %d: %v", k, len(dc.VMs), count)
		}
	}
	if f := float64(spread) / float64(extra); f < 0.4 || f > 0.6 {
		t.Errorf("%d of %d extra disks off the home datastore (-spread 0.5)", spread, extra)
	}
	for _, ds := range dc.Datastores {
		if ds.FreeBytes != ds.CapacityBytes-used[ds.Name] || ds.FreeBytes < 0 {
			t.Errorf("%s: free %d, capacity %d, files %d", ds.Name, ds.FreeBytes, ds.CapacityBytes, used[ds.Name])
		}
	}
	for _, bad := range [][]string{{"-disks", "0"}, {"-disks", "3-2"}, {"-pod", "nope"}, {"-disk-prefixes", "legacy,nope"}, {"-spread", "1.5"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// startChild runs the command as a child process and returns its ready line.
func startChild(t *testing.T, args ...string) Ready {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VCSIM_TEST_SUBPROCESS=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v; stderr: %s", err, stderr.String())
	}
	var ready Ready
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	return ready
}

func loginURL(t *testing.T, rawURL string) *vim25.Client {
	t.Helper()
	ctx := context.Background()
	u, _ := url.Parse(rawURL)
	c, err := vim25.NewClient(ctx, soap.NewClient(u, true))
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(ctx, url.UserPassword("user", "pass")); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFullFlagsInventoryIsConsistent starts the brief's generated inventory as a child and
// checks through the API that its totals add up: each VM's committed bytes are its layoutEx
// files, its datastores are where its files and images are, each datastore's used space
// (capacity - free) is the files on it, its vm list the VMs with files there, and the pod's
// summary is its members' sums.
func TestFullFlagsInventoryIsConsistent(t *testing.T) {
	ready := startChild(t, fullFlags...)
	if ready.VMs != 180 {
		t.Fatalf("%d VMs, want 180", ready.VMs)
	}
	t.Logf("3 clusters × 8 hosts × 60 VMs with every kind of file: started in %.2f s", ready.StartupSeconds)
	c := loginURL(t, ready.URL)
	ctx := context.Background()
	m := view.NewManager(c)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine", "Datastore", "StoragePod"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "datastore", "layoutEx", "summary.storage", "config.hardware.device",
		"config.files.vmPathName", "config.ftInfo", "config.template", "runtime.powerState", "guest.toolsRunningStatus"}, &vms); err != nil {
		t.Fatal(err)
	}
	var dss []mo.Datastore
	if err := v.Retrieve(ctx, []string{"Datastore"}, []string{"name", "summary", "vm", "parent"}, &dss); err != nil {
		t.Fatal(err)
	}
	var pods []mo.StoragePod
	if err := v.Retrieve(ctx, []string{"StoragePod"}, []string{"name", "summary", "childEntity", "podStorageDrsEntry"}, &pods); err != nil {
		t.Fatal(err)
	}
	dsByName := map[string]mo.Datastore{}
	for _, d := range dss {
		dsByName[d.Name] = d
	}
	onDS := map[string]int64{}
	vmsOn := map[types.ManagedObjectReference]map[types.ManagedObjectReference]bool{}
	count := map[string]int{}
	for _, vm := range vms {
		var sum int64
		where := map[types.ManagedObjectReference]bool{}
		for _, f := range vm.LayoutEx.File {
			sum += f.Size
			ds, _, _ := parseDSPath(f.Name)
			onDS[ds] += f.Size
			where[dsByName[ds].Self] = true
		}
		if sum != vm.Summary.Storage.Committed {
			t.Errorf("%s: layoutEx %d, committed %d", vm.Name, sum, vm.Summary.Storage.Committed)
		}
		for _, d := range vm.Config.Hardware.Device {
			switch x := d.(type) {
			case *types.VirtualDisk:
				switch b := x.Backing.(type) {
				case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
					count[b.CompatibilityMode]++
				case *types.VirtualDiskFlatVer2BackingInfo:
					if b.Sharing == "sharingMultiWriter" {
						count["multiwriter"]++
					}
				}
			case *types.VirtualCdrom:
				if b, ok := x.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
					count["iso"]++
					where[*b.Datastore] = true
				}
			}
		}
		if vm.Config.FtInfo != nil {
			count["ft"]++
		}
		if vm.Config.Template {
			count["template"]++
		}
		if len(where) != len(vm.Datastore) {
			t.Errorf("%s: datastores %v, files on %v", vm.Name, vm.Datastore, where)
		}
		for _, d := range vm.Datastore {
			if !where[d] {
				t.Errorf("%s lists %v without a file there", vm.Name, d)
			}
			if vmsOn[d] == nil {
				vmsOn[d] = map[types.ManagedObjectReference]bool{}
			}
			vmsOn[d][vm.Self] = true
		}
		want := "guestToolsNotRunning"
		if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			want = "guestToolsRunning"
		}
		if vm.Guest.ToolsRunningStatus != want {
			t.Errorf("%s: tools %q while %s", vm.Name, vm.Guest.ToolsRunningStatus, vm.Runtime.PowerState)
		}
	}
	for _, k := range []string{"physicalMode", "multiwriter", "iso", "ft", "template"} {
		if count[k] == 0 {
			t.Errorf("no %s in the inventory: %v", k, count)
		}
	}
	for _, d := range dss {
		if d.Summary.Capacity-d.Summary.FreeSpace != onDS[d.Name] {
			t.Errorf("%s: capacity %d - free %d != files %d", d.Name, d.Summary.Capacity, d.Summary.FreeSpace, onDS[d.Name])
		}
		if len(d.Vm) != len(vmsOn[d.Self]) {
			t.Errorf("%s: vm list %d, VMs with files there %d", d.Name, len(d.Vm), len(vmsOn[d.Self]))
		}
	}
	if len(pods) != 1 || pods[0].Name != "new-pod" || len(pods[0].ChildEntity) != 4 || !pods[0].PodStorageDrsEntry.StorageDrsConfig.PodConfig.Enabled {
		t.Fatalf("pods: %+v", pods)
	}
	var capacity, free int64
	for _, d := range dss {
		if strings.HasPrefix(d.Name, "new-") {
			capacity += d.Summary.Capacity
			free += d.Summary.FreeSpace
			if d.Parent == nil || *d.Parent != pods[0].Self {
				t.Errorf("%s is not in new-pod", d.Name)
			}
		}
	}
	if pods[0].Summary.Capacity != capacity || pods[0].Summary.FreeSpace != free {
		t.Errorf("new-pod summary %+v, members %d / %d", pods[0].Summary, capacity, free)
	}
}

func TestLoadInventoryWithFiles(t *testing.T) {
	doc := `{"clusters":[{"name":"prod","moref":"domain-c1","hosts":["h1","h2"]}],
 "hosts":[{"name":"h1","moref":"host-1","cluster":"prod"},{"name":"h2","moref":"host-2","cluster":"prod","connection_state":"disconnected","in_maintenance_mode":true}],
 "datastores":[{"name":"old-1","moref":"datastore-1","capacity_bytes":1099511627776,"free_bytes":1000000000000,"datastore_cluster":"gold"},
               {"name":"old-2","moref":"datastore-2","capacity_bytes":1099511627776,"free_bytes":1000000000000},
               {"name":"lib","moref":"datastore-3","capacity_bytes":1099511627776,"free_bytes":1000000000000}],
 "datastore_clusters":[{"name":"gold","moref":"group-p1","datastores":["old-2"],"sdrs_enabled":true}],
 "vms":[{"name":"db-01","moref":"vm-1","host":"h1","datastores":["old-1","old-2","lib"],"committed_bytes":99,
         "config_datastore":"old-1","vm_path":"[old-1] db-01/db-01.vmx","config_bytes":2097152,
         "disks":[{"key":2000,"label":"Hard disk 1","file":"[old-1] db-01/db-01.vmdk","datastore":"old-1","capacity_bytes":42949672960,"used_bytes":10737418240,"backing":"flat","thin":true,"sharing":"sharingNone","mode":"persistent"},
                  {"key":2001,"label":"Hard disk 2","file":"[old-2] db-01/db-01_1.vmdk","datastore":"old-2","capacity_bytes":107374182400,"backing":"rdm_physical","mode":"independent_persistent"}],
         "media":[{"key":3000,"label":"CD/DVD drive 1","file":"[lib] iso/win2019.iso","datastore":"lib"}],
         "fault_tolerance_role":1,"connection_state":"orphaned","tools_running_status":"guestToolsNotRunning"},
        {"name":"web-01","moref":"vm-2","host":"h1","datastores":["old-1","old-2"],"committed_bytes":2000000000,"uncommitted_bytes":1000000000},
        {"name":"susp-01","moref":"vm-3","host":"h1","datastores":["old-1"],"committed_bytes":2000000000,"power_state":"suspended"}]}`
	f := filepath.Join(t.TempDir(), "inv.json")
	_ = os.WriteFile(f, []byte(doc), 0o644)
	p, err := loadInventoryPlan(f)
	if err != nil {
		t.Fatal(err)
	}
	dc := p.Datacenters[0]
	if len(dc.Pods) != 1 || dc.Pods[0].Name != "gold" || len(dc.Pods[0].Members) != 2 || !dc.Pods[0].SDRS {
		t.Errorf("pods: %+v", dc.Pods)
	}
	if st := dc.HostStates["h2"]; st.Connection != "disconnected" || !st.Maintenance {
		t.Errorf("host state: %+v", dc.HostStates)
	}
	db := dc.VMs[0]
	if db.Home != "old-1" || db.VMPath != "db-01/db-01.vmx" || len(db.Disks) != 2 || db.Disks[1].Backing != backingRDMPhysical ||
		db.Disks[1].Used != rdmMappingBytes || db.Disks[0].Used != 10*gib || !db.Disks[0].Thin || db.FTRole != 1 || db.ConnState != "orphaned" ||
		db.Tools != "guestToolsNotRunning" || len(db.Media) != 1 || db.Media[0].DS != "lib" || db.Committed != 2<<20+10*gib+rdmMappingBytes {
		t.Errorf("db-01: %+v", db)
	}
	// An older record without disks: one disk per datastore, committed and datastores kept.
	web := dc.VMs[1]
	if len(web.Disks) != 2 || web.Committed != 2000000000 || len(web.Datastores) != 2 || web.Disks[1].DS != "old-2" || web.Uncommitted != 1000000000 {
		t.Errorf("web-01: %+v", web)
	}

	// Built by the command: the loaded files and the pod as a client sees them.
	ready := startChild(t, "-inventory", f)
	res, err := http.Get(ready.Control + "/vms")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep filesReportJSON
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	r := rep.VMs["db-01"]
	if r.Home.Path != "[old-1] db-01/db-01.vmx" || len(r.Disks) != 2 || r.Disks[1].Format != "rdm_physical" || r.Disks[1].File != "[old-2] db-01/db-01_1.vmdk" ||
		!r.FaultTolerance || r.ConnectionState != "orphaned" || len(r.Datastores) != 3 || r.Media[0].File != "[lib] iso/win2019.iso" {
		t.Errorf("db-01 as built: %+v", r)
	}
	if p := rep.VMs["susp-01"].PowerState; p != "suspended" {
		t.Errorf("susp-01 is %s", p)
	}
	if pr := rep.Pods["gold"]; len(pr.Datastores) != 2 || !pr.SDRS || pr.Free != 2000000000000 {
		t.Errorf("gold as built: %+v", pr)
	}
	if rep.Datastores["old-1"].Pod != "gold" || rep.Datastores["old-1"].Free != 1000000000000 {
		t.Errorf("old-1 as built: %+v", rep.Datastores["old-1"])
	}
}

// The -tag values are vSphere tags in the Automation REST API, read with govmomi's own tag
// client: one SINGLE category per -tag, its tags given to the VMs in turn; a login needs the
// server's user and password; every REST call is counted apart from the SOAP ones.
func TestTagsSeededInRESTAPI(t *testing.T) {
	ctx := context.Background()
	c := login(t)
	rc := rest.NewClient(c)
	if err := rc.Login(ctx, url.UserPassword("user", "wrong")); err == nil {
		t.Fatal("a REST login with a wrong password succeeded")
	}
	if err := rc.Login(ctx, url.UserPassword("user", "pass")); err != nil {
		t.Fatalf("REST login: %v", err)
	}
	defer rc.Logout(ctx)
	m := tags.NewManager(rc)
	cats, err := m.GetCategories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	catName := map[string]string{}
	for _, cat := range cats {
		catName[cat.ID] = cat.Name
		if cat.Cardinality != "SINGLE" || len(cat.AssociableTypes) != 1 || cat.AssociableTypes[0] != "VirtualMachine" {
			t.Errorf("category %+v", cat)
		}
	}
	if len(cats) != 2 {
		t.Fatalf("categories: %+v", cats)
	}
	want := map[string][]string{
		"vm-c1-0001": {"migration-wave:wave-1", "team:fin"},
		"vm-c1-0002": {"migration-wave:wave-2", "team:fin"},
		"vm-c1-0003": {"migration-wave:wave-3", "team:fin"},
		"vm-c1-0004": {"migration-wave:wave-1", "team:fin"},
	}
	var refs []mo.Reference
	names := map[string]string{}
	for name := range want {
		r := vmRef(t, name)
		refs = append(refs, r)
		names[r.Value] = name
	}
	attached, err := m.GetAttachedTagsOnObjects(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(attached) != len(want) {
		t.Fatalf("attached: %+v", attached)
	}
	for _, a := range attached {
		var got []string
		for _, tag := range a.Tags {
			got = append(got, catName[tag.CategoryID]+":"+tag.Name)
		}
		sort.Strings(got)
		name := names[a.ObjectID.Reference().Value]
		if !reflect.DeepEqual(got, want[name]) {
			t.Errorf("%s: tags %v, want %v", name, got, want[name])
		}
	}
	stats := mmStats(t)
	if stats.RESTCalls["POST session"].Calls < 2 || stats.RESTCalls["GET tagging/category"].Calls < 1 {
		t.Errorf("REST calls not counted: %+v", stats.RESTCalls)
	}
}

// With -no-rest the server has no Automation API (an ESXi host, a vCenter before 6.5):
// /rest answers 404, and -tag is refused rather than silently dropped.
func TestNoRESTFlag(t *testing.T) {
	if _, err := parseFlags([]string{"-no-rest", "-tag", "wave=a|b"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-no-rest") {
		t.Errorf("-no-rest with -tag: %v", err)
	}
	if _, err := parseFlags([]string{"-tag", "a:b=c"}, io.Discard); err != nil {
		t.Fatalf("flags: %v", err)
	}
	cfg := defaultConfig()
	cfg.Tags = stringList{"a:b=c"}
	if _, err := parseSelectors(&cfg); err == nil {
		t.Error("a category with ':' was accepted")
	}
	ready := startChild(t, "-no-rest", "-vms", "2", "-clusters", "1", "-hosts", "1")
	u, _ := url.Parse(ready.URL)
	resp, err := http.Post(u.Scheme+"://"+u.Host+"/rest/com/vmware/cis/session", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /rest/com/vmware/cis/session with -no-rest: HTTP %d, want 404", resp.StatusCode)
	}
}
