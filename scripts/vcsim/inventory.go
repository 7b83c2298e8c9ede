package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// inventoryDoc mirrors Moonmotion's inventory JSON (Sources/VCenterModel/Inventory+JSON.swift,
// struct InventoryDocument), as written by `moonmotion inventory --json`.
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
		Name    string  `json:"name"`
		Moref   string  `json:"moref"`
		Cluster *string `json:"cluster"`
	} `json:"hosts"`
	Datastores []struct {
		Name          string   `json:"name"`
		Moref         string   `json:"moref"`
		CapacityBytes int64    `json:"capacity_bytes"`
		FreeBytes     int64    `json:"free_bytes"`
		Type          *string  `json:"type"`
		Accessible    *bool    `json:"accessible"`
		Hosts         []string `json:"hosts"`
	} `json:"datastores"`
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
	} `json:"vms"`
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
	for _, v := range doc.VMs {
		vm := planVM{Name: v.Name, NumCPUs: 2, MemoryMB: 4096, PoweredOn: true}
		if v.Host == nil || !knownHost[*v.Host] {
			return nil, fmt.Errorf("-inventory %s: VM %q needs a known host (the test vCenter places every VM on a host)", path, v.Name)
		}
		vm.Host = *v.Host
		vm.Cluster = hostCluster[vm.Host]
		if len(v.Datastores) == 0 {
			return nil, fmt.Errorf("-inventory %s: VM %q has no datastore", path, v.Name)
		}
		for _, d := range v.Datastores {
			if !knownDS[d] {
				return nil, fmt.Errorf("-inventory %s: VM %q is on unknown datastore %q", path, v.Name, d)
			}
		}
		vm.Datastores = append([]string(nil), v.Datastores...)
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
			vm.PoweredOn = *v.PowerState == "poweredOn"
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
		dc.VMs = append(dc.VMs, vm)
	}
	// A cluster without hosts cannot exist in the simulator's model of placement; keep it anyway
	// (vcsim accepts empty clusters), so names round-trip.
	return &plan{Datacenters: []planDC{dc}}, nil
}
