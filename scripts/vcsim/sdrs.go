package main

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// StorageResourceManager adds Storage DRS placement for relocations (RecommendDatastores
// with a StoragePlacementSpec of type "relocate", which vcsim 0.24 does not handle) and
// ApplyStorageDrsRecommendation_Task, run by the engine like any relocation. Placement for
// create and clone stays vcsim's.
type StorageResourceManager struct {
	simulator.StorageResourceManager // first field, by value
}

// storageRec is a remembered recommendation.
type storageRec struct {
	key     string
	batch   int // recommendations of one RecommendDatastores call (applying one drops the others)
	vm      ref
	spec    types.VirtualMachineRelocateSpec
	created time.Time
}

func installStorageResourceManager() {
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	m := &StorageResourceManager{}
	m.Self = *si.Content.StorageResourceManager
	simulator.Map.Put(m)
}

func (m *StorageResourceManager) RecommendDatastores(ctx *simulator.Context, req *types.RecommendDatastores) soap.HasFault {
	if req.StorageSpec.Type != string(types.StoragePlacementSpecPlacementTypeRelocate) {
		return m.StorageResourceManager.RecommendDatastores(req)
	}
	body := &methods.RecommendDatastoresBody{}
	res, fault := theEngine.recommend(req.StorageSpec)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.RecommendDatastoresResponse{Returnval: *res}
	return body
}

func (m *StorageResourceManager) ApplyStorageDrsRecommendationTask(ctx *simulator.Context, req *types.ApplyStorageDrsRecommendation_Task) soap.HasFault {
	body := &methods.ApplyStorageDrsRecommendation_TaskBody{}
	task, fault := theEngine.applyRecommendation(ctx, req.Key)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.ApplyStorageDrsRecommendation_TaskResponse{Returnval: task}
	return body
}

func invalidArg(prop, msg string) *soap.Fault {
	return soapFault(msg, &types.InvalidArgument{InvalidProperty: prop})
}

// drsFault is a StoragePlacementResult without recommendations, saying why (vSphere answers
// placement it cannot make this way, not with a SOAP fault).
func drsFault(vm ref, fault types.BaseMethodFault, msg string) *types.StoragePlacementResult {
	v := vm
	return &types.StoragePlacementResult{DrsFault: &types.ClusterDrsFaults{
		Reason: "storagePlacement",
		FaultsByVm: []types.BaseClusterDrsFaultsFaultsByVm{&types.ClusterDrsFaultsFaultsByVm{
			Vm: &v, Fault: []types.LocalizedMethodFault{{Fault: fault, LocalizedMessage: msg}},
		}},
	}}
}

// recommend answers RecommendDatastores for a relocation: the pod's members that the VM's
// (destination) host mounts and that have room for the files that move there — every file
// not pinned by a locator of relocateSpec, each in its size after the conversion a
// PodDiskLocator (podSelectionSpec.initialVmConfig[].disk[].diskBackingInfo) asks for — best
// (most free space) first, at most 3.
func (e *engine) recommend(spec types.StoragePlacementSpec) (*types.StoragePlacementResult, *soap.Fault) {
	if spec.Vm == nil {
		return nil, invalidArg("vm", "A specified parameter was not correct: vm (a relocation placement needs the VM)")
	}
	vm, ok := simulator.Map.Get(*spec.Vm).(*VM)
	if !ok {
		return nil, notFoundOrInvalid(*spec.Vm, "vm")
	}
	podRef := spec.PodSelectionSpec.StoragePod
	if podRef == nil && len(spec.PodSelectionSpec.InitialVmConfig) > 0 {
		podRef = &spec.PodSelectionSpec.InitialVmConfig[0].StoragePod
	}
	if podRef == nil {
		return nil, invalidArg("podSelectionSpec.storagePod", "A specified parameter was not correct: podSelectionSpec.storagePod (no datastore cluster given)")
	}
	pod, ok := simulator.Map.Get(*podRef).(*simulator.StoragePod)
	if !ok {
		return nil, notFoundOrInvalid(*podRef, "podSelectionSpec.storagePod")
	}
	enabled := false
	simulator.Map.WithLock(pod, func() {
		enabled = pod.PodStorageDrsEntry != nil && pod.PodStorageDrsEntry.StorageDrsConfig.PodConfig.Enabled
	})
	members := e.w.podMembers[*podRef]
	if !enabled || len(members) == 0 {
		return nil, invalidArg("podSelectionSpec.storagePod",
			fmt.Sprintf("A specified parameter was not correct: podSelectionSpec.storagePod (Storage DRS is not enabled on datastore cluster %s, or it has no datastores)", e.w.podName[*podRef]))
	}
	rs := types.VirtualMachineRelocateSpec{}
	if spec.RelocateSpec != nil {
		rs = *spec.RelocateSpec
	}
	var podDisks []types.PodDiskLocator
	for _, c := range spec.PodSelectionSpec.InitialVmConfig {
		if c.StoragePod == *podRef {
			podDisks = append(podDisks, c.Disk...)
		}
	}

	var result *types.StoragePlacementResult
	var fault *soap.Fault
	simulator.Map.WithLock(vm, func() {
		result, fault = e.recommendLocked(vm, *podRef, members, rs, podDisks)
	})
	return result, fault
}

