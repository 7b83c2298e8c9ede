package main

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// A VM's files as the test vCenter keeps them: its home (vmx, nvram, log, swap) on one
// datastore, each virtual disk on its own, and connected ISO images. Everything a client
// reads about storage (config.hardware.device, config.files, layoutEx, layout, storage,
// summary.storage, datastore) is rendered from this record, and a relocation replaces it.

type diskBacking string

const (
	backingFlat        diskBacking = "flat"
	backingRDMVirtual  diskBacking = "rdm_virtual"
	backingRDMPhysical diskBacking = "rdm_physical"
)

// Disk formats as the stats and /_mm/vms name them; an RDM's format is its backing.
const (
	formatThin  = "thin"
	formatThick = "thick"
	formatEager = "eager"
)

// rdmMappingBytes is what an RDM's mapping file occupies on its datastore (the LUN's data
// is not on the datastore).
const rdmMappingBytes = 4096

const (
	scsiControllerKey = 1000 // ParaVirtual SCSI controller 0 (1001… for more than 15 disks)
	firstDiskKey      = 2000
	cdromKey          = 3000
	ideControllerKey  = 200 // vcsim's IDE 0
	maxDisksPerVM     = 60  // 4 SCSI controllers × 15 units
)

// homeFile is one file of the VM's home directory (name relative to it).
type homeFile struct {
	name string
	typ  string // layoutEx type: config, nvram, log, swap
	size int64
}

// vdisk is one virtual disk.
type vdisk struct {
	key      int32
	label    string
	ctrlKey  int32
	unit     int32
	ds       ref
	path     string // relative to the datastore: "vm/vm_1.vmdk"
	capacity int64
	used     int64 // bytes its files occupy (thin: written; thick: capacity; RDM: the mapping file)
	backing  diskBacking
	thin     bool
	eager    bool
	sharing  string // sharingNone, sharingMultiWriter
	mode     string // persistent, independent_persistent, …
	lun      string // RDM: /vmfs/devices/disks/naa.…
	uuid     string
}

// vmedia is a CD/DVD drive with an ISO image on a datastore.
type vmedia struct {
	key   int32
	label string
	ds    ref
	file  string // full name: "[legacy-02] iso/win2019.iso"
}

// vmFiles is where a VM's files are. Treated as immutable once attached to a VM: a move
// builds a new one (clone) and swaps it in.
type vmFiles struct {
	home      ref
	vmx       string // relative: "vm/vm.vmx"
	homeFiles []homeFile
	disks     []vdisk
	media     []vmedia
}

func (f *vmFiles) clone() *vmFiles {
	c := *f
	c.homeFiles = append([]homeFile(nil), f.homeFiles...)
	c.disks = append([]vdisk(nil), f.disks...)
	c.media = append([]vmedia(nil), f.media...)
	return &c
}

func (f *vmFiles) homeBytes() int64 {
	var n int64
	for _, h := range f.homeFiles {
		n += h.size
	}
	return n
}

func (f *vmFiles) disk(key int32) *vdisk {
	for i := range f.disks {
		if f.disks[i].key == key {
			return &f.disks[i]
		}
	}
	return nil
}

// committed is the bytes of every file (summary.storage.committed).
func (f *vmFiles) committed() int64 {
	n := f.homeBytes()
	for _, d := range f.disks {
		n += d.used
	}
	return n
}

// datastores lists every datastore holding the home, a disk or an image, without repeats.
func (f *vmFiles) datastores() []ref {
	out := []ref{f.home}
	add := func(d ref) {
		for _, x := range out {
			if x == d {
				return
			}
		}
		out = append(out, d)
	}
	for _, d := range f.disks {
		add(d.ds)
	}
	for _, m := range f.media {
		if m.ds != (ref{}) {
			add(m.ds)
		}
	}
	return out
}

// bytesOn returns the bytes the VM's files occupy per datastore.
func (f *vmFiles) bytesOn() map[ref]int64 {
	m := map[ref]int64{f.home: f.homeBytes()}
	for _, d := range f.disks {
		m[d.ds] += d.used
	}
	return m
}

func (f *vmFiles) hasMultiWriter() *vdisk {
	for i := range f.disks {
		if f.disks[i].sharing == string(types.VirtualDiskSharingSharingMultiWriter) {
			return &f.disks[i]
		}
	}
	return nil
}

