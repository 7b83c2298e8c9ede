import Foundation
import MigrationEngine
import VCenterModel

/// A fixture journal written through `Journal`'s own API, as a run writes it: a run with its
/// `run-started` names, then jobs in every state a report must tell apart.
struct ReportFixture {
    let path: String
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15 08:00:00 UTC

    static let cluster = MoRef("ClusterComputeResource", "domain-c1")
    static let host1 = MoRef("HostSystem", "host-1"), host2 = MoRef("HostSystem", "host-2")
    static let old1 = MoRef("Datastore", "ds-1"), old2 = MoRef("Datastore", "ds-2"), new1 = MoRef("Datastore", "ds-3")
    static let names: [MoRef: String] = [cluster: "prod-a", host1: "esx-01", host2: "esx-02", old1: "old-01", old2: "old-02", new1: "new-01"]
    static let gib: Int64 = 1 << 30

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mm-report-\(UUID().uuidString).journal").path
    }

    func remove() {
        for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// A storage move of `vm` from old-01 (config, disk) to new-01.
    static func move(_ id: Int, _ name: String, state: JobState, attempts: Int = 1, start: Double? = nil, end: Double? = nil,
                     error: String? = nil, cannotMove: Bool = false, cluster: MoRef? = cluster) -> Job {
        let vm = MoRef("VirtualMachine", "vm-\(id)")
        let moves = state == .pending && attempts == 0 ? [] : [
            FileMove(file: .config, label: "config", from: old1, to: new1, bytes: gib),
            FileMove(file: .disk(2000), label: "Hard disk 1", from: old2, to: new1, bytes: 9 * gib),
        ]
        return Job(id: JobID(id), vm: vm, vmName: name, cluster: cluster, kind: .storageMove(.to([new1])), size: 10 * gib, state: state,
                   attempts: attempts, lastError: error, target: state == .pending && attempts == 0 ? nil : new1, sourceHost: host1,
                   sourceDatastores: [old1, old2], createdAt: at(0), dispatchedAt: start.map { at($0 - 1) }, startedAt: start.map(at),
                   finishedAt: end.map(at), moves: moves, cannotMove: cannotMove)
    }

    /// Writes a run of `jobs`; `endedAt` records its end (nil: as after kill -9). The journal
    /// is closed (its lock given up) and its writer record names a process that has gone.
    func write(_ jobs: [Job], strategy: String = "wave1.lua", parameters: [String: String] = ["cluster": "prod-a"],
               outcome: RunOutcome? = .completed, endedAt: Double? = 100, events: [EngineEvent] = []) throws {
        let journal = try Journal(path: path)
        let run = try journal.beginRun(strategy: strategy, parameters: parameters, vcenter: "vc.example", at: Self.at(0))
        var batch = JournalBatch()
        batch.events.append(EngineEvent(time: Self.at(0), kind: .runStarted(RunStart(jobs: jobs.count, bytes: 0, resumed: false, names: Self.names))))
        for (rank, job) in jobs.enumerated() {
            batch.jobs[job.id] = job
            batch.ranks[job.id] = rank
        }
        batch.events += events
        try journal.write(batch, run: run)
        if let outcome, let endedAt { try journal.endRun(run, outcome: outcome, at: Self.at(endedAt)) }
        journal.close()
        // A writer record naming a process of this host that has ended (PID 2^22 + 1 is above
        // Linux's pid_max, so no process has it): the run reads as killed.
        try "pid=4194305\nhost=\(ProcessInfo.processInfo.hostName)\nsince=x\n".write(toFile: path + ".lock", atomically: true, encoding: .utf8)
    }

    /// A run in two change windows, [0, 100) and [200, 300): `w1-a` (started at 10, predicted to
    /// end at 90, ended at 110: 10 s past the close, 20 s later than predicted), `w1-b` (ended at
    /// 60 inside), `w2-a` (started at 210, predicted 280, ended 270). Boundaries as the
    /// scheduler emits them: opened at 0 and 200, closed at 100.
    static func windowedRun() -> (jobs: [Job], events: [EngineEvent]) {
        var a = move(1, "w1-a", state: .done, start: 10, end: 110)
        a.predictedEnd = at(90)
        var b = move(2, "w1-b", state: .done, start: 20, end: 60)
        b.predictedEnd = at(70)
        var c = move(3, "w2-a", state: .done, start: 210, end: 270)
        c.predictedEnd = at(280)
        var events: [EngineEvent] = [
            EngineEvent(time: at(0), kind: .window(open: true, end: at(100), next: nil)),
            EngineEvent(time: at(100), kind: .window(open: false, end: nil, next: at(200))),
            EngineEvent(time: at(200), kind: .window(open: true, end: at(300), next: nil)),
        ]
        for job in [a, b, c] {
            var dispatching = job
            dispatching.state = .dispatching
            events.append(EngineEvent(time: job.dispatchedAt!, kind: .jobChanged(dispatching, from: .pending)))
        }
        return ([a, b, c], events)
    }
}
