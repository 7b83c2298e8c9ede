import VCenterModel
import VimXML

/// vim25 XML for the arguments of operations, written in the order the XSD's sequences
/// require (vCenter's parser rejects fields out of order).
enum OperationEncoding {
    /// Writes a `VirtualMachineRelocateSpec` as element `name`. The XSD's order is service,
    /// folder, datastore, diskMoveType, pool, host, disk, transform, deviceChange, profile, …;
    /// Moonmotion sets datastore, pool, host and disk. `diskModes` (disk key → mode) restates
    /// the mode of disks whose format a locator changes (see `diskLocator`).
    static func relocateSpec(_ w: inout XMLWriter, _ name: String, _ spec: RelocateSpec, diskModes: [Int: String] = [:]) {
        w.start(name)
        if let ds = spec.datastore { w.moRef("datastore", ds) }
        if let pool = spec.pool { w.moRef("pool", pool) }
        if let host = spec.host { w.moRef("host", host) }
        for locator in spec.disks { diskLocator(&w, "disk", locator, diskMode: diskModes[locator.diskKey] ?? "persistent") }
        w.end(name)
    }

    /// Writes a `VirtualMachineRelocateSpecDiskLocator` (diskId, datastore, then for a format
    /// change a `diskBackingInfo`).
    ///
    /// vCenter reads only `thinProvisioned` and `eagerlyScrub` of the locator's
    /// `VirtualDiskFlatVer2BackingInfo` (the API reference's "supported properties"), but the
    /// XSD requires `fileName` (inherited from `VirtualDeviceFileBackingInfo`) and `diskMode`:
    /// `fileName` is empty (the destination names the file) and `diskMode` is the disk's own
    /// mode when the connection has read it — an independent disk must not be restated as
    /// `persistent`, should a vCenter ever honour the field.
    static func diskLocator(_ w: inout XMLWriter, _ name: String, _ locator: DiskLocator, diskMode: String) {
        w.start(name)
        w.element("diskId", String(locator.diskKey))
        w.moRef("datastore", locator.datastore)
        if let format = locator.format {
            w.start("diskBackingInfo", xsiType: "VirtualDiskFlatVer2BackingInfo")
            w.element("fileName", "")
            w.element("diskMode", diskMode)
            w.element("thinProvisioned", format == .thin ? "true" : "false")
            w.element("eagerlyScrub", format == .eager ? "true" : "false")
            w.end("diskBackingInfo")
        }
        w.end(name)
    }
}
