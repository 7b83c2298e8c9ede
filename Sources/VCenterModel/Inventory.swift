/// Everything Moonmotion knows about one vCenter's objects at one moment, with
/// lookups by reference and by name. Built from one batched retrieval per object
/// type (never a call per object), or loaded from `moonmotion inventory --json`.
public struct Inventory: Sendable {
    public var about: AboutInfo?
    public private(set) var datacenters: [DatacenterInfo]
    public private(set) var clusters: [ClusterInfo]
    public private(set) var hosts: [HostInfo]
    public private(set) var datastores: [DatastoreInfo]
    public private(set) var vms: [VMInfo]
    /// Resource pools (from the same batched retrieval as clusters; empty when not read).
    public private(set) var resourcePools: [ResourcePoolInfo]
    /// Datastore clusters (`StoragePod`), each with its member datastores.
    public private(set) var datastoreClusters: [DatastoreClusterInfo]
    /// Why the VMs' `tags` are nil, when they are: the one message a `tag` filter and
    /// `inventory` show (`tags were not read: …`). Nil when tags were read, or when no reader
    /// said why (an inventory file saved without tags).
    public var tagsUnread: String?

    private var clusterIndex: [MoRef: Int] = [:]
    private var hostIndex: [MoRef: Int] = [:]
    private var datastoreIndex: [MoRef: Int] = [:]
    private var vmIndex: [MoRef: Int] = [:]
    /// Every VM's index by name, in inventory order (names repeat across folders and datacenters).
    private var vmNameIndex: [String: [Int]] = [:]

    /// Creates an inventory. A VM's `cluster` is filled from its host when missing.
    public init(
        about: AboutInfo? = nil, datacenters: [DatacenterInfo] = [], clusters: [ClusterInfo],
        hosts: [HostInfo], datastores: [DatastoreInfo], vms: [VMInfo], resourcePools: [ResourcePoolInfo] = [],
        datastoreClusters: [DatastoreClusterInfo] = []
    ) {
        self.about = about
        self.datacenters = datacenters
        self.clusters = clusters
        self.hosts = hosts
        self.datastores = datastores
        self.vms = vms
        self.resourcePools = resourcePools
        self.datastoreClusters = datastoreClusters
        reindex()
        // A datastore knows its cluster; a cluster lists its members: keep both sides in step
        // whichever one the source filled.
        for c in self.datastoreClusters {
            for d in c.datastores { if let i = datastoreIndex[d], self.datastores[i].datastoreCluster == nil { self.datastores[i].datastoreCluster = c.ref } }
        }
        for i in self.datastoreClusters.indices where self.datastoreClusters[i].datastores.isEmpty {
            let ref = self.datastoreClusters[i].ref
            self.datastoreClusters[i].datastores = self.datastores.filter { $0.datastoreCluster == ref }.map(\.ref)
        }
        for i in self.vms.indices where self.vms[i].cluster == nil {
            if let host = self.vms[i].host, let h = hostIndex[host] { self.vms[i].cluster = self.hosts[h].cluster }
        }
    }

    private mutating func reindex() {
        clusterIndex = Dictionary(clusters.enumerated().map { ($1.ref, $0) }, uniquingKeysWith: { a, _ in a })
        hostIndex = Dictionary(hosts.enumerated().map { ($1.ref, $0) }, uniquingKeysWith: { a, _ in a })
        datastoreIndex = Dictionary(datastores.enumerated().map { ($1.ref, $0) }, uniquingKeysWith: { a, _ in a })
        vmIndex = Dictionary(vms.enumerated().map { ($1.ref, $0) }, uniquingKeysWith: { a, _ in a })
        vmNameIndex = Dictionary(grouping: vms.indices, by: { vms[$0].name })
    }

    public func cluster(_ ref: MoRef) -> ClusterInfo? { clusterIndex[ref].map { clusters[$0] } }
    public func host(_ ref: MoRef) -> HostInfo? { hostIndex[ref].map { hosts[$0] } }
    public func datastore(_ ref: MoRef) -> DatastoreInfo? { datastoreIndex[ref].map { datastores[$0] } }
    public func vm(_ ref: MoRef) -> VMInfo? { vmIndex[ref].map { vms[$0] } }
    /// Whether the inventory holds the VM `ref` (without copying its record).
    public func containsVM(_ ref: MoRef) -> Bool { vmIndex[ref] != nil }

    /// The VM called `name` — the first one when names repeat (VM names repeat across folders
    /// and datacenters). Where a wrong guess matters, use `uniqueVM(named:)`.
    public func vm(named name: String) -> VMInfo? { vmNameIndex[name]?.first.map { vms[$0] } }
    /// The first host called `name`; see `uniqueHost(named:)`.
    public func host(named name: String) -> HostInfo? { hosts.first { $0.name == name } }
    /// The first datastore called `name`; see `uniqueDatastore(named:)`.
    public func datastore(named name: String) -> DatastoreInfo? { datastores.first { $0.name == name } }
    /// The first cluster called `name`; see `uniqueCluster(named:)`.
    public func cluster(named name: String) -> ClusterInfo? { clusters.first { $0.name == name } }

