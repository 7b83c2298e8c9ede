import Foundation
import MigrationEngine
import Testing
import VCenterModel

@Suite("Scheduler")
struct SchedulerTests {
    @Test("limits are never exceeded, every VM moves once, accounting balances at every step")
    func limitsNeverExceeded() throws {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 4
        spec.vmsPerHost = 25
        spec.oldDatastores = 3
        spec.newDatastores = 2
        let inv = spec.make()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        var maxActive = 0
        h.afterStep = { h in maxActive = max(maxActive, h.scheduler.activeJobs) }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.auditProblems.isEmpty, "\(h.auditProblems.prefix(5))")
        #expect(h.jobs(in: .done).count == 200)
        #expect(Set(h.starts.map(\.job)).count == 200, "each job started exactly once")
        #expect(h.peakStorageMovesPerHost.values.max() == 2)
        #expect(h.peakStorageMovesPerDatastore.values.allSatisfy { $0 <= 8 })
        #expect(h.peakStorageMovesPerDatastore.values.max() == 8)
        for usage in h.scheduler.resourceUsage() {
            #expect(usage.peak <= usage.capacity, "\(usage)")
            #expect(usage.used == 0)
        }
        // 2 new datastores × 8 = 16 concurrent at most; 8 hosts × 2 = 16: the bound is reached.
        #expect(maxActive == 16)
        // Every VM ends on a new datastore in the scheduler's inventory.
        let news = Set(TestInventory.newDatastores(inv))
        #expect(h.scheduler.inventory.vms.allSatisfy { $0.datastores.allSatisfy(news.contains) })
    }

    @Test("a completion at t dispatches the next job at t")
    func eventDriven() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 3
        spec.size = { i in Int64(3 - i) * 100_000_000_000 } // 300, 200, 100 GB
        let inv = spec.make()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(TestInventory.moveAll(inv))
        #expect(h.starts.count == 2, "two Storage vMotions per host")
        #expect(h.run() == .completed)
        #expect(h.starts.count == 3)
        // vm1 (200 GB) ends at 2000 s; vm2 must start at that very instant.
        #expect(h.starts[2].time.timeIntervalSince(h.start) == 2000)
        #expect(h.starts[2].job == JobID(2))
    }

    @Test("default order is largest first; a strategy's order is followed")
    func ordering() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 6
        spec.size = { i in Int64([5, 9, 1, 7, 3, 8][i]) * 1_000_000_000 }
        let inv = spec.make()
        var config = SchedulerConfiguration()
        config.limits.vcenterMaxJobs = 1
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(), configuration: config)
        try h.add(TestInventory.moveAll(inv))
        h.run()
        #expect(h.starts.map { h.scheduler.job($0.job).size / 1_000_000_000 } == [9, 8, 7, 5, 3, 1])

        let smallest = ClosureStrategy(order: { jobs in jobs.sorted { $0.size < $1.size } })
        let h2 = try SchedulerHarness(inventory: inv, strategy: smallest, configuration: config)
        try h2.add(TestInventory.moveAll(inv))
        h2.run()
        #expect(h2.starts.map { h2.scheduler.job($0.job).size / 1_000_000_000 } == [1, 3, 5, 7, 8, 9])
    }

    @Test("freed room goes to the best-ranked waiting job, whichever resource freed it")
    func freedRoomByRank() throws {
        // Two hosts; host A's jobs rank first. With a vCenter cap of 2, each completion must pick by rank.
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 4
        spec.size = { i in Int64(100 - i) * 1_000_000_000 }
        let inv = spec.make()
        var config = SchedulerConfiguration()
        config.limits.vcenterMaxJobs = 2
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(), configuration: config)
        try h.add(TestInventory.moveAll(inv))
        h.run()
        let order = h.starts.map { h.scheduler.job($0.job).size }
        #expect(order == order.sorted(by: >))
        #expect(h.auditProblems.isEmpty)
    }

    @Test("a VM on a full host is vMotioned to a host with room when the strategy says so")
    func proactiveVMotion() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 0
        let base = spec.make()
        // Four VMs, all on the first host.
        let hostA = base.hosts[0].ref, hostB = base.hosts[1].ref
        let vms = (0..<4).map { i in
            VMInfo(ref: MoRef("VirtualMachine", "vm-\(i)"), name: "vm\(i)", host: hostA, datastores: [base.datastores[0].ref],
                   committedBytes: Int64(100 - i) * 1_000_000_000, memoryMB: 8192)
        }
        let inv = Inventory(clusters: base.clusters, hosts: base.hosts, datastores: base.datastores, vms: vms)
        var asked: [BlockedInfo] = []
        let strategy = ClosureStrategy(
            limits: { _ in LimitOverrides(storageMovesPerHost: 1) },
            onBlocked: { _, info in asked.append(info); return .vmotion })
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.auditProblems.isEmpty, "\(h.auditProblems.prefix(3))")
        let vmotions = h.scheduler.jobs.filter(\.isProactive)
        #expect(!vmotions.isEmpty)
        #expect(asked.first?.host == hostA)
        #expect(asked.first?.candidateHosts == [hostB])
        for v in vmotions {
            #expect(v.state == .done)
            #expect(v.kind.destinationHost == hostB)
            // The storage move it served ran afterwards, from host B.
            let parent = h.scheduler.job(v.parent!)
            #expect(parent.state == .done)
            #expect(parent.sourceHost == hostB)
            #expect(parent.dispatchedAt! >= v.finishedAt!)
        }
        #expect(h.peakStorageMovesPerHost.values.allSatisfy { $0 <= 1 })
        // Each VM's storage moved exactly once.
        let storageStarts = h.starts.filter { h.scheduler.job($0.job).kind.movesStorage }
        #expect(storageStarts.count == 4)
        // The vMotion's own cost was counted: the event-driven timeline never shows
        // more than one storage move plus the vMotion on a host.
        #expect(h.scheduler.resourceUsage().allSatisfy { $0.peak <= $0.capacity })
    }

    @Test("with on_blocked = wait, jobs wait for their host")
    func blockedWait() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 0
        let base = spec.make()
        let vms = (0..<3).map { i in
            VMInfo(ref: MoRef("VirtualMachine", "vm-\(i)"), name: "vm\(i)", host: base.hosts[0].ref, datastores: [base.datastores[0].ref],
                   committedBytes: 10_000_000_000, memoryMB: 1024)
        }
        let inv = Inventory(clusters: base.clusters, hosts: base.hosts, datastores: base.datastores, vms: vms)
        var calls = 0
        let strategy = ClosureStrategy(limits: { _ in LimitOverrides(storageMovesPerHost: 1) }, onBlocked: { _, _ in calls += 1; return .wait })
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(calls > 0)
        #expect(h.scheduler.jobs.allSatisfy { !$0.isProactive })
        #expect(h.elapsed == 300, "three 100 s moves one after the other")
    }

    @Test("retriable faults are retried with exponential backoff and a VM check first")
    func retriableBackoff() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 1
        let inv = spec.make()
        var askedStrategy = false
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(onFailure: { _, _, _ in askedStrategy = true; return .skip }))
        var failuresLeft = 2
        h.startFault = { _ in
            guard failuresLeft > 0 else { return nil }
            failuresLeft -= 1
            return VCenterFault(type: "FileLocked", message: "locked")
        }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(!askedStrategy)
        #expect(h.starts.map { $0.time.timeIntervalSince(h.start) } == [0, 30, 90])
        #expect(h.starts.map(\.verify) == [false, true, true])
        let job = h.scheduler.jobs[0]
        #expect(job.state == .done)
        #expect(job.attempts == 3)
        let retries = h.events.filter { if case .retryScheduled = $0.kind { true } else { false } }
        #expect(retries.count == 2)
    }

    @Test("retriable faults past the attempt limit go to the strategy")
    func retriableExhausted() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 1
        let inv = spec.make()
        var config = SchedulerConfiguration()
        config.retry = RetryPolicy(initialDelay: 10, maxDelay: 15, maxAttempts: 3)
        var attemptsSeen: [Int] = []
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(onFailure: { _, _, a in attemptsSeen.append(a); return .skip }), configuration: config)
        h.taskFault = { _ in VCenterFault(type: "TaskInProgress", message: "busy") }
        try h.add(TestInventory.moveAll(inv))
        h.run()
        #expect(attemptsSeen == [3])
        #expect(h.scheduler.jobs[0].state == .skipped)
        let gaps = zip(h.starts.dropFirst(), h.starts).map { $0.time.timeIntervalSince($1.time) }
        let duration = Double(h.scheduler.jobs[0].size) / h.rate
        #expect(gaps == [duration + 10, duration + 15])
    }

    @Test("non-retriable faults follow the strategy: retry, skip, abort")
    func strategyDecisions() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 4
        let inv = spec.make()
        let bad = inv.vms[0].ref

        // skip
        let skip = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(onFailure: { _, _, _ in .skip }))
        skip.taskFault = { $0.vm == bad ? VCenterFault(type: "InvalidArgument", message: "no") : nil }
        try skip.add(TestInventory.moveAll(inv))
        #expect(skip.run() == .completed)
        #expect(skip.jobs(in: .skipped).map(\.vm) == [bad])
        #expect(skip.jobs(in: .skipped).first?.lastError == "InvalidArgument: no")
        #expect(skip.jobs(in: .done).count == 3)

        // retry (twice, then it works)
        var fails = 2
        let retry = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(onFailure: { _, _, _ in .retry }))
        retry.taskFault = { job in
            guard job.vm == bad, fails > 0 else { return nil }
            fails -= 1
            return VCenterFault(type: "InvalidArgument", message: "no")
        }
        try retry.add(TestInventory.moveAll(inv))
        #expect(retry.run() == .completed)
        #expect(retry.jobs(in: .done).count == 4)
        #expect(retry.scheduler.jobs.first { $0.vm == bad }?.attempts == 3)

        // abort: no new dispatches, running tasks finish. The largest VM starts first and fails at once.
        let largest = inv.vms.max { $0.committedBytes < $1.committedBytes }!.ref
        let abort = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(onFailure: { _, _, _ in .abort }))
        abort.startFault = { $0.vm == largest ? VCenterFault(type: "InvalidArgument", message: "no") : nil }
        try abort.add(TestInventory.moveAll(inv))
        let outcome = abort.run()
        guard case .aborted(let reason) = outcome else { Issue.record("expected abort, got \(String(describing: outcome))"); return }
        #expect(reason.contains("InvalidArgument"))
        #expect(abort.jobs(in: .failed).map(\.vm) == [largest])
        #expect(abort.jobs(in: .done).count == 1, "the one running when the fault came finished")
        #expect(abort.jobs(in: .pending).count == 2, "the rest stay pending for a resume")
        #expect(abort.running.isEmpty)
    }

    @Test("a throwing hook fails only its job")
    func throwingHook() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom in target\nstack traceback: ..." } }
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        let inv = spec.make()
        let bad = inv.vms[2].ref
        let strategy = ClosureStrategy(target: { job, candidates in
            if job.vm == bad { throw Boom() }
            return candidates.first?.ref
        })
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        let failed = h.jobs(in: .failed)
        #expect(failed.map(\.vm) == [bad])
        #expect(failed[0].lastError?.contains("boom in target") == true)
        #expect(h.jobs(in: .done).count == 5)
    }

    @Test("a target outside the candidates fails the job with a clear message")
    func badTarget() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 1
        let inv = spec.make()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(target: { _, _ in MoRef("Datastore", "datastore-old1") }))
        try h.add(TestInventory.moveAll(inv))
        h.run()
        #expect(h.scheduler.jobs[0].state == .failed)
        #expect(h.scheduler.jobs[0].lastError?.contains("not one of the candidates") == true)
    }

    @Test("a VM never moves twice; a VM already on its target needs no call")
    func moveOnce() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 2
        var inv = spec.make()
        var onNew = inv.vms[1]
        onNew.datastores = [TestInventory.newDatastores(inv)[0]]
        inv.update(onNew)
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        var requests = TestInventory.moveAll(inv)
        requests.append(.storageMove(inv.vms[0].ref, to: TestInventory.newDatastores(inv), label: "again"))
        try h.add(requests)
        #expect(h.run() == .completed)
        #expect(h.starts.count == 1)
        #expect(h.scheduler.jobs[0].state == .done)
        #expect(h.scheduler.jobs[1].state == .done)
        #expect(h.scheduler.jobs[1].attempts == 0, "already on target: no vCenter call")
        #expect(h.scheduler.jobs[2].state == .skipped)
        #expect(h.scheduler.jobs[2].lastError?.contains("never moves twice") == true)
    }

    @Test("jobs of one VM run one at a time, in request order")
    func jobsOfOneVM() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 1
        let inv = spec.make()
        let vm = inv.vms[0].ref
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add([
            JobRequest(vm: vm, kind: .removeSnapshot(.all, removeChildren: true, consolidate: true)),
            JobRequest.storageMove(vm, to: TestInventory.newDatastores(inv)),
            JobRequest(vm: vm, kind: .consolidate),
        ])
        #expect(h.run() == .completed)
        #expect(h.starts.map(\.op.methodName) == ["RemoveAllSnapshots_Task", "RelocateVM_Task", "ConsolidateVMDisks_Task"])
        let times = h.starts.map { $0.time.timeIntervalSince(h.start) }
        #expect(times == times.sorted() && Set(times).count == 3)
    }

    @Test("tasks already running in vCenter hold their resources until they end")
    func externalTasks() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 4
        let inv = spec.make()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        // Someone else's Storage vMotion of vm0 runs on the host: one slot left, and vm0 cannot
        // move as asked (a task already runs on it): skipped before anything starts, with why.
        let ext = TaskInfo(ref: MoRef("Task", "task-ext"), name: "VirtualMachine.relocate", entity: inv.vms[0].ref, state: .running)
        #expect(h.scheduler.externalTaskStarted(ext, now: h.now))
        try h.add(TestInventory.moveAll(inv))
        #expect(h.starts.count == 1)
        #expect(h.scheduler.job(h.starts[0].job).vm != inv.vms[0].ref)
        let blocked = h.scheduler.jobs.filter(\.cannotMove)
        #expect(blocked.map(\.vm) == [inv.vms[0].ref])
        #expect(blocked.first?.state == .skipped)
        #expect(blocked.first?.lastError?.contains("a task is already running on it (VirtualMachine.relocate task-ext)") == true)
        h.apply(h.scheduler.externalTaskFinished(ext.ref, now: h.now))
        #expect(h.starts.count == 2)
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).count == 3)
        #expect(h.auditProblems.isEmpty)
    }

    @Test("graceful stop lets running tasks finish; abandon ends at once")
    func stopping() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 5
        let inv = spec.make()

        let graceful = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try graceful.add(TestInventory.moveAll(inv))
        #expect(graceful.starts.count == 2)
        graceful.stop(graceful: true)
        #expect(graceful.outcome == nil, "waits for the two running tasks")
        #expect(graceful.run() == .stopped)
        #expect(graceful.starts.count == 2, "nothing new after the stop")
        #expect(graceful.jobs(in: .done).count == 2)
        #expect(graceful.jobs(in: .pending).count == 3)

        let abandon = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try abandon.add(TestInventory.moveAll(inv))
        abandon.stop(graceful: true)
        abandon.stop(graceful: false)
        #expect(abandon.outcome == .abandoned)
        #expect(abandon.jobs(in: .running).count == 2, "left running in vCenter")
    }

    @Test("a job that can never fit fails with what blocked it instead of hanging")
    func neverFits() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 2
        spec.newCapacity = 150_000_000_000
        spec.size = { _ in 100_000_000_000 }
        let inv = spec.make()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(limits: { _ in LimitOverrides(hostMaxCost: 2) }))
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        let errors = h.scheduler.jobs.compactMap(\.lastError)
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { $0.contains("more than the limit allows") })

        // Space: two 100 GB VMs, two new datastores of 150 GB: one each, then none left.
        var spec2 = spec
        spec2.vmsPerHost = 3
        let inv2 = spec2.make()
        let h2 = try SchedulerHarness(inventory: inv2, strategy: ClosureStrategy())
        try h2.add(TestInventory.moveAll(inv2))
        #expect(h2.run() == .completed)
        #expect(h2.jobs(in: .done).count == 2)
        #expect(h2.jobs(in: .failed).first?.lastError?.contains("free") == true)
    }

    @Test("makespan on a multi-cluster migration is close to the lower bound")
    func makespan() throws {
        var spec = TestInventory()
        spec.clusters = 3
        spec.hostsPerCluster = 8
        spec.vmsPerHost = 20
        spec.oldDatastores = 12
        spec.newDatastores = 12
        spec.size = { i in Int64(20 + (i * 7919) % 480) * 1_000_000_000 }
        let inv = spec.make()
        // hosts / 2 per cluster, as the classic strategy does.
        let strategy = ClosureStrategy(limits: { c in LimitOverrides(maxConcurrent: c.hosts.count / 2) })
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).count == inv.vms.count)
        #expect(h.auditProblems.isEmpty)
        // Lower bound per cluster: its bytes ÷ (rate × slots), or its largest VM's time.
        var bound = 0.0
        for cluster in inv.clusters {
            let vms = inv.vms.filter { $0.cluster == cluster.ref }
            let bytes = Double(vms.reduce(0) { $0 + $1.committedBytes })
            let largest = Double(vms.map(\.committedBytes).max()!) / h.rate
            bound = max(bound, bytes / (h.rate * Double(cluster.hosts.count / 2)), largest)
        }
        let ratio = h.elapsed / bound
        #expect(ratio <= 1.02, "makespan \(h.elapsed) s vs lower bound \(bound) s (×\(ratio))")
    }
}
