package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type ref = types.ManagedObjectReference

// world indexes the simulator objects the task engine needs. It is built once at
// start and only read afterwards (object contents change; the indexes do not).
type world struct {
	vmByRef     map[ref]*VM
	vmByName    map[string]*VM
	hostName    map[ref]string
	hostByName  map[string]ref
	hostPool    map[ref]ref // host -> root resource pool of its cluster or compute resource
	hostCluster map[ref]ref
	dsName      map[ref]string
	dsByName    map[string]ref
	dsHosts     map[ref]map[ref]bool
	tempDirs    []string
}

// buildWorld creates a simulator model and fills it with the plan's objects.
func buildWorld(p *plan, logf func(string, ...interface{})) (*simulator.Model, *world, error) {
	m := simulator.VPX()
	m.Datacenter, m.Portgroup, m.Host, m.Cluster, m.ClusterHost, m.Datastore, m.Machine = 0, 0, 0, 0, 0, 0, 0
	m.Autostart = false
	if err := m.Create(); err != nil {
		return nil, nil, fmt.Errorf("creating the simulator model: %v", err)
	}
	w := &world{
		vmByRef: map[ref]*VM{}, vmByName: map[string]*VM{},
		hostName: map[ref]string{}, hostByName: map[string]ref{}, hostPool: map[ref]ref{}, hostCluster: map[ref]ref{},
		dsName: map[ref]string{}, dsByName: map[string]ref{}, dsHosts: map[ref]map[ref]bool{},
	}
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, m.Service)
	if err != nil {
		return nil, nil, err
	}
	root := object.NewRootFolder(c)
	for _, pdc := range p.Datacenters {
		if err := w.buildDatacenter(ctx, c, root, pdc, logf); err != nil {
			w.removeTempDirs()
			return nil, nil, err
		}
	}
	// The tasks that built the inventory are not part of the scenario: a fresh vCenter
	// shows no recent tasks.
	tm := simulator.Map.Get(*simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content.TaskManager).(*simulator.TaskManager)
	for _, t := range tm.RecentTask {
		simulator.Map.Remove(t)
	}
	tm.RecentTask = nil
	return m, w, nil
}

func (w *world) removeTempDirs() {
	for _, d := range w.tempDirs {
		_ = os.RemoveAll(d)
	}
}

func waitResult(ctx context.Context, t *object.Task, err error) (ref, error) {
	if err != nil {
		return ref{}, err
	}
	info, err := t.WaitForResult(ctx, nil)
	if err != nil {
		return ref{}, err
	}
	r, _ := info.Result.(types.ManagedObjectReference)
	return r, nil
}

