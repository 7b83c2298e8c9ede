import VCenterModel

/// What turns a decoded VM's references into the names a strategy filters by: each folder's
/// inventory path, each custom attribute key's name, and the VMs' tags. Read with the
/// inventory (the folders in the structure pass, `CustomFieldsManager.field` in one call beside
/// it, tags from the Automation API beside them) and kept by the connection, so `refreshVMs`
/// names what it re-reads the same way.
struct VMNaming: Sendable {
    /// Folder → `/dc-1/vm/prod/db`.
    var folderPaths: [MoRef: String] = [:]
    /// Custom attribute key → name.
    var fieldNames: [Int: String] = [:]
    /// Each tagged VM's tags; nil when they were not read (then every record's `tags` is nil).
    var tags: [MoRef: [VMTag]]?

    /// The finished record: `folderPath` from the VM's folder (nil for a folder the last
    /// inventory did not see — created since — or a VM in a vApp), `customAttributes` by
    /// name; a key with no known definition (a field the account may not read) keeps its
    /// number as its name, so the value is not lost. `tags` as the last inventory read them
    /// (a VM created since has none; tags attached since show after the next inventory).
    func record(_ decoded: InventoryDecoding.DecodedVM) -> VMInfo {
        var vm = decoded.info
        vm.folderPath = decoded.folder.flatMap { folderPaths[$0] }
        vm.tags = tags.map { $0[vm.ref] ?? [] }
        if !decoded.customValues.isEmpty {
            var attributes: [String: String] = [:]
            attributes.reserveCapacity(decoded.customValues.count)
            for (key, value) in decoded.customValues { attributes[fieldNames[key] ?? String(key)] = value }
            vm.customAttributes = attributes
        }
        return vm
    }
}
