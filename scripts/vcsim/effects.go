package main

import (
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// applyEffect changes the inventory for a task that succeeded. It runs on the engine's
// goroutine without the engine's lock, taking each object's lock in turn.
func (e *engine) applyEffect(t *mmTask) {
	switch t.kind {
	case kindRelocate, kindMigrate:
		e.applyMove(t)
	case kindConsolidate:
		vm := t.vm
		simulator.Map.WithLock(vm, func() {
			simulator.Map.Update(vm, []types.PropertyChange{
				{Name: "runtime.consolidationNeeded", Val: false},
				{Name: "summary.runtime.consolidationNeeded", Val: false},
			})
		})
	case kindRemoveSnapshot:
		removeSnapshot(t.vm, t.snapshot, t.removeChildren, t.consolidate)
	case kindRemoveAllSnapshots:
		removeAllSnapshots(t.vm, t.consolidate)
	}
}

func (e *engine) applyMove(t *mmTask) {
	vm := t.vm
	now := time.Now()
	var newDS []ref
	simulator.Map.WithLock(vm, func() {
		var changes []types.PropertyChange
		newDS = vm.Datastore
		if t.storage && t.plan != nil {
			nf := t.plan.newFiles
			vm.files = nf
			on := vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
			rd := nf.render(e.w.dsName, vm.Config.Hardware.Device, on, now)
			files := vm.Config.Files
			files.VmPathName = rd.vmPath
			files.SnapshotDirectory, files.SuspendDirectory, files.LogDirectory = rd.dir, rd.dir, rd.dir
			newDS = rd.datastore
			changes = append(changes,
				types.PropertyChange{Name: "config.hardware.device", Val: rd.devices},
				types.PropertyChange{Name: "config.files", Val: files},
				types.PropertyChange{Name: "layoutEx", Val: rd.layoutEx},
				types.PropertyChange{Name: "layout", Val: rd.layout},
				types.PropertyChange{Name: "datastore", Val: rd.datastore},
				types.PropertyChange{Name: "storage", Val: rd.storage},
				types.PropertyChange{Name: "summary.storage", Val: rd.summary},
				types.PropertyChange{Name: "summary.config.vmPathName", Val: rd.vmPath},
			)
			// Set directly too: nested paths under pointers are applied by reflection.
			vm.Config.Hardware.Device = rd.devices
			vm.Config.Files = files
			vm.LayoutEx, vm.Layout, vm.Storage, vm.Summary.Storage = rd.layoutEx, rd.layout, rd.storage, rd.summary
			vm.Summary.Config.VmPathName = rd.vmPath
		}
		if t.hostMove {
			h := t.dstHost
			changes = append(changes,
				types.PropertyChange{Name: "runtime.host", Val: h},
				types.PropertyChange{Name: "summary.runtime.host", Val: h},
			)
		}
		if vm.ResourcePool == nil || *vm.ResourcePool != t.dstPool {
			changes = append(changes, types.PropertyChange{Name: "resourcePool", Val: t.dstPool})
		}
		if len(changes) > 0 {
			simulator.Map.Update(vm, changes)
		}
	})

	if t.storage && t.plan != nil {
		for _, d := range t.plan.touched {
			has := simulator.FindReference(newDS, d) != nil
			updateDatastore(d, vm.Self, t.freeAfter[d], has)
		}
		for p, space := range t.podsAfter {
			updatePod(p, space[0], space[1])
		}
	}
	if t.hostMove {
		moveRef(t.srcHost, t.dstHost, vm.Self)
	}
	if oldPool := t.vmPoolBefore(); oldPool != (ref{}) && oldPool != t.dstPool {
		moveRef(oldPool, t.dstPool, vm.Self)
	}
}

// vmPoolBefore is the resource pool the VM was in when the task was planned.
func (t *mmTask) vmPoolBefore() ref { return t.srcPool }

// updateDatastore sets a datastore's free space (from the engine's ledger) and whether the
// VM is in its vm list.
func updateDatastore(d ref, vmRef ref, free int64, hasVM bool) {
	ds, ok := simulator.Map.Get(d).(*simulator.Datastore)
	if !ok {
		return
	}
	simulator.Map.WithLock(ds, func() {
		vms := append([]ref(nil), ds.Vm...)
		if hasVM {
			if simulator.FindReference(vms, vmRef) == nil {
				vms = append(vms, vmRef)
			}
		} else {
			simulator.RemoveReference(&vms, vmRef)
		}
		info := ds.Info.GetDatastoreInfo()
		info.FreeSpace, info.MaxFileSize, info.MaxMemoryFileSize = free, free, free
		now := time.Now()
		info.Timestamp = &now
		simulator.Map.Update(ds, []types.PropertyChange{
			{Name: "summary.freeSpace", Val: free},
			{Name: "vm", Val: vms},
		})
	})
}

// updatePod sets a datastore cluster's summary (its members' sums).
func updatePod(p ref, capacity, free int64) {
	pod, ok := simulator.Map.Get(p).(*simulator.StoragePod)
	if !ok {
		return
	}
	simulator.Map.WithLock(pod, func() {
		sum := &types.StoragePodSummary{Name: pod.Name, Capacity: capacity, FreeSpace: free}
		pod.Summary = sum
		simulator.Map.Update(pod, []types.PropertyChange{{Name: "summary", Val: sum}})
	})
}

// moveRef moves a VM reference from one host's or pool's vm list to another's.
func moveRef(from, to ref, vmRef ref) {
	update := func(r ref, add bool) {
		obj := simulator.Map.Get(r)
		if obj == nil {
			return
		}
		simulator.Map.WithLock(obj, func() {
			var list *[]ref
			switch o := obj.(type) {
			case *simulator.HostSystem:
				list = &o.Vm
			case *simulator.ResourcePool:
				list = &o.Vm
			default:
				return
			}
			vms := append([]ref(nil), (*list)...)
			if add {
				if simulator.FindReference(vms, vmRef) == nil {
					vms = append(vms, vmRef)
				}
			} else {
				simulator.RemoveReference(&vms, vmRef)
			}
			simulator.Map.Update(obj, []types.PropertyChange{{Name: "vm", Val: vms}})
		})
	}
	update(from, false)
	update(to, true)
}

// ---- snapshots ---------------------------------------------------------------

func allSnapshots(tree []types.VirtualMachineSnapshotTree) []ref {
	var out []ref
	for _, n := range tree {
		out = append(out, n.Snapshot)
		out = append(out, allSnapshots(n.ChildSnapshotList)...)
	}
	return out
}

func findSnapshot(tree []types.VirtualMachineSnapshotTree, r ref) *types.VirtualMachineSnapshotTree {
	for i := range tree {
		if tree[i].Snapshot == r {
			return &tree[i]
		}
		if n := findSnapshot(tree[i].ChildSnapshotList, r); n != nil {
			return n
		}
	}
	return nil
}

// parentSnapshot returns the parent of r in the tree (nil for a root or when absent).
func parentSnapshot(tree []types.VirtualMachineSnapshotTree, r ref, parent *ref) (*ref, bool) {
	for _, n := range tree {
		if n.Snapshot == r {
			return parent, true
		}
		p := n.Snapshot
		if got, ok := parentSnapshot(n.ChildSnapshotList, r, &p); ok {
			return got, true
		}
	}
	return nil, false
}

func maxSnapshotID(tree []types.VirtualMachineSnapshotTree) int32 {
	var m int32
	for _, n := range tree {
		if n.Id > m {
			m = n.Id
		}
		if c := maxSnapshotID(n.ChildSnapshotList); c > m {
			m = c
		}
	}
	return m
}

// copyTree deep-copies a snapshot tree, appending child under parent (when parent != nil).
func copyTree(tree []types.VirtualMachineSnapshotTree, parent *ref, child *types.VirtualMachineSnapshotTree) []types.VirtualMachineSnapshotTree {
	out := make([]types.VirtualMachineSnapshotTree, 0, len(tree))
	for _, n := range tree {
		c := n
		c.ChildSnapshotList = copyTree(n.ChildSnapshotList, parent, child)
		if parent != nil && n.Snapshot == *parent {
			c.ChildSnapshotList = append(c.ChildSnapshotList, *child)
		}
		out = append(out, c)
	}
	return out
}

// appendSnapshot adds a snapshot as a child of the current one (or as a root) and makes it
// current. The caller holds vm's lock (or nothing else runs yet).
func appendSnapshot(vm *VM, name, desc string, created time.Time) ref {
	s := &Snapshot{}
	s.Vm = vm.Self
	if vm.Config != nil {
		s.Config = *vm.Config
	}
	s.Self = ref{Type: "VirtualMachineSnapshot"}
	simulator.Map.Put(s)
	var roots []types.VirtualMachineSnapshotTree
	var cur *ref
	if vm.Snapshot != nil {
		roots = vm.Snapshot.RootSnapshotList
		cur = vm.Snapshot.CurrentSnapshot
	}
	node := types.VirtualMachineSnapshotTree{
		Snapshot: s.Self, Vm: vm.Self, Name: name, Description: desc, Id: maxSnapshotID(roots) + 1,
		CreateTime: created, State: vm.Runtime.PowerState, ReplaySupported: types.NewBool(false),
	}
	if cur != nil && findSnapshot(roots, *cur) != nil {
		roots = copyTree(roots, cur, &node)
		if parent, ok := simulator.Map.Get(*cur).(*Snapshot); ok {
			parent.ChildSnapshot = append(parent.ChildSnapshot, s.Self)
		}
	} else {
		roots = append(copyTree(roots, nil, nil), node)
	}
	self := s.Self
	rootRefs := make([]ref, 0, len(roots))
	for _, n := range roots {
		rootRefs = append(rootRefs, n.Snapshot)
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "snapshot", Val: &types.VirtualMachineSnapshotInfo{CurrentSnapshot: &self, RootSnapshotList: roots}},
		{Name: "rootSnapshot", Val: rootRefs},
	})
	return self
}

