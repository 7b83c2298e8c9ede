package main

import (
	"fmt"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// theEngine is the process's engine (govmomi's simulator is a process-wide singleton too).
var theEngine *engine

// VM wraps simulator.VirtualMachine BY VALUE (the simulator's reflection digs the first
// field for the mo type and panics on an embedded pointer). Its methods replace vcsim's
// synchronous task methods with asynchronous ones run by the engine.
type VM struct {
	simulator.VirtualMachine

	// files is where the VM's home, disks and images are (read and replaced under the VM's lock)
	files *vmFiles
}

// Snapshot wraps simulator.VirtualMachineSnapshot by value (vcsim's own snapshot methods
// assert the VM's type and would panic on our wrapper).
type Snapshot struct {
	simulator.VirtualMachineSnapshot
}

// maxRecentPerVM is how many tasks a VM's recentTask keeps.
const maxRecentPerVM = 10

func soapFault(msg string, f types.BaseMethodFault) *soap.Fault { return simulator.Fault(msg, f) }

// newTask creates the simulator Task for an engine operation on vm, with vCenter's names,
// and adds it to the VM's recentTask. vmLocked tells whether the caller holds vm's lock.
func (e *engine) newTask(ctx *simulator.Context, vm *VM, method, descID string, cancelable bool, vmLocked bool) *mmTask {
	st := simulator.CreateTask(vm, "mm", nil)
	queued := e.clock.time(e.clock.now())
	simulator.Map.WithLock(st, func() {
		st.Info.Name = method
		st.Info.DescriptionId = descID
		st.Info.EntityName = vm.Name
		st.Info.Cancelable = cancelable
		st.Info.QueueTime = queued
		if ctx != nil && ctx.Session != nil {
			st.Info.Reason = &types.TaskReasonUser{UserName: ctx.Session.UserName}
		}
	})
	addRecent := func() {
		recent := append(append([]ref(nil), vm.RecentTask...), st.Self)
		if len(recent) > maxRecentPerVM {
			recent = recent[len(recent)-maxRecentPerVM:]
		}
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "recentTask", Val: recent}})
	}
	if vmLocked {
		addRecent()
	} else {
		simulator.Map.WithLock(vm, addRecent)
	}
	return &mmTask{id: st.Self.Value, task: st, method: method, vm: vm, vmName: vm.Name}
}

func notFoundOrInvalid(r ref, property string) *soap.Fault {
	if simulator.Map.Get(r) == nil {
		return soapFault("The object has already been deleted or has not been completely created",
			&types.ManagedObjectNotFound{Obj: r})
	}
	return soapFault(fmt.Sprintf("A specified parameter was not correct: %s (%s is not a valid target)", property, r),
		&types.InvalidArgument{InvalidProperty: property})
}

