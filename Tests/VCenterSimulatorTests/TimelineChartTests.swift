import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct TimelineChartTests {
    static let dataOpen = "<script type=\"application/json\" id=\"timeline-data\">"

    /// The embedded JSON block, exactly as the page's script reads it.
    static func embeddedJSON(_ html: String) throws -> String {
        let open = try #require(html.range(of: dataOpen))
        let close = try #require(html.range(of: "</script>", range: open.upperBound..<html.endIndex))
        return String(html[open.upperBound..<close.lowerBound])
    }

    static func data(_ html: String) throws -> [String: Any] {
        let json = try embeddedJSON(html)
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// Structural checks: one document, balanced blocks, no external reference (names in
    /// the data block are data: only the rest of the page is searched for attributes).
    static func checkSelfContained(_ html: String) {
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        #expect(html.hasSuffix("</html>\n"))
        for (open, close) in [("<html lang=\"en\">", "</html>"), ("<head>", "</head>"), ("<body>", "</body>"), ("<header>", "</header>"),
                              ("<main id=", "</main>"), ("<style>", "</style>"), ("<title>", "</title>")] {
            #expect(occurrences(of: open, in: html) == 1, "\(open)")
            #expect(occurrences(of: close, in: html) == 1, "\(close)")
        }
        #expect(occurrences(of: "<script", in: html) == 2)
        #expect(occurrences(of: "</script>", in: html) == 2)
        let lower = html.lowercased()
        #expect(!lower.contains("http://") && !lower.contains("https://") && !lower.contains("ftp://"))
        var outside = lower
        if let json = try? embeddedJSON(html) { outside = outside.replacingOccurrences(of: json.lowercased(), with: "") }
        for external in ["//cdn", "src=", "href=", "<link", "@import", "url(", "<iframe", "fetch(", "xmlhttprequest", "import("] {
            #expect(!outside.contains(external), "external reference: \(external)")
        }
        #expect(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
    }

    @Test func hostChartHasEveryHostRowAndEveryTask() async throws {
        let run = try await PlanFixtures.waves()
        let stats = run.sim.stats
        let html = TimelineChart.html(stats: stats, inventory: run.inventory, groupBy: .host, title: "Plan of June")
        Self.checkSelfContained(html)
        #expect(html.contains("<title>Plan of June — timeline by host</title>"))
        #expect(html.contains("<option value=\"host\" selected>"))
        #expect(html.contains("makespan 1h 26m · 40 VMs moved · 3.9 TiB copied · 40 tasks · no failures"))
        #expect(html.contains("Storage vMotion</span>") && html.contains("failed</span>") && html.contains("queued (lighter)"))

        let d = try Self.data(html)
        #expect(d["group"] as? String == "host")
        #expect(d["hosts"] as? [String] == run.inventory.hosts.map(\.name))
        #expect(d["clusters"] as? [String] == ["cluster-1", "cluster-2"])
        #expect(d["hc"] as? [Int] == [0, 0, 0, 0, 1, 1, 1, 1])
        #expect(d["datastores"] as? [String] == run.inventory.datastores.map(\.name))
        #expect(d["end"] as? Double == 5 * PlanFixtures.copy)
        let kinds = try #require(d["kinds"] as? [String])
        let k = try #require(d["k"] as? [Int])
        #expect(k.count == 40)
        #expect(k.allSatisfy { kinds[$0] == "storageVMotion" })

        // Times decode to the records': queue = Σ dq, start = queue + ds, end = start + de (deciseconds).
        let dq = try #require(d["dq"] as? [Int]), ds = try #require(d["ds"] as? [Int]), de = try #require(d["de"] as? [Int])
        let vms = try #require(d["vms"] as? [String]), vmd = try #require(d["vmd"] as? [Int])
        #expect(vmd.allSatisfy { $0 == 0 })   // each task moves the next VM
        #expect(d["fail"] as? [Int] == [])
        #expect(d["clx"] as? [Int] == [])
        let sh = try #require(d["sh"] as? [Int]), dd = try #require(d["dd"] as? [Int]), mb = try #require(d["mb"] as? [Int])
        var queue = 0, vm = -1
        for (i, t) in stats.tasks.enumerated() {
            queue += dq[i]
            vm += 1 + vmd[i]
            let q = t.queueTime.timeIntervalSince(stats.startTime)
            #expect(abs(Double(queue) / 10 - q) < 0.051)
            #expect(abs(Double(queue + ds[i] + de[i]) / 10 - t.completeTime!.timeIntervalSince(stats.startTime)) < 0.051)
            #expect(vms[vm] == t.entityName)
            #expect(run.inventory.hosts[sh[i]].ref == t.sourceHost)
            #expect(run.inventory.datastores[dd[i]].ref == t.destinationDatastore)
            #expect(mb[i] == 102_400)
        }
        // Five waves, so five distinct queue times 1,034 s apart.
        #expect(Set(dq.filter { $0 != 0 }) == [10_340])
    }

    @Test func datastoreAndClusterGroupingsSelectTheirRows() async throws {
        let run = try await PlanFixtures.waves()
        let byDatastore = TimelineChart.html(stats: run.sim.stats, inventory: run.inventory, groupBy: .datastore, title: "t")
        #expect(try Self.data(byDatastore)["group"] as? String == "datastore")
        #expect(byDatastore.contains("<option value=\"datastore\" selected>"))
        #expect(byDatastore.contains("timeline by datastore</title>"))
        let byCluster = TimelineChart.html(stats: run.sim.stats, inventory: run.inventory, groupBy: .cluster, title: "t")
        let d = try Self.data(byCluster)
        #expect(d["group"] as? String == "cluster")
        // Each task's cluster is its source host's: 20 tasks in each.
        let hc = try #require(d["hc"] as? [Int]), sh = try #require(d["sh"] as? [Int])
        #expect(d["clx"] as? [Int] == [])
        let cl = sh.map { hc[$0] }
        #expect(cl.filter { $0 == 0 }.count == 20 && cl.filter { $0 == 1 }.count == 20)
    }

    @Test func hostileNamesCannotInject() async throws {
        let cluster = MoRef("ClusterComputeResource", "domain-c7")
        let host = MoRef("HostSystem", "host-11")
        let hostName = "esx\"'<b>&amp;"
        let vmName = "</script><script>alert(1)</script>"
        let sourceName = "<img src=x onerror=alert(2)>"
        let targetName = "new\u{2028}<!--"
        let source = DatastoreInfo(ref: MoRef("Datastore", "datastore-30"), name: sourceName, capacityBytes: 1 << 42, freeBytes: 1 << 41, hosts: [host])
        let target = DatastoreInfo(ref: MoRef("Datastore", "datastore-31"), name: targetName, capacityBytes: 1 << 42, freeBytes: 1 << 42, hosts: [host])
        let vm = VMInfo(ref: MoRef("VirtualMachine", "vm-100"), name: vmName, host: host, datastores: [source.ref],
                        committedBytes: 10 * Fixtures.gib, memoryMB: 1024)
        let inventory = Inventory(clusters: [ClusterInfo(ref: cluster, name: "<style>cluster</style>", hosts: [host])],
                                  hosts: [HostInfo(ref: host, name: hostName, cluster: cluster)],
                                  datastores: [source, target], vms: [vm])
        let sim = try SimulatedVCenter(inventory: inventory, configuration: Fixtures.config(), source: "hostile")
        try sim.failNextTask(ofVM: vmName, with: VCenterFault(type: "FileLocked", message: "locked by <script>x()</script>"))
        _ = try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority)
        sim.advanceUntilIdle()

        let title = "<script>alert(\"title\")</script> & co"
        let html = TimelineChart.html(stats: sim.stats, inventory: inventory, groupBy: .host, title: title)
        Self.checkSelfContained(html)
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>"))
        #expect(!html.contains("<!--"))
        #expect(!html.contains("<style>cluster"))
        #expect(!html.contains("\u{2028}"))
        #expect(html.contains("<h1>&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; co</h1>"))
        let json = try Self.embeddedJSON(html)
        #expect(!json.contains("<") && !json.contains(">") && !json.contains("&"))
        // The names come back intact through JSON.
        let d = try Self.data(html)
        #expect(d["vms"] as? [String] == [vmName])
        #expect(d["hosts"] as? [String] == [hostName])
        #expect(d["datastores"] as? [String] == [sourceName, targetName])
        #expect(d["clusters"] as? [String] == ["<style>cluster</style>"])
        #expect(d["faults"] as? [String] == ["FileLocked: locked by <script>x()</script>"])
        #expect(d["fail"] as? [Int] == [0, 0])
        #expect(html.contains("1 failed"))

        let report = PlanReport(stats: sim.stats, inventory: inventory, configuration: sim.configuration, title: title)
        #expect(report.renderText().contains("FileLocked 1"))
    }

    @Test func aTaskWithoutAHostKeepsItsVMsCluster() async throws {
        // A VM with no host (an orphaned record): its task counts in the VM's cluster.
        let cluster = MoRef("ClusterComputeResource", "domain-c7")
        let host = MoRef("HostSystem", "host-11")
        let source = DatastoreInfo(ref: MoRef("Datastore", "datastore-30"), name: "S", capacityBytes: 1 << 42, freeBytes: 1 << 41, hosts: [host])
        let target = DatastoreInfo(ref: MoRef("Datastore", "datastore-31"), name: "D", capacityBytes: 1 << 42, freeBytes: 1 << 42, hosts: [host])
        let vm = VMInfo(ref: MoRef("VirtualMachine", "vm-100"), name: "orphan", cluster: cluster, datastores: [source.ref],
                        committedBytes: Fixtures.gib, memoryMB: 1024)
        let inventory = Inventory(clusters: [ClusterInfo(ref: cluster, name: "c1", hosts: [host])],
                                  hosts: [HostInfo(ref: host, name: "esx-1", cluster: cluster)], datastores: [source, target], vms: [vm])
        let sim = try SimulatedVCenter(inventory: inventory, configuration: Fixtures.config(), source: "orphan")
        _ = try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: target.ref), priority: .defaultPriority)
        sim.advanceUntilIdle()
        let d = try Self.data(TimelineChart.html(stats: sim.stats, inventory: inventory, groupBy: .cluster, title: "orphan"))
        #expect(d["sh"] as? [Int] == [-1])
        #expect(d["clx"] as? [Int] == [0, 0])
        let report = PlanReport(stats: sim.stats, inventory: inventory, configuration: sim.configuration)
        #expect(report.clusters.map(\.name) == ["c1"])
        #expect(report.clusters.first?.slots == 2)
    }

    @Test func unfinishedAndQueuedTasksAreMarked() async throws {
        // a and b run, c waits at vCenter; stop the clock at 50 s.
        let sim = try Fixtures.handmade(sizesGB: [10, 20, 30])
        for (vm, ds) in [("a", "D1"), ("b", "D2"), ("c", "D3")] { _ = try await sim.move(vm, to: ds) }
        sim.advance(seconds: 50)
        let html = TimelineChart.html(stats: sim.stats, inventory: sim.inventorySnapshot, groupBy: .host, title: "mid-run")
        let d = try Self.data(html)
        #expect(d["ds"] as? [Int] == [0, 0, -1])
        #expect(d["de"] as? [Int] == [-1, -1, -1])
        #expect(d["now"] as? Double == 50)
        #expect(html.contains("3 unfinished"))
        #expect(html.contains("1 queued at vCenter by a limit"))
        let report = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration)
        #expect(report.totals.unfinished == 3)
        #expect(report.renderText().contains("3 tasks still queued or running"))
    }

    @Test func writeFilesWritesTheChartsTheJSONAndTheText() async throws {
        let run = try await PlanFixtures.waves()
        let report = PlanFixtures.report(run)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-plan-\(UUID().uuidString)/out")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let written = try report.writeFiles(to: dir, width: 90)
        #expect(written.map(\.lastPathComponent) == ["timeline-hosts.html", "timeline-datastores.html", "plan.json", "plan.txt"])
        let hosts = try String(contentsOf: dir.appendingPathComponent("timeline-hosts.html"), encoding: .utf8)
        let datastores = try String(contentsOf: dir.appendingPathComponent("timeline-datastores.html"), encoding: .utf8)
        Self.checkSelfContained(hosts)
        Self.checkSelfContained(datastores)
        #expect(try Self.data(hosts)["group"] as? String == "host")
        #expect(try Self.data(datastores)["group"] as? String == "datastore")
        let json = try Data(contentsOf: dir.appendingPathComponent("plan.json"))
        #expect((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["makespanSeconds"] as? Double == 5 * PlanFixtures.copy)
        #expect(try String(contentsOf: dir.appendingPathComponent("plan.txt"), encoding: .utf8) == report.renderText(width: 90))

        // A file where the directory should be: the error names the path.
        let blocked = dir.appendingPathComponent("plan.txt/sub")
        let error = #expect(throws: PlanReportWriteError.self) {
            try report.writeFiles(to: blocked)
        }
        #expect(error?.description.contains(blocked.path) == true)
    }

    @Test func sizeAndBuildTimeFor3000Tasks() async throws {
        // Figures only (never judged on time): a 3,000-VM run with all copies submitted at once.
        let sim = try SimulatedVCenter(generating: "clusters=3,hosts=8,vms=3000,snapshots=0,consolidate=0", configuration: Fixtures.config())
        let inventory = sim.inventorySnapshot
        var targets: [MoRef: [MoRef]] = [:]
        for ds in inventory.datastores where ds.name.hasPrefix("new-") { for h in ds.hosts { targets[h, default: []].append(ds.ref) } }
        for (i, vm) in inventory.vms.enumerated() {
            let choices = targets[vm.host!]!
            _ = try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: choices[i % choices.count]), priority: .defaultPriority)
        }
        sim.advanceUntilIdle()
        let stats = sim.stats
        let clock = ContinuousClock()
        let start = clock.now
        let html = TimelineChart.html(stats: stats, inventory: inventory, groupBy: .host, title: sim.displayName)
        let built = clock.now - start
        let report = PlanReport(stats: stats, inventory: inventory, configuration: sim.configuration, title: sim.displayName)
        let text = report.renderText()
        let total = clock.now - start
        #expect(try (Self.data(html)["k"] as? [Int])?.count == 3000)
        #expect(report.totals.tasks == 3000)
        #expect(report.totals.tasksQueuedByLimit > 0)   // everything submitted at once: vCenter queued
        #expect(text.contains("waited for an ESXi limit"))
        print("timeline: 3,000 tasks → \(html.utf8.count / 1024) KiB HTML, built in \(built); report + text in \(total - built)")
    }
}