// pruneTree removes target (and its subtree when removeChildren; otherwise its children
// take its place) and returns the new tree and the removed snapshots.
func pruneTree(tree []types.VirtualMachineSnapshotTree, target ref, removeChildren bool) ([]types.VirtualMachineSnapshotTree, []ref) {
	var out []types.VirtualMachineSnapshotTree
	var removed []ref
	for _, n := range tree {
		if n.Snapshot == target {
			removed = append(removed, n.Snapshot)
			if removeChildren {
				removed = append(removed, allSnapshots(n.ChildSnapshotList)...)
			} else {
				kids, _ := pruneTree(n.ChildSnapshotList, target, removeChildren)
				out = append(out, kids...)
			}
			continue
		}
		c := n
		var r []ref
		c.ChildSnapshotList, r = pruneTree(n.ChildSnapshotList, target, removeChildren)
		removed = append(removed, r...)
		out = append(out, c)
	}
	return out, removed
}

func removeSnapshot(vm *VM, target ref, removeChildren, consolidate bool) {
	var removed []ref
	simulator.Map.WithLock(vm, func() {
		if vm.Snapshot == nil {
			return
		}
		parent, _ := parentSnapshot(vm.Snapshot.RootSnapshotList, target, nil)
		var tree []types.VirtualMachineSnapshotTree
		tree, removed = pruneTree(vm.Snapshot.RootSnapshotList, target, removeChildren)
		changes := snapshotChanges(tree, vm.Snapshot.CurrentSnapshot, removed, parent)
		if consolidate {
			changes = append(changes,
				types.PropertyChange{Name: "runtime.consolidationNeeded", Val: false},
				types.PropertyChange{Name: "summary.runtime.consolidationNeeded", Val: false})
		}
		simulator.Map.Update(vm, changes)
	})
	for _, r := range removed {
		simulator.Map.Remove(r)
	}
}

