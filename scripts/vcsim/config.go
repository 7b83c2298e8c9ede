package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Config holds every command-line setting of the test vCenter.
type Config struct {
	// Topology (generated)
	Datacenters         int
	Clusters            int
	Hosts               int
	VMs                 int
	Datastores          string
	DSCapacityGB        float64
	Seed                int64
	SnapshotFraction    float64
	ConsolidateFraction float64
	PoweredOffFraction  float64
	// Files (generated): disks per VM ("A-B" or "N"), the datastore prefixes extra disks may
	// land on, the fraction of extra disks placed off the home datastore, disk formats.
	Disks               string
	DiskPrefixes        string
	Spread              float64
	ThinFraction        float64
	EagerFraction       float64
	IndependentFraction float64
	// Fractions of VMs with one extra disk of that kind, an ISO, template, Fault Tolerance, orphaned
	RDMPhysical      float64
	RDMVirtual       float64
	MultiWriter      float64
	ISOFraction      float64
	TemplateFraction float64
	FTFraction       float64
	OrphanedFraction float64
	// Datastore prefixes whose datastores form a StoragePod "<prefix>-pod" per datacenter
	Pods stringList
	// What strategies select VMs by, given to the VMs in turn (VM i gets value i mod count):
	// folders below each datacenter's vm folder ("prod,prod/db"), custom attributes
	// ("wave=1|2|3", repeatable) and guest OS ids ("windows2019srv_64Guest,rhel9_64Guest").
	Folders    string
	Attributes stringList
	GuestOS    string
	// vSphere tags ("migration-wave=wave-1|wave-2", repeatable), served by the Automation
	// REST API (/rest) that NoREST turns off (an ESXi host or a vCenter before 6.5 has none).
	Tags   stringList
	NoREST bool
	// Topology (loaded)
	Inventory string

	// Transport
	Listen   string
	TLS      bool
	CertFile string
	KeyFile  string
	Username string
	Password string
	// ServiceContent.about.instanceUuid ("" = a fresh random one per process)
	InstanceUUID string

	// Time model
	RateMBps        float64
	VMotionRateMBps float64
	Speed           float64
	ProgressSteps   int
	MinTaskSeconds  float64
	// Fixed setup time added to a Storage vMotion / a vMotion (VCenterSimulator: 15 / 5)
	SVMotionSetupSeconds float64
	VMotionSetupSeconds  float64
	// The server's clock (task times, CurrentTime) runs this far ahead of real time
	ClockSkewSeconds float64
	// Shared storage bandwidth (bandwidth.go): arrays whose throughput the copies touching
	// them share, and datastores whose copies are capped at a fraction of the rate
	Arrays         arrayList
	SlowDatastores slowList

	// Speed (Mb/s) of every host's physical NICs and the vMotion vmknic's uplink (0 = vcsim's 10000, vMotion not enabled on a vmknic)
	VMotionLinkMbps int

	// Limits (vSphere "Limits on Simultaneous Migrations")
	HostMaxCost           int
	DatastoreMaxCost      int
	NetworkMaxVMotions    int
	HostCostVMotion       int
	HostCostSVMotion      int
	DatastoreCostVMotion  int
	DatastoreCostSVMotion int
	// Cold migration (powered off, suspended, template): a provisioning operation
	HostCostProvisioning int

	// Storage DRS recommendations are remembered this long (real seconds)
	SDRSTTLSeconds float64

	// Fault injection
	FailEvery   int
	FailFault   string
	FailMethods string

	// Stock vcsim 0.24 PropertyCollector updates (slow, can lose updates) instead of ours
	VcsimPC       bool
	VerboseXSI    bool
	UpdateBatchMS int

	// Process
	ExitOnStdinEOF bool
	Verbose        bool
}

// defaultConfig returns the documented defaults.
func defaultConfig() Config {
	return Config{
		Datacenters: 1, Clusters: 3, Hosts: 8, VMs: 60,
		Datastores: "legacy:4,new:4", Seed: 1,
		SnapshotFraction: 0.1, ConsolidateFraction: 0.05,
		Disks: "1", Spread: 0.5, ThinFraction: 0.5, EagerFraction: 0.2, IndependentFraction: 0.03,
		Listen: "127.0.0.1:0", Username: "user", Password: "pass",
		RateMBps: 100, VMotionRateMBps: 1000, Speed: 1, ProgressSteps: 4,
		HostMaxCost: 8, DatastoreMaxCost: 128, NetworkMaxVMotions: 8,
		HostCostVMotion: 1, HostCostSVMotion: 4, DatastoreCostVMotion: 1, DatastoreCostSVMotion: 16, HostCostProvisioning: 1,
		FailFault: "FileLocked", FailMethods: "RelocateVM_Task", SDRSTTLSeconds: 600,
		UpdateBatchMS: 100, ExitOnStdinEOF: true,
	}
}

