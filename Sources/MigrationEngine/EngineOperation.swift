import VCenterModel

/// The concrete vCenter call that starts one attempt of a job, decided by the
/// scheduler at dispatch time (target datastore and host included).
public enum EngineOperation: Sendable, Hashable {
    /// `RelocateVM_Task`.
    case relocate(vm: MoRef, spec: RelocateSpec, priority: MovePriority)
    /// `ApplyStorageDrsRecommendation_Task` with one recommendation of `RecommendDatastores`
    /// for the VM (a storage move into a datastore cluster with `sdrs = true`).
    case applyStorageRecommendation(vm: MoRef, key: String)
    /// `MigrateVM_Task`.
    case migrate(vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority)
    /// `ConsolidateVMDisks_Task`.
    case consolidate(vm: MoRef)
    /// `RemoveSnapshot_Task` / `RemoveAllSnapshots_Task`.
    case removeSnapshot(vm: MoRef, selector: SnapshotSelector, removeChildren: Bool, consolidate: Bool)
    /// Any method by name.
    case invoke(method: String, object: MoRef, arguments: [PropertyValue.Field])

    /// The vSphere method name, for the journal and displays.
    public var methodName: String {
        switch self {
        case .relocate: "RelocateVM_Task"
        case .applyStorageRecommendation: "ApplyStorageDrsRecommendation_Task"
        case .migrate: "MigrateVM_Task"
        case .consolidate: "ConsolidateVMDisks_Task"
        case .removeSnapshot(_, let selector, _, _):
            if case .all = selector { "RemoveAllSnapshots_Task" } else { "RemoveSnapshot_Task" }
        case .invoke(let method, _, _): method
        }
    }

    /// Whether a task's `info.name` (a method name such as `RelocateVM_Task`, or a
    /// `descriptionId` such as `VirtualMachine.relocate`) denotes this operation. Used after a
    /// crash to find a task started between the intent and the task reference being journaled.
    public func matchesTaskName(_ name: String) -> Bool {
        let n = name.lowercased()
        let keys: [String]
        switch self {
        // Storage DRS applies a recommendation as a relocation: either name is a storage move.
        case .relocate, .applyStorageRecommendation: keys = ["relocate", "applystoragedrs", "applyrecommendation"]
        case .migrate: keys = ["migrate"]
        case .consolidate: keys = ["consolidate"]
        case .removeSnapshot(_, let selector, _, _):
            if case .all = selector { keys = ["removeallsnapshots", "removeall"] } else { keys = ["removesnapshot", "snapshot.remove"] }
        case .invoke(let method, _, _):
            var m = method.lowercased()
            if m.hasSuffix("_task") { m.removeLast(5) }
            keys = [m]
        }
        return keys.contains { n.contains($0) }
    }
}
