import VCenterModel
import VimXML

extension SOAPVCenter {
    /// The whole inventory in five batched retrievals run side by side (structure:
    /// datacenters, folders, clusters, resource pools and datastore clusters; hosts;
    /// datastores; VMs; the custom attribute names), each over its own `ContainerView` and
    /// paged with `ContinueRetrievePropertiesEx`, and beside them the VMs' tags from the
    /// Automation REST API (`AutomationTagReader`). A retrieval that a re-login broke half-way
    /// (its view or paging token died with the old session) is redone once from the view's
    /// creation. Tags that cannot be read leave every VM's `tags` nil and say why in
    /// `Inventory.tagsUnread` (and once in the log, at notice level); the rest is read as usual.
    public func inventory() async throws -> Inventory {
        async let structure = retrieveStructure()
        async let hosts = retrieveAll("HostSystem", InventoryDecoding.hostPaths, decode: InventoryDecoding.host)
        async let datastores = retrieveAll("Datastore", InventoryDecoding.datastorePaths, decode: InventoryDecoding.datastore)
        async let vms = retrieveVMs()
        async let fields = retrieveCustomFieldNames()
        async let tagged = readTags()
        let (s, h, viewed, decoded, fieldNames) = try await (structure, hosts, datastores, vms, fields)
        let (tags, tagsUnread) = await tagged
        let naming = VMNaming(folderPaths: s.folderPaths(), fieldNames: fieldNames, tags: tags)
        vmNaming.withLock { $0 = naming }
        var v = decoded.map(naming.record)
        var d = viewed
        // A recursive ContainerView reaches the datastores inside a datastore cluster (a
        // StoragePod is a Folder) on vCenter, but not on govmomi's simulator, whose view walk
        // does not enter pods: members the view missed are read by reference (one more call,
        // only then).
        let seen = Set(d.map(\.ref))
        let missed = Array(Set(s.datastoreClusters.flatMap(\.datastores)).subtracting(seen)).sorted()
        if !missed.isEmpty {
            d += try await retrieveObjects("Datastore", InventoryDecoding.datastorePaths, missed, decode: InventoryDecoding.datastore)
        }
        hostClusters.withLock { map in
            for host in h { map[host.ref] = host.cluster }
        }
        var names: [MoRef: String] = [:]
        names.reserveCapacity(d.count)
        for ds in d { names[ds.ref] = ds.name }
        datastoreNames.withLock { $0 = names }
        resolveHomes(&v, names: names)
        remember(v, replacingAll: true)
        var inventory = Inventory(about: content.about, datacenters: s.datacenters, clusters: s.resolvedClusters(), hosts: h, datastores: d, vms: v,
                                  resourcePools: s.resourcePools, datastoreClusters: s.datastoreClusters)
        inventory.tagsUnread = tagsUnread
        return inventory
    }

    /// Every tagged VM's tags (nil and why when they cannot be read). An ESXi host has no
    /// tags (they live in vCenter) and is not asked. Why tags are missing is logged once per
    /// connection: a strategy that refreshes the inventory would otherwise repeat it.
    func readTags() async -> (tags: [MoRef: [VMTag]]?, unread: String?) {
        let message: String
        if content.about.apiType == "HostAgent" {
            message = "tags were not read: an ESXi host has no tags (vCenter keeps them, in its Automation REST API)"
        } else {
            do {
                let read = try await AutomationTagReader(client: session.transport.client, config: config).read()
                logger.debug("read tags", metadata: ["vms": "\(read.tags.count)", "calls": "\(read.calls)"])
                return (read.tags, nil)
            } catch let failure as AutomationTagReader.Failure {
                message = failure.message
            } catch {
                message = AutomationTagReader.Failure.unreachable(.clientError, "\(type(of: error))").message
            }
        }
        if tagsNoticeLogged.withLock({ logged in defer { logged = true }; return !logged }) {
            logger.notice("\(message)")
        }
        return (nil, message)
    }

    /// Only the VMs, in one batched retrieval (what the benchmark times). The records have
    /// no `cluster` unless an earlier `inventory()` taught the connection the hosts' clusters,
    /// and their home datastore comes from their own disks' paths or the datastore names an
    /// earlier `inventory()` read.
    public func virtualMachines() async throws -> [VMInfo] {
        let naming = vmNaming.withLock { $0 }
        var vms = try await retrieveVMs().map(naming.record)
        let clusters = hostClusters.withLock { $0 }
        for i in vms.indices {
            if let host = vms[i].host, let cluster = clusters[host] { vms[i].cluster = cluster }
        }
        resolveHomes(&vms, names: datastoreNames.withLock { $0 })
        remember(vms, replacingAll: false)
        return vms
    }

