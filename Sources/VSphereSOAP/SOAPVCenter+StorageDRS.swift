import VCenterModel
import VimXML

extension SOAPVCenter {
    /// `StorageResourceManager.RecommendDatastores` for relocating `vm` into the datastore
    /// cluster `pod`: a `StoragePlacementSpec` of type `relocate` with `spec` as its
    /// `relocateSpec`. Storage DRS's recommendations come back best rated first; nothing moves
    /// until one is applied (`applyStorageRecommendation`). When Storage DRS recommends nothing
    /// and says why (`drsFault`), that reason is thrown as a `VCenterFault`.
    public func recommendDatastores(_ vm: MoRef, pod: MoRef, spec: RelocateSpec) async throws -> [StorageRecommendation] {
        let manager = try storageResourceManager()
        let modes = spec.disks.contains { $0.format != nil } ? diskModes.withLock { $0[vm] ?? [:] } : [:]
        let returned = try await session.call("RecommendDatastores", on: manager) { w in
            StorageDRSEncoding.placementSpec(&w, vm: vm, pod: pod, spec: spec, diskModes: modes)
        }
        guard let result = returned.first else { return [] }
        return try StorageDRSDecoding.recommendations(result, vm: vm)
    }

    /// `ApplyStorageDrsRecommendation_Task` with one recommendation's key; the task, tracked
    /// by the poller like every other, counts as a task on `vm`.
    public func applyStorageRecommendation(_ key: String, vm: MoRef) async throws -> LiveTask {
        let manager = try storageResourceManager()
        return try await startTask("ApplyStorageDrsRecommendation_Task", on: manager, entity: vm) { w in
            w.element("key", key)
        }
    }

    private func storageResourceManager() throws -> MoRef {
        guard let manager = content.storageResourceManager else {
            throw VCenterFault(.notSupported, "\(displayName) has no StorageResourceManager (Storage DRS needs vCenter)")
        }
        return manager
    }
}

/// The `StoragePlacementSpec` of a relocation into a datastore cluster.
enum StorageDRSEncoding {
    /// Writes `storageSpec`: type `relocate`, the VM, the pod (`podSelectionSpec.storagePod`)
    /// and the relocation, in the XSD's order (type, priority, vm, podSelectionSpec, cloneSpec,
    /// cloneName, configSpec, relocateSpec, …). No priority: vCenter's default.
    static func placementSpec(_ w: inout XMLWriter, vm: MoRef, pod: MoRef, spec: RelocateSpec, diskModes: [Int: String]) {
        w.start("storageSpec")
        w.element("type", "relocate")
        w.moRef("vm", vm)
        w.start("podSelectionSpec")
        w.moRef("storagePod", pod)
        w.end("podSelectionSpec")
        OperationEncoding.relocateSpec(&w, "relocateSpec", spec, diskModes: diskModes)
        w.end("storageSpec")
    }
}

/// `StoragePlacementResult` as `StorageRecommendation`s.
enum StorageDRSDecoding {
    /// The recommendations of a `StoragePlacementResult`, best rated first (vCenter's order
    /// among equals). Each takes its `StoragePlacementAction` for `vm` (an action naming no VM
    /// is the placement asked for): the destination, and the disk locators that place a disk
    /// elsewhere than the destination. A recommendation without such an action (only other
    /// VMs' prerequisite moves) is left out. No recommendation and a `drsFault`: the first
    /// fault it carries is thrown.
    static func recommendations(_ result: XMLElement, vm: MoRef) throws -> [StorageRecommendation] {
        var out: [StorageRecommendation] = []
        for item in result.children where item.name == "recommendations" {
            if let recommendation = recommendation(item, vm: vm) { out.append(recommendation) }
        }
        if out.isEmpty, let drsFault = result.child("drsFault"), let fault = firstFault(drsFault) {
            throw fault
        }
        // Stable: equal ratings keep vCenter's order.
        return out.enumerated().sorted { a, b in
            a.element.rating != b.element.rating ? a.element.rating > b.element.rating : a.offset < b.offset
        }.map(\.element)
    }

    static func recommendation(_ element: XMLElement, vm: MoRef) -> StorageRecommendation? {
        var key: String?
        var rating = 1
        var placement: (destination: MoRef, disks: [DiskLocator])?
        for field in element.children {
            switch field.name {
            case "key": key = field.text
            case "rating": rating = field.int ?? 1
            case "action" where placement == nil && field.xsiType == "StoragePlacementAction":
                placement = action(field, vm: vm)
            default: break
            }
        }
        guard let key, !key.isEmpty, let placement else { return nil }
        return StorageRecommendation(key: key, destination: placement.destination, disks: placement.disks, rating: rating)
    }

    /// A `StoragePlacementAction`: its destination and the locators of disks placed elsewhere.
    static func action(_ element: XMLElement, vm: MoRef) -> (destination: MoRef, disks: [DiskLocator])? {
        if let target = element.child("vm")?.moRef, target != vm { return nil }
        guard let destination = element.child("destination")?.moRef else { return nil }
        var disks: [DiskLocator] = []
        if let spec = element.child("relocateSpec") {
            for locator in spec.children where locator.name == "disk" {
                guard let key = locator.child("diskId")?.int, let ds = locator.child("datastore")?.moRef, ds != destination else { continue }
                disks.append(DiskLocator(diskKey: key, datastore: ds, format: format(locator.child("diskBackingInfo"))))
            }
        }
        return (destination, disks)
    }

    /// The format a locator's backing asks for (nil when it carries none).
    static func format(_ backing: XMLElement?) -> DiskFormat? {
        guard let backing else { return nil }
        let thin = backing.child("thinProvisioned")?.bool
        let eager = backing.child("eagerlyScrub")?.bool
        if thin == nil, eager == nil { return nil }
        return thin == true ? .thin : eager == true ? .eager : .thick
    }

    /// The first `LocalizedMethodFault` of a `ClusterDrsFaults` (`faultsByVm[].fault[]`), with
    /// the DRS reason when the fault has no message.
    static func firstFault(_ drsFault: XMLElement) -> VCenterFault? {
        let reason = drsFault.child("reason")?.text ?? ""
        for byVM in drsFault.children where byVM.name == "faultsByVm" {
            if let fault = byVM.child("fault") {
                var decoded = TaskDecoding.fault(fault)
                if decoded.message.isEmpty { decoded = VCenterFault(type: decoded.type, message: reason) }
                return decoded
            }
        }
        return reason.isEmpty ? nil : VCenterFault(.storageDrsFault, reason)
    }
}
