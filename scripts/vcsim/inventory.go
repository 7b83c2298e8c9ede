package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// inventoryDoc mirrors Moonmotion's inventory JSON (Sources/VCenterModel/Inventory+JSON.swift,
// struct InventoryDocument), as written by `moonmotion inventory --json`: the current names
// (power, committed, capacity, …, as Lua reads them) and, as Moonmotion still reads them,
// the names of older files (power_state, committed_bytes, capacity_bytes, …); normalise
// folds the second into the first.
type inventoryDoc struct {
	Datacenters []struct {
		Name  string `json:"name"`
		Moref string `json:"moref"`
	} `json:"datacenters"`
	Clusters []struct {
		Name       string   `json:"name"`
		Moref      string   `json:"moref"`
		Datacenter *string  `json:"datacenter"`
		Hosts      []string `json:"hosts"`
	} `json:"clusters"`
	Hosts []struct {
		Name              string  `json:"name"`
		Moref             string  `json:"moref"`
		Cluster           *string `json:"cluster"`
		ConnectionState   *string `json:"connection_state"`
		InMaintenanceMode *bool   `json:"in_maintenance_mode"`
		Maintenance       *bool   `json:"maintenance"`
	} `json:"hosts"`
	Datastores []struct {
		Name          string   `json:"name"`
		Moref         string   `json:"moref"`
		CapacityBytes int64    `json:"capacity_bytes"`
		FreeBytes     int64    `json:"free_bytes"`
		Capacity      *int64   `json:"capacity"`
		Free          *int64   `json:"free"`
		Type          *string  `json:"type"`
		Accessible    *bool    `json:"accessible"`
		Hosts         []string `json:"hosts"`
		Cluster       *string  `json:"datastore_cluster"`
	} `json:"datastores"`
	DatastoreClusters []struct {
		Name       string   `json:"name"`
		Datastores []string `json:"datastores"`
		SDRS       *bool    `json:"sdrs_enabled"`
	} `json:"datastore_clusters"`
	VMs []struct {
		Name                string   `json:"name"`
		Moref               string   `json:"moref"`
		Host                *string  `json:"host"`
		Cluster             *string  `json:"cluster"`
		Datastores          []string `json:"datastores"`
		CommittedBytes      *int64   `json:"committed_bytes"`
		UncommittedBytes    *int64   `json:"uncommitted_bytes"`
		MemoryMB            *int32   `json:"memory_mb"`
		PowerState          *string  `json:"power_state"`
		Template            *bool    `json:"template"`
		ConsolidationNeeded *bool    `json:"consolidation_needed"`
		Snapshots           []struct {
			Name       string     `json:"name"`
			CreateTime *time.Time `json:"create_time"`
		} `json:"snapshots"`
		ConfigDatastore *string    `json:"config_datastore"`
		VMPath          *string    `json:"vm_path"`
		ConfigBytes     *int64     `json:"config_bytes"`
		Disks           []invDisk  `json:"disks"`
		Media           []invMedia `json:"media"`
		FTRole          *int32     `json:"fault_tolerance_role"`
		ConnectionState *string    `json:"connection_state"`
		ToolsStatus     *string    `json:"tools_running_status"`
		// current names
		Committed      *int64            `json:"committed"`
		Uncommitted    *int64            `json:"uncommitted"`
		Power          *string           `json:"power"`
		Home           *string           `json:"home"`
		FaultTolerance *string           `json:"fault_tolerance"`
		Tools          *string           `json:"tools"`
		Folder         *string           `json:"folder"`
		Attributes     map[string]string `json:"attributes"`
		Tags           []string          `json:"tags"`
		GuestOS        *string           `json:"guest_os"`
		GuestID        *string           `json:"guest_id"`
	} `json:"vms"`
}

// invDisk is InventoryDocument.Disk.
type invDisk struct {
	Key       int32   `json:"key"`
	Label     *string `json:"label"`
	File      *string `json:"file"`
	Datastore *string `json:"datastore"`
	Capacity  *int64  `json:"capacity_bytes"`
	Used      *int64  `json:"used_bytes"`
	CapNew    *int64  `json:"capacity"`
	UsedNew   *int64  `json:"used"`
	Backing   *string `json:"backing"`
	Thin      *bool   `json:"thin"`
	Eager     *bool   `json:"eager_scrub"`
	Sharing   *string `json:"sharing"`
	Mode      *string `json:"mode"`
}

