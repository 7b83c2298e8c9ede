import Foundation
import Locking
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// `moonmotion rollback`'s jobs: built from a run's journaled jobs (each file's from → to, the
/// host it left) and checked against the inventory now.
@Suite("Rollback plan")
struct RollbackPlanTests {
    static let gib: Int64 = 1 << 30
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func ds(_ name: String) -> MoRef { MoRef("Datastore", "datastore-\(name)") }
    static func host(_ i: Int) -> MoRef { MoRef("HostSystem", "host-\(i)") }
    static func vm(_ i: Int) -> MoRef { MoRef("VirtualMachine", "vm-\(i)") }

    /// The inventory after a run that moved each VM's home and disk 2000 old-0 → new-0 and disk
    /// 2001 old-1 → new-1 (disk 2002 stayed on flash-0), and vMotioned it host-0 → host-1.
    static func afterRun(vms: Int = 1, edit: (inout VMInfo, Int) -> Void = { _, _ in }) -> Inventory {
        FileMoveTests.inventory(vms: vms, hosts: 3) { vm, i in
            vm.configDatastore = ds("new-0")
            vm.disks[0].datastore = ds("new-0")
            vm.disks[1].datastore = ds("new-1")
            vm.host = host(1)
            edit(&vm, i)
        }
    }

    /// The run's done storage move of VM `i` (and the files it moved), then its host move.
    static func runJobs(vm i: Int, firstID: Int = 0, hostMove: Bool = true, proactive: Bool = false) -> [Job] {
        let moves = [
            FileMove(file: .config, label: "config", from: ds("old-0"), to: ds("new-0"), bytes: gib),
            FileMove(file: .disk(2000), label: "Hard disk 1", from: ds("old-0"), to: ds("new-0"), bytes: 10 * gib),
            FileMove(file: .disk(2001), label: "Hard disk 2", from: ds("old-1"), to: ds("new-1"), bytes: 20 * gib),
        ]
        var jobs: [Job] = []
        let hostJob = Job(id: JobID(firstID), vm: vm(i), vmName: "db-\(i)", cluster: nil,
                          kind: .hostMove(host: host(1), pool: nil, method: .relocate), size: 4 * gib, state: .done, attempts: 1,
                          sourceHost: host(0), createdAt: t0, finishedAt: t0 + 10, parent: proactive ? JobID(firstID + 1) : nil)
        if hostMove && proactive { jobs.append(hostJob) }
        jobs.append(Job(id: JobID(firstID + 1), vm: vm(i), vmName: "db-\(i)", cluster: nil,
                        kind: .storageMove(StorageMove(targets: [ds("new-0"), ds("new-1")], sources: [ds("old-0"), ds("old-1")], keepTogether: false)),
                        size: 31 * gib, state: .done, attempts: 1, sourceHost: proactive ? host(1) : host(0), createdAt: t0,
                        finishedAt: t0 + 100, moves: moves))
        if hostMove && !proactive {
            var h = hostJob
            h.finishedAt = t0 + 200
            jobs.append(Job(id: JobID(firstID + 2), vm: vm(i), vmName: "db-\(i)", cluster: nil, kind: h.kind, size: h.size, state: .done,
                            attempts: 1, sourceHost: host(0), createdAt: t0, finishedAt: t0 + 200))
        }
        return jobs
    }

