import VCenterModel

/// What a storage move asks for: which of the VM's files move and where each may go.
///
/// A VM is its home (configuration files) plus its disks (`VMInfo.files`). A file moves when
/// the move covers it (`sources`: only files on those datastores; nil: every file) and it is not
/// already on one of the datastores allowed for it; the others stay where they are. The allowed
/// datastores of a file are, in order of precedence: its `fixed` destination, the targets its
/// source datastore is mapped to in `map`, or `targets`. With `keepTogether` (vSphere's
/// intra-VM affinity, the default) the moving files that share a set of allowed datastores land
/// together on one of them; without it each file goes to its own.
public struct StorageMove: Sendable, Hashable {
    /// The datastores a moving file may go to when neither `fixed` nor `map` says otherwise.
    public var targets: [MoRef]
    /// Only files on these datastores move; nil: every file of the VM.
    public var sources: [MoRef]?
    /// Per source datastore, the datastores its files may go to.
    public var map: [SourceMapping]
    /// Files with a fixed destination (`conn:moveVM(vm, {disks = {[2001] = "new-02"}})`).
    public var fixed: [FilePlacement]
    /// Whether moving files that may go to the same datastores land together on one of them.
    public var keepTogether: Bool
    /// The format disks that move are converted to (nil: as they are).
    public var format: DiskFormat?
    /// The datastore cluster whose Storage DRS chooses the destination (`sdrs = true`); nil: the
    /// engine chooses among `targets` with the strategy's `target` hook.
    public var storageDRS: MoRef?

    /// Creates a move; every file goes to one of `targets` unless the other fields narrow it.
    public init(
        targets: [MoRef], sources: [MoRef]? = nil, map: [SourceMapping] = [], fixed: [FilePlacement] = [],
        keepTogether: Bool = true, format: DiskFormat? = nil, storageDRS: MoRef? = nil
    ) {
        self.targets = targets
        self.sources = sources
        self.map = map
        self.fixed = fixed
        self.keepTogether = keepTogether
        self.format = format
        self.storageDRS = storageDRS
    }

    /// The whole VM to one of `targets` (what a plain `datastore = ...` asks for).
    public static func to(_ targets: [MoRef]) -> StorageMove { StorageMove(targets: targets) }

    /// Every datastore any file may go to, in first-seen order.
    public var allTargets: [MoRef] {
        guard !map.isEmpty || !fixed.isEmpty else { return targets }
        var out = targets
        for m in map { for t in m.targets where !out.contains(t) { out.append(t) } }
        for f in fixed where !out.contains(f.datastore) { out.append(f.datastore) }
        return out
    }

    /// The datastores `file` may go to, or nil when the move leaves it where it is.
    public func allowed(for file: VMFile) -> [MoRef]? {
        if let f = fixed.first(where: { $0.file == file.id }) { return [f.datastore] }
        guard let ds = file.datastore else { return sources == nil ? targets : nil }
        if let sources, !sources.contains(ds) { return nil }
        if let m = map.first(where: { $0.source == ds }) { return m.targets }
        return targets
    }

    /// Whether `file` moves: the move covers it and it is not on an allowed datastore yet.
    public func moves(_ file: VMFile) -> Bool {
        guard let allowed = allowed(for: file) else { return false }
        guard let ds = file.datastore else { return true }
        return !allowed.contains(ds)
    }

    /// The files of `vm` that move. A VM without a file layout is one piece on all its
    /// datastores: it moves unless every one of them is allowed.
    public func movingFiles(of vm: VMInfo) -> [VMFile] {
        guard vm.hasFileLayout else {
            let covered = sources.map { s in vm.datastores.contains(where: s.contains) } ?? true
            guard covered, !vm.datastores.isEmpty else { return [] }
            let source = sources.flatMap { s in vm.datastores.first(where: s.contains) } ?? vm.datastores[0]
            let allowed = map.first(where: { $0.source == source })?.targets ?? targets
            return vm.datastores.allSatisfy(allowed.contains) ? [] : vm.files
        }
        return vm.files.filter(moves)
    }

    /// Whether every file of `vm` the move covers is already where it may be.
    public func isDone(for vm: VMInfo) -> Bool { movingFiles(of: vm).isEmpty }

    /// The bytes the move of `vm` writes and the space it takes on its destinations: each moving
    /// file in its converted size when `format` is set (`VirtualDiskInfo.copy(to:)`).
    public func bytes(for vm: VMInfo) -> (written: Int64, space: Int64) {
        var written: Int64 = 0, space: Int64 = 0
        for file in movingFiles(of: vm) {
            let c = Self.copy(file, of: vm, format: format)
            written += c.written
            space += c.space
        }
        return (written, space)
    }

    /// What copying one file writes and takes.
    public static func copy(_ file: VMFile, of vm: VMInfo, format: DiskFormat?) -> (written: Int64, space: Int64) {
        if case .disk(let key) = file.id, let disk = vm.disk(key) { return disk.copy(to: format) }
        return (file.bytes, file.bytes)
    }
}

/// Where the files on one source datastore may go (`map = { ["legacy-01"] = "new-01" }`).
public struct SourceMapping: Sendable, Hashable {
    public var source: MoRef
    public var targets: [MoRef]
    public init(source: MoRef, targets: [MoRef]) {
        self.source = source
        self.targets = targets
    }
}

/// One file's fixed destination.
public struct FilePlacement: Sendable, Hashable {
    public var file: VMFileID
    public var datastore: MoRef
    public init(file: VMFileID, datastore: MoRef) {
        self.file = file
        self.datastore = datastore
    }
}

/// One file a dispatched storage move copies: from where to where, and the bytes it writes.
public struct FileMove: Sendable, Hashable, Codable {
    public var file: VMFileID
    /// `config` or the disk's label.
    public var label: String
    public var from: MoRef?
    public var to: MoRef
    /// The bytes the copy writes (in the converted format, when one is set).
    public var bytes: Int64

    public init(file: VMFileID, label: String, from: MoRef?, to: MoRef, bytes: Int64) {
        self.file = file
        self.label = label
        self.from = from
        self.to = to
        self.bytes = bytes
    }

    /// `config` or `disk 2`, for one-line displays.
    public var shortName: String { VMFile(id: file, label: label, datastore: from, bytes: bytes).shortName }
}
