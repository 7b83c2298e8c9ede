package main

import (
	"fmt"
	"sort"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// relocRequest is what a relocation asks for: RelocateVM_Task's spec, MigrateVM_Task's host
// and pool, or a Storage DRS recommendation's relocateSpec.
type relocRequest struct {
	datastore *ref
	host      *ref
	pool      *ref
	disks     []types.VirtualMachineRelocateSpecDiskLocator
	hostProp  string // the property a bad host is reported as ("host" or "spec.host")
	poolProp  string
}

func relocRequestOf(spec types.VirtualMachineRelocateSpec) relocRequest {
	return relocRequest{datastore: spec.Datastore, host: spec.Host, pool: spec.Pool, disks: spec.Disk, hostProp: "spec.host", poolProp: "spec.pool"}
}

// storageAsked tells whether the request names any datastore (a Storage vMotion was asked,
// even if nothing ends up changing place).
func (r relocRequest) storageAsked() bool { return r.datastore != nil || len(r.disks) > 0 }

// fileMove is one file (the home, or one disk) a relocation copies.
type fileMove struct {
	File     string // "config" or "disk-2001"
	Key      int32  // disk key (-1: the home)
	From, To ref
	Written  int64  // bytes the copy writes
	SrcBytes int64  // bytes it occupied at the source (freed there)
	DstBytes int64  // bytes it occupies at the destination
	Format   string // the disk's format after the move ("" for the home)
}

// movePlan is a validated relocation: where the VM ends up, which files move and the VM's
// files afterwards.
type movePlan struct {
	host, pool   ref
	hostMove     bool
	storageAsked bool
	cold         bool
	moves        []fileMove
	newFiles     *vmFiles
	arrive       map[ref]int64 // bytes arriving per destination datastore (their new size)
	touched      []ref         // every datastore a moving file leaves or reaches, once each
}

func (p *movePlan) written() int64 {
	var n int64
	for _, m := range p.moves {
		n += m.Written
	}
	return n
}

// hostState reads a host's connection state and maintenance mode under its lock.
func hostState(h ref) (conn types.HostSystemConnectionState, maintenance bool) {
	hs, ok := simulator.Map.Get(h).(*simulator.HostSystem)
	if !ok {
		return types.HostSystemConnectionStateConnected, false
	}
	simulator.Map.WithLock(hs, func() {
		conn, maintenance = hs.Runtime.ConnectionState, hs.Runtime.InMaintenanceMode
	})
	if conn == "" {
		conn = types.HostSystemConnectionStateConnected
	}
	return conn, maintenance
}

// isCold tells whether moving the VM is a cold migration: powered off, suspended or a template.
func isCold(vm *VM) bool {
	return vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || (vm.Config != nil && vm.Config.Template)
}

// diskFormat reads a disk locator's diskBackingInfo: the format the disk is converted to
// ("" = as it is).
func diskFormat(b types.BaseVirtualDeviceBackingInfo, d *vdisk, prop string) (string, *soap.Fault) {
	if b == nil {
		return "", nil
	}
	switch x := b.(type) {
	case *types.VirtualDiskFlatVer2BackingInfo:
		thin, eager := x.ThinProvisioned, x.EagerlyScrub
		switch {
		case thin == nil && eager == nil:
			return "", nil
		case thin != nil && *thin && eager != nil && *eager:
			return "", soapFault("A disk cannot be both thin provisioned and eagerly scrubbed.",
				&types.InvalidArgument{InvalidProperty: prop + ".diskBackingInfo"})
		case thin != nil && *thin:
			return formatThin, nil
		case eager != nil && *eager:
			return formatEager, nil
		default:
			return formatThick, nil
		}
	case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
		if d.backing == backingFlat {
			return "", soapFault(fmt.Sprintf("%s is a virtual disk file; it cannot become a raw device mapping.", d.label),
				&types.InvalidArgument{InvalidProperty: prop + ".diskBackingInfo"})
		}
		return "", nil // the mapping stays a mapping
	default:
		return "", soapFault(fmt.Sprintf("The test vCenter converts disks only with VirtualDiskFlatVer2BackingInfo, not %s.", typeName(b)),
			&types.InvalidArgument{InvalidProperty: prop + ".diskBackingInfo"})
	}
}

// planRelocation validates a relocation of vm (whose lock the caller holds) and works out
// which files move where, with vSphere's rule: spec.datastore is where the home goes; a disk
// with a locator goes to the locator's datastore (converted to its diskBackingInfo's
// format); a disk without one follows spec.datastore when it is set and stays otherwise.
// Refusals are SOAP faults, as vCenter raises them from the call.
func (e *engine) planRelocation(vm *VM, rq relocRequest) (*movePlan, *soap.Fault) {
	w := e.w
	p := &movePlan{host: *vm.Runtime.Host, storageAsked: rq.storageAsked(), cold: isCold(vm)}
	if vm.ResourcePool != nil {
		p.pool = *vm.ResourcePool
	}
	if rq.datastore != nil {
		if _, ok := w.dsName[*rq.datastore]; !ok {
			return nil, notFoundOrInvalid(*rq.datastore, "spec.datastore")
		}
	}
	if rq.host != nil {
		if _, ok := w.hostName[*rq.host]; !ok {
			return nil, notFoundOrInvalid(*rq.host, rq.hostProp)
		}
		p.hostMove = *rq.host != p.host
		p.host = *rq.host
	}
	if rq.pool != nil {
		if _, ok := simulator.Map.Get(*rq.pool).(*simulator.ResourcePool); !ok {
			return nil, notFoundOrInvalid(*rq.pool, rq.poolProp)
		}
		p.pool = *rq.pool
	} else if p.hostMove && w.hostCluster[p.host] != w.hostCluster[*vm.Runtime.Host] {
		p.pool = w.hostPool[p.host]
	}

	// Host and VM state.
	src := *vm.Runtime.Host
	hosts := []ref{src}
	if p.hostMove {
		hosts = append(hosts, p.host)
	}
	for _, h := range hosts {
		if conn, _ := hostState(h); conn != types.HostSystemConnectionStateConnected {
			return nil, soapFault(fmt.Sprintf("Host %s is %s.", w.hostName[h], conn), &types.HostNotConnected{})
		}
	}
	if vm.Runtime.ConnectionState != "" && vm.Runtime.ConnectionState != types.VirtualMachineConnectionStateConnected {
		return nil, soapFault(fmt.Sprintf("The operation is not allowed in the current connection state of the virtual machine (%s).", vm.Runtime.ConnectionState),
			&types.InvalidState{})
	}
	if _, mm := hostState(src); mm && !p.hostMove && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
		return nil, soapFault(fmt.Sprintf("Host %s is in maintenance mode: a powered-on virtual machine can only move off it.", w.hostName[src]),
			&types.InvalidState{})
	}
	if p.hostMove {
		if _, mm := hostState(p.host); mm {
			return nil, soapFault(fmt.Sprintf("Host %s is in maintenance mode.", w.hostName[p.host]), &types.InvalidState{})
		}
	}

	// Disk locators.
	files := vm.files
	type target struct {
		ds     ref
		format string
		prop   string
	}
	locs := map[int32]target{}
	for _, l := range rq.disks {
		d := files.disk(l.DiskId)
		if d == nil {
			return nil, soapFault(fmt.Sprintf("A specified parameter was not correct: spec.disk.diskId (%d is not a virtual disk of %s)", l.DiskId, vm.Name),
				&types.InvalidArgument{InvalidProperty: "spec.disk.diskId"})
		}
		if _, dup := locs[l.DiskId]; dup {
			return nil, soapFault(fmt.Sprintf("A specified parameter was not correct: spec.disk.diskId (disk %d has two locators)", l.DiskId),
				&types.InvalidArgument{InvalidProperty: "spec.disk.diskId"})
		}
		if l.Datastore.Value == "" {
			return nil, soapFault("A specified parameter was not correct: spec.disk.datastore (a disk locator needs a datastore)",
				&types.InvalidArgument{InvalidProperty: "spec.disk.datastore"})
		}
		if _, ok := w.dsName[l.Datastore]; !ok {
			return nil, notFoundOrInvalid(l.Datastore, "spec.disk.datastore")
		}
		f, fault := diskFormat(l.DiskBackingInfo, d, "spec.disk")
		if fault != nil {
			return nil, fault
		}
		if f != "" && d.backing == backingRDMPhysical {
			return nil, soapFault(fmt.Sprintf("%s is a raw device mapping in physical compatibility mode: it cannot be converted to a virtual disk file.", d.label),
				&types.RDMConversionNotSupported{Device: d.label})
		}
		locs[l.DiskId] = target{l.Datastore, f, "spec.disk.datastore"}
	}

	// Where each file ends up; every final location must be mounted on the (destination) host.
	mounted := func(d ref, prop string) *soap.Fault {
		if m := w.dsHosts[d]; m != nil && !m[p.host] {
			return soapFault(fmt.Sprintf("Datastore '%s' is not accessible from host '%s'.", w.dsName[d], w.hostName[p.host]),
				&types.InvalidArgument{InvalidProperty: prop})
		}
		return nil
	}
	nf := files.clone()
	homeTo := files.home
	if rq.datastore != nil {
		homeTo = *rq.datastore
	}
	if f := mounted(homeTo, "spec.datastore"); f != nil {
		return nil, f
	}
	if homeTo != files.home {
		n := files.homeBytes()
		p.moves = append(p.moves, fileMove{File: "config", Key: -1, From: files.home, To: homeTo, Written: n, SrcBytes: n, DstBytes: n})
		nf.home = homeTo
	}
	for i := range files.disks {
		d := files.disks[i]
		t, ok := locs[d.key]
		if !ok {
			t = target{d.ds, "", "spec.datastore"}
			if rq.datastore != nil {
				t.ds = *rq.datastore
			}
		}
		if f := mounted(t.ds, t.prop); f != nil {
			return nil, f
		}
		if t.ds == d.ds && (t.format == "" || t.format == d.format()) {
			continue
		}
		written, occupies, nd := d.copyTo(t.format)
		nd.ds = t.ds
		nf.disks[i] = nd
		p.moves = append(p.moves, fileMove{File: fmt.Sprintf("disk-%d", d.key), Key: d.key, From: d.ds, To: t.ds,
			Written: written, SrcBytes: d.used, DstBytes: occupies, Format: nd.format()})
	}
	p.newFiles = nf

	if len(p.moves) > 0 {
		if vm.Config != nil && vm.Config.FtInfo != nil {
			return nil, soapFault(fmt.Sprintf("Storage vMotion is not supported for a Fault Tolerance VM (%s is protected by Fault Tolerance).", vm.Name),
				&types.NotSupported{})
		}
		if d := files.hasMultiWriter(); d != nil && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			return nil, soapFault(fmt.Sprintf("Storage vMotion of a powered-on virtual machine with a multi-writer disk (%s) is not supported.", d.label),
				&types.MultiWriterNotSupported{DeviceNotSupported: types.DeviceNotSupported{Device: d.label, Reason: "multi-writer sharing"}})
		}
	}
	p.arrive = map[ref]int64{}
	seen := map[ref]bool{}
	touch := func(d ref) {
		if !seen[d] {
			seen[d] = true
			p.touched = append(p.touched, d)
		}
	}
	for _, m := range p.moves {
		p.arrive[m.To] += m.DstBytes
		touch(m.From)
		touch(m.To)
	}
	return p, nil
}

// sortedRefs returns the map's keys ordered by the names given.
func sortedRefs(m map[ref]int64, names map[ref]string) []ref {
	out := make([]ref, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return names[out[i]] < names[out[j]] })
	return out
}
