import VCenterModel
import VimXML

/// Runs untrusted response bytes through every decoder the client applies to vCenter's answers
/// — the streaming SOAP reader, SOAP faults, `RetrievePropertiesEx` objects as VMs, hosts,
/// datastores and the structure pass, task `info`, `WaitForUpdatesEx` update sets — and
/// returns how many records came out. For the fuzzer (`Fuzz/ResponseFuzz`) and tests: any
/// input must end in a count or a thrown error, never a crash or a hang.
public enum ResponseDecodingProbe {
    /// Decodes `bytes` every way the client would; throws only the reader's own errors.
    public static func decode(_ bytes: [UInt8]) throws -> Int {
        var records = 0
        for granularity in [SOAPResponseParser.Granularity.returnValue, .returnValueMembers] {
            let (outcome, pieces) = try SOAPResponseParser.parse(bytes, granularity: granularity)
            if case .fault(let fault) = outcome { records += fault.description.isEmpty ? 0 : 1 }
            var structure = InventoryDecoding.Structure()
            for piece in pieces {
                records += decode(piece, structure: &structure)
                for child in piece.children { records += decode(child, structure: &structure) }
            }
            records += structure.resolvedClusters().count
        }
        return records
    }

    private static func decode(_ element: XMLElement, structure: inout InventoryDecoding.Structure) -> Int {
        var records = 0
        let object = ObjectContent(element: element)
        if InventoryDecoding.vm(object) != nil { records += 1 }
        if InventoryDecoding.host(object) != nil { records += 1 }
        if InventoryDecoding.datastore(object) != nil { records += 1 }
        structure.add(object)
        object.forEachProperty { path, value in
            if path == "info", TaskDecoding.info(value, ref: object.ref) != nil { records += 1 }
        }
        if TaskDecoding.info(element) != nil { records += 1 }
        if element.name == "filterSet" || element.name == "objectSet" {
            for change in element.children where change.name == "changeSet" {
                var info = TaskInfo(ref: MoRef("Task", "task-0"), name: "", state: .queued)
                if let path = change.child("name")?.text { TaskDecoding.apply(path: path, value: change.child("val"), to: &info) }
                records += 1
            }
        }
        return records
    }
}