    /// Every VM called `name`, in inventory order.
    public func vms(named name: String) -> [VMInfo] { (vmNameIndex[name] ?? []).map { vms[$0] } }
    /// Every host called `name`.
    public func hosts(named name: String) -> [HostInfo] { hosts.filter { $0.name == name } }
    /// Every datastore called `name`.
    public func datastores(named name: String) -> [DatastoreInfo] { datastores.filter { $0.name == name } }
    /// Every cluster called `name`.
    public func clusters(named name: String) -> [ClusterInfo] { clusters.filter { $0.name == name } }

    /// The only VM called `name`, or nil when there is none; several → `AmbiguousNameError`
    /// listing their references, so a move never picks one of them by chance.
    public func uniqueVM(named name: String) throws(AmbiguousNameError) -> VMInfo? {
        try Self.unique(vms(named: name), kind: "VM", name: name, ref: \.ref)
    }
    /// The only host called `name`, or nil; several → `AmbiguousNameError`.
    public func uniqueHost(named name: String) throws(AmbiguousNameError) -> HostInfo? {
        try Self.unique(hosts(named: name), kind: "host", name: name, ref: \.ref)
    }
    /// The only datastore called `name`, or nil; several → `AmbiguousNameError`.
    public func uniqueDatastore(named name: String) throws(AmbiguousNameError) -> DatastoreInfo? {
        try Self.unique(datastores(named: name), kind: "datastore", name: name, ref: \.ref)
    }
    /// The only cluster called `name`, or nil; several → `AmbiguousNameError`.
    public func uniqueCluster(named name: String) throws(AmbiguousNameError) -> ClusterInfo? {
        try Self.unique(clusters(named: name), kind: "cluster", name: name, ref: \.ref)
    }

    private static func unique<T>(_ matches: [T], kind: String, name: String, ref: KeyPath<T, MoRef>) throws(AmbiguousNameError) -> T? {
        guard matches.count > 1 else { return matches.first }
        throw AmbiguousNameError(kind: kind, name: name, refs: matches.map { $0[keyPath: ref] })
    }

    /// The datastore cluster `ref`, if known.
    public func datastoreCluster(_ ref: MoRef) -> DatastoreClusterInfo? { datastoreClusters.first { $0.ref == ref } }
    /// Every datastore cluster called `name`.
    public func datastoreClusters(named name: String) -> [DatastoreClusterInfo] { datastoreClusters.filter { $0.name == name } }
    /// The only datastore cluster called `name`, or nil; several → `AmbiguousNameError`.
    public func uniqueDatastoreCluster(named name: String) throws(AmbiguousNameError) -> DatastoreClusterInfo? {
        try Self.unique(datastoreClusters(named: name), kind: "datastore cluster", name: name, ref: \.ref)
    }

    /// The resource pool `ref`, if known.
    public func resourcePool(_ ref: MoRef) -> ResourcePoolInfo? { resourcePools.first { $0.ref == ref } }

    /// The resource pools called `name`, of `owner` (a cluster) when given.
    public func resourcePools(named name: String, owner: MoRef? = nil) -> [ResourcePoolInfo] {
        resourcePools.filter { $0.name == name && (owner == nil || $0.owner == owner) }
    }

    /// The hosts of `cluster`, in inventory order.
    public func hosts(in cluster: MoRef) -> [HostInfo] { hosts.filter { $0.cluster == cluster } }

    /// The VMs on `host`.
    public func vms(on host: MoRef) -> [VMInfo] { vms.filter { $0.host == host } }

    /// Replaces (or adds) one VM's record, for example after `refresh()` or a finished move.
    public mutating func update(_ vm: VMInfo) {
        if let i = vmIndex[vm.ref] {
            if vms[i].name != vm.name {
                vmNameIndex[vms[i].name]?.removeAll { $0 == i }
                if vmNameIndex[vms[i].name]?.isEmpty == true { vmNameIndex[vms[i].name] = nil }
                vmNameIndex[vm.name, default: []].append(i)
                vmNameIndex[vm.name]?.sort()
            }
            vms[i] = vm
        } else {
            vms.append(vm)
            vmIndex[vm.ref] = vms.count - 1
            vmNameIndex[vm.name, default: []].append(vms.count - 1)
        }
    }

    /// Replaces (or adds) one datastore's record.
    public mutating func update(_ ds: DatastoreInfo) {
        if let i = datastoreIndex[ds.ref] { datastores[i] = ds } else {
            datastores.append(ds)
            datastoreIndex[ds.ref] = datastores.count - 1
        }
    }

    /// Replaces (or adds) one host's record.
    public mutating func update(_ host: HostInfo) {
        if let i = hostIndex[host.ref] { hosts[i] = host } else {
            hosts.append(host)
            hostIndex[host.ref] = hosts.count - 1
        }
    }

    /// Display name of any object in the inventory, or its id when unknown.
    public func name(of ref: MoRef) -> String {
        if let i = vmIndex[ref] { return vms[i].name }
        if let i = hostIndex[ref] { return hosts[i].name }
        if let i = datastoreIndex[ref] { return datastores[i].name }
        if let i = clusterIndex[ref] { return clusters[i].name }
        if let dc = datacenters.first(where: { $0.ref == ref }) { return dc.name }
        if let pool = resourcePools.first(where: { $0.ref == ref }) { return pool.name }
        if let pod = datastoreClusters.first(where: { $0.ref == ref }) { return pod.name }
        return ref.value
    }
}
