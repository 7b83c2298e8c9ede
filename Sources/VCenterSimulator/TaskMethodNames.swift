/// The vSphere method behind each operation the simulator runs, keyed by the task's
/// `descriptionId`: `TaskInfo.name` is the method (`RelocateVM_Task`), as vCenter reports it.
enum TaskMethodNames {
    static let byDescriptionId: [String: String] = [
        "VirtualMachine.relocate": "RelocateVM_Task",
        "VirtualMachine.migrate": "MigrateVM_Task",
        "VirtualMachine.consolidateDisks": "ConsolidateVMDisks_Task",
        "VirtualMachine.removeAllSnapshots": "RemoveAllSnapshots_Task",
        "vm.Snapshot.remove": "RemoveSnapshot_Task",
        "VirtualMachine.powerOn": "PowerOnVM_Task",
        "VirtualMachine.powerOff": "PowerOffVM_Task",
        "StorageResourceManager.applyRecommendation": "ApplyStorageDrsRecommendation_Task",
    ]

    /// The method for `descriptionId` (the id itself when unknown).
    static func method(for descriptionId: String) -> String { byDescriptionId[descriptionId] ?? descriptionId }
}