// planMove fills a migration task's costs, times, copy and names from its plan. vSphere's
// Limits on Simultaneous Migrations: a powered-on VM's Storage vMotion costs the host 4 (and
// the destination host 4 when the host changes) and 16 on every datastore a moving file
// leaves or reaches, once each; a vMotion 1 on both hosts and 1 on the VM's datastores; a
// cold migration (powered off, suspended, template) is a provisioning operation: 1 on the
// source host (and 1 on the destination host), nothing on datastores or the network.
func (e *engine) planMove(t *mmTask, vm *VM, p *movePlan) {
	t.plan = p
	t.storage, t.hostMove, t.cold = len(p.moves) > 0, p.hostMove, p.cold
	t.srcHost, t.dstHost, t.dstPool = *vm.Runtime.Host, p.host, p.pool
	if vm.ResourcePool != nil {
		t.srcPool = *vm.ResourcePool
	}
	t.srcDS = append([]ref(nil), vm.Datastore...)
	t.hostCost, t.dsCost = map[ref]int{}, map[ref]int{}
	t.committed = p.written()
	cfg := e.config()
	if p.storageAsked {
		t.fixed = cfg.SVMotionSetupSeconds
		t.copyBytes = float64(t.committed)
	}
	switch {
	case !t.storage && !t.hostMove:
	case t.cold:
		t.hostCost[t.srcHost] += cfg.HostCostProvisioning
		if t.hostMove {
			t.hostCost[t.dstHost] += cfg.HostCostProvisioning
		}
	case t.storage:
		t.hostCost[t.srcHost] += cfg.HostCostSVMotion
		if t.hostMove {
			t.hostCost[t.dstHost] += cfg.HostCostSVMotion
		}
		for _, d := range p.touched {
			t.dsCost[d] = cfg.DatastoreCostSVMotion
		}
	default: // vMotion
		t.hostCost[t.srcHost] += cfg.HostCostVMotion
		t.hostCost[t.dstHost] += cfg.HostCostVMotion
		for _, d := range t.srcDS {
			t.dsCost[d] = cfg.DatastoreCostVMotion
		}
	}
	if t.hostMove {
		if !t.cold {
			t.netHosts = []ref{t.srcHost, t.dstHost}
		}
		t.fixed += cfg.VMotionSetupSeconds
		if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			t.fixed += float64(vm.Config.Hardware.MemoryMB) / cfg.VMotionRateMBps
		} else {
			t.fixed += 1 // cold migration: registration only
		}
	}
	if t.storage {
		seen := map[ref]bool{}
		for _, m := range p.moves {
			if !seen[m.From] {
				seen[m.From] = true
				t.from = append(t.from, e.w.dsName[m.From])
			}
		}
		seen = map[ref]bool{}
		for _, m := range p.moves {
			if !seen[m.To] {
				seen[m.To] = true
				t.to = append(t.to, e.w.dsName[m.To])
			}
		}
		// The copy's own cap and the arrays it loads (bandwidth.go); the model is fixed at start.
		t.capRate, t.uses = e.storage.copyShape(cfg.RateMBps*mib, t.from, t.to)
	} else {
		for _, d := range t.srcDS {
			t.from = append(t.from, e.w.dsName[d])
		}
	}
	if t.hostMove {
		t.from = append(t.from, e.w.hostName[t.srcHost])
		t.to = append(t.to, e.w.hostName[t.dstHost])
	}
}

// RelocateVMTask is RelocateVM_Task: Storage vMotion (spec.datastore, spec.disk), vMotion
// (spec.host) or both, asynchronous, under the host/datastore/network limits.
func (vm *VM) RelocateVMTask(ctx *simulator.Context, req *types.RelocateVM_Task) soap.HasFault {
	e := theEngine
	body := &methods.RelocateVM_TaskBody{}
	p, fault := e.planRelocation(vm, relocRequestOf(req.Spec))
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	t := e.newTask(ctx, vm, "RelocateVM_Task", "VirtualMachine.relocate", true, true)
	t.kind = kindRelocate
	e.planMove(t, vm, p)
	e.submit(t)
	body.Res = &types.RelocateVM_TaskResponse{Returnval: t.task.Self}
	return body
}

// MigrateVMTask is MigrateVM_Task (vMotion to a host; vcsim 0.24 lacks it).
func (vm *VM) MigrateVMTask(ctx *simulator.Context, req *types.MigrateVM_Task) soap.HasFault {
	e := theEngine
	body := &methods.MigrateVM_TaskBody{}
	if req.Host == nil {
		body.Fault_ = soapFault("MigrateVM_Task needs a host (the test vCenter has no DRS to choose one)",
			&types.InvalidArgument{InvalidProperty: "host"})
		return body
	}
	p, fault := e.planRelocation(vm, relocRequest{host: req.Host, pool: req.Pool, hostProp: "host", poolProp: "pool"})
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	t := e.newTask(ctx, vm, "MigrateVM_Task", "VirtualMachine.migrate", true, true)
	t.kind = kindMigrate
	e.planMove(t, vm, p)
	e.submit(t)
	body.Res = &types.MigrateVM_TaskResponse{Returnval: t.task.Self}
	return body
}

// snapshotSeconds is the simulated time to merge snapshot deltas: 5% of the VM's committed
// bytes per snapshot level, at the Storage vMotion rate (at least 1 s).
func (e *engine) snapshotSeconds(vm *VM, levels int) float64 {
	var committed int64
	if vm.Summary.Storage != nil {
		committed = vm.Summary.Storage.Committed
	}
	s := 0.05 * float64(committed) * float64(levels) / (e.config().RateMBps * mib)
	if s < 1 {
		s = 1
	}
	return s
}