// invMedia is InventoryDocument.Media.
type invMedia struct {
	Key       int32   `json:"key"`
	Label     *string `json:"label"`
	File      string  `json:"file"`
	Datastore *string `json:"datastore"`
}

// loadInventoryPlan reads an inventory JSON file into a plan. Object names are kept;
// managed object ids are assigned anew by the simulator (the JSON's morefs are not reused).
// All objects go into one datacenter (the first one named in the file, or "dc-1").
func loadInventoryPlan(path string) (*plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-inventory: %v", err)
	}
	var doc inventoryDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("-inventory %s: not Moonmotion inventory JSON: %v", path, err)
	}
	doc.normalise()
	dc := planDC{Name: "dc-1"}
	if len(doc.Datacenters) > 0 && doc.Datacenters[0].Name != "" {
		dc.Name = doc.Datacenters[0].Name
	}

	hostCluster := map[string]string{}
	for _, c := range doc.Clusters {
		for _, h := range c.Hosts {
			hostCluster[h] = c.Name
		}
	}
	for _, h := range doc.Hosts {
		if h.Cluster != nil && *h.Cluster != "" {
			hostCluster[h.Name] = *h.Cluster
		}
	}
	clusterIndex := map[string]int{}
	for _, c := range doc.Clusters {
		if _, dup := clusterIndex[c.Name]; dup {
			return nil, fmt.Errorf("-inventory %s: cluster %q appears twice", path, c.Name)
		}
		clusterIndex[c.Name] = len(dc.Clusters)
		dc.Clusters = append(dc.Clusters, planCluster{Name: c.Name})
	}
	knownHost := map[string]bool{}
	for _, h := range doc.Hosts {
		if knownHost[h.Name] {
			return nil, fmt.Errorf("-inventory %s: host %q appears twice", path, h.Name)
		}
		knownHost[h.Name] = true
		var st planHostState
		if h.ConnectionState != nil && *h.ConnectionState != "connected" {
			st.Connection = *h.ConnectionState
		}
		if h.InMaintenanceMode != nil {
			st.Maintenance = *h.InMaintenanceMode
		}
		if st.Connection != "" || st.Maintenance {
			if dc.HostStates == nil {
				dc.HostStates = map[string]planHostState{}
			}
			dc.HostStates[h.Name] = st
		}
		cname, ok := hostCluster[h.Name]
		if !ok {
			dc.Standalone = append(dc.Standalone, h.Name)
			continue
		}
		ci, ok := clusterIndex[cname]
		if !ok {
			ci = len(dc.Clusters)
			clusterIndex[cname] = ci
			dc.Clusters = append(dc.Clusters, planCluster{Name: cname})
		}
		dc.Clusters[ci].Hosts = append(dc.Clusters[ci].Hosts, h.Name)
	}
	knownDS := map[string]bool{}
	for _, d := range doc.Datastores {
		ds := planDS{Name: d.Name, CapacityBytes: d.CapacityBytes, FreeBytes: d.FreeBytes, Type: "VMFS", Accessible: true}
		if d.Type != nil && *d.Type != "" {
			ds.Type = *d.Type
		}
		if d.Accessible != nil {
			ds.Accessible = *d.Accessible
		}
		for _, h := range d.Hosts {
			if !knownHost[h] {
				return nil, fmt.Errorf("-inventory %s: datastore %q is mounted on unknown host %q", path, d.Name, h)
			}
		}
		if len(d.Hosts) > 0 {
			ds.Hosts = append([]string(nil), d.Hosts...)
		}
		knownDS[d.Name] = true
		dc.Datastores = append(dc.Datastores, ds)
	}
	// Datastore clusters: from datastore_clusters and from each datastore's datastore_cluster.
	podIndex := map[string]int{}
	for _, c := range doc.DatastoreClusters {
		if _, dup := podIndex[c.Name]; dup {
			return nil, fmt.Errorf("-inventory %s: datastore cluster %q appears twice", path, c.Name)
		}
		pp := planPod{Name: c.Name, SDRS: c.SDRS != nil && *c.SDRS}
		for _, m := range c.Datastores {
			if !knownDS[m] {
				return nil, fmt.Errorf("-inventory %s: datastore cluster %q lists unknown datastore %q", path, c.Name, m)
			}
			pp.Members = append(pp.Members, m)
		}
		podIndex[c.Name] = len(dc.Pods)
		dc.Pods = append(dc.Pods, pp)
	}
	for _, d := range doc.Datastores {
		if d.Cluster == nil || *d.Cluster == "" {
			continue
		}
		i, ok := podIndex[*d.Cluster]
		if !ok {
			i = len(dc.Pods)
			podIndex[*d.Cluster] = i
			dc.Pods = append(dc.Pods, planPod{Name: *d.Cluster})
		}
		listed := false
		for _, m := range dc.Pods[i].Members {
			listed = listed || m == d.Name
		}
		if !listed {
			dc.Pods[i].Members = append(dc.Pods[i].Members, d.Name)
		}
	}
	for _, v := range doc.VMs {
		vm := planVM{Name: v.Name, NumCPUs: 2, MemoryMB: 4096, PoweredOn: true}
		if v.Host == nil || !knownHost[*v.Host] {
			return nil, fmt.Errorf("-inventory %s: VM %q needs a known host (the test vCenter places every VM on a host)", path, v.Name)
		}
		vm.Host = *v.Host
		vm.Cluster = hostCluster[vm.Host]
		dss := v.Datastores
		if len(dss) == 0 && v.ConfigDatastore != nil && *v.ConfigDatastore != "" {
			dss = []string{*v.ConfigDatastore}
		}
		if len(dss) == 0 {
			return nil, fmt.Errorf("-inventory %s: VM %q has no datastore", path, v.Name)
		}
		for _, d := range dss {
			if !knownDS[d] {
				return nil, fmt.Errorf("-inventory %s: VM %q is on unknown datastore %q", path, v.Name, d)
			}
		}
		vm.Datastores = append([]string(nil), dss...)
		if v.CommittedBytes != nil {
			vm.Committed = *v.CommittedBytes
		}
		if v.UncommittedBytes != nil {
			vm.Uncommitted = *v.UncommittedBytes
		}
		if v.MemoryMB != nil && *v.MemoryMB > 0 {
			vm.MemoryMB = *v.MemoryMB
		}
		if v.PowerState != nil {
			vm.PoweredOn = strings.EqualFold(*v.PowerState, "poweredOn") || strings.EqualFold(*v.PowerState, "on")
			vm.Suspended = strings.EqualFold(*v.PowerState, "suspended")
		}
		if v.Folder != nil {
			vm.Folder = relativeVMFolder(*v.Folder)
		}
		if len(v.Attributes) > 0 {
			vm.Attributes = v.Attributes
		}
		for _, t := range v.Tags {
			if c := strings.Index(t, ":"); c <= 0 || c == len(t)-1 {
				return nil, fmt.Errorf("-inventory %s: VM %q: tag %q: want \"category:tag\"", path, v.Name, t)
			}
			vm.Tags = append(vm.Tags, t)
		}
		sort.Strings(vm.Tags)
		if v.GuestID != nil {
			vm.GuestID = *v.GuestID
		}
		if v.GuestOS != nil {
			vm.GuestName = *v.GuestOS
		}
		if v.Template != nil {
			vm.Template = *v.Template
		}
		if v.ConsolidationNeeded != nil {
			vm.Consolidate = *v.ConsolidationNeeded
		}
		now := time.Now()
		for i, s := range v.Snapshots {
			ps := planSnapshot{Name: s.Name, Created: now.Add(-time.Duration(len(v.Snapshots)-i) * time.Hour)}
			if s.CreateTime != nil {
				ps.Created = *s.CreateTime
			}
			vm.Snapshots = append(vm.Snapshots, ps)
		}
		sort.SliceStable(vm.Snapshots, func(i, j int) bool { return vm.Snapshots[i].Created.Before(vm.Snapshots[j].Created) })
		if v.FTRole != nil {
			vm.FTRole = *v.FTRole
		}
		if v.ConnectionState != nil {
			vm.ConnState = *v.ConnectionState
		}
		if v.ToolsStatus != nil {
			vm.Tools = *v.ToolsStatus
		}
		if err := loadVMFiles(&vm, v.ConfigDatastore, v.VMPath, v.ConfigBytes, v.Disks, v.Media, knownDS); err != nil {
			return nil, fmt.Errorf("-inventory %s: VM %q: %v", path, v.Name, err)
		}
		dc.VMs = append(dc.VMs, vm)
	}
	// A cluster without hosts cannot exist in the simulator's model of placement; keep it anyway
	// (vcsim accepts empty clusters), so names round-trip.
	return &plan{Datacenters: []planDC{dc}}, nil
}

