import Foundation
import VCenterModel

extension Scheduler {
    /// Every limited resource's use, capacity and peak (internal wait lists excluded).
    public func resourceUsage() -> [ResourceUsage] {
        (0..<ledger.count).filter { ledger.kind[$0].isLimit }.map { ledger.usage($0) }
    }

    /// Checks the accounting: each resource's use equals what the running jobs and
    /// outside tasks hold, and no resource was ever pushed over its limit by this run.
    /// Returns one line per problem (empty when all is well). For tests and `plan`.
    public func audit() -> [String] {
        var expected = [Int](repeating: 0, count: ledger.count)
        var problems: [String] = []
        for i in jobs.indices {
            if jobs[i].state.isActive != !meta[i].charges.isEmpty, !(jobs[i].state.isActive && costsNothing(i)) {
                problems.append("\(jobs[i].id) is \(jobs[i].state.rawValue) but holds \(meta[i].charges.count) charges")
            }
            for c in meta[i].charges { expected[Int(c.resource)] += Int(c.cost) }
        }
        var own = expected
        for task in external.values { for c in task.charges { expected[Int(c.resource)] += Int(c.cost) } }
        for r in 0..<ledger.count {
            if ledger.used[r] != expected[r] {
                problems.append("\(describe(Int32(r))): accounted \(ledger.used[r]), held \(expected[r])")
            }
            if ledger.own[r] != own[r] { problems.append("\(describe(Int32(r))): own use \(ledger.own[r]), held \(own[r])") }
            own[r] = 0
            if ledger.kind[r].isLimit, ledger.peakOwn[r] > auditCapacity(r) {
                problems.append("\(describe(Int32(r))): peak \(ledger.peakOwn[r]) exceeded the limit \(auditCapacity(r))")
            }
        }
        var active = 0, pending = 0
        for job in jobs {
            if job.state.isActive { active += 1 }
            if job.state == .pending { pending += 1 }
        }
        if active != activeCount { problems.append("active count \(activeCount), jobs active \(active)") }
        if pending != pendingCount { problems.append("pending count \(pendingCount), jobs pending \(pending)") }
        return problems
    }

    private func costsNothing(_ i: Int) -> Bool {
        charges(kind: jobs[i].kind, vm: meta[i].vm, destHost: meta[i].destHost, sources: []).all.isEmpty
    }
}