type candidate struct {
	ds        ref
	free      int64
	need      int64
	locators  []types.VirtualMachineRelocateSpecDiskLocator
	capacity  int64
	remaining int64
}

func (e *engine) recommendLocked(vm *VM, podRef ref, members []ref, rs types.VirtualMachineRelocateSpec,
	podDisks []types.PodDiskLocator) (*types.StoragePlacementResult, *soap.Fault) {
	w := e.w
	files := vm.files
	pinned := map[int32]bool{}
	for _, l := range rs.Disk {
		pinned[l.DiskId] = true
	}
	podBacking := map[int32]types.BaseVirtualDeviceBackingInfo{}
	for _, pd := range podDisks {
		d := files.disk(pd.DiskId)
		if d == nil {
			return nil, invalidArg("podSelectionSpec.initialVmConfig.disk.diskId",
				fmt.Sprintf("A specified parameter was not correct: podSelectionSpec.initialVmConfig.disk.diskId (%d is not a virtual disk of %s)", pd.DiskId, vm.Name))
		}
		f, fault := diskFormat(pd.DiskBackingInfo, d, "podSelectionSpec.initialVmConfig.disk")
		if fault != nil {
			return nil, fault
		}
		if f != "" && d.backing == backingRDMPhysical {
			return nil, soapFault(fmt.Sprintf("%s is a raw device mapping in physical compatibility mode: it cannot be converted to a virtual disk file.", d.label),
				&types.RDMConversionNotSupported{Device: d.label})
		}
		podBacking[pd.DiskId] = pd.DiskBackingInfo
	}
	// The request as it stands (home and unpinned disks in place): host, VM and locator checks.
	probe := relocRequest{host: rs.Host, pool: rs.Pool, disks: rs.Disk, hostProp: "relocateSpec.host", poolProp: "relocateSpec.pool"}
	if _, fault := e.planRelocation(vm, probe); fault != nil {
		if _, ft := fault.VimFault().(*types.NotSupported); !ft {
			if _, mw := fault.VimFault().(*types.MultiWriterNotSupported); !mw {
				return nil, fault
			}
		}
	}
	if vm.Config != nil && vm.Config.FtInfo != nil {
		return drsFault(vm.Self, &types.StorageDrsCannotMoveFTVm{},
			fmt.Sprintf("Storage DRS cannot move %s: it is protected by Fault Tolerance.", vm.Name)), nil
	}
	for _, d := range files.disks {
		if !pinned[d.key] && d.sharing == string(types.VirtualDiskSharingSharingMultiWriter) {
			return drsFault(vm.Self, &types.StorageDrsCannotMoveDiskInMultiWriterMode{},
				fmt.Sprintf("Storage DRS cannot move %s of %s: it is in multi-writer mode.", d.label, vm.Name)), nil
		}
	}

	var cands []candidate
	for _, m := range members {
		locs := make([]types.VirtualMachineRelocateSpecDiskLocator, 0, len(files.disks))
		for _, d := range files.disks {
			if pinned[d.key] {
				continue
			}
			locs = append(locs, types.VirtualMachineRelocateSpecDiskLocator{DiskId: d.key, Datastore: m, DiskBackingInfo: podBacking[d.key]})
		}
		all := append(append([]types.VirtualMachineRelocateSpecDiskLocator(nil), rs.Disk...), locs...)
		sort.Slice(all, func(i, j int) bool { return all[i].DiskId < all[j].DiskId })
		dst := m
		plan, fault := e.planRelocation(vm, relocRequest{datastore: &dst, host: rs.Host, pool: rs.Pool, disks: all,
			hostProp: "relocateSpec.host", poolProp: "relocateSpec.pool"})
		if fault != nil {
			if _, ia := fault.VimFault().(*types.InvalidArgument); ia {
				continue // not mounted on the host
			}
			return nil, fault
		}
		cands = append(cands, candidate{ds: m, need: plan.arrive[m], locators: all})
	}
	e.mu.Lock()
	e.purgeRecsLocked()
	var fits []candidate
	for _, c := range cands {
		c.free = e.dsFree[c.ds] - e.dsReserved[c.ds]
		c.capacity = e.dsCap[c.ds]
		if c.free >= c.need {
			c.remaining = c.free - c.need
			fits = append(fits, c)
		}
	}
	sort.SliceStable(fits, func(i, j int) bool {
		if fits[i].free != fits[j].free {
			return fits[i].free > fits[j].free
		}
		return w.dsName[fits[i].ds] < w.dsName[fits[j].ds]
	})
	if len(fits) > 3 {
		fits = fits[:3]
	}
	if len(fits) == 0 {
		e.mu.Unlock()
		return drsFault(vm.Self, &types.InsufficientStorageSpace{},
			fmt.Sprintf("Insufficient disk space on the datastores of %s for %s.", w.podName[podRef], vm.Name)), nil
	}
	e.recSeq++
	batch := e.recSeq
	now := time.Now()
	res := &types.StoragePlacementResult{}
	vmRef := vm.Self
	pod := podRef
	for i, c := range fits {
		e.recSeq++
		key := strconv.Itoa(e.recSeq)
		ds := c.ds
		spec := types.VirtualMachineRelocateSpec{Datastore: &ds, Host: rs.Host, Pool: rs.Pool, Disk: c.locators}
		e.recs[key] = &storageRec{key: key, batch: batch, vm: vmRef, spec: spec, created: now}
		util := func(free int64) float32 {
			if c.capacity <= 0 {
				return 0
			}
			return float32(float64(c.capacity-free) / float64(c.capacity) * 100)
		}
		res.Recommendations = append(res.Recommendations, types.ClusterRecommendation{
			Key: key, Type: "V1", Time: e.clock.time(e.clock.now()), Rating: int32(5 - i), Reason: "storagePlacement",
			ReasonText: "Satisfy storage placement requests",
			Target:     &pod,
			Action: []types.BaseClusterAction{&types.StoragePlacementAction{
				ClusterAction:     types.ClusterAction{Type: "StoragePlacementV1", Target: &vmRef},
				Vm:                &vmRef,
				RelocateSpec:      spec,
				Destination:       ds,
				SpaceUtilBefore:   util(c.free),
				SpaceDemandBefore: util(c.free),
				SpaceUtilAfter:    util(c.remaining),
				SpaceDemandAfter:  util(c.remaining),
			}},
		})
	}
	e.mu.Unlock()
	return res, nil
}