// format names the disk's format: thin, thick, eager, or its RDM backing.
func (d *vdisk) format() string {
	switch {
	case d.backing != backingFlat:
		return string(d.backing)
	case d.thin:
		return formatThin
	case d.eager:
		return formatEager
	default:
		return formatThick
	}
}

// copyTo returns the bytes a copy of the disk writes and the bytes it then occupies when it
// lands in format f ("" = as it is), and the disk as it is afterwards (path and datastore
// unchanged). Thin writes and takes what the disk uses; lazy-zeroed thick writes what it
// uses and reserves its capacity; eager-zeroed thick writes (zeroes) its capacity. A disk
// "uses" the bytes its files occupy now (layoutEx), so a thick source uses its capacity.
// A virtual-mode RDM given a format becomes a flat VMDK holding the LUN's whole capacity.
func (d vdisk) copyTo(f string) (written, occupies int64, out vdisk) {
	out = d
	if f == "" || f == d.format() {
		return d.used, d.used, out
	}
	capacity := d.capacity
	if capacity < d.used {
		capacity = d.used
	}
	if d.backing == backingRDMVirtual {
		out.backing = backingFlat
		out.lun = ""
		out.used = capacity
		out.thin, out.eager = f == formatThin, f == formatEager
		return capacity, capacity, out
	}
	out.thin, out.eager = f == formatThin, f == formatEager
	switch f {
	case formatThin:
		out.used = d.used
		return d.used, d.used, out
	case formatThick:
		out.used = capacity
		return d.used, capacity, out
	default: // eager
		out.used = capacity
		return capacity, capacity, out
	}
}

// dsPath is "[ds] rel".
func dsPath(names map[ref]string, d ref, rel string) string {
	return "[" + names[d] + "] " + rel
}

// parseDSPath splits "[ds] rel" into its datastore name and relative path.
func parseDSPath(s string) (ds, rel string, ok bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return "", s, false
	}
	i := strings.IndexByte(s, ']')
	if i < 0 {
		return "", s, false
	}
	return s[1:i], strings.TrimSpace(s[i+1:]), true
}

// extentName is the data file of a disk descriptor: vm_1.vmdk -> vm_1-flat.vmdk (RDM:
// -rdmp.vmdk in physical mode, -rdm.vmdk in virtual mode).
func extentName(rel string, b diskBacking) string {
	base := strings.TrimSuffix(rel, ".vmdk")
	switch b {
	case backingRDMPhysical:
		return base + "-rdmp.vmdk"
	case backingRDMVirtual:
		return base + "-rdm.vmdk"
	}
	return base + "-flat.vmdk"
}

// rendered is everything a client sees of a VM's files.
type rendered struct {
	devices   []types.BaseVirtualDevice
	vmPath    string
	dir       string
	layoutEx  *types.VirtualMachineFileLayoutEx
	layout    *types.VirtualMachineFileLayout
	storage   *types.VirtualMachineStorageInfo
	summary   *types.VirtualMachineStorageSummary
	datastore []ref
	numDisks  int32
}