    @Test("each file the run moved goes back to its own origin, the file that stayed is not touched, and the host goes back in the same relocation")
    func filesAndHostGoBack() throws {
        let inv = Self.afterRun()
        let plan = RollbackPlan.make(jobs: Self.runJobs(vm: 0), inventory: inv)
        #expect(plan.leftAlone.isEmpty && plan.unfinished.isEmpty)
        let move = try #require(plan.moves.first)
        #expect(plan.moves.count == 1)
        #expect(move.files.map(\.file) == [.config, .disk(2000), .disk(2001)])
        #expect(move.files.map(\.from) == [Self.ds("new-0"), Self.ds("new-0"), Self.ds("new-1")])
        #expect(move.files.map(\.to) == [Self.ds("old-0"), Self.ds("old-0"), Self.ds("old-1")])
        #expect(move.files.map(\.bytes) == [Self.gib, 10 * Self.gib, 20 * Self.gib], "the bytes the copy back writes, from the inventory")
        #expect(move.hostFrom == Self.host(1) && move.hostTo == Self.host(0))
        guard case .storageAndHostMove(let storage, let host, _) = move.request.kind else {
            Issue.record("one relocation for files and host, got \(move.request.kind)")
            return
        }
        #expect(host == Self.host(0))
        // What the engine will move: exactly those three files, each to its origin.
        let vm = try #require(inv.vm(Self.vm(0)))
        #expect(storage.movingFiles(of: vm).map(\.id) == [.config, .disk(2000), .disk(2001)])
        #expect(storage.allowed(for: vm.files[1]) == [Self.ds("old-0")])
        #expect(storage.allowed(for: vm.files[2]) == [Self.ds("old-1")])
        #expect(storage.allowed(for: vm.files[3]) == nil, "disk 2002 stayed on flash-0 in the run, so it stays now")
        #expect(plan.bytes == 31 * Self.gib)
    }

    @Test("a pro-active vMotion counts as the run's host move: the VM goes back to the host it was on before it")
    func proactiveVMotionIsRolledBack() throws {
        let plan = RollbackPlan.make(jobs: Self.runJobs(vm: 0, proactive: true), inventory: Self.afterRun())
        let move = try #require(plan.moves.first)
        #expect(move.hostTo == Self.host(0))
        #expect(move.request.kind.movesHost && move.request.kind.movesStorage)
    }

    @Test("storage only: a storage move back, no host move; host only: a host move back, no copy")
    func storageOnlyAndHostOnly() throws {
        let storageOnly = RollbackPlan.make(jobs: Self.runJobs(vm: 0, hostMove: false), inventory: Self.afterRun { vm, _ in vm.host = Self.host(0) })
        let s = try #require(storageOnly.moves.first)
        #expect(s.hostTo == nil)
        guard case .storageMove = s.request.kind else { Issue.record("\(s.request.kind)"); return }

        let hostJob = Job(id: JobID(0), vm: Self.vm(0), vmName: "db-0", cluster: nil, kind: .hostMove(host: Self.host(1), pool: nil, method: .relocate),
                          size: 4 * Self.gib, state: .done, attempts: 1, sourceHost: Self.host(0), createdAt: Self.t0, finishedAt: Self.t0 + 5)
        let hostOnly = RollbackPlan.make(jobs: [hostJob], inventory: FileMoveTests.inventory(hosts: 3) { vm, _ in vm.host = Self.host(1) })
        let h = try #require(hostOnly.moves.first)
        #expect(h.files.isEmpty && hostOnly.bytes == 0)
        #expect(h.request.kind == .hostMove(host: Self.host(0), pool: nil, method: .relocate))
    }

    @Test("a VM the run moved into another cluster goes back into its origin cluster's root resource pool")
    func backAcrossClusters() throws {
        let a = MoRef("ClusterComputeResource", "domain-a"), b = MoRef("ClusterComputeResource", "domain-b")
        let hostA = HostInfo(ref: Self.host(0), name: "esx-a", cluster: a), hostB = HostInfo(ref: Self.host(1), name: "esx-b", cluster: b)
        let pools = [
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-a"), name: "Resources", owner: a, parent: a),
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-a2"), name: "prod", owner: a, parent: MoRef("ResourcePool", "resgroup-a")),
            ResourcePoolInfo(ref: MoRef("ResourcePool", "resgroup-b"), name: "Resources", owner: b, parent: b),
        ]
        let vm = VMInfo(ref: Self.vm(0), name: "db-0", host: hostB.ref, cluster: b, memoryMB: 4096)
        let inv = Inventory(clusters: [ClusterInfo(ref: a, name: "a", hosts: [hostA.ref]), ClusterInfo(ref: b, name: "b", hosts: [hostB.ref])],
                            hosts: [hostA, hostB], datastores: [], vms: [vm], resourcePools: pools)
        let job = Job(id: JobID(0), vm: vm.ref, vmName: "db-0", cluster: a, kind: .hostMove(host: hostB.ref, pool: pools[2].ref, method: .relocate),
                      size: 4 * Self.gib, state: .done, attempts: 1, sourceHost: hostA.ref, createdAt: Self.t0, finishedAt: Self.t0 + 5)
        let move = try #require(RollbackPlan.make(jobs: [job], inventory: inv).moves.first)
        #expect(move.request.kind == .hostMove(host: hostA.ref, pool: pools[0].ref, method: .relocate))
    }