// purgeRecsLocked forgets recommendations older than the TTL.
func (e *engine) purgeRecsLocked() {
	now := time.Now()
	for k, r := range e.recs {
		if now.Sub(r.created) > e.recsTTL {
			delete(e.recs, k)
		}
	}
}

// applyRecommendation runs a remembered recommendation as the engine's relocation, in a
// task named ApplyStorageDrsRecommendation_Task on the VM.
func (e *engine) applyRecommendation(ctx *simulator.Context, keys []string) (ref, *soap.Fault) {
	if len(keys) != 1 {
		return ref{}, invalidArg("key", fmt.Sprintf("A specified parameter was not correct: key (the test vCenter applies one recommendation per call, got %d)", len(keys)))
	}
	e.mu.Lock()
	e.purgeRecsLocked()
	rec := e.recs[keys[0]]
	e.mu.Unlock()
	if rec == nil {
		return ref{}, invalidArg("key", fmt.Sprintf("A specified parameter was not correct: key (no recommendation %q: unknown, applied or expired)", keys[0]))
	}
	vm, ok := simulator.Map.Get(rec.vm).(*VM)
	if !ok {
		return ref{}, soapFault("The object has already been deleted or has not been completely created", &types.ManagedObjectNotFound{Obj: rec.vm})
	}
	var task ref
	var fault *soap.Fault
	simulator.Map.WithLock(vm, func() {
		p, f := e.planRelocation(vm, relocRequestOf(rec.spec))
		if f != nil {
			fault = f
			return
		}
		e.mu.Lock()
		if e.recs[rec.key] == nil { // applied meanwhile
			e.mu.Unlock()
			fault = invalidArg("key", fmt.Sprintf("A specified parameter was not correct: key (recommendation %q was applied already)", rec.key))
			return
		}
		for k, r := range e.recs {
			if r.batch == rec.batch {
				delete(e.recs, k)
			}
		}
		e.mu.Unlock()
		t := e.newTask(ctx, vm, "ApplyStorageDrsRecommendation_Task", "StorageResourceManager.applyRecommendation", true, true)
		t.kind = kindRelocate
		vmRef := vm.Self
		t.result = &types.ApplyStorageRecommendationResult{Vm: &vmRef}
		e.planMove(t, vm, p)
		e.submit(t)
		task = t.task.Self
	})
	return task, fault
}