// ConsolidateVMDisksTask is ConsolidateVMDisks_Task (vcsim 0.24 lacks it): clears
// runtime.consolidationNeeded when done.
func (vm *VM) ConsolidateVMDisksTask(ctx *simulator.Context, req *types.ConsolidateVMDisks_Task) soap.HasFault {
	e := theEngine
	t := e.newTask(ctx, vm, "ConsolidateVMDisks_Task", "VirtualMachine.consolidateDisks", false, true)
	t.kind = kindConsolidate
	t.fixed = 1
	if vm.Runtime.ConsolidationNeeded != nil && *vm.Runtime.ConsolidationNeeded {
		t.fixed = e.snapshotSeconds(vm, 1)
	}
	e.submit(t)
	return &methods.ConsolidateVMDisks_TaskBody{Res: &types.ConsolidateVMDisks_TaskResponse{Returnval: t.task.Self}}
}

// RemoveAllSnapshotsTask is RemoveAllSnapshots_Task, asynchronous.
func (vm *VM) RemoveAllSnapshotsTask(ctx *simulator.Context, req *types.RemoveAllSnapshots_Task) soap.HasFault {
	e := theEngine
	t := e.newTask(ctx, vm, "RemoveAllSnapshots_Task", "VirtualMachine.removeAllSnapshots", false, true)
	t.kind = kindRemoveAllSnapshots
	t.consolidate = req.Consolidate == nil || *req.Consolidate
	levels := 0
	if vm.Snapshot != nil {
		levels = len(allSnapshots(vm.Snapshot.RootSnapshotList))
	}
	t.fixed = e.snapshotSeconds(vm, levels)
	e.submit(t)
	return &methods.RemoveAllSnapshots_TaskBody{Res: &types.RemoveAllSnapshots_TaskResponse{Returnval: t.task.Self}}
}

// CreateSnapshotTask replaces vcsim's (which writes files and asserts the VM's type): the
// snapshot becomes a child of the current one; the task completes at once.
func (vm *VM) CreateSnapshotTask(ctx *simulator.Context, req *types.CreateSnapshot_Task) soap.HasFault {
	task := simulator.CreateTask(vm, "createSnapshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		s := appendSnapshot(vm, req.Name, req.Description, time.Now())
		return s, nil
	})
	return &methods.CreateSnapshot_TaskBody{Res: &types.CreateSnapshot_TaskResponse{Returnval: task.Run()}}
}

// RemoveSnapshotTask is RemoveSnapshot_Task on a snapshot, asynchronous.
func (s *Snapshot) RemoveSnapshotTask(ctx *simulator.Context, req *types.RemoveSnapshot_Task) soap.HasFault {
	e := theEngine
	vm, ok := simulator.Map.Get(s.Vm).(*VM)
	if !ok {
		return &methods.RemoveSnapshot_TaskBody{Fault_: soapFault("snapshot's VM not found", &types.ManagedObjectNotFound{Obj: s.Vm})}
	}
	t := e.newTask(ctx, vm, "RemoveSnapshot_Task", "vm.Snapshot.remove", false, false)
	t.kind = kindRemoveSnapshot
	t.snapshot = s.Self
	t.removeChildren = req.RemoveChildren
	t.consolidate = req.Consolidate == nil || *req.Consolidate
	levels := 1
	if req.RemoveChildren {
		simulator.Map.WithLock(vm, func() {
			if vm.Snapshot != nil {
				if node := findSnapshot(vm.Snapshot.RootSnapshotList, s.Self); node != nil {
					levels = len(allSnapshots([]types.VirtualMachineSnapshotTree{*node}))
				}
			}
		})
	}
	t.fixed = 1
	if t.consolidate {
		t.fixed = e.snapshotSeconds(vm, levels)
	}
	e.submit(t)
	return &methods.RemoveSnapshot_TaskBody{Res: &types.RemoveSnapshot_TaskResponse{Returnval: t.task.Self}}
}

// RevertToSnapshotTask makes this snapshot the current one (completes at once).
func (s *Snapshot) RevertToSnapshotTask(ctx *simulator.Context, req *types.RevertToSnapshot_Task) soap.HasFault {
	task := simulator.CreateTask(s, "revertToSnapshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		vm, ok := simulator.Map.Get(s.Vm).(*VM)
		if !ok {
			return nil, &types.ManagedObjectNotFound{Obj: s.Vm}
		}
		self := s.Self
		simulator.Map.WithLock(vm, func() {
			simulator.Map.Update(vm, []types.PropertyChange{{Name: "snapshot.currentSnapshot", Val: self}})
		})
		return nil, nil
	})
	return &methods.RevertToSnapshot_TaskBody{Res: &types.RevertToSnapshot_TaskResponse{Returnval: task.Run()}}
}
