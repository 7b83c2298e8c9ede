// The Swift side of the inventory benchmark (run by scripts/bench/inventory/run.sh, which
// builds it in release mode against the repository's VimXML/VSphereSOAP sources).
// Connects, then times the VM retrieval (one ContainerView + RetrievePropertiesEx, paged,
// decoded into VMInfo records) and optionally the whole inventory. Prints one JSON line.
import Foundation
import Logging
import VCenterModel
import VSphereSOAP

func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }
    return -1
}

var args = CommandLine.arguments.dropFirst()
var url = "", username = "user", password = "pass", mode = "vms"
while let arg = args.popFirst() {
    switch arg {
    case "--url": url = args.popFirst() ?? ""
    case "--username": username = args.popFirst() ?? ""
    case "--password": password = args.popFirst() ?? ""
    case "--mode": mode = args.popFirst() ?? "vms"
    default:
        FileHandle.standardError.write(Data("usage: inventory-bench --url URL [--username U --password P] [--mode vms|full]\n".utf8))
        exit(2)
    }
}

let logger = Logger(label: "bench")
do {
    var config = try ConnectionConfig(url: url, username: username, password: password, insecure: true)
    config.keepAliveInterval = 0
    let vc = try await SOAPVCenter.connect(config: config, logger: logger)
    let rssBefore = peakRSSKiB()
    let clock = ContinuousClock()
    let start = clock.now
    var count = 0
    var committed: Int64 = 0
    if mode == "full" {
        let inventory = try await vc.inventory()
        count = inventory.vms.count
        committed = inventory.vms.reduce(0) { $0 + $1.committedBytes }
    } else {
        let vms = try await vc.virtualMachines()
        count = vms.count
        committed = vms.reduce(0) { $0 + $1.committedBytes }
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    await vc.close()
    print(#"{"tool":"moonmotion","mode":"\#(mode)","vms":\#(count),"committed_bytes":\#(committed),"seconds":\#(seconds),"peak_rss_kib":\#(peakRSSKiB()),"rss_before_kib":\#(rssBefore)}"#)
} catch {
    FileHandle.standardError.write(Data("inventory-bench: \(error)\n".utf8))
    exit(1)
}
