import VCenterModel
import VimXML

// A VM's files: its home (`config.files.vmPathName`), its disks and images
// (`config.hardware.device`), and the bytes each occupies (`layoutEx.file`, `layoutEx.disk`).

extension InventoryDecoding {
    /// The devices a VM record is made of. Every other `VirtualDevice` in
    /// `config.hardware.device` (controllers, NICs, video, input, VMCI, …: a dozen per VM, most
    /// of the property's bytes) is stepped over by the reader without building a tree for it.
    static let deviceSkipRule = XMLSkipRule(element: "VirtualDevice", keeping: ["VirtualDisk", "VirtualCdrom", "VirtualFloppy"])

    /// A VM's files as read from its properties, before the sizes are added up.
    struct FileLayout {
        /// `layoutEx.file`: key → (type, size).
        var files: [Int: (type: String, size: Int64)] = [:]
        /// `layoutEx.disk`: disk key → its chain's units, base first, each unit's file keys.
        var chains: [Int: [[Int]]] = [:]
        var hasFiles = false

        /// Sets each disk's `usedBytes` to the sizes of its chain's files (every snapshot level)
        /// and returns the bytes of the files that belong to no disk: the VM's home. A disk the
        /// layout does not describe (or every disk, without a `layoutEx.file`) counts its whole
        /// capacity — an upper bound, never a move that looks free — and the home counts 0.
        ///
        /// An RDM's base unit lists the mapping file (`-rdmp.vmdk` / `-rdm.vmdk`, type
        /// `diskExtent`) with the size of the LUN it maps — as `ls` on the datastore shows it —
        /// though it takes next to no room there and the LUN's data never moves: an extent that
        /// reports the disk's whole capacity (or more) is not counted; a smaller one (what a
        /// server that reports the mapping file's own size says) is. Delta files of snapshots
        /// above the base are real data and count.
        func apply(to disks: inout [VirtualDiskInfo]) -> Int64 {
            guard hasFiles else {
                for i in disks.indices { disks[i].usedBytes = disks[i].capacityBytes }
                return 0
            }
            var claimed = Set<Int>()
            for i in disks.indices {
                guard let units = chains[disks[i].key] else {
                    disks[i].usedBytes = disks[i].capacityBytes
                    continue
                }
                var used: Int64 = 0
                var counted = Set<Int>()
                for (level, unit) in units.enumerated() {
                    for fileKey in unit {
                        claimed.insert(fileKey)
                        guard let file = files[fileKey], counted.insert(fileKey).inserted else { continue }
                        if level == 0, disks[i].backing.isRDM, file.type == "diskExtent", file.size >= disks[i].capacityBytes { continue }
                        used += file.size
                    }
                }
                disks[i].usedBytes = used
            }
            var home: Int64 = 0
            for (key, file) in files where !claimed.contains(key) { home += file.size }
            return home
        }
    }

    /// `layoutEx.file`: every file's key, type and size.
    static func layoutFiles(_ val: XMLElement, into layout: inout FileLayout) {
        layout.hasFiles = true
        for info in val.children {
            var key: Int?
            var type = ""
            var size: Int64 = 0
            for field in info.children {
                switch field.name {
                case "key": key = field.int
                case "type": type = field.text
                case "size": size = field.int64 ?? 0
                default: break
                }
            }
            if let key { layout.files[key] = (type, size) }
        }
    }

    /// `layoutEx.disk`: each disk's chain of file keys, base first.
    static func layoutDisks(_ val: XMLElement, into layout: inout FileLayout) {
        for disk in val.children {
            var key: Int?
            var units: [[Int]] = []
            for field in disk.children {
                switch field.name {
                case "key": key = field.int
                case "chain": units.append(field.children.compactMap { $0.name == "fileKey" ? $0.int : nil })
                default: break
                }
            }
            if let key { layout.chains[key] = units }
        }
    }

    /// The disks and images of `config.hardware.device` (other devices never reach here: see
    /// `deviceSkipRule`).
    static func devices(_ val: XMLElement, disks: inout [VirtualDiskInfo], media: inout [VirtualMediaInfo]) {
        for device in val.children {
            switch device.xsiType {
            case "VirtualDisk":
                if let disk = disk(device) { disks.append(disk) }
            case "VirtualCdrom", "VirtualFloppy":
                if let image = image(device) { media.append(image) }
            default:
                break
            }
        }
    }

