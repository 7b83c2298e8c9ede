import Foundation
import Testing
import TestSupport

/// Every fault the engine retries, end to end on the test vCenter: once as a SOAP fault from the
/// `RelocateVM_Task` call, once as the error a relocation task ends with. Each is retried by the
/// engine with backoff when the strategy's `on_failure` (which hears every failure) lets the rule
/// decide, and its VM then moves once; for a subtype the engine does not retry
/// (`InvalidPowerState`, an `InvalidState`) the rule says no retry (`err.will_retry` false), and
/// the strategy skips it. Decided by `VCenterFault.Code.isRetriable`, never by message text.
@Suite("retried faults on the test vCenter")
struct RetriedFaultsTests {
    static let retried = ["TaskInProgress", "FileLocked", "InvalidState", "ResourceInUse", "ConcurrentAccess",
                          "HostCommunication", "HostNotConnected", "NoPermissionOnHost"]

    static let strategy = """
        local strategy = require "moonmotion.strategy"
        return strategy.new {
          select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
          on_failure = function(job, err)
            if err.will_retry then return nil end
            io.stderr:write("on_failure " .. job.vm_name .. " " .. err.type .. "\\n")
            return "skip"
          end,
        }
        """

    @Test("as a SOAP fault from the call and as a task error: retried by the engine, the VM moved once; InvalidPowerState goes to on_failure",
          arguments: ["soap", "task"])
    func retriedEndToEnd(_ target: String) async throws {
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 4, vms: 12, speed: 500))
        defer { vc.stop() }
        let dir = try scriptDirectory(["retry.lua": Self.strategy])
        defer { try? FileManager.default.removeItem(at: dir) }
        let (before, _) = try await InventoryDocument.fetch(vc, directory: dir)
        let names = before.vms.map(\.name).sorted()
        var faultOf: [String: String] = [:]
        if target == "soap" {
            // The next calls of RelocateVM_Task answer these faults in turn, one each.
            for fault in Self.retried + ["InvalidPowerState"] {
                try await vc.injectFault(.failCalls(method: "RelocateVM_Task", fault: fault, count: 1))
            }
        } else {
            for (fault, vm) in zip(Self.retried + ["InvalidPowerState"], names) {
                faultOf[vm] = fault
                try await vc.injectFault(.failTask(vm: vm, method: "RelocateVM_Task", fault: fault, count: 1))
            }
        }
        let events = dir.appendingPathComponent("events.jsonl")
        let run = try await runMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, dir.appendingPathComponent("retry.lua").path,
                                           "--journal", dir.appendingPathComponent("r.journal").path, "--events", events.path],
                                          directory: dir, timeout: 600)
        let context = "exit \(run.status)\n\(run.stdout.suffix(2000))\n\(run.stderr.suffix(2000))"
        #expect(run.status == 0, "\(context)")
        // Exactly one VM went to the strategy, with InvalidPowerState; it was skipped, the rest moved once.
        let asked = run.stderr.split(separator: "\n").filter { $0.hasPrefix("on_failure ") }
        #expect(asked.count == 1 && asked.first?.hasSuffix(" InvalidPowerState") == true, "\(asked)")
        #expect(run.stdout.contains("moved 11 VM(s)") && run.stdout.contains("1 skipped"), "\(context)")
        let log = try RunEvent.read(events)
        // The injected faults' retries. A call the loaded test vCenter answered too late is a
        // ConnectionFailed, retried as well, rightly (seen once in nine suite runs in a row,
        // a VM then showing two retries); it is not what this test injects.
        let retries = log.filter { $0.type == "retry-scheduled" && $0.error?.hasPrefix("ConnectionFailed") != true }
        let retriedBy = Dictionary(grouping: retries, by: { $0.vmName ?? "" })
        #expect(retriedBy.count == Self.retried.count, "\(retriedBy.keys.sorted())")
        let faultsRetried = Set(retries.compactMap { $0.error?.split(separator: ":").first.map(String.init) })
        #expect(faultsRetried == Set(Self.retried), "\(faultsRetried.sorted())")
        if target == "task" {
            for (vm, fault) in faultOf where fault != "InvalidPowerState" {
                #expect(retriedBy[vm]?.count == 1, "\(vm) (\(fault)) was retried once")
            }
        }
        let stats = try await vc.stats()
        #expect(stats.moves.values.allSatisfy { $0 == 1 } && stats.moves.count == 11, "\(stats.moves)")
        #expect(stats.limitViolations.isEmpty)
    }
}
