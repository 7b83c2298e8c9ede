import VCenterModel
import VimXML

extension SOAPVCenter {
    /// The whole inventory in four batched retrievals run side by side (structure:
    /// datacenters, folders, clusters and resource pools; hosts; datastores; VMs), each over its
    /// own `ContainerView` and paged with `ContinueRetrievePropertiesEx`. A retrieval that a
    /// re-login broke half-way (its view or paging token died with the old session) is
    /// redone once from the view's creation.
    public func inventory() async throws -> Inventory {
        async let structure = retrieveStructure()
        async let hosts = retrieveAll("HostSystem", InventoryDecoding.hostPaths, decode: InventoryDecoding.host)
        async let datastores = retrieveAll("Datastore", InventoryDecoding.datastorePaths, decode: InventoryDecoding.datastore)
        async let vms = retrieveAll("VirtualMachine", InventoryDecoding.vmPaths, decode: InventoryDecoding.vm)
        let (s, h, d, v) = try await (structure, hosts, datastores, vms)
        hostClusters.withLock { map in
            for host in h { map[host.ref] = host.cluster }
        }
        return Inventory(about: content.about, datacenters: s.datacenters, clusters: s.resolvedClusters(), hosts: h, datastores: d, vms: v,
                         resourcePools: s.resourcePools)
    }

    /// Only the VMs, in one batched retrieval (what the benchmark times). The records have
    /// no `cluster` unless an earlier `inventory()` taught the connection the hosts' clusters.
    public func virtualMachines() async throws -> [VMInfo] {
        var vms = try await retrieveAll("VirtualMachine", InventoryDecoding.vmPaths, decode: InventoryDecoding.vm)
        let clusters = hostClusters.withLock { $0 }
        for i in vms.indices {
            if let host = vms[i].host, let cluster = clusters[host] { vms[i].cluster = cluster }
        }
        return vms
    }

    /// Fresh records for `refs` in one `RetrievePropertiesEx` (one `ObjectSpec` per VM).
    /// Each record's `cluster` comes from its host (hosts not seen before are looked up in one more call).
    public func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] {
        guard !refs.isEmpty else { return [] }
        let collector = self.collector
        var vms = try await PropertyCollector.restartingAfterRelogin(session, what: "VirtualMachine records") {
            var vms: [VMInfo] = []
            vms.reserveCapacity(refs.count)
            try await collector.retrieve([PropertySpec(type: "VirtualMachine", paths: InventoryDecoding.vmPaths)], of: .objects(refs)) { object in
                if let vm = InventoryDecoding.vm(object) { vms.append(vm) }
            }
            return vms
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
        return vms
    }

    /// Every object of `type` over a fresh `ContainerView`, paged; the whole sequence starts
    /// again once when the session was logged in again meanwhile (the view died with it).
    func retrieveAll<T: Sendable>(_ type: String, _ paths: [String], decode: @escaping (ObjectContent) -> T?) async throws -> [T] {
        let collector = self.collector
        let session = self.session
        let content = self.content
        return try await PropertyCollector.restartingAfterRelogin(session, what: type) {
            try await PropertyCollector.withContainerView(session, viewManager: content.viewManager, container: content.rootFolder, types: [type]) { view in
                var out: [T] = []
                try await collector.retrieve([PropertySpec(type: type, paths: paths)], of: .view(view)) { object in
                    if let value = decode(object) { out.append(value) }
                }
                return out
            }
        }
    }

    func retrieveStructure() async throws -> InventoryDecoding.Structure {
        let collector = self.collector
        let specs = [
            PropertySpec(type: "Datacenter", paths: InventoryDecoding.datacenterPaths),
            PropertySpec(type: "Folder", paths: InventoryDecoding.folderPaths),
            PropertySpec(type: "ClusterComputeResource", paths: InventoryDecoding.clusterPaths),
            PropertySpec(type: "ResourcePool", paths: InventoryDecoding.resourcePoolPaths),
        ]
        let session = self.session
        let content = self.content
        return try await PropertyCollector.restartingAfterRelogin(session, what: "datacenters, folders, clusters and resource pools") {
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