// render builds the VM's storage properties from f. base is the VM's other devices (vcsim's
// defaults: controllers, NIC, video, …); disks, SCSI controllers and CD/DVD drives are
// replaced. poweredOn sets the CD/DVD drives' connected state.
func (f *vmFiles) render(names map[ref]string, base []types.BaseVirtualDevice, poweredOn bool, now time.Time) rendered {
	r := rendered{datastore: f.datastores(), numDisks: int32(len(f.disks))}
	dir := path.Dir(f.vmx)
	r.vmPath = dsPath(names, f.home, f.vmx)
	r.dir = dsPath(names, f.home, dir)

	// devices
	controllers := map[int32]*types.ParaVirtualSCSIController{}
	var ctrlOrder []int32
	var ide200 *types.VirtualIDEController
	for _, d := range base {
		switch x := d.(type) {
		case *types.VirtualDisk, *types.VirtualCdrom, *types.ParaVirtualSCSIController:
			continue
		case *types.VirtualIDEController:
			if x.Key == ideControllerKey {
				c := *x
				c.Device = nil
				ide200 = &c
				r.devices = append(r.devices, ide200)
				continue
			}
		}
		r.devices = append(r.devices, d)
	}
	for i := range f.disks {
		d := &f.disks[i]
		c := controllers[d.ctrlKey]
		if c == nil {
			bus := d.ctrlKey - scsiControllerKey
			unit := 3 + bus
			c = &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{
				VirtualController: types.VirtualController{
					VirtualDevice: types.VirtualDevice{
						Key:           d.ctrlKey,
						DeviceInfo:    &types.Description{Label: fmt.Sprintf("SCSI controller %d", bus), Summary: "VMware paravirtual SCSI"},
						ControllerKey: 100,
						UnitNumber:    &unit,
					},
					BusNumber: bus,
				},
				HotAddRemove:       types.NewBool(true),
				SharedBus:          types.VirtualSCSISharingNoSharing,
				ScsiCtlrUnitNumber: 7,
			}}
			controllers[d.ctrlKey] = c
			ctrlOrder = append(ctrlOrder, d.ctrlKey)
		}
		c.Device = append(c.Device, d.key)
	}
	for _, k := range ctrlOrder {
		r.devices = append(r.devices, controllers[k])
	}
	for i := range f.disks {
		r.devices = append(r.devices, f.disks[i].device(names))
	}
	cdroms := f.cdroms(poweredOn)
	if len(cdroms) == 0 {
		cdroms = []types.BaseVirtualDevice{clientCdrom(cdromKey, 0)}
	}
	if ide200 != nil {
		for _, c := range cdroms {
			ide200.Device = append(ide200.Device, c.GetVirtualDevice().Key)
		}
	}
	r.devices = append(r.devices, cdroms...)

	// layoutEx, layout
	lx := &types.VirtualMachineFileLayoutEx{Timestamp: now}
	lo := &types.VirtualMachineFileLayout{}
	var key int32
	add := func(name, typ string, size int64) int32 {
		k := key
		key++
		lx.File = append(lx.File, types.VirtualMachineFileLayoutExFileInfo{
			Key: k, Name: name, Type: typ, Size: size, UniqueSize: size, Accessible: types.NewBool(true),
		})
		return k
	}
	usage := map[ref]*types.VirtualMachineUsageOnDatastore{}
	var order []ref
	use := func(d ref) *types.VirtualMachineUsageOnDatastore {
		u := usage[d]
		if u == nil {
			u = &types.VirtualMachineUsageOnDatastore{Datastore: d}
			usage[d] = u
			order = append(order, d)
		}
		return u
	}
	hu := use(f.home)
	for _, h := range f.homeFiles {
		name := dsPath(names, f.home, path.Join(dir, h.name))
		add(name, h.typ, h.size)
		hu.Committed += h.size
		hu.Unshared += h.size
		switch h.typ {
		case string(types.VirtualMachineFileLayoutExFileTypeLog):
			lo.LogFile = append(lo.LogFile, name)
		case string(types.VirtualMachineFileLayoutExFileTypeSwap):
			lo.SwapFile = name
		case string(types.VirtualMachineFileLayoutExFileTypeConfig):
		default:
			lo.ConfigFile = append(lo.ConfigFile, name)
		}
	}
	for i := range f.disks {
		d := &f.disks[i]
		desc := dsPath(names, d.ds, d.path)
		k1 := add(desc, string(types.VirtualMachineFileLayoutExFileTypeDiskDescriptor), 0)
		k2 := add(dsPath(names, d.ds, extentName(d.path, d.backing)), string(types.VirtualMachineFileLayoutExFileTypeDiskExtent), d.used)
		lx.Disk = append(lx.Disk, types.VirtualMachineFileLayoutExDiskLayout{
			Key: d.key, Chain: []types.VirtualMachineFileLayoutExDiskUnit{{FileKey: []int32{k1, k2}}},
		})
		lo.Disk = append(lo.Disk, types.VirtualMachineFileLayoutDiskLayout{Key: d.key, DiskFile: []string{desc}})
		u := use(d.ds)
		u.Committed += d.used
		u.Unshared += d.used
		if d.backing == backingFlat && d.thin && d.capacity > d.used {
			u.Uncommitted += d.capacity - d.used
		}
	}
	r.layoutEx, r.layout = lx, lo
	r.storage = &types.VirtualMachineStorageInfo{Timestamp: now}
	r.summary = &types.VirtualMachineStorageSummary{Timestamp: now}
	for _, d := range order {
		u := *usage[d]
		r.storage.PerDatastoreUsage = append(r.storage.PerDatastoreUsage, u)
		r.summary.Committed += u.Committed
		r.summary.Uncommitted += u.Uncommitted
		r.summary.Unshared += u.Unshared
	}
	return r
}

