package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/uuid"
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
	dsPod       map[ref]ref   // datastore -> its StoragePod
	podMembers  map[ref][]ref // StoragePod -> member datastores
	podName     map[ref]string
	tempDirs    []string
	fieldKeys   map[string]int32 // custom attribute name -> CustomFieldDef key
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
		dsPod: map[ref]ref{}, podMembers: map[ref][]ref{}, podName: map[ref]string{},
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
			setHostState(h, pdc.HostStates[hn])
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
		setHostState(h, pdc.HostStates[hn])
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
	vmFolders := map[string]*object.Folder{"": folders.VmFolder}
	for i, pvm := range pdc.VMs {
		host, ok := w.hostByName[pvm.Host]
		if !ok {
			return fmt.Errorf("VM %s: unknown host %s", pvm.Name, pvm.Host)
		}
		if _, dup := w.vmByName[pvm.Name]; dup {
			return fmt.Errorf("VM %s appears twice", pvm.Name)
		}
		folder, err := vmFolder(ctx, vmFolders, pvm.Folder)
		if err != nil {
			return fmt.Errorf("VM %s: folder %s: %v", pvm.Name, pvm.Folder, err)
		}
		vm, err := w.createVM(ctx, c, folder, pvm, host)
		if err != nil {
			return err
		}
		if err := w.setAttributes(ctx, c, vm.Self, pvm.Attributes); err != nil {
			return fmt.Errorf("VM %s: %v", pvm.Name, err)
		}
		for d, n := range vm.files.bytesOn() {
			used[d] += n
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
	for _, pp := range pdc.Pods {
		if err := w.addPod(ctx, c, folders.DatastoreFolder, pp); err != nil {
			return err
		}
	}
	return nil
}

// vmFolder returns the folder at rel below the datacenter's vm folder (known: the folders
// made so far, by relative path), creating it and its parents as needed.
func vmFolder(ctx context.Context, known map[string]*object.Folder, rel string) (*object.Folder, error) {
	if f, ok := known[rel]; ok {
		return f, nil
	}
	parentPath := path.Dir(rel)
	if parentPath == "." {
		parentPath = ""
	}
	parent, err := vmFolder(ctx, known, parentPath)
	if err != nil {
		return nil, err
	}
	f, err := parent.CreateFolder(ctx, path.Base(rel))
	if err != nil {
		return nil, err
	}
	known[rel] = f
	return f, nil
}

// setAttributes gives the VM its custom attributes, defining each name once with
// CustomFieldsManager.AddCustomFieldDef (for VirtualMachine) and setting the values as
// SetField does, without a call per VM (a 10,000-VM inventory starts as fast as before).
func (w *world) setAttributes(ctx context.Context, c *vim25.Client, vm ref, attrs map[string]string) error {
	if len(attrs) == 0 {
		return nil
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	if w.fieldKeys == nil {
		w.fieldKeys = map[string]int32{}
	}
	entity := simulator.Map.Get(vm).(mo.Entity).Entity()
	for _, n := range names {
		key, ok := w.fieldKeys[n]
		if !ok {
			m, err := object.GetCustomFieldsManager(c)
			if err != nil {
				return err
			}
			def, err := m.Add(ctx, n, "VirtualMachine", nil, nil)
			if err != nil {
				return fmt.Errorf("custom attribute %s: %v", n, err)
			}
			key = def.Key
			w.fieldKeys[n] = key
		}
		v := &types.CustomFieldStringValue{CustomFieldValue: types.CustomFieldValue{Key: key}, Value: attrs[n]}
		entity.CustomValue = append(entity.CustomValue, v)
		entity.Value = append(entity.Value, v)
	}
	return nil
}

// addPod creates a datastore cluster with the simulator's Folder.CreateStoragePod in the
// datacenter's datastore folder, moves its members in with MoveIntoFolder_Task (in one call:
// vcsim 0.24 duplicates the existing children when a second call moves more in), and sets
// Storage DRS and the summary (the members' capacity and free space).
func (w *world) addPod(ctx context.Context, c *vim25.Client, folder *object.Folder, pp planPod) error {
	var members []ref
	for _, n := range pp.Members {
		r, ok := w.dsByName[n]
		if !ok {
			return fmt.Errorf("datastore cluster %s: unknown datastore %s", pp.Name, n)
		}
		if p, in := w.dsPod[r]; in {
			return fmt.Errorf("datastore %s is in two datastore clusters (%s and %s)", n, w.podName[p], pp.Name)
		}
		members = append(members, r)
	}
	pod, err := folder.CreateStoragePod(ctx, pp.Name)
	if err != nil {
		return fmt.Errorf("datastore cluster %s: %v", pp.Name, err)
	}
	r := pod.Reference()
	if len(members) > 0 {
		t, err := pod.MoveInto(ctx, members)
		if _, err = waitResult(ctx, t, err); err != nil {
			return fmt.Errorf("datastore cluster %s: moving its datastores in: %v", pp.Name, err)
		}
	}
	sp := simulator.Map.Get(r).(*simulator.StoragePod)
	cfg := &sp.PodStorageDrsEntry.StorageDrsConfig.PodConfig
	cfg.Enabled = pp.SDRS
	cfg.DefaultVmBehavior = string(types.StorageDrsPodConfigInfoBehaviorManual)
	cfg.IoLoadBalanceEnabled = false
	cfg.LoadBalanceInterval = 480
	cfg.DefaultIntraVmAffinity = types.NewBool(true)
	cfg.SpaceLoadBalanceConfig = &types.StorageDrsSpaceLoadBalanceConfig{SpaceThresholdMode: "utilization", SpaceUtilizationThreshold: 80, MinSpaceUtilizationDifference: 5}
	var capacity, free int64
	for _, m := range members {
		ds := simulator.Map.Get(m).(*simulator.Datastore)
		capacity += ds.Summary.Capacity
		free += ds.Summary.FreeSpace
		w.dsPod[m] = r
	}
	sp.Summary = &types.StoragePodSummary{Name: pp.Name, Capacity: capacity, FreeSpace: free}
	w.podMembers[r] = members
	w.podName[r] = pp.Name
	return nil
}

// setHostState applies a loaded host's connection state and maintenance mode.
func setHostState(h ref, st planHostState) {
	if st.Connection == "" && !st.Maintenance {
		return
	}
	sh := simulator.Map.Get(h).(*simulator.HostSystem)
	if st.Connection != "" {
		sh.Runtime.ConnectionState = types.HostSystemConnectionState(st.Connection)
	}
	sh.Runtime.InMaintenanceMode = st.Maintenance
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
	guestID := pvm.GuestID
	if guestID == "" {
		guestID = string(types.VirtualMachineGuestOsIdentifierOtherGuest64)
	}
	guestName := pvm.GuestName
	if guestName == "" {
		guestName = guestNames[guestID]
	}
	if guestName == "" {
		guestName = guestID
	}
	spec := types.VirtualMachineConfigSpec{
		Name:     pvm.Name,
		GuestId:  guestID,
		NumCPUs:  pvm.NumCPUs,
		MemoryMB: int64(pvm.MemoryMB),
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[" + pvm.Home + "]"},
	}
	pool := object.NewResourcePool(c, w.hostPool[host])
	t, err := folder.CreateVM(ctx, spec, pool, object.NewHostSystem(c, host))
	r, err := waitResult(ctx, t, err)
	if err != nil {
		return nil, fmt.Errorf("VM %s: %v", pvm.Name, err)
	}
	sv := simulator.Map.Get(r).(*simulator.VirtualMachine)
	now := time.Now()
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
		if pvm.Suspended && !pvm.Template {
			sv.Runtime.PowerState = types.VirtualMachinePowerStateSuspended
		}
	}
	sv.Runtime.ConsolidationNeeded = types.NewBool(pvm.Consolidate)
	on := sv.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
	if pvm.ConnState != "" {
		sv.Runtime.ConnectionState = types.VirtualMachineConnectionState(pvm.ConnState)
	}
	tools := pvm.Tools
	if tools == "" {
		tools = string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)
		if on {
			tools = string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
		}
	}
	if sv.Guest == nil {
		sv.Guest = &types.GuestInfo{}
	}
	sv.Guest.ToolsRunningStatus = tools
	sv.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsNotRunning
	if tools == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		sv.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
	}
	if sv.Summary.Guest == nil {
		sv.Summary.Guest = &types.VirtualMachineGuestSummary{}
	}
	sv.Config.GuestId, sv.Config.GuestFullName = guestID, guestName
	sv.Summary.Config.GuestId, sv.Summary.Config.GuestFullName = guestID, guestName
	sv.Summary.Guest.GuestId, sv.Summary.Guest.GuestFullName = guestID, guestName
	sv.Summary.Guest.ToolsRunningStatus = tools
	sv.Summary.Guest.ToolsStatus = sv.Guest.ToolsStatus
	if pvm.FTRole > 0 {
		sv.Config.FtInfo = &types.FaultTolerancePrimaryConfigInfo{
			FaultToleranceConfigInfo: types.FaultToleranceConfigInfo{
				Role:          pvm.FTRole,
				InstanceUuids: []string{sv.Config.InstanceUuid, uuid.NewSHA1(uuid.NameSpaceOID, []byte(pvm.Name+"/ft")).String()},
				ConfigPaths:   []string{"[" + pvm.Home + "] " + pvm.VMPath, "[" + pvm.Home + "] " + pvm.Name + "_ft/" + pvm.Name + ".vmx"},
			},
			Secondaries: []ref{},
		}
		sv.Runtime.FaultToleranceState = types.VirtualMachineFaultToleranceStateEnabled
		if on {
			sv.Runtime.FaultToleranceState = types.VirtualMachineFaultToleranceStateRunning
		}
	}
	sv.Summary.Runtime = sv.Runtime

	files, err := w.filesOf(pvm)
	if err != nil {
		return nil, err
	}
	rd := files.render(w.dsName, sv.Config.Hardware.Device, on, now)
	sv.Config.Hardware.Device = rd.devices
	sv.Config.Files.VmPathName = rd.vmPath
	sv.Config.Files.SnapshotDirectory, sv.Config.Files.SuspendDirectory, sv.Config.Files.LogDirectory = rd.dir, rd.dir, rd.dir
	sv.Summary.Config.VmPathName = rd.vmPath
	sv.Summary.Config.NumVirtualDisks = rd.numDisks
	sv.LayoutEx, sv.Layout, sv.Storage, sv.Summary.Storage = rd.layoutEx, rd.layout, rd.storage, rd.summary
	for _, d := range rd.datastore {
		if simulator.FindReference(sv.Datastore, d) == nil {
			ds := simulator.Map.Get(d).(*simulator.Datastore)
			ds.Vm = append(ds.Vm, r)
		}
	}
	for _, d := range sv.Datastore {
		if simulator.FindReference(rd.datastore, d) == nil {
			ds := simulator.Map.Get(d).(*simulator.Datastore)
			simulator.RemoveReference(&ds.Vm, r)
		}
	}
	sv.Datastore = rd.datastore

	vm := &VM{VirtualMachine: *sv, files: files}
	simulator.Map.Put(vm)
	if len(pvm.Snapshots) > 0 {
		addSnapshots(vm, pvm.Snapshots)
	}
	w.vmByRef[r] = vm
	w.vmByName[pvm.Name] = vm
	return vm, nil
}