// parseFlags parses args into a Config; errors and -help go to out.
func parseFlags(args []string, out io.Writer) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("vcsim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, `vcsim — Moonmotion's test vCenter (govmomi simulator 0.24 + asynchronous migrations).

Prints one JSON line on stdout when ready:
  {"url":..., "username":..., "password":..., "thumbprint_sha1":..., "thumbprint_sha256":..., "control":..., "pid":...}
then logs only on stderr. Exits on SIGTERM/SIGINT or when stdin reaches EOF.
See scripts/vcsim/README.md for the control API (/_mm/...) and the time model.

Flags:
`)
		fs.PrintDefaults()
	}

	fs.IntVar(&c.Datacenters, "datacenters", c.Datacenters, "number of datacenters to generate")
	fs.IntVar(&c.Clusters, "clusters", c.Clusters, "clusters per datacenter")
	fs.IntVar(&c.Hosts, "hosts", c.Hosts, "hosts per cluster")
	fs.IntVar(&c.VMs, "vms", c.VMs, "VMs per cluster (named vm-c<cluster>-<nnnn>, spread round-robin over the cluster's hosts and the first datastore prefix)")
	fs.StringVar(&c.Datastores, "datastores", c.Datastores, "datastores per datacenter as prefix:count[,prefix:count...]; every datastore is mounted on every host of its datacenter; VMs start on the first prefix")
	fs.Float64Var(&c.DSCapacityGB, "ds-capacity-gb", c.DSCapacityGB, "capacity of each datastore in GB (0 = automatic: room for the VMs with about 40% free)")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed for the deterministic VM sizes, memory, snapshots and consolidation flags")
	fs.Float64Var(&c.SnapshotFraction, "snapshot-fraction", c.SnapshotFraction, "fraction of VMs with 1-3 snapshots (createTime spread over the past 60 days)")
	fs.Float64Var(&c.ConsolidateFraction, "consolidate-fraction", c.ConsolidateFraction, "fraction of VMs with runtime.consolidationNeeded=true")
	fs.Float64Var(&c.PoweredOffFraction, "powered-off-fraction", c.PoweredOffFraction, "fraction of VMs powered off (the rest are powered on)")
	fs.StringVar(&c.Disks, "disks", c.Disks, "virtual disks per VM: N or A-B (uniform); the first disk and the VM's home are on a datastore of the first -datastores prefix")
	fs.StringVar(&c.DiskPrefixes, "disk-prefixes", c.DiskPrefixes, "comma-separated datastore prefixes a VM's disks beyond the first may land on (default: the first prefix of -datastores)")
	fs.Float64Var(&c.Spread, "spread", c.Spread, "fraction of disks beyond the first placed on another datastore than the home, chosen uniformly among the -disk-prefixes datastores")
	fs.Float64Var(&c.ThinFraction, "thin-fraction", c.ThinFraction, "fraction of flat disks that are thin provisioned")
	fs.Float64Var(&c.EagerFraction, "eager-fraction", c.EagerFraction, "fraction of thick flat disks that are eagerly zeroed (the rest lazily)")
	fs.Float64Var(&c.IndependentFraction, "independent-fraction", c.IndependentFraction, "fraction of disks beyond the first in diskMode independent_persistent")
	fs.Float64Var(&c.RDMPhysical, "rdm-physical", c.RDMPhysical, "fraction of VMs with one extra physical-mode raw device mapping")
	fs.Float64Var(&c.RDMVirtual, "rdm-virtual", c.RDMVirtual, "fraction of VMs with one extra virtual-mode raw device mapping")
	fs.Float64Var(&c.MultiWriter, "multiwriter", c.MultiWriter, "fraction of VMs with one extra eager-zeroed multi-writer disk (sharingMultiWriter)")
	fs.Float64Var(&c.ISOFraction, "iso", c.ISOFraction, "fraction of VMs with an ISO image connected (on the first prefix's second datastore)")
	fs.Float64Var(&c.TemplateFraction, "template-fraction", c.TemplateFraction, "fraction of VMs that are templates (powered off)")
	fs.Float64Var(&c.FTFraction, "ft", c.FTFraction, "fraction of VMs protected by Fault Tolerance (config.ftInfo, primary)")
	fs.Float64Var(&c.OrphanedFraction, "orphaned", c.OrphanedFraction, "fraction of VMs whose runtime.connectionState is orphaned")
	fs.Var(&c.Pods, "pod", "datastore prefix whose datastores form a Storage DRS datastore cluster (StoragePod) <prefix>-pod in each datacenter; repeatable or a comma list")
	fs.StringVar(&c.Folders, "folders", c.Folders, "comma-separated VM folders below each datacenter's vm folder (prod,prod/db), given to the VMs in turn (default: every VM directly in vm)")
	fs.Var(&c.Attributes, "attribute", "a custom attribute of the VMs as name=v1|v2|...: the VMs get the values in turn; repeatable")
	fs.Var(&c.Tags, "tag", "a vSphere tag category of the VMs as category=tag1|tag2|...: the VMs get the tags in turn (served by the Automation REST API under /rest); repeatable")
	fs.BoolVar(&c.NoREST, "no-rest", c.NoREST, "serve no Automation REST API (/rest answers 404), like an ESXi host or a vCenter before 6.5: tags cannot be read")
	fs.StringVar(&c.GuestOS, "guest-os", c.GuestOS, "comma-separated guest OS ids (config.guestId) given to the VMs in turn, full names from a table (default: otherGuest64)")
	fs.StringVar(&c.Inventory, "inventory", c.Inventory, "load the topology from Moonmotion's inventory JSON (moonmotion inventory --json) instead of generating it")

	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on (port 0 = a free port)")
	fs.BoolVar(&c.TLS, "tls", c.TLS, "serve HTTPS with a self-signed certificate generated at start (or -cert/-key)")
	fs.StringVar(&c.CertFile, "cert", c.CertFile, "PEM certificate file for -tls (default: generate one)")
	fs.StringVar(&c.KeyFile, "key", c.KeyFile, "PEM private key file for -tls")
	fs.StringVar(&c.Username, "username", c.Username, "the only user name Login accepts")
	fs.StringVar(&c.Password, "password", c.Password, "the only password Login accepts")
	fs.StringVar(&c.InstanceUUID, "instance-uuid", c.InstanceUUID, "ServiceContent.about.instanceUuid, the vCenter's identity (default: a fresh random UUID per process, so two servers never look like one vCenter)")

	fs.Float64Var(&c.RateMBps, "rate-mbps", c.RateMBps, "simulated MB/s of one Storage vMotion alone (bytes written / rate = its copy time; see -array for shared bandwidth)")
	fs.Float64Var(&c.VMotionRateMBps, "vmotion-rate-mbps", c.VMotionRateMBps, "simulated MB/s of memory copied by a vMotion (memory size / rate = duration)")
	fs.Float64Var(&c.Speed, "speed", c.Speed, "time compression: simulated seconds per real second")
	fs.IntVar(&c.ProgressSteps, "progress-steps", c.ProgressSteps, "info.progress updates per task (each costs a WaitForUpdatesEx update in vcsim 0.24; keep few)")
	fs.Float64Var(&c.MinTaskSeconds, "min-task-seconds", c.MinTaskSeconds, "minimum simulated duration of any task")
	fs.Float64Var(&c.SVMotionSetupSeconds, "svmotion-setup-seconds", c.SVMotionSetupSeconds, "fixed simulated seconds added to every Storage vMotion before its copy (Moonmotion's built-in simulator: 15)")
	fs.Float64Var(&c.VMotionSetupSeconds, "vmotion-setup-seconds", c.VMotionSetupSeconds, "fixed simulated seconds added to every host change (Moonmotion's built-in simulator: 5)")
	fs.Var(&c.Arrays, "array", "a storage array whose bandwidth its copies share: NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F] (repeatable); the datastores matching a glob are in it; it serves MBPS in total (reads plus writes) to the copies touching it, max-min fair, each copy also capped at -rate-mbps; beyond K concurrent copies it loses L (default 0.1) of MBPS per extra copy, never below F (default 0.2) of it")
	fs.Var(&c.SlowDatastores, "slow-datastore", "NAME:FACTOR (repeatable or a comma list): a copy reading or writing that datastore is capped at FACTOR x -rate-mbps (0.5: half speed)")
	fs.Float64Var(&c.ClockSkewSeconds, "clock-skew-seconds", c.ClockSkewSeconds, "the server's clock (task times and CurrentTime) runs this many seconds ahead of the real one (negative: behind)")

	fs.IntVar(&c.VMotionLinkMbps, "vmotion-link-mbps", c.VMotionLinkMbps, "link speed in Mb/s of every host's physical NICs (config.network.pnic), with vmk0 enabled for vMotion (0 = vcsim's inventory: 10000 Mb/s NICs, no vmknic selected for vMotion)")
	fs.IntVar(&c.HostMaxCost, "host-max-cost", c.HostMaxCost, "per-host migration cost limit (vSphere: 8)")
	fs.IntVar(&c.DatastoreMaxCost, "datastore-max-cost", c.DatastoreMaxCost, "per-datastore migration cost limit (vSphere: 128)")
	fs.IntVar(&c.NetworkMaxVMotions, "network-max-vmotions", c.NetworkMaxVMotions, "concurrent vMotions per host network (vSphere: 4 on 1 GbE, 8 on 10 GbE)")
	fs.IntVar(&c.HostCostVMotion, "host-cost-vmotion", c.HostCostVMotion, "host cost of one vMotion")
	fs.IntVar(&c.HostCostSVMotion, "host-cost-svmotion", c.HostCostSVMotion, "host cost of one Storage vMotion")
	fs.IntVar(&c.DatastoreCostVMotion, "datastore-cost-vmotion", c.DatastoreCostVMotion, "datastore cost of one vMotion")
	fs.IntVar(&c.DatastoreCostSVMotion, "datastore-cost-svmotion", c.DatastoreCostSVMotion, "datastore cost of one Storage vMotion (charged once to every datastore a moving file leaves or reaches)")
	fs.IntVar(&c.HostCostProvisioning, "host-cost-provisioning", c.HostCostProvisioning, "host cost of a cold migration (powered off, suspended or template VM), charged to the source host and the destination host; no datastore or network cost")
	fs.Float64Var(&c.SDRSTTLSeconds, "sdrs-ttl-seconds", c.SDRSTTLSeconds, "real seconds a Storage DRS recommendation (RecommendDatastores) stays applicable")

	fs.IntVar(&c.FailEvery, "fail-every", c.FailEvery, "make every Nth task of -fail-methods end in error (0 = never)")
	fs.StringVar(&c.FailFault, "fail-fault", c.FailFault, "fault type of the injected task errors (FileLocked, TaskInProgress, InvalidState, ...)")
	fs.StringVar(&c.FailMethods, "fail-methods", c.FailMethods, "comma-separated task methods that -fail-every applies to")

	fs.BoolVar(&c.VerboseXSI, "verbose-xsi", c.VerboseXSI, "answer with govmomi's encoding, which redeclares the XML Schema instance namespace on every value (about half of a RetrievePropertiesEx response), instead of vCenter's envelope-level xsi:type")
	fs.BoolVar(&c.VcsimPC, "vcsim-property-collector", c.VcsimPC, "use vcsim 0.24's own WaitForUpdatesEx (re-collects every filter per update; can lose an update between a filter's first read and its registration) instead of the test vCenter's incremental one")
	fs.IntVar(&c.UpdateBatchMS, "update-batch-ms", c.UpdateBatchMS, "after a change, WaitForUpdatesEx waits this long for more changes before answering (batches updates; vcsim's own ticks every 250 ms)")
	fs.BoolVar(&c.ExitOnStdinEOF, "exit-on-stdin-eof", c.ExitOnStdinEOF, "exit when stdin reaches EOF (launchers keep a pipe open; use =false with </dev/null)")
	fs.BoolVar(&c.Verbose, "verbose", c.Verbose, "log the simulator's own messages (chatty) on stderr")

	fs.SetOutput(io.Discard) // errors are reported by the caller in one line
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(out)
			fs.Usage()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (all settings are -flags; see -help)", fs.Arg(0))
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	switch {
	case c.Inventory == "" && (c.Datacenters < 1 || c.Clusters < 1 || c.Hosts < 1 || c.VMs < 0):
		return fmt.Errorf("topology needs -datacenters, -clusters, -hosts >= 1 and -vms >= 0")
	case c.RateMBps <= 0 || c.VMotionRateMBps <= 0:
		return fmt.Errorf("-rate-mbps and -vmotion-rate-mbps must be > 0")
	case c.Speed <= 0:
		return fmt.Errorf("-speed must be > 0 (simulated seconds per real second)")
	case c.SVMotionSetupSeconds < 0 || c.VMotionSetupSeconds < 0:
		return fmt.Errorf("-svmotion-setup-seconds and -vmotion-setup-seconds must be >= 0")
	case c.ProgressSteps < 0:
		return fmt.Errorf("-progress-steps must be >= 0")
	case c.TLS && (c.CertFile == "") != (c.KeyFile == ""):
		return fmt.Errorf("-cert and -key go together")
	case c.Username == "" || c.Password == "":
		return fmt.Errorf("-username and -password must not be empty")
	case c.NoREST && len(c.Tags) > 0:
		return fmt.Errorf("-tag needs the Automation REST API, which -no-rest turns off")
	case c.VMotionLinkMbps < 0:
		return fmt.Errorf("-vmotion-link-mbps must be >= 0 (0 keeps vcsim's 10000 Mb/s)")
	}
	for name, v := range map[string]float64{"spread": c.Spread, "thin-fraction": c.ThinFraction, "eager-fraction": c.EagerFraction,
		"independent-fraction": c.IndependentFraction, "rdm-physical": c.RDMPhysical, "rdm-virtual": c.RDMVirtual, "multiwriter": c.MultiWriter,
		"iso": c.ISOFraction, "template-fraction": c.TemplateFraction, "ft": c.FTFraction, "orphaned": c.OrphanedFraction,
		"snapshot-fraction": c.SnapshotFraction, "consolidate-fraction": c.ConsolidateFraction, "powered-off-fraction": c.PoweredOffFraction} {
		if v < 0 || v > 1 {
			return fmt.Errorf("-%s must be between 0 and 1", name)
		}
	}
	if c.HostCostProvisioning < 0 {
		return fmt.Errorf("-host-cost-provisioning must be >= 0")
	}
	if c.SDRSTTLSeconds <= 0 {
		return fmt.Errorf("-sdrs-ttl-seconds must be > 0")
	}
	if _, _, err := parseDiskRange(c.Disks); err != nil {
		return err
	}
	if c.Inventory == "" {
		groups, err := parseDatastoreSpec(c.Datastores)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, g := range groups {
			known[g.Prefix] = true
		}
		for _, p := range splitList(c.DiskPrefixes) {
			if !known[p] {
				return fmt.Errorf("-disk-prefixes: %q is not a prefix of -datastores %q", p, c.Datastores)
			}
		}
		for _, p := range c.Pods {
			if !known[p] {
				return fmt.Errorf("-pod: %q is not a prefix of -datastores %q", p, c.Datastores)
			}
		}
	}
	return nil
}

// stringList is a repeatable flag whose values may also be comma lists.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error {
	*l = append(*l, splitList(s)...)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseDiskRange parses -disks: "N" or "A-B" (1 <= A <= B <= 50).
func parseDiskRange(s string) (int, int, error) {
	lo, hi := s, s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		lo, hi = s[:i], s[i+1:]
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 1 || b < a || b > 50 {
		return 0, 0, fmt.Errorf("-disks %q: want N or A-B with 1 <= A <= B <= 50", s)
	}
	return a, b, nil
}

// datastoreGroup is one prefix:count entry of -datastores.
type datastoreGroup struct {
	Prefix string
	Count  int
}

func parseDatastoreSpec(s string) ([]datastoreGroup, error) {
	var groups []datastoreGroup
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kv := strings.SplitN(part, ":", 2)
		n := 1
		if len(kv) == 2 {
			v, err := strconv.Atoi(kv[1])
			if err != nil || v < 1 {
				return nil, fmt.Errorf("-datastores: %q: count must be a positive integer (format prefix:count,...)", part)
			}
			n = v
		}
		if kv[0] == "" {
			return nil, fmt.Errorf("-datastores: %q: empty prefix (format prefix:count,...)", part)
		}
		groups = append(groups, datastoreGroup{kv[0], n})
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("-datastores: at least one prefix:count is needed")
	}
	return groups, nil
}
