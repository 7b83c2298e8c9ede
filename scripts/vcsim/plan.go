package main

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/types"
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
	Pods       []planPod
	HostStates map[string]planHostState // hosts not connected or in maintenance mode
}

// planPod is a datastore cluster (StoragePod) and its member datastores.
type planPod struct {
	Name    string
	Members []string
	SDRS    bool // podStorageDrsEntry.storageDrsConfig.podConfig.enabled
}

type planHostState struct {
	Connection  string // connected, disconnected, notResponding
	Maintenance bool
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

// planDisk is one virtual disk of a planned VM.
type planDisk struct {
	Key      int32
	Label    string
	DS       string
	Path     string // relative to the datastore ("vm/vm_1.vmdk"); "" = named after the VM
	Capacity int64
	Used     int64 // bytes its files occupy
	Backing  diskBacking
	Thin     bool
	Eager    bool
	Sharing  string
	Mode     string
	LUN      string // RDM device name
}

// planMedia is a CD/DVD drive with an ISO image.
type planMedia struct {
	Key   int32
	Label string
	DS    string
	File  string // "[ds] iso/x.iso"
}

type planVM struct {
	Name        string
	Cluster     string // empty for a VM on a standalone host
	Host        string
	Datastores  []string // first one holds the VM's home (vmx)
	Committed   int64    // every file's bytes (home + disks)
	Uncommitted int64
	// Files: the home (vmx, nvram, log, swap) and the disks; set by generation or loading
	Home        string
	VMPath      string // relative: "vm/vm.vmx"
	HomeFiles   []homeFile
	Disks       []planDisk
	Media       []planMedia
	FTRole      int32  // 1: Fault Tolerance primary (config.ftInfo); 0: none
	ConnState   string // runtime.connectionState ("" = connected)
	Tools       string // guest.toolsRunningStatus ("" = from the power state)
	MemoryMB    int32
	NumCPUs     int32
	PoweredOn   bool
	Suspended   bool // when not powered on
	Template    bool
	Consolidate bool
	Snapshots   []planSnapshot    // a chain: each is the child of the previous one
	Folder      string            // below the datacenter's vm folder ("prod/db"; "" = vm itself)
	Attributes  map[string]string // custom attributes (customValue), by name
	Tags        []string          // vSphere tags as "category:tag" (the Automation API's), sorted
	GuestID     string            // config.guestId ("" = otherGuest64)
	GuestName   string            // config.guestFullName ("" = from guestNames)
}

// guestNames are the full names of the guest OS ids the generator gives (vSphere 8's), as
// Moonmotion's own simulator has them (Sources/VCenterSimulator/GuestOSNames.swift).
var guestNames = map[string]string{
	"windows2019srv_64Guest":     "Microsoft Windows Server 2019 (64-bit)",
	"windows2019srvNext_64Guest": "Microsoft Windows Server 2022 (64-bit)",
	"windows9Server64Guest":      "Microsoft Windows Server 2016 (64-bit)",
	"windows9_64Guest":           "Microsoft Windows 10 (64-bit)",
	"rhel9_64Guest":              "Red Hat Enterprise Linux 9 (64-bit)",
	"rhel8_64Guest":              "Red Hat Enterprise Linux 8 (64-bit)",
	"ubuntu64Guest":              "Ubuntu Linux (64-bit)",
	"sles15_64Guest":             "SUSE Linux Enterprise 15 (64-bit)",
	"otherGuest64":               "Other (64-bit)",
}

// selectors are -folders, -attribute and -guest-os parsed: lists the VMs take in turn.
type selectors struct {
	folders []string
	attrs   map[string][]string
	tags    map[string][]string // tag category -> its tags
	guests  []string
}

func parseSelectors(cfg *Config) (selectors, error) {
	sel := selectors{folders: splitList(cfg.Folders), guests: splitList(cfg.GuestOS), attrs: map[string][]string{}, tags: map[string][]string{}}
	for _, f := range sel.folders {
		if strings.HasPrefix(f, "/") || strings.HasSuffix(f, "/") || strings.Contains(f, "//") {
			return sel, fmt.Errorf("-folders: %q must be a path below the datacenter's vm folder, such as prod/db", f)
		}
	}
	for _, a := range cfg.Attributes {
		eq := strings.Index(a, "=")
		if eq <= 0 || eq == len(a)-1 {
			return sel, fmt.Errorf("-attribute %q: want name=value1|value2|...", a)
		}
		sel.attrs[a[:eq]] = strings.Split(a[eq+1:], "|")
	}
	for _, a := range cfg.Tags {
		eq := strings.Index(a, "=")
		// A category name with ':' could not be told from its tag in "category:tag".
		if eq <= 0 || eq == len(a)-1 || strings.Contains(a[:eq], ":") {
			return sel, fmt.Errorf("-tag %q: want category=tag1|tag2|... (no ':' in the category)", a)
		}
		for _, t := range strings.Split(a[eq+1:], "|") {
			if t == "" {
				return sel, fmt.Errorf("-tag %q: empty tag name", a)
			}
		}
		sel.tags[a[:eq]] = strings.Split(a[eq+1:], "|")
	}
	return sel, nil
}

// apply gives VM number i its folder, attributes and guest OS.
func (sel selectors) apply(vm *planVM, i int) {
	if len(sel.folders) > 0 {
		vm.Folder = sel.folders[i%len(sel.folders)]
	}
	if len(sel.attrs) > 0 {
		vm.Attributes = map[string]string{}
		for name, values := range sel.attrs {
			vm.Attributes[name] = values[i%len(values)]
		}
	}
	if len(sel.guests) > 0 {
		vm.GuestID = sel.guests[i%len(sel.guests)]
	}
	if len(sel.tags) > 0 {
		vm.Tags = nil
		for category, names := range sel.tags {
			vm.Tags = append(vm.Tags, category+":"+names[i%len(names)])
		}
		sort.Strings(vm.Tags)
	}
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
	// Files come from a second stream, so the sizes, memory and states drawn from the first
	// stay what they were before VMs had files.
	frng := rand.New(rand.NewSource(cfg.Seed*1000003 + 7))
	lo, hi, err := parseDiskRange(cfg.Disks)
	if err != nil {
		return nil, err
	}
	sel, err := parseSelectors(cfg)
	if err != nil {
		return nil, err
	}
	vmNo := 0
	diskPrefixes := splitList(cfg.DiskPrefixes)
	if len(diskPrefixes) == 0 {
		diskPrefixes = []string{groups[0].Prefix}
	}
	p := &plan{}
	clusterNo := 0
	for d := 1; d <= cfg.Datacenters; d++ {
		dc := planDC{Name: fmt.Sprintf("dc-%d", d)}
		dsPrefix := ""
		if d > 1 {
			dsPrefix = fmt.Sprintf("dc%d-", d)
		}
		var from []int // indexes of the first group's datastores
		byPrefix := map[string][]string{}
		for gi, g := range groups {
			for i := 1; i <= g.Count; i++ {
				if gi == 0 {
					from = append(from, len(dc.Datastores))
				}
				name := fmt.Sprintf("%s%s-%02d", dsPrefix, g.Prefix, i)
				byPrefix[g.Prefix] = append(byPrefix[g.Prefix], name)
				dc.Datastores = append(dc.Datastores, planDS{
					Name: name, Type: "VMFS", FreeBytes: -1, Accessible: true,
				})
			}
		}
		var targets []string // where disks beyond the first may go
		for _, pfx := range diskPrefixes {
			targets = append(targets, byPrefix[pfx]...)
		}
		first := byPrefix[groups[0].Prefix]
		isoDS := first[0]
		if len(first) > 1 {
			isoDS = first[1]
		}
		for _, pfx := range cfg.Pods {
			dc.Pods = append(dc.Pods, planPod{Name: dsPrefix + pfx + "-pod", Members: byPrefix[pfx], SDRS: true})
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
				layoutVM(frng, cfg, &vm, lo, hi, targets, isoDS)
				sel.apply(&vm, vmNo)
				vmNo++
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
		for ds, n := range vm.bytesOn() {
			used[ds] += n
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

// layoutVM gives a generated VM its files: the home (vmx 8 KiB, nvram 8 KiB, vmware.log
// 0.25–4 MiB, and for a powered-on VM a swap file of its memory size) and its disks, whose
// bytes are the VM's drawn committed size less the small home files. The home and the first
// disk stay on the VM's datastore; each further disk goes, with probability -spread, to
// another datastore among targets. Extra kinds (RDMs, a multi-writer disk, an ISO) and
// states (template, Fault Tolerance, orphaned) are drawn per VM.
func layoutVM(rng *rand.Rand, cfg *Config, vm *planVM, lo, hi int, targets []string, isoDS string) {
	template := rng.Float64() < cfg.TemplateFraction
	ft := rng.Float64() < cfg.FTFraction
	orphaned := rng.Float64() < cfg.OrphanedFraction
	iso := rng.Float64() < cfg.ISOFraction
	rdmP := rng.Float64() < cfg.RDMPhysical
	rdmV := rng.Float64() < cfg.RDMVirtual
	mw := rng.Float64() < cfg.MultiWriter
	n := lo + rng.Intn(hi-lo+1)
	if template {
		vm.Template, vm.PoweredOn = true, false
	}
	if ft {
		vm.FTRole = 1
	}
	if orphaned {
		vm.ConnState = string(types.VirtualMachineConnectionStateOrphaned)
	}
	home := vm.Datastores[0]
	vm.Home = home
	vm.VMPath = vm.Name + "/" + vm.Name + ".vmx"
	logSize := int64(256+rng.Intn(3841)) * 1024
	vm.HomeFiles = []homeFile{
		{vm.Name + ".vmx", string(types.VirtualMachineFileLayoutExFileTypeConfig), 8 << 10},
		{vm.Name + ".nvram", string(types.VirtualMachineFileLayoutExFileTypeNvram), 8 << 10},
		{"vmware.log", string(types.VirtualMachineFileLayoutExFileTypeLog), logSize},
	}
	if vm.PoweredOn {
		vm.HomeFiles = append(vm.HomeFiles, homeFile{fmt.Sprintf("%s-%08x.vswp", vm.Name, rng.Uint32()),
			string(types.VirtualMachineFileLayoutExFileTypeSwap), int64(vm.MemoryMB) << 20})
	}
	small := int64(16<<10) + logSize
	nFlat := n
	if mw {
		nFlat++
	}
	sizes := splitBytes(rng, vm.Committed-small, nFlat)
	place := func(i int) string {
		if i == 0 || rng.Float64() >= cfg.Spread {
			return home
		}
		var others []string
		for _, t := range targets {
			if t != home {
				others = append(others, t)
			}
		}
		if len(others) == 0 {
			return home
		}
		return others[rng.Intn(len(others))]
	}
	var thinUsed int64
	for i := 0; i < n; i++ {
		d := planDisk{Used: sizes[i], Backing: backingFlat, Sharing: string(types.VirtualDiskSharingSharingNone),
			Mode: string(types.VirtualDiskModePersistent)}
		d.Thin = rng.Float64() < cfg.ThinFraction
		d.Eager = !d.Thin && rng.Float64() < cfg.EagerFraction
		if i > 0 && rng.Float64() < cfg.IndependentFraction {
			d.Mode = string(types.VirtualDiskModeIndependent_persistent)
		}
		d.DS = place(i)
		d.Capacity = d.Used
		if d.Thin {
			thinUsed += d.Used
		}
		vm.Disks = append(vm.Disks, d)
	}
	// Thin disks may grow: the drawn uncommitted bytes go to them in proportion to their size.
	for i := range vm.Disks {
		d := &vm.Disks[i]
		if d.Thin && thinUsed > 0 {
			grow := int64(float64(vm.Uncommitted) * float64(d.Used) / float64(thinUsed))
			d.Capacity = (d.Used + grow + gib - 1) / gib * gib
		}
	}
	if mw {
		vm.Disks = append(vm.Disks, planDisk{Used: sizes[n], Capacity: sizes[n], Backing: backingFlat, Eager: true,
			Sharing: string(types.VirtualDiskSharingSharingMultiWriter), Mode: string(types.VirtualDiskModeIndependent_persistent), DS: place(n)})
	}
	lun := func() string {
		return fmt.Sprintf("/vmfs/devices/disks/naa.600%013x%016x", rng.Int63()&0xfffffffffffff, rng.Uint64())
	}
	if rdmP {
		vm.Disks = append(vm.Disks, planDisk{Used: rdmMappingBytes, Capacity: int64(1+rng.Intn(20)) * 100 * gib, Backing: backingRDMPhysical,
			Sharing: string(types.VirtualDiskSharingSharingNone), Mode: string(types.VirtualDiskModeIndependent_persistent), LUN: lun(), DS: place(len(vm.Disks))})
	}
	if rdmV {
		vm.Disks = append(vm.Disks, planDisk{Used: rdmMappingBytes, Capacity: int64(1+rng.Intn(20)) * 100 * gib, Backing: backingRDMVirtual,
			Sharing: string(types.VirtualDiskSharingSharingNone), Mode: string(types.VirtualDiskModePersistent), LUN: lun(), DS: place(len(vm.Disks))})
	}
	if iso {
		vm.Media = []planMedia{{Key: cdromKey, Label: "CD/DVD drive 1", DS: isoDS, File: "[" + isoDS + "] iso/win2019.iso"}}
	}
	vm.finish()
}

// splitBytes splits total into n parts (MiB-aligned, at least 1 GiB each when total allows;
// the rest shared at random, the first part — the system disk — favoured).
func splitBytes(rng *rand.Rand, total int64, n int) []int64 {
	out := make([]int64, n)
	if n == 1 {
		out[0] = total
		return out
	}
	base := gib
	if total < int64(n)*base {
		base = total / int64(n) / mibBytes * mibBytes
	}
	rest := total - int64(n)*base
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = rng.ExpFloat64()
		if i == 0 {
			w[i] += 1
		}
		sum += w[i]
	}
	var given int64
	for i := 1; i < n; i++ {
		part := int64(float64(rest)*w[i]/sum) / mibBytes * mibBytes
		out[i] = base + part
		given += out[i]
	}
	out[0] = total - given
	return out
}

const mibBytes = int64(1) << 20

// finish numbers the VM's disks (keys 2000…, labels, slots, default paths) and sets its
// committed and uncommitted bytes and datastore list from its files.
func (vm *planVM) finish() {
	for i := range vm.Disks {
		d := &vm.Disks[i]
		if d.Key == 0 {
			d.Key = firstDiskKey + int32(i)
		}
		if d.Label == "" {
			d.Label = fmt.Sprintf("Hard disk %d", i+1)
		}
		if d.Path == "" {
			if i == 0 {
				d.Path = vm.Name + "/" + vm.Name + ".vmdk"
			} else {
				d.Path = fmt.Sprintf("%s/%s_%d.vmdk", vm.Name, vm.Name, i)
			}
		}
		if d.DS == "" {
			d.DS = vm.Home
		}
		if d.Mode == "" {
			d.Mode = string(types.VirtualDiskModePersistent)
		}
		if d.Sharing == "" {
			d.Sharing = string(types.VirtualDiskSharingSharingNone)
		}
	}
	var committed, uncommitted int64
	for _, h := range vm.HomeFiles {
		committed += h.size
	}
	seen := map[string]bool{vm.Home: true}
	dss := []string{vm.Home}
	for _, d := range vm.Disks {
		committed += d.Used
		if d.Backing == backingFlat && d.Thin && d.Capacity > d.Used {
			uncommitted += d.Capacity - d.Used
		}
		if !seen[d.DS] {
			seen[d.DS] = true
			dss = append(dss, d.DS)
		}
	}
	for _, m := range vm.Media {
		if m.DS != "" && !seen[m.DS] {
			seen[m.DS] = true
			dss = append(dss, m.DS)
		}
	}
	vm.Committed, vm.Uncommitted, vm.Datastores = committed, uncommitted, dss
}

// bytesOn returns the bytes the VM's files occupy per datastore name.
func (vm *planVM) bytesOn() map[string]int64 {
	m := map[string]int64{}
	for _, h := range vm.HomeFiles {
		m[vm.Home] += h.size
	}
	for _, d := range vm.Disks {
		m[d.DS] += d.Used
	}
	return m
}