// filesOf turns a planned VM's files into the VM's file record.
func (w *world) filesOf(pvm planVM) (*vmFiles, error) {
	ds := func(name, what string) (ref, error) {
		r, ok := w.dsByName[name]
		if !ok {
			return ref{}, fmt.Errorf("VM %s: %s is on unknown datastore %q", pvm.Name, what, name)
		}
		return r, nil
	}
	home, err := ds(pvm.Home, "its home")
	if err != nil {
		return nil, err
	}
	f := &vmFiles{home: home, vmx: pvm.VMPath, homeFiles: append([]homeFile(nil), pvm.HomeFiles...)}
	if f.vmx == "" {
		f.vmx = pvm.Name + "/" + pvm.Name + ".vmx"
	}
	if len(pvm.Disks) > maxDisksPerVM {
		return nil, fmt.Errorf("VM %s: %d disks (at most %d)", pvm.Name, len(pvm.Disks), maxDisksPerVM)
	}
	for i, pd := range pvm.Disks {
		d, err := ds(pd.DS, pd.Label)
		if err != nil {
			return nil, err
		}
		ctrl, unit := diskSlot(i)
		f.disks = append(f.disks, vdisk{
			key: pd.Key, label: pd.Label, ctrlKey: ctrl, unit: unit, ds: d, path: pd.Path,
			capacity: pd.Capacity, used: pd.Used, backing: pd.Backing, thin: pd.Thin, eager: pd.Eager,
			sharing: pd.Sharing, mode: pd.Mode, lun: pd.LUN,
			uuid: uuid.NewSHA1(uuid.NameSpaceOID, []byte(pvm.Name+"/"+pd.Path)).String(),
		})
	}
	for _, pm := range pvm.Media {
		m := vmedia{key: pm.Key, label: pm.Label, file: pm.File}
		if pm.DS != "" {
			d, err := ds(pm.DS, pm.Label)
			if err != nil {
				return nil, err
			}
			m.ds = d
		}
		f.media = append(f.media, m)
	}
	return f, nil
}

// addSnapshots gives vm a chain of snapshots (each the child of the previous one).
func addSnapshots(vm *VM, snaps []planSnapshot) {
	for _, ps := range snaps {
		appendSnapshot(vm, ps.Name, "", ps.Created)
	}
}