// normalise moves the current names' values into the fields the loader reads (they win over
// an older name given too).
func (doc *inventoryDoc) normalise() {
	for i := range doc.Hosts {
		if h := &doc.Hosts[i]; h.Maintenance != nil {
			h.InMaintenanceMode = h.Maintenance
		}
	}
	for i := range doc.Datastores {
		d := &doc.Datastores[i]
		if d.Capacity != nil {
			d.CapacityBytes = *d.Capacity
		}
		if d.Free != nil {
			d.FreeBytes = *d.Free
		}
	}
	for i := range doc.VMs {
		v := &doc.VMs[i]
		if v.Committed != nil {
			v.CommittedBytes = v.Committed
		}
		if v.Uncommitted != nil {
			v.UncommittedBytes = v.Uncommitted
		}
		if v.Power != nil {
			v.PowerState = v.Power
		}
		if v.Home != nil {
			v.ConfigDatastore = v.Home
		}
		if v.Tools != nil {
			v.ToolsStatus = v.Tools
		}
		if v.FaultTolerance != nil {
			role := int32(2)
			if *v.FaultTolerance == "primary" {
				role = 1
			}
			v.FTRole = &role
		}
		for k := range v.Disks {
			d := &v.Disks[k]
			if d.CapNew != nil {
				d.Capacity = d.CapNew
			}
			if d.UsedNew != nil {
				d.Used = d.UsedNew
			}
		}
	}
}