    @Test("left alone, each with its reason: moved again since (a file, the host), gone, origin datastore or host gone, origin host unusable, already back")
    func leftAloneReasons() throws {
        // VMs 0…7, each with the same run; the inventory differs per VM.
        var jobs: [Job] = []
        for i in 0..<8 { jobs += Self.runJobs(vm: i, firstID: 10 * i) }
        var inv = Self.afterRun(vms: 8) { vm, i in
            switch i {
            case 1: vm.disks[1].datastore = Self.ds("flash-0")  // disk 2001 moved again
            case 2: vm.host = Self.host(2)                        // the VM moved to another host since
            case 7: vm.configDatastore = Self.ds("old-0"); vm.disks[0].datastore = Self.ds("old-0")
                    vm.disks[1].datastore = Self.ds("old-1"); vm.host = Self.host(0)   // already back
            default: break
            }
        }
        // VM 3 is gone; VM 4's origin old-1 is gone: rebuild the inventory without them.
        let vms = inv.vms.filter { $0.ref != Self.vm(3) }
        var datastores = inv.datastores
        var hosts = inv.hosts
        // VM 5's and 6's runs came from hosts that are now in maintenance / disconnected.
        hosts.append(HostInfo(ref: Self.host(5), name: "esx-5", cluster: hosts[0].cluster, inMaintenanceMode: true))
        hosts.append(HostInfo(ref: Self.host(6), name: "esx-6", cluster: hosts[0].cluster, connectionState: "notResponding"))
        for k in jobs.indices where jobs[k].vm == Self.vm(5) || jobs[k].vm == Self.vm(6) {
            jobs[k].sourceHost = jobs[k].vm == Self.vm(5) ? Self.host(5) : Self.host(6)
        }
        // VM 4: its disk 2001 came from a datastore that has since been removed.
        for k in jobs.indices where jobs[k].vm == Self.vm(4) {
            jobs[k].moves = jobs[k].moves.map { m in
                var m = m
                if m.file == .disk(2001) { m.from = Self.ds("gone-9") }
                return m
            }
        }
        datastores = datastores.filter { $0.name != "gone-9" }
        inv = Inventory(clusters: inv.clusters, hosts: hosts, datastores: datastores, vms: vms)

        let plan = RollbackPlan.make(jobs: jobs, inventory: inv)
        #expect(plan.moves.map(\.vmName) == ["db-0"])
        let reasons = Dictionary(uniqueKeysWithValues: plan.leftAlone.map { ($0.vmName, $0.reasons.joined(separator: "; ")) })
        #expect(reasons.count == 7)
        #expect(reasons["db-1"] == "moved again since: disk 2 is on flash-0, the run put it on new-1")
        #expect(reasons["db-2"] == "moved again since: on host esx-2, the run put it on esx-1")
        #expect(reasons["db-3"] == "the VM no longer exists")
        #expect(reasons["db-4"] == "disk 2's origin datastore \(Self.ds("gone-9")) no longer exists")
        #expect(reasons["db-5"] == "its origin host esx-5 is in maintenance mode")
        #expect(reasons["db-6"] == "its origin host esx-6 is notResponding")
        #expect(reasons["db-7"] == "already back where it came from")
    }