    /// A `VirtualDisk`. Flat, sparse and space-efficient sparse VMDKs (and any other file
    /// backing) are `.flat`; a `VirtualDiskRawDiskMappingVer1BackingInfo` is an RDM in its
    /// `compatibilityMode` (physical when vCenter does not say: the mode that moves no data).
    static func disk(_ device: XMLElement) -> VirtualDiskInfo? {
        var key: Int?
        var label = ""
        var capacityBytes: Int64 = 0
        var capacityKB: Int64 = 0
        var fileName = ""
        var datastore: MoRef?
        var backing = DiskBacking.flat
        var thin: Bool?
        var eager = false
        var sharing: String?
        var mode = "persistent"
        for field in device.children {
            switch field.name {
            case "key": key = field.int
            case "deviceInfo": label = field.child("label")?.text ?? ""
            case "capacityInBytes": capacityBytes = field.int64 ?? 0
            case "capacityInKB": capacityKB = field.int64 ?? 0
            case "backing":
                let type = field.xsiType ?? ""
                var compatibility: String?
                // Only the backing's own fields: `parent` holds the snapshot chain's older levels.
                for part in field.children {
                    switch part.name {
                    case "fileName": fileName = part.text
                    case "datastore": datastore = part.moRef
                    case "diskMode": if !part.text.isEmpty { mode = part.text }
                    case "thinProvisioned": thin = part.bool
                    case "eagerlyScrub": eager = part.bool ?? false
                    case "sharing": sharing = part.text.isEmpty ? nil : part.text
                    case "compatibilityMode": compatibility = part.text
                    default: break
                    }
                }
                switch type {
                case "VirtualDiskRawDiskMappingVer1BackingInfo":
                    backing = compatibility == "virtualMode" ? .rdmVirtual : .rdmPhysical
                case "VirtualDiskSparseVer2BackingInfo", "VirtualDiskSparseVer1BackingInfo", "VirtualDiskSeSparseBackingInfo":
                    // Sparse formats grow as written: thin, whatever the (absent) flag says.
                    backing = .flat
                    if thin == nil { thin = true }
                default:
                    backing = .flat
                }
            default: break
            }
        }
        guard let key else { return nil }
        if capacityBytes <= 0 { capacityBytes = capacityKB * 1024 }
        return VirtualDiskInfo(
            key: key, label: label, fileName: fileName, datastore: datastore, capacityBytes: capacityBytes, usedBytes: 0,
            backing: backing, thinProvisioned: thin ?? false, eagerlyScrub: eager, sharing: sharing, diskMode: mode)
    }

    /// A CD/DVD or floppy drive backed by an image file (`VirtualCdromIsoBackingInfo`,
    /// `VirtualFloppyImageBackingInfo`); nil for drives on a host device, a client or nothing.
    static func image(_ device: XMLElement) -> VirtualMediaInfo? {
        var key: Int?
        var label = ""
        var fileName = ""
        var datastore: MoRef?
        var isImage = false
        for field in device.children {
            switch field.name {
            case "key": key = field.int
            case "deviceInfo": label = field.child("label")?.text ?? ""
            case "backing":
                isImage = field.xsiType == "VirtualCdromIsoBackingInfo" || field.xsiType == "VirtualFloppyImageBackingInfo"
                for part in field.children {
                    if part.name == "fileName" { fileName = part.text } else if part.name == "datastore" { datastore = part.moRef }
                }
            default: break
            }
        }
        guard let key, isImage, !fileName.isEmpty else { return nil }
        if label.isEmpty { label = device.xsiType == "VirtualFloppy" ? "Floppy drive" : "CD/DVD drive" }
        return VirtualMediaInfo(key: key, label: label, fileName: fileName, datastore: datastore)
    }

    // MARK: The home datastore

    /// The datastore name of a datastore path: `[legacy-01] db-01/db-01.vmx` → `legacy-01`.
    static func datastoreName(inPath path: String) -> Substring? {
        guard path.first == "[", let close = path.firstIndex(of: "]") else { return nil }
        let name = path[path.index(after: path.startIndex)..<close]
        return name.isEmpty ? nil : name
    }

    /// Datastore names known to a connection, to resolve a VM's home from its `vmPathName`.
    struct DatastoreNames {
        var byRef: [MoRef: String] = [:]
        var byName: [String: [MoRef]] = [:]

        init(_ names: [MoRef: String]) {
            byRef = names
            for (ref, name) in names { byName[name, default: []].append(ref) }
        }
    }

    /// Sets `configDatastore` from `vmPathName`'s `[name]`. Datastore names are unique only
    /// within a datacenter, so the name is looked for among the VM's own datastores first —
    /// by the paths of its disks and images (which carry both name and reference), then by
    /// `names` — and across every known datastore only when the VM's own list has no answer
    /// and the name is unique there.
    static func resolveHome(_ vm: inout VMInfo, names: DatastoreNames) {
        guard vm.configDatastore == nil, let home = datastoreName(inPath: vm.vmPathName) else { return }
        for disk in vm.disks {
            if let ds = disk.datastore, datastoreName(inPath: disk.fileName) == home { vm.configDatastore = ds; return }
        }
        for image in vm.media {
            if let ds = image.datastore, datastoreName(inPath: image.fileName) == home { vm.configDatastore = ds; return }
        }
        let own = vm.datastores.filter { names.byRef[$0].map { $0[...] == home } ?? false }
        if own.count == 1 { vm.configDatastore = own[0]; return }
        if own.isEmpty, let all = names.byName[String(home)], all.count == 1 { vm.configDatastore = all[0] }
    }

    /// The datastores of `vms` whose names neither `names` nor the VMs' own disk and image
    /// paths tell, among VMs whose home is still unresolved: what a refresh looks up.
    static func unnamedDatastores(of vms: [VMInfo], names: [MoRef: String]) -> [MoRef] {
        var out = Set<MoRef>()
        for vm in vms where vm.configDatastore == nil && datastoreName(inPath: vm.vmPathName) != nil {
            for ds in vm.datastores where names[ds] == nil { out.insert(ds) }
        }
        return out.sorted()
    }
}