// relativeVMFolder is a VM's folder path ("/dc-1/vm/prod/db", the datacenter behind any
// folders) below its datacenter's vm folder ("prod/db"; "" for vm itself): the loaded
// inventory's one datacenter is built anew.
func relativeVMFolder(full string) string {
	parts := strings.Split(strings.Trim(full, "/"), "/")
	for i, p := range parts {
		if p == "vm" && i > 0 {
			return strings.Join(parts[i+1:], "/")
		}
	}
	return ""
}

// loadVMFiles fills a loaded VM's files. With disks, they are the record's (home on
// config_datastore, config_bytes of home files); without (an older file), the VM gets one
// flat disk per listed datastore holding committed_bytes split evenly, the home on the first
// (its small files taken from the first disk), so its committed bytes and datastores stay.
func loadVMFiles(vm *planVM, configDS, vmPath *string, configBytes *int64, disks []invDisk, media []invMedia, knownDS map[string]bool) error {
	committed, uncommitted := vm.Committed, vm.Uncommitted
	vm.Home = vm.Datastores[0]
	if configDS != nil && *configDS != "" {
		if !knownDS[*configDS] {
			return fmt.Errorf("config_datastore %q is unknown", *configDS)
		}
		vm.Home = *configDS
	}
	vm.VMPath = vm.Name + "/" + vm.Name + ".vmx"
	if vmPath != nil && *vmPath != "" {
		if _, rel, ok := parseDSPath(*vmPath); ok && rel != "" {
			vm.VMPath = rel
		}
	}
	base := strings.TrimSuffix(path.Base(vm.VMPath), ".vmx")
	homeFiles := func(total int64) []homeFile {
		vmx := minInt64(total, 8<<10)
		nvram := minInt64(total-vmx, 8<<10)
		return []homeFile{
			{base + ".vmx", string(types.VirtualMachineFileLayoutExFileTypeConfig), vmx},
			{base + ".nvram", string(types.VirtualMachineFileLayoutExFileTypeNvram), nvram},
			{"vmware.log", string(types.VirtualMachineFileLayoutExFileTypeLog), total - vmx - nvram},
		}
	}
	for _, m := range media {
		pm := planMedia{Key: m.Key, Label: "CD/DVD drive 1", File: m.File}
		if m.Label != nil && *m.Label != "" {
			pm.Label = *m.Label
		}
		if m.Datastore != nil {
			pm.DS = *m.Datastore
		} else if ds, _, ok := parseDSPath(m.File); ok {
			pm.DS = ds
		}
		if pm.DS != "" && !knownDS[pm.DS] {
			return fmt.Errorf("media %d is on unknown datastore %q", m.Key, pm.DS)
		}
		vm.Media = append(vm.Media, pm)
	}
	if len(disks) == 0 {
		n := int64(len(vm.Datastores))
		for i, ds := range vm.Datastores {
			used := committed / n
			if i == 0 {
				used += committed % n
			}
			d := planDisk{DS: ds, Used: used, Capacity: used, Backing: backingFlat}
			if uncommitted > 0 {
				d.Thin = true
				d.Capacity = used + uncommitted/n
			}
			vm.Disks = append(vm.Disks, d)
		}
		small := minInt64(vm.Disks[0].Used, 1<<20)
		vm.Disks[0].Used -= small
		vm.Disks[0].Capacity -= small
		vm.HomeFiles = homeFiles(small)
		vm.finish()
		return nil
	}
	seen := map[int32]bool{}
	var diskBytes int64
	for _, d := range disks {
		if seen[d.Key] {
			return fmt.Errorf("disk key %d appears twice", d.Key)
		}
		seen[d.Key] = true
		pd := planDisk{Key: d.Key, DS: vm.Home, Backing: backingFlat}
		if d.Label != nil {
			pd.Label = *d.Label
		}
		if d.Datastore != nil && *d.Datastore != "" {
			pd.DS = *d.Datastore
		} else if d.File != nil {
			if ds, _, ok := parseDSPath(*d.File); ok {
				pd.DS = ds
			}
		}
		if !knownDS[pd.DS] {
			return fmt.Errorf("disk %d is on unknown datastore %q", d.Key, pd.DS)
		}
		if d.File != nil {
			if _, rel, ok := parseDSPath(*d.File); ok && rel != "" {
				pd.Path = rel
			}
		}
		if d.Backing != nil && *d.Backing != "" {
			switch b := diskBacking(*d.Backing); b {
			case backingFlat, backingRDMVirtual, backingRDMPhysical:
				pd.Backing = b
			default:
				return fmt.Errorf("disk %d has unknown backing %q (flat, rdm_virtual or rdm_physical)", d.Key, *d.Backing)
			}
		}
		switch {
		case d.Capacity != nil && d.Used != nil:
			pd.Capacity, pd.Used = *d.Capacity, *d.Used
		case d.Capacity != nil:
			pd.Capacity, pd.Used = *d.Capacity, *d.Capacity
		case d.Used != nil:
			pd.Capacity, pd.Used = *d.Used, *d.Used
		}
		if pd.Backing != backingFlat && d.Used == nil {
			pd.Used = rdmMappingBytes
		}
		pd.Thin = d.Thin != nil && *d.Thin
		pd.Eager = d.Eager != nil && *d.Eager
		if d.Sharing != nil {
			pd.Sharing = *d.Sharing
		}
		if d.Mode != nil {
			pd.Mode = *d.Mode
		}
		diskBytes += pd.Used
		vm.Disks = append(vm.Disks, pd)
	}
	var cb int64
	switch {
	case configBytes != nil:
		cb = *configBytes
	case committed > diskBytes:
		cb = committed - diskBytes
	}
	vm.HomeFiles = homeFiles(cb)
	vm.finish()
	return nil
}

func minInt64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