    /// Fresh records for `refs` in one `RetrievePropertiesEx` (one `ObjectSpec` per VM).
    /// Each record's `cluster` comes from its host, its home datastore from its `vmPathName`
    /// (hosts and datastores not seen before are looked up in one more call each).
    public func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] {
        guard !refs.isEmpty else { return [] }
        let collector = self.collector
        var vms = try await PropertyCollector.restartingAfterRelogin(session, what: "VirtualMachine records") {
            var vms: [InventoryDecoding.DecodedVM] = []
            vms.reserveCapacity(refs.count)
            try await collector.retrieve(
                [PropertySpec(type: "VirtualMachine", paths: InventoryDecoding.vmPaths)], of: .objects(refs), skipping: InventoryDecoding.deviceSkipRule
            ) { object in
                if let vm = InventoryDecoding.vm(object) { vms.append(vm) }
            }
            let naming = self.vmNaming.withLock { $0 }
            return vms.map(naming.record)
        }
        var known = hostClusters.withLock { $0 }
        let unknown = Set(vms.compactMap(\.host)).filter { known[$0] == nil }
        if !unknown.isEmpty {
            let found = try await PropertyCollector.restartingAfterRelogin(session, what: "hosts' clusters") {
                var found: [MoRef: MoRef?] = [:]
                try await collector.retrieve([PropertySpec(type: "HostSystem", paths: ["parent"])], of: .objects(unknown.sorted())) { object in
                    if let host = InventoryDecoding.host(object) { found[host.ref] = host.cluster }
                }
                return found
            }
            hostClusters.withLock { map in map.merge(found) { _, new in new } }
            known.merge(found) { _, new in new }
        }
        for i in vms.indices {
            if let host = vms[i].host, let cluster = known[host] { vms[i].cluster = cluster }
        }
        var names = datastoreNames.withLock { $0 }
        resolveHomes(&vms, names: names)
        let unnamed = InventoryDecoding.unnamedDatastores(of: vms, names: names)
        if !unnamed.isEmpty {
            let found = try await PropertyCollector.restartingAfterRelogin(session, what: "datastores' names") {
                var found: [MoRef: String] = [:]
                try await collector.retrieve([PropertySpec(type: "Datastore", paths: ["summary.name"])], of: .objects(unnamed)) { object in
                    if let ds = InventoryDecoding.datastore(object) { found[ds.ref] = ds.name }
                }
                return found
            }
            datastoreNames.withLock { map in map.merge(found) { _, new in new } }
            names.merge(found) { _, new in new }
            resolveHomes(&vms, names: names)
        }
        remember(vms, replacingAll: false)
        return vms
    }

    /// Resolves each VM's home datastore (see `InventoryDecoding.resolveHome`).
    func resolveHomes(_ vms: inout [VMInfo], names: [MoRef: String]) {
        let names = InventoryDecoding.DatastoreNames(names)
        for i in vms.indices { InventoryDecoding.resolveHome(&vms[i], names: names) }
    }

    /// Keeps the disk modes other than `persistent` of `vms` for `relocateVM`'s locators;
    /// `replacingAll` when `vms` is the whole inventory.
    func remember(_ vms: [VMInfo], replacingAll: Bool) {
        diskModes.withLock { map in
            if replacingAll { map.removeAll() }
            for vm in vms {
                var modes: [Int: String] = [:]
                for disk in vm.disks where disk.diskMode != "persistent" { modes[disk.key] = disk.diskMode }
                map[vm.ref] = modes.isEmpty ? nil : modes
            }
        }
    }

    /// Every object of `type` over a fresh `ContainerView`, paged, without the subtrees
    /// `skipping` leaves out; the whole sequence starts again once when the session was
    /// logged in again meanwhile (the view died with it).
    func retrieveAll<T: Sendable>(
        _ type: String, _ paths: [String], skipping: XMLSkipRule? = nil, decode: @escaping (ObjectContent) -> T?
    ) async throws -> [T] {
        let collector = self.collector
        let session = self.session
        let content = self.content
        return try await PropertyCollector.restartingAfterRelogin(session, what: type) {
            try await PropertyCollector.withContainerView(session, viewManager: content.viewManager, container: content.rootFolder, types: [type]) { view in
                var out: [T] = []
                try await collector.retrieve([PropertySpec(type: type, paths: paths)], of: .view(view), skipping: skipping) { object in
                    if let value = decode(object) { out.append(value) }
                }
                return out
            }
        }
    }

    /// VMs per parallel retrieval: below it, one retrieval reads them all.
    static let vmsPerRetrieval = 2_500
    /// At most this many retrievals of VMs run side by side.
    static let maxVMRetrievals = 4

    /// Every VM, with its files: the heaviest read of the inventory (a VM's devices and file
    /// layout are most of its XML). The server's work, not the client's, sets its time, so a
    /// large inventory is read in parallel: the view's members first (one light call), then up
    /// to `maxVMRetrievals` retrievals of `vmsPerRetrieval` or more VMs each, side by side (a
    /// vCenter serves them on several threads; measured on the test vCenter, 10,000 VMs: 2.3 s
    /// in one call, 1.4 s in two, 1.2 s in four).
    func retrieveVMs() async throws -> [InventoryDecoding.DecodedVM] {
        let collector = self.collector
        let session = self.session
        let content = self.content
        return try await PropertyCollector.restartingAfterRelogin(session, what: "VirtualMachine") {
            try await PropertyCollector.withContainerView(session, viewManager: content.viewManager, container: content.rootFolder, types: ["VirtualMachine"]) { view in
                var members: [MoRef] = []
                try await collector.retrieve([PropertySpec(type: "ContainerView", paths: ["view"])], of: .objects([view])) { object in
                    object.forEachProperty { path, value in
                        if path == "view" { members = value.children.compactMap(\.moRef) }
                    }
                }
                let parts = max(1, min(Self.maxVMRetrievals, members.count / Self.vmsPerRetrieval))
                let chunks = (0..<parts).map { k in stride(from: k, to: members.count, by: parts).map { members[$0] } }
                return try await withThrowingTaskGroup(of: (Int, [InventoryDecoding.DecodedVM]).self) { group in
                    for (k, chunk) in chunks.enumerated() where !chunk.isEmpty {
                        group.addTask {
                            var out: [InventoryDecoding.DecodedVM] = []
                            out.reserveCapacity(chunk.count)
                            try await collector.retrieve([PropertySpec(type: "VirtualMachine", paths: InventoryDecoding.vmPaths)], of: .objects(chunk),
                                                         skipping: InventoryDecoding.deviceSkipRule) { object in
                                if let vm = InventoryDecoding.vm(object) { out.append(vm) }
                            }
                            return (k, out)
                        }
                    }
                    var results = [[InventoryDecoding.DecodedVM]](repeating: [], count: chunks.count)
                    for try await (k, out) in group { results[k] = out }
                    // In the view's order, as one retrieval would give them. Each VM's place is
                    // looked up once, and the sort moves integers: looking places up in every
                    // comparison (hashing two MoRefs) and moving whole records was 2 % of
                    // `inventory --json`'s CPU for 10,000 VMs.
                    var order: [MoRef: Int] = [:]
                    order.reserveCapacity(members.count)
                    for (i, ref) in members.enumerated() { order[ref] = i }
                    let all = results.flatMap { $0 }
                    let place = all.map { order[$0.info.ref] ?? 0 }
                    return all.indices.sorted { place[$0] < place[$1] }.map { all[$0] }
                }
            }
        }
    }

    /// The objects `refs` (of `type`) in one `RetrievePropertiesEx` (one `ObjectSpec` each).
    func retrieveObjects<T: Sendable>(_ type: String, _ paths: [String], _ refs: [MoRef], decode: @escaping (ObjectContent) -> T?) async throws -> [T] {
        let collector = self.collector
        return try await PropertyCollector.restartingAfterRelogin(session, what: type) {
            var out: [T] = []
            try await collector.retrieve([PropertySpec(type: type, paths: paths)], of: .objects(refs)) { object in
                if let value = decode(object) { out.append(value) }
            }
            return out
        }
    }

    /// The names of custom attribute keys: `CustomFieldsManager.field`, one small call (none
    /// where the server has no CustomFieldsManager).
    func retrieveCustomFieldNames() async throws -> [Int: String] {
        guard let manager = content.customFieldsManager else { return [:] }
        let found = try await retrieveObjects("CustomFieldsManager", ["field"], [manager], decode: InventoryDecoding.customFieldNames)
        return found.first ?? [:]
    }

    func retrieveStructure() async throws -> InventoryDecoding.Structure {
        let collector = self.collector
        let specs = [
            PropertySpec(type: "Datacenter", paths: InventoryDecoding.datacenterPaths),
            PropertySpec(type: "Folder", paths: InventoryDecoding.folderPaths),
            PropertySpec(type: "ClusterComputeResource", paths: InventoryDecoding.clusterPaths),
            PropertySpec(type: "ResourcePool", paths: InventoryDecoding.resourcePoolPaths),
            PropertySpec(type: "StoragePod", paths: InventoryDecoding.storagePodPaths),
        ]
        let session = self.session
        let content = self.content
        return try await PropertyCollector.restartingAfterRelogin(session, what: "datacenters, folders, clusters, resource pools and datastore clusters") {
            try await PropertyCollector.withContainerView(
                session, viewManager: content.viewManager, container: content.rootFolder, types: specs.map(\.type)
            ) { view in
                var structure = InventoryDecoding.Structure()
                try await collector.retrieve(specs, of: .view(view)) { structure.add($0) }
                return structure
            }
        }
    }
}