    @Test("jobs the run never finished are listed and not rolled back; a moot pro-active vMotion is not listed; a VM already on target is not moved")
    func unfinishedJobs() throws {
        var jobs = Self.runJobs(vm: 0, hostMove: false)
        jobs.append(Job(id: JobID(5), vm: Self.vm(1), vmName: "db-1", cluster: nil, kind: .storageMove(.to([Self.ds("new-0")])), size: Self.gib,
                        state: .failed, attempts: 2, lastError: "FileLocked: the file is locked", createdAt: Self.t0))
        jobs.append(Job(id: JobID(6), vm: Self.vm(2), vmName: "db-2", cluster: nil, kind: .storageMove(.to([Self.ds("new-0")])), size: Self.gib,
                        state: .pending, createdAt: Self.t0))
        jobs.append(Job(id: JobID(7), vm: Self.vm(2), vmName: "db-2", cluster: nil, kind: .hostMove(host: Self.host(1), pool: nil, method: .relocate),
                        size: Self.gib, state: .skipped, createdAt: Self.t0, parent: JobID(6)))
        // Done without a call: the VM was on its target already.
        jobs.append(Job(id: JobID(8), vm: Self.vm(3), vmName: "db-3", cluster: nil, kind: .storageMove(.to([Self.ds("old-0")])), size: 0,
                        state: .done, attempts: 0, createdAt: Self.t0))
        let plan = RollbackPlan.make(jobs: jobs, inventory: Self.afterRun(vms: 4) { vm, _ in vm.host = Self.host(0) })
        #expect(plan.moves.map(\.vmName) == ["db-0"])
        #expect(plan.leftAlone.isEmpty)
        #expect(plan.unfinished.map(\.job) == [JobID(5), JobID(6)])
        #expect(plan.unfinished.map(\.state) == [.failed, .pending])
        let lines = plan.lines(names: [:]).joined(separator: "\n")
        #expect(lines.contains("2 job(s) the run never finished are not rolled back:"))
        #expect(lines.contains("db-1: job#5 (storage) failed: FileLocked: the file is locked"))
    }