func (w *world) buildDatacenter(ctx context.Context, c *vim25.Client, root *object.Folder, pdc planDC, logf func(string, ...interface{})) error {
	t0 := time.Now()
	dc, err := root.CreateDatacenter(ctx, pdc.Name)
	if err != nil {
		return fmt.Errorf("datacenter %s: %v", pdc.Name, err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	var dcHosts []ref
	clusterPool := map[string]ref{}
	for _, pc := range pdc.Clusters {
		cl, err := folders.HostFolder.CreateCluster(ctx, pc.Name, types.ClusterConfigSpecEx{})
		if err != nil {
			return fmt.Errorf("cluster %s: %v", pc.Name, err)
		}
		scl := simulator.Map.Get(cl.Reference()).(*simulator.ClusterComputeResource)
		pool := *scl.ResourcePool
		clusterPool[pc.Name] = pool
		for _, hn := range pc.Hosts {
			if _, dup := w.hostByName[hn]; dup {
				return fmt.Errorf("host %s appears twice", hn)
			}
			t, err := cl.AddHost(ctx, types.HostConnectSpec{HostName: hn}, true, nil, nil)
			h, err := waitResult(ctx, t, err)
			if err != nil {
				return fmt.Errorf("host %s: %v", hn, err)
			}
			w.addHost(h, hn, pool, cl.Reference())
			dcHosts = append(dcHosts, h)
		}
	}
	for _, hn := range pdc.Standalone {
		t, err := folders.HostFolder.AddStandaloneHost(ctx, types.HostConnectSpec{HostName: hn}, true, nil, nil)
		h, err := waitResult(ctx, t, err)
		if err != nil {
			return fmt.Errorf("host %s: %v", hn, err)
		}
		sh := simulator.Map.Get(h).(*simulator.HostSystem)
		cr := simulator.Map.Get(*sh.Parent).(*mo.ComputeResource)
		w.addHost(h, hn, *cr.ResourcePool, ref{})
		dcHosts = append(dcHosts, h)
	}
	for _, pds := range pdc.Datastores {
		hosts := dcHosts
		if pds.Hosts != nil {
			hosts = nil
			for _, hn := range pds.Hosts {
				hosts = append(hosts, w.hostByName[hn])
			}
		}
		if err := w.addDatastore(ctx, c, pds, hosts); err != nil {
			return err
		}
	}
	logf("datacenter %s: %d hosts, %d datastores in %.1fs", pdc.Name, len(dcHosts), len(pdc.Datastores), time.Since(t0).Seconds())

	t1 := time.Now()
	used := map[ref]int64{}
	for i, pvm := range pdc.VMs {
		host, ok := w.hostByName[pvm.Host]
		if !ok {
			return fmt.Errorf("VM %s: unknown host %s", pvm.Name, pvm.Host)
		}
		if _, dup := w.vmByName[pvm.Name]; dup {
			return fmt.Errorf("VM %s appears twice", pvm.Name)
		}
		vm, err := w.createVM(ctx, c, folders.VmFolder, pvm, host)
		if err != nil {
			return err
		}
		for _, d := range vm.Datastore {
			used[d] += pvm.Committed / int64(len(vm.Datastore))
		}
		if (i+1)%2000 == 0 {
			logf("  %d/%d VMs (%.1fs)", i+1, len(pdc.VMs), time.Since(t1).Seconds())
		}
	}
	for _, pds := range pdc.Datastores {
		r := w.dsByName[pds.Name]
		ds := simulator.Map.Get(r).(*simulator.Datastore)
		free := pds.FreeBytes
		if free < 0 {
			free = pds.CapacityBytes - used[r]
		}
		setDatastoreSpace(ds, pds.CapacityBytes, free)
	}
	logf("datacenter %s: %d VMs in %.1fs", pdc.Name, len(pdc.VMs), time.Since(t1).Seconds())
	return nil
}

func (w *world) addHost(h ref, name string, pool ref, cluster ref) {
	w.hostName[h] = name
	w.hostByName[name] = h
	w.hostPool[h] = pool
	w.hostCluster[h] = cluster
	// A realistic ESXi memory size (the template's is small); vMotion network: 10 GbE.
	sh := simulator.Map.Get(h).(*simulator.HostSystem)
	sh.Summary.Hardware.MemorySize = 512 * gib
	sh.Hardware.MemorySize = 512 * gib
}

// addDatastore creates a datastore backed by a temporary directory and mounts it on hosts.
func (w *world) addDatastore(ctx context.Context, c *vim25.Client, pds planDS, hosts []ref) error {
	if _, dup := w.dsByName[pds.Name]; dup {
		return fmt.Errorf("datastore %s appears twice (names must be unique)", pds.Name)
	}
	if len(hosts) == 0 {
		return fmt.Errorf("datastore %s: no host to mount it on", pds.Name)
	}
	dir, err := os.MkdirTemp("", "mm-vcsim-ds-")
	if err != nil {
		return err
	}
	w.tempDirs = append(w.tempDirs, dir)
	first := object.NewHostSystem(c, hosts[0])
	dss, err := first.ConfigManager().DatastoreSystem(ctx)
	if err != nil {
		return err
	}
	ods, err := dss.CreateLocalDatastore(ctx, pds.Name, dir)
	if err != nil {
		return fmt.Errorf("datastore %s: %v", pds.Name, err)
	}
	r := ods.Reference()
	ds := simulator.Map.Get(r).(*simulator.Datastore)
	mounted := map[ref]bool{hosts[0]: true}
	for _, h := range hosts[1:] {
		if mounted[h] {
			continue
		}
		mounted[h] = true
		sh := simulator.Map.Get(h).(*simulator.HostSystem)
		sh.Datastore = append(sh.Datastore, r)
		if hds, ok := simulator.Map.Get(*sh.ConfigManager.DatastoreSystem).(*simulator.HostDatastoreSystem); ok {
			hds.Datastore = append(hds.Datastore, r)
		}
		switch parent := simulator.Map.Get(*sh.Parent).(type) {
		case *simulator.ClusterComputeResource:
			simulator.Map.AddReference(parent, &parent.Datastore, r)
		case *mo.ComputeResource:
			simulator.Map.AddReference(parent, &parent.Datastore, r)
		}
		ds.Host = append(ds.Host, types.DatastoreHostMount{
			Key: h,
			MountInfo: types.HostMountInfo{
				Path:       filepath.Join("/vmfs/volumes", pds.Name),
				AccessMode: string(types.HostMountModeReadWrite),
				Mounted:    types.NewBool(true),
				Accessible: types.NewBool(pds.Accessible),
			},
		})
	}
	ds.Summary.Type = pds.Type
	ds.Summary.Accessible = pds.Accessible
	w.dsName[r] = pds.Name
	w.dsByName[pds.Name] = r
	w.dsHosts[r] = mounted
	return nil
}

func setDatastoreSpace(ds *simulator.Datastore, capacity, free int64) {
	ds.Summary.Capacity = capacity
	ds.Summary.FreeSpace = free
	ds.Summary.Uncommitted = 0
	info := ds.Info.GetDatastoreInfo()
	info.FreeSpace = free
	info.MaxFileSize = free
	info.MaxMemoryFileSize = free
	now := time.Now()
	info.Timestamp = &now
}

// createVM creates one VM through the simulator's own CreateVM_Task (so every field vcsim
// fills is there), then sets the plan's sizes and state and wraps it in our VM type.
func (w *world) createVM(ctx context.Context, c *vim25.Client, folder *object.Folder, pvm planVM, host ref) (*VM, error) {
	spec := types.VirtualMachineConfigSpec{
		Name:     pvm.Name,
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
		NumCPUs:  pvm.NumCPUs,
		MemoryMB: int64(pvm.MemoryMB),
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[" + pvm.Datastores[0] + "]"},
	}
	pool := object.NewResourcePool(c, w.hostPool[host])
	t, err := folder.CreateVM(ctx, spec, pool, object.NewHostSystem(c, host))
	r, err := waitResult(ctx, t, err)
	if err != nil {
		return nil, fmt.Errorf("VM %s: %v", pvm.Name, err)
	}
	sv := simulator.Map.Get(r).(*simulator.VirtualMachine)

	var dsRefs []ref
	for _, d := range pvm.Datastores {
		dsRefs = append(dsRefs, w.dsByName[d])
	}
	for _, d := range dsRefs[1:] {
		if simulator.FindReference(sv.Datastore, d) == nil {
			sv.Datastore = append(sv.Datastore, d)
			ds := simulator.Map.Get(d).(*simulator.Datastore)
			ds.Vm = append(ds.Vm, r)
		}
	}
	now := time.Now()
	setStorage(&sv.VirtualMachine, sv.Datastore, pvm.Committed, pvm.Uncommitted, now)

	sv.Config.Hardware.MemoryMB = pvm.MemoryMB
	sv.Summary.Config.MemorySizeMB = pvm.MemoryMB
	sv.Summary.Config.NumCpu = pvm.NumCPUs
	sv.Config.Template = pvm.Template
	sv.Summary.Config.Template = pvm.Template
	if pvm.PoweredOn && !pvm.Template {
		sv.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOn
		bt := now.Add(-24 * time.Hour)
		sv.Runtime.BootTime = &bt
	} else {
		sv.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOff
	}
	sv.Runtime.ConsolidationNeeded = types.NewBool(pvm.Consolidate)
	sv.Summary.Runtime = sv.Runtime

	vm := &VM{VirtualMachine: *sv}
	simulator.Map.Put(vm)
	if len(pvm.Snapshots) > 0 {
		addSnapshots(vm, pvm.Snapshots)
	}
	w.vmByRef[r] = vm
	w.vmByName[pvm.Name] = vm
	return vm, nil
}

// setStorage sets summary.storage and storage.perDatastoreUsage; the committed bytes are
// split evenly over the VM's datastores.
func setStorage(vm *mo.VirtualMachine, datastores []ref, committed, uncommitted int64, now time.Time) {
	vm.Summary.Storage = &types.VirtualMachineStorageSummary{
		Committed: committed, Uncommitted: uncommitted, Unshared: committed, Timestamp: now,
	}
	usage := make([]types.VirtualMachineUsageOnDatastore, 0, len(datastores))
	n := int64(len(datastores))
	for _, d := range datastores {
		usage = append(usage, types.VirtualMachineUsageOnDatastore{
			Datastore: d, Committed: committed / n, Uncommitted: uncommitted / n, Unshared: committed / n,
		})
	}
	vm.Storage = &types.VirtualMachineStorageInfo{PerDatastoreUsage: usage, Timestamp: now}
}

// addSnapshots gives vm a chain of snapshots (each the child of the previous one).
func addSnapshots(vm *VM, snaps []planSnapshot) {
	for _, ps := range snaps {
		appendSnapshot(vm, ps.Name, "", ps.Created)
	}
}
