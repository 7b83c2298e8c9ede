// The Swift side of the inventory benchmark (run by scripts/bench/inventory/run.sh, which
// builds it in release mode against the repository's VimXML/VSphereSOAP sources).
// Connects, then times the VM retrieval (one ContainerView + RetrievePropertiesEx, paged,
// decoded into VMInfo records) and optionally the whole inventory. Prints one JSON line.
import Foundation
import Logging
import VCenterModel
import VimXML
import VSphereSOAP

func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }
    return -1
}

var args = CommandLine.arguments.dropFirst()
var url = "", username = "user", password = "pass", mode = "vms", parseFile = ""
while let arg = args.popFirst() {
    switch arg {
    case "--url": url = args.popFirst() ?? ""
    case "--username": username = args.popFirst() ?? ""
    case "--password": password = args.popFirst() ?? ""
    case "--mode": mode = args.popFirst() ?? "vms"
    case "--parse": parseFile = args.popFirst() ?? ""
    default:
        FileHandle.standardError.write(Data("usage: inventory-bench --url URL [--username U --password P] [--mode vms|full] | --parse FILE\n".utf8))
        exit(2)
    }
}

/// `--parse FILE`: the VimXML reader alone on a saved RetrievePropertiesEx response (read into
/// memory first, fed in 64 KiB chunks as the network would), walking every object's properties.
if !parseFile.isEmpty {
    guard let data = FileManager.default.contents(atPath: parseFile) else {
        FileHandle.standardError.write(Data("inventory-bench: cannot read \(parseFile)\n".utf8))
        exit(1)
    }
    let bytes = [UInt8](data)
    let clock = ContinuousClock()
    var best = Duration.seconds(1000)
    var objects = 0, properties = 0
    for _ in 0..<3 {
        objects = 0
        properties = 0
        let start = clock.now
        // The client's own skip rule (InventoryDecoding.deviceSkipRule): only disks and drives
        // of config.hardware.device become nodes.
        let devices = XMLSkipRule(element: "VirtualDevice", keeping: ["VirtualDisk", "VirtualCdrom", "VirtualFloppy"])
        let parser = SOAPResponseParser(granularity: .returnValueMembers, skipping: devices) { piece in
            guard piece.name == "objects" else { return }
            objects += 1
            for prop in piece.children where prop.name == "propSet" { properties += prop.child("val") == nil ? 0 : 1 }
        }
        do {
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 65_536, bytes.count)
                try bytes[offset..<end].withUnsafeBytes { try parser.feed($0) }
                offset = end
            }
            try parser.finish()
        } catch {
            FileHandle.standardError.write(Data("inventory-bench: \(error)\n".utf8))
            exit(1)
        }
        best = min(best, clock.now - start)
    }
    let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
    print(#"{"tool":"vimxml","mode":"parse","objects":\#(objects),"properties":\#(properties),"seconds":\#(seconds),"peak_rss_kib":\#(peakRSSKiB())}"#)
    exit(0)
}

let logger = Logger(label: "bench")
do {
    var config = try ConnectionConfig(url: url, username: username, password: password, insecure: true)
    config.keepAliveInterval = 0
    let vc = try await SOAPVCenter.connect(config: config, logger: logger)
    let rssBefore = peakRSSKiB()
    let clock = ContinuousClock()
    let start = clock.now
    let vms = mode == "full" ? try await vc.inventory().vms : try await vc.virtualMachines()
    let count = vms.count
    let committed = vms.reduce(0) { $0 + $1.committedBytes }
    let disks = vms.reduce(0) { $0 + $1.disks.count }
    let used = vms.reduce(Int64(0)) { sum, vm in vm.disks.reduce(sum) { $0 + $1.usedBytes } }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    await vc.close()
    print(#"{"tool":"moonmotion","mode":"\#(mode)","vms":\#(count),"committed_bytes":\#(committed),"disks":\#(disks),"disk_used_bytes":\#(used),"seconds":\#(seconds),"peak_rss_kib":\#(peakRSSKiB()),"rss_before_kib":\#(rssBefore)}"#)
} catch {
    FileHandle.standardError.write(Data("inventory-bench: \(error)\n".utf8))
    exit(1)
}