func (d *vdisk) device(names map[ref]string) *types.VirtualDisk {
	unit := d.unit
	ds := d.ds
	file := types.VirtualDeviceFileBackingInfo{FileName: dsPath(names, d.ds, d.path), Datastore: &ds}
	var backing types.BaseVirtualDeviceBackingInfo
	summary := fmt.Sprintf("%s KB", groupDigits(d.capacity/1024))
	switch d.backing {
	case backingFlat:
		backing = &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: file,
			DiskMode:                     d.mode,
			Split:                        types.NewBool(false),
			WriteThrough:                 types.NewBool(false),
			ThinProvisioned:              types.NewBool(d.thin),
			EagerlyScrub:                 types.NewBool(d.eager),
			Uuid:                         d.uuid,
			DigestEnabled:                types.NewBool(false),
			Sharing:                      d.sharing,
		}
	default:
		mode := "virtualMode"
		if d.backing == backingRDMPhysical {
			mode = "physicalMode"
		}
		backing = &types.VirtualDiskRawDiskMappingVer1BackingInfo{
			VirtualDeviceFileBackingInfo: file,
			LunUuid:                      "0200000000" + strings.TrimPrefix(d.lun, "/vmfs/devices/disks/naa.") + "564d57617265",
			DeviceName:                   d.lun,
			CompatibilityMode:            mode,
			DiskMode:                     d.mode,
			Uuid:                         d.uuid,
			Sharing:                      d.sharing,
		}
	}
	return &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key:           d.key,
			DeviceInfo:    &types.Description{Label: d.label, Summary: summary},
			Backing:       backing,
			ControllerKey: d.ctrlKey,
			UnitNumber:    &unit,
		},
		CapacityInKB:    d.capacity / 1024,
		CapacityInBytes: d.capacity,
	}
}

func (f *vmFiles) cdroms(poweredOn bool) []types.BaseVirtualDevice {
	var out []types.BaseVirtualDevice
	for i, m := range f.media {
		unit := int32(i)
		ds := m.ds
		var dsp *ref
		if ds != (ref{}) {
			dsp = &ds
		}
		out = append(out, &types.VirtualCdrom{VirtualDevice: types.VirtualDevice{
			Key:        m.key,
			DeviceInfo: &types.Description{Label: m.label, Summary: "ISO " + m.file},
			Backing: &types.VirtualCdromIsoBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
				FileName: m.file, Datastore: dsp,
			}},
			Connectable: &types.VirtualDeviceConnectInfo{
				StartConnected: true, AllowGuestControl: true, Connected: poweredOn, Status: "ok",
			},
			ControllerKey: ideControllerKey,
			UnitNumber:    &unit,
		}})
	}
	return out
}

// clientCdrom is a CD/DVD drive without media (client device, not connected).
func clientCdrom(key, unit int32) *types.VirtualCdrom {
	return &types.VirtualCdrom{VirtualDevice: types.VirtualDevice{
		Key:        key,
		DeviceInfo: &types.Description{Label: "CD/DVD drive 1", Summary: "Remote device"},
		Backing: &types.VirtualCdromRemotePassthroughBackingInfo{
			VirtualDeviceRemoteDeviceBackingInfo: types.VirtualDeviceRemoteDeviceBackingInfo{DeviceName: "", UseAutoDetect: types.NewBool(false)},
		},
		Connectable:   &types.VirtualDeviceConnectInfo{AllowGuestControl: true, Status: "untried"},
		ControllerKey: ideControllerKey,
		UnitNumber:    &unit,
	}}
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// diskSlot returns the SCSI controller key and unit number of the i-th disk (unit 7 is the
// controller's own).
func diskSlot(i int) (ctrl, unit int32) {
	ctrl = scsiControllerKey + int32(i/15)
	u := int32(i % 15)
	if u >= 7 {
		u++
	}
	return ctrl, u
}
