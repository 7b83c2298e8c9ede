import VCenterModel

/// The `pool=` target of `conn:moveVM`: a resource pool moref (`resgroup-12`,
/// `ResourcePool:resgroup-12`) or a pool's name, looked up among the pools of the
/// destination host's cluster (or, without `host=`, the VM's cluster).
struct PoolArgument: Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    /// A moref is used as it is; a name needs the inventory.
    var moRef: MoRef? {
        if text.contains(":") { return MoRef(parsing: text) }
        if text.hasPrefix("resgroup-") { return MoRef("ResourcePool", text) }
        return nil
    }

    var needsInventory: Bool { moRef == nil }

    /// The pool's reference. A name must match exactly one pool of the cluster; otherwise the
    /// error names the cluster and the pools it has (or the ambiguous ones' morefs).
    func resolve(in inventory: Inventory?, vm: MoRef, host: MoRef?) throws -> MoRef {
        if let ref = moRef { return ref }
        guard let inventory else {
            throw VCenterFault(.notFound, "target pool '\(text)': no inventory to look it up in")
        }
        let cluster = host.flatMap { inventory.host($0)?.cluster } ?? inventory.vm(vm)?.cluster
        let whereText: String
        let matches: [ResourcePoolInfo]
        if let cluster {
            whereText = "cluster \(inventory.name(of: cluster))"
            matches = inventory.resourcePools(named: text, owner: cluster)
            if matches.isEmpty {
                let names = Set(inventory.resourcePools.filter { $0.owner == cluster }.map(\.name)).sorted()
                throw VCenterFault(.notFound, "no resource pool named '\(text)' in \(whereText)"
                    + (names.isEmpty ? " (no pools known there)" : " (its pools: \(names.joined(separator: ", ")))"))
            }
        } else {
            whereText = "the inventory (the \(host == nil ? "VM" : "host") is in no cluster)"
            matches = inventory.resourcePools(named: text)
            if matches.isEmpty {
                throw VCenterFault(.notFound, "no resource pool named '\(text)' in \(whereText)")
            }
        }
        guard matches.count == 1 else {
            throw VCenterFault(.ambiguousName, "\(matches.count) resource pools are named '\(text)' in \(whereText): "
                + matches.map(\.ref.value).sorted().joined(separator: ", ") + "; give the moref instead")
        }
        return matches[0].ref
    }
}