func removeAllSnapshots(vm *VM, consolidate bool) {
	var removed []ref
	simulator.Map.WithLock(vm, func() {
		if vm.Snapshot != nil {
			removed = allSnapshots(vm.Snapshot.RootSnapshotList)
		}
		changes := snapshotChanges(nil, nil, removed, nil)
		if consolidate {
			changes = append(changes,
				types.PropertyChange{Name: "runtime.consolidationNeeded", Val: false},
				types.PropertyChange{Name: "summary.runtime.consolidationNeeded", Val: false})
		}
		simulator.Map.Update(vm, changes)
	})
	for _, r := range removed {
		simulator.Map.Remove(r)
	}
}

// snapshotChanges builds the property changes for a VM whose snapshot tree became tree.
func snapshotChanges(tree []types.VirtualMachineSnapshotTree, current *ref, removed []ref, fallback *ref) []types.PropertyChange {
	if len(tree) == 0 {
		return []types.PropertyChange{{Name: "snapshot", Val: nil}, {Name: "rootSnapshot", Val: nil}}
	}
	cur := current
	if cur != nil {
		for _, r := range removed {
			if r == *cur {
				cur = fallback
				break
			}
		}
	}
	info := &types.VirtualMachineSnapshotInfo{RootSnapshotList: tree}
	if cur != nil {
		c := *cur
		info.CurrentSnapshot = &c
	}
	rootRefs := make([]ref, 0, len(tree))
	for _, n := range tree {
		rootRefs = append(rootRefs, n.Snapshot)
	}
	return []types.PropertyChange{{Name: "snapshot", Val: info}, {Name: "rootSnapshot", Val: rootRefs}}
}

var _ mo.Reference = (*VM)(nil)