    @Test("the listing: each VM with every file from → to and its bytes, the host from → to, the VMs left alone with why")
    func listing() throws {
        var jobs = Self.runJobs(vm: 0)
        jobs += Self.runJobs(vm: 1, firstID: 10)
        let inv = Self.afterRun(vms: 2) { vm, i in if i == 1 { vm.host = Self.host(2) } }
        var names: [MoRef: String] = [:]
        for d in inv.datastores { names[d.ref] = d.name }
        for h in inv.hosts { names[h.ref] = h.name }
        let lines = RollbackPlan.make(jobs: jobs, inventory: inv).lines(names: names)
        #expect(lines == [
            "1 VM(s) to move back, 31.0 GiB to copy:",
            "  db-0  31.0 GiB",
            "    config (1.0 GiB) new-0 → old-0",
            "    disk 1 (10.0 GiB) new-0 → old-0",
            "    disk 2 (20.0 GiB) new-1 → old-1",
            "    host esx-1 → esx-0",
            "1 VM(s) the run moved are left alone:",
            "  db-1: moved again since: on host esx-2, the run put it on esx-1",
        ], "\(lines)")
    }

    /// A journaled run on the simulator (in `dir`): VMs 0-3 evacuate old-* file by file (disk
    /// 2002 stays on flash-0), VMs 4-5 move host only. Returns the inventory before it, the
    /// simulator after it and the run's jobs as the journal recorded them.
    static func journaledRun(in dir: URL) async throws -> (before: Inventory, sim: SimulatedVCenter, jobs: [Job]) {
        let before = FileMoveTests.inventory(vms: 6, hosts: 3) { vm, i in vm.host = Self.host(i % 2) }
        var config = SimulatorConfiguration()
        config.startTime = Self.t0
        let sim = try SimulatedVCenter(inventory: before, configuration: config)
        let forward = ClosureStrategy(select: { inv in
            inv.vms.map { vm -> JobRequest in
                let n = Int(vm.ref.value.dropFirst(3))!
                if n >= 4 { return .hostMove(vm.ref, to: Self.host(2)) }
                let move = StorageMove(targets: [Self.ds("new-0"), Self.ds("new-1")], sources: [Self.ds("old-0"), Self.ds("old-1")], keepTogether: false)
                return .storageMove(vm.ref, move)
            }
        })
        let journal = try Journal(path: dir.appendingPathComponent("run.journal").path)
        let first = try await MigrationRunner(vcenter: sim, strategy: forward, journal: journal).run()
        #expect(first.outcome == .completed && first.failed.isEmpty)
        journal.close()
        let moved = try await sim.inventory()
        #expect(moved.vms.prefix(4).allSatisfy { !$0.datastores.contains(Self.ds("old-0")) && !$0.datastores.contains(Self.ds("old-1")) })
        #expect(moved.vms.suffix(2).allSatisfy { $0.host == Self.host(2) })
        let read = try Journal(path: journal.path, access: .read)
        return (before, sim, try read.jobs(of: try #require(try read.latestRun()).id).map(\.job))
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rollback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every VM of `before` has its host and every file where it was.
    static func expectRestored(_ before: Inventory, _ after: Inventory) throws {
        for vm in before.vms {
            let now = try #require(after.vm(vm.ref))
            #expect(now.host == vm.host, "\(vm.name): host")
            #expect(now.files.map(\.datastore) == vm.files.map(\.datastore), "\(vm.name): files")
        }
    }

    @Test("round trip on the simulator: a journaled run moves files and hosts, the rollback run puts every file and host back, one relocation per VM each way, no limit exceeded")
    func roundTripOnTheSimulator() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (before, sim, jobs) = try await Self.journaledRun(in: dir)
        let movesAfterRun = sim.stats.movesPerVM

        let rollbackJournal = try Journal(path: dir.appendingPathComponent("run.journal.rollback").path)
        let back = try await MigrationRunner(vcenter: sim, strategy: RollbackStrategy(jobs: jobs), journal: rollbackJournal).run()
        #expect(back.outcome == .completed && back.failed.isEmpty, "\(back.failed.map { $0.lastError ?? "" })")
        #expect(back.done.count == 6)

        let after = try await sim.inventory()
        try Self.expectRestored(before, after)
        let stats = sim.stats
        for vm in before.vms { #expect(stats.movesPerVM[vm.ref] == (movesAfterRun[vm.ref] ?? 0) + 1, "\(vm.name): one relocation back") }
        #expect(stats.exceededLimits.isEmpty)

        // Rolled back again, nothing is left to move: every VM is already where it came from.
        let again = RollbackPlan.make(jobs: jobs, inventory: after)
        #expect(again.moves.isEmpty && again.leftAlone.count == 6 && again.leftAlone.allSatisfy { $0.reasons == ["already back where it came from"] })
    }

    @Test("a rollback killed half-way (the journal's process dies) and resumed puts every VM back, none relocated twice")
    func killedRollbackResumes() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (before, sim, jobs) = try await Self.journaledRun(in: dir)
        let movesAfterRun = sim.stats.movesPerVM

        let path = dir.appendingPathComponent("run.journal.rollback").path
        let journal = try Journal(path: path)
        let seen = Locked(0)
        journal.injectCrash { batch in
            guard !batch.taskRefs.isEmpty else { return nil }
            return seen.withLock { $0 += 1; return $0 } == 3 ? .afterWrite : nil
        }
        await #expect(throws: EngineError.self) {
            try await MigrationRunner(vcenter: sim, strategy: RollbackStrategy(jobs: jobs), journal: journal).run()
        }
        #expect(journal.hasCrashed)
        journal.close()

        var resume = RunConfiguration()
        resume.resume = true
        let back = try await MigrationRunner(vcenter: sim, strategy: RollbackStrategy(jobs: jobs), configuration: resume,
                                             journal: try Journal(path: path)).run()
        #expect(back.outcome == .completed && back.failed.isEmpty, "\(back.failed.map { $0.lastError ?? "" })")
        try Self.expectRestored(before, try await sim.inventory())
        for vm in before.vms {
            #expect(sim.stats.movesPerVM[vm.ref] == (movesAfterRun[vm.ref] ?? 0) + 1, "\(vm.name): relocated back once")
        }
    }
}
