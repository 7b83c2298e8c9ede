package main

import (
	"fmt"
	"math"
	"math/rand"
	"time"
)

// A plan is the topology to build, either generated from flags or loaded from an
// inventory JSON. Building it into simulator objects is topology.go's job.
type plan struct {
	Datacenters []planDC
}

type planDC struct {
	Name       string
	Clusters   []planCluster
	Standalone []string // hosts outside any cluster
	Datastores []planDS
	VMs        []planVM
}

type planCluster struct {
	Name  string
	Hosts []string
}

type planDS struct {
	Name          string
	CapacityBytes int64
	FreeBytes     int64 // < 0: computed from the VMs placed on it
	Type          string
	Hosts         []string // nil: every host of the datacenter
	Accessible    bool
}

type planSnapshot struct {
	Name    string
	Created time.Time
}

type planVM struct {
	Name        string
	Cluster     string // empty for a VM on a standalone host
	Host        string
	Datastores  []string // first one holds the VM's home (vmx)
	Committed   int64
	Uncommitted int64
	MemoryMB    int32
	NumCPUs     int32
	PoweredOn   bool
	Template    bool
	Consolidate bool
	Snapshots   []planSnapshot // a chain: each is the child of the previous one
}

const (
	gib = int64(1) << 30
	tib = int64(1) << 40
)

// generatePlan builds the topology described by the -datacenters/-clusters/... flags.
// Everything random comes from cfg.Seed, so the same flags give the same inventory.
func generatePlan(cfg *Config, now time.Time) (*plan, error) {
	groups, err := parseDatastoreSpec(cfg.Datastores)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(cfg.Seed))
	p := &plan{}
	clusterNo := 0
	for d := 1; d <= cfg.Datacenters; d++ {
		dc := planDC{Name: fmt.Sprintf("dc-%d", d)}
		dsPrefix := ""
		if d > 1 {
			dsPrefix = fmt.Sprintf("dc%d-", d)
		}
		var from []int // indexes of the first group's datastores
		for gi, g := range groups {
			for i := 1; i <= g.Count; i++ {
				if gi == 0 {
					from = append(from, len(dc.Datastores))
				}
				dc.Datastores = append(dc.Datastores, planDS{
					Name: fmt.Sprintf("%s%s-%02d", dsPrefix, g.Prefix, i), Type: "VMFS", FreeBytes: -1, Accessible: true,
				})
			}
		}
		vmOnFrom := 0
		for c := 1; c <= cfg.Clusters; c++ {
			clusterNo++
			cl := planCluster{Name: fmt.Sprintf("cluster-%d", clusterNo)}
			for h := 1; h <= cfg.Hosts; h++ {
				cl.Hosts = append(cl.Hosts, fmt.Sprintf("esx-c%d-%02d", clusterNo, h))
			}
			for v := 1; v <= cfg.VMs; v++ {
				vm := randomVM(rng, cfg, now)
				vm.Name = fmt.Sprintf("vm-c%d-%04d", clusterNo, v)
				vm.Cluster = cl.Name
				vm.Host = cl.Hosts[(v-1)%len(cl.Hosts)]
				vm.Datastores = []string{dc.Datastores[from[vmOnFrom%len(from)]].Name}
				vmOnFrom++
				dc.VMs = append(dc.VMs, vm)
			}
			dc.Clusters = append(dc.Clusters, cl)
		}
		sizeDatastores(&dc, cfg, len(dc.Datastores)-len(from))
		p.Datacenters = append(p.Datacenters, dc)
	}
	return p, nil
}

// randomVM draws one VM's sizes: committed is lognormal (median ~100 GiB, mean ~170 GiB)
// clamped to 10 GiB..2 TiB; thin disks leave 0-60% uncommitted; memory 2-64 GiB.
func randomVM(rng *rand.Rand, cfg *Config, now time.Time) planVM {
	const sigma = 1.0
	mu := math.Log(170) - sigma*sigma/2
	gb := math.Exp(mu + sigma*rng.NormFloat64())
	gb = math.Max(10, math.Min(2048, gb))
	committed := int64(gb * float64(gib))
	committed -= committed % (1 << 20)
	uncommitted := int64(float64(committed) * rng.Float64() * 0.6)
	uncommitted -= uncommitted % (1 << 20)
	memChoices := []int32{2048, 4096, 4096, 8192, 8192, 8192, 16384, 16384, 32768, 65536}
	cpuChoices := []int32{1, 2, 2, 4, 4, 8}
	vm := planVM{
		Committed:   committed,
		Uncommitted: uncommitted,
		MemoryMB:    memChoices[rng.Intn(len(memChoices))],
		NumCPUs:     cpuChoices[rng.Intn(len(cpuChoices))],
		PoweredOn:   rng.Float64() >= cfg.PoweredOffFraction,
		Consolidate: rng.Float64() < cfg.ConsolidateFraction,
	}
	if rng.Float64() < cfg.SnapshotFraction {
		n := 1 + rng.Intn(3)
		age := time.Duration(rng.Float64() * 60 * 24 * float64(time.Hour))
		t := now.Add(-age)
		for i := 1; i <= n; i++ {
			vm.Snapshots = append(vm.Snapshots, planSnapshot{Name: fmt.Sprintf("snap-%d", i), Created: t})
			t = t.Add(time.Duration(rng.Float64() * float64(now.Sub(t)) / 2))
		}
	}
	return vm
}

// sizeDatastores gives each datastore its capacity (-ds-capacity-gb, or automatic) and its
// free space, consistent with the VMs placed on it.
func sizeDatastores(dc *planDC, cfg *Config, nTo int) {
	used := map[string]int64{}
	var total int64
	for _, vm := range dc.VMs {
		share := vm.Committed / int64(len(vm.Datastores))
		for _, ds := range vm.Datastores {
			used[ds] += share
		}
		total += vm.Committed
	}
	capacity := int64(cfg.DSCapacityGB * float64(gib))
	if capacity <= 0 {
		// Automatic: the fullest "from" datastore ends ~60% full, and the other
		// datastores together can take every VM with room to spare.
		var maxUsed int64
		for _, u := range used {
			if u > maxUsed {
				maxUsed = u
			}
		}
		capacity = int64(float64(maxUsed) / 0.6)
		if nTo > 0 {
			if c := int64(float64(total) / float64(nTo) / 0.7); c > capacity {
				capacity = c
			}
		}
		if capacity < tib {
			capacity = tib
		}
		capacity = (capacity + tib/4 - 1) / (tib / 4) * (tib / 4) // round up to 256 GiB
	}
	for i := range dc.Datastores {
		ds := &dc.Datastores[i]
		ds.CapacityBytes = capacity
		ds.FreeBytes = capacity - used[ds.Name]
	}
}
