// engine-bench: the migration engine alone on simulated backends, 100,000 jobs over
// 1,000 hosts (100 clusters × 10 hosts). Prints CPU time, wall time and peak RSS of
// each phase. Run through scripts/bench/engine/run.sh (release build).
//
//   scheduler   the Scheduler state machine driven by a minimal event loop
//   runner      MigrationRunner (the real async driver) on a lean virtual-time vCenter
//   tracked     the same, every event fed to a ProgressTracker
//   simulator   MigrationRunner on VCenterSimulator's SimulatedVCenter (what `plan` runs)
//   forecast    one forecast of the run's end (ForecastSimulation) at 10 % of the jobs done:
//               the snapshot taken on the runner's executor, then the re-simulation of the
//               remaining jobs (run off the executor in a live run)
import Foundation
import Glibc
import HeapModule
import MigrationEngine
import Synchronization
import VCenterModel
import VCenterSimulator

struct Usage {
    var cpu: Double
    var wall: Double
    var maxRSSMB: Double

    static func now() -> Usage {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        let cpu = Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Usage(cpu: cpu, wall: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9, maxRSSMB: Double(u.ru_maxrss) / 1024)
    }
}

func report(_ name: String, _ before: Usage, _ after: Usage, _ extra: String) {
    print(String(format: "%-10@ cpu %6.2f s   wall %6.2f s   peak RSS %7.1f MB   %@", name, after.cpu - before.cpu,
                 after.wall - before.wall, after.maxRSSMB, extra))
}

let arguments: [String] = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ fallback: Int) -> Int {
    arguments.first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) } ?? fallback
}
let clusters = option("clusters", 100)
let hostsPerCluster = option("hosts", 10)
let vmCount = option("vms", 100_000)
let phases: Set<String> = Set(arguments.filter { !$0.contains("=") })
let runAll = phases.isEmpty

// The classic policy: hosts / 2 per cluster (2 Storage vMotions per host is vSphere's own limit).
func classicStrategy(_ targetsByCluster: [MoRef: [MoRef]]) -> ClosureStrategy {
    ClosureStrategy(
        select: { inv in inv.vms.compactMap { vm in vm.cluster.flatMap { targetsByCluster[$0] }.map { .storageMove(vm.ref, to: $0) } } },
        limits: { c in LimitOverrides(maxConcurrent: max(1, c.hosts.count / 2)) })
}

let config: SchedulerConfiguration = {
    var c = SchedulerConfiguration()
    c.limits.vcenterMaxJobs = 100_000
    return c
}()

let spec = try GenerateSpec(parsing: "clusters=\(clusters),hosts=\(hostsPerCluster),vms=\(vmCount),datastores=4,capacity=10000")
let t0 = Usage.now()
let inventory = try InventoryGenerator.generate(spec, referenceDate: Date(timeIntervalSince1970: 1_700_000_000))
let targets: [MoRef: [MoRef]] = {
    var t: [MoRef: [MoRef]] = [:]
    for c in inventory.clusters {
        let hosts = Set(c.hosts)
        t[c.ref] = inventory.datastores.filter { $0.name.hasPrefix("new") && $0.hosts.contains { hosts.contains($0) } }.map(\.ref)
    }
    return t
}()
let totalBytes = inventory.vms.reduce(Int64(0)) { $0 + $1.committedBytes }
report("inventory", t0, Usage.now(), "\(inventory.vms.count) VMs, \(inventory.hosts.count) hosts, \(inventory.datastores.count) datastores, \(ProgressRenderer.bytes(totalBytes))")

// MARK: Scheduler alone

if runAll || phases.contains("scheduler") {
    let rate = 150.0 * 1_048_576
    let before = Usage.now()
    let scheduler = try Scheduler(inventory: inventory, strategy: classicStrategy(targets), configuration: config)
    struct End: Comparable { var at: Double; var job: Int; static func < (a: End, b: End) -> Bool { (a.at, a.job) < (b.at, b.job) } }
    var ends = Heap<End>()
    var now = 0.0
    let epoch = Date(timeIntervalSince1970: 1_700_000_000)
    var starts = 0, peak = 0
    var pending = try scheduler.add(classicStrategy(targets).select(inventory), now: epoch)
    while true {
        var follow: [SchedulerAction] = []
        for action in pending {
            if case .start(let id, _, _, _) = action {
                starts += 1
                let job = scheduler.job(id)
                ends.insert(End(at: now + 15 + Double(job.size) / rate, job: id.rawValue))
                follow += scheduler.taskStarted(id, task: MoRef("Task", "t"), now: epoch.addingTimeInterval(now))
            }
        }
        _ = scheduler.drainEvents()
        peak = max(peak, scheduler.activeJobs)
        if !follow.isEmpty { pending = follow; continue }
        guard let e = ends.popMin() else { break }
        now = e.at
        let info = TaskInfo(ref: MoRef("Task", "t"), name: "VirtualMachine.relocate", state: .success)
        pending = scheduler.taskFinished(JobID(e.job), info: info, now: epoch.addingTimeInterval(now))
    }
    let after = Usage.now()
    let done = scheduler.jobs.filter { $0.state == .done }.count
    report("scheduler", before, after, "\(done) done, \(starts) starts, peak \(peak) concurrent, makespan \(ProgressRenderer.duration(now)), audit: \(scheduler.audit().isEmpty ? "ok" : "PROBLEMS")")
}

// MARK: One forecast at 10 % done

if runAll || phases.contains("forecast") {
    let rate = 150.0 * 1_048_576
    let scheduler = try Scheduler(inventory: inventory, strategy: classicStrategy(targets), configuration: config)
    scheduler.recordsEvents = false
    struct End: Comparable { var at: Double; var job: Int; static func < (a: End, b: End) -> Bool { (a.at, a.job) < (b.at, b.job) } }
    var ends = Heap<End>()
    var now = 0.0
    let epoch = Date(timeIntervalSince1970: 1_700_000_000)
    var rates = RateBook()
    var done = 0
    var pending = try scheduler.add(classicStrategy(targets).select(inventory), now: epoch)
    // Run the live scheduler to 10 % of its jobs done, each ended move a rate sample.
    while done < inventory.vms.count / 10 {
        var follow: [SchedulerAction] = []
        for action in pending {
            if case .start(let id, _, _, _) = action {
                let job = scheduler.job(id)
                ends.insert(End(at: now + 15 + Double(job.size) / rate, job: id.rawValue))
                follow += scheduler.taskStarted(id, task: MoRef("Task", "t"), now: epoch.addingTimeInterval(now))
            }
        }
        if !follow.isEmpty { pending = follow; continue }
        guard let e = ends.popMin() else { break }
        now = e.at
        let info = TaskInfo(ref: MoRef("Task", "t"), name: "VirtualMachine.relocate", state: .success)
        pending = scheduler.taskFinished(JobID(e.job), info: info, now: epoch.addingTimeInterval(now))
        let job = scheduler.job(JobID(e.job))
        if job.state == .done, let started = job.startedAt {
            rates.recordStorageMove(job.moves, seconds: epoch.addingTimeInterval(now).timeIntervalSince(started), now: epoch.addingTimeInterval(now))
            done += 1
        }
    }
    let before = Usage.now()
    let input = scheduler.forecastInput(rates: rates, now: epoch.addingTimeInterval(now))
    let copied = Usage.now()
    report("snapshot", before, copied, "forecast input copied on the runner's executor: \(input.jobs.count) jobs")
    let forecast = ForecastSimulation.run(input)
    let after = Usage.now()
    let left = input.jobs.filter { !$0.state.isTerminal }.count
    report("forecast", copied, after, "\(left) jobs re-simulated, predicted end +\(ProgressRenderer.duration((forecast?.end ?? epoch).timeIntervalSince(epoch))), "
        + "\(forecast?.clusters.count ?? 0) clusters, complete: \(forecast?.complete ?? false)")
    // The rest of the run, to compare with the prediction (same durations: exact rates).
    while true {
        var follow: [SchedulerAction] = []
        for action in pending {
            if case .start(let id, _, _, _) = action {
                let job = scheduler.job(id)
                ends.insert(End(at: now + 15 + Double(job.size) / rate, job: id.rawValue))
                follow += scheduler.taskStarted(id, task: MoRef("Task", "t"), now: epoch.addingTimeInterval(now))
            }
        }
        if !follow.isEmpty { pending = follow; continue }
        guard let e = ends.popMin() else { break }
        now = e.at
        pending = scheduler.taskFinished(JobID(e.job), info: TaskInfo(ref: MoRef("Task", "t"), name: "VirtualMachine.relocate", state: .success),
                                         now: epoch.addingTimeInterval(now))
    }
    print("forecast: actual end +\(ProgressRenderer.duration(now))")
}

// MARK: Runner on a lean virtual-time backend

/// A minimal VirtualTimeVCenter: relocations take 15 s + size ÷ 150 MB/s, then succeed.
final class LeanVCenter: VirtualTimeVCenter {
    struct State {
        var now: Date
        var inventory: Inventory
        /// Committed bytes by VM (a task's duration), looked up once per call.
        var sizes: [MoRef: Int64]
        var ends = Heap<Pending>()
        var seq = 0
    }
    struct Pending: Comparable {
        var at: Date
        var seq: Int
        var task: LiveTask
        static func < (a: Pending, b: Pending) -> Bool { (a.at, a.seq) < (b.at, b.seq) }
        static func == (a: Pending, b: Pending) -> Bool { a.seq == b.seq }
    }
    let state: Mutex<State>
    let displayName = "lean bench backend"
    init(_ inventory: Inventory) {
        let sizes = Dictionary(inventory.vms.map { ($0.ref, $0.committedBytes) }, uniquingKeysWith: { a, _ in a })
        state = Mutex(State(now: Date(timeIntervalSince1970: 1_700_000_000), inventory: inventory, sizes: sizes))
    }
    var now: Date { state.withLock { $0.now } }
    var nextEventTime: Date? { state.withLock { $0.ends.min?.at } }
    func advance(to time: Date) {
        while true {
            let due: LiveTask? = state.withLock { s in
                guard let e = s.ends.min, e.at <= time else { s.now = max(s.now, time); return nil }
                s.ends.removeMin()
                s.now = e.at
                return e.task
            }
            guard let task = due else { return }
            task.update { $0.state = .success; $0.progress = 100 }
        }
    }
    func about() async throws -> AboutInfo { AboutInfo(name: "lean", fullName: "lean", version: "8", apiVersion: "8") }
    func inventory() async throws -> Inventory { state.withLock { $0.inventory } }
    func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] { state.withLock { s in refs.compactMap { s.inventory.vm($0) } } }
    func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask {
        state.withLock { s in
            s.seq += 1
            let size = s.sizes[vm] ?? 0
            let task = LiveTask(TaskInfo(ref: MoRef("Task", "task-\(s.seq)"), name: "VirtualMachine.relocate", entity: vm, state: .running, startTime: s.now))
            s.ends.insert(Pending(at: s.now.addingTimeInterval(15 + Double(size) / (150 * 1_048_576)), seq: s.seq, task: task))
            return task
        }
    }
    func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask { try await relocateVM(vm, spec: RelocateSpec(host: host), priority: priority) }
    func consolidateDisks(_ vm: MoRef) async throws -> LiveTask { try await relocateVM(vm, spec: RelocateSpec(), priority: .defaultPriority) }
    func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask { try await consolidateDisks(vm) }
    func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult { .task(try await consolidateDisks(object)) }
    func task(_ ref: MoRef) async throws -> LiveTask { throw VCenterFault(type: "ManagedObjectNotFound", message: ref.value) }
    func cancelTask(_ ref: MoRef) async throws {}
    func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo] { [] }
    func close() async {}
}

func runPhase(_ name: String, _ vc: any VCenter, config: SchedulerConfiguration, targets: [MoRef: [MoRef]], tracker: ProgressTracker? = nil) async throws {
    var runConfig = RunConfiguration()
    runConfig.scheduler = config
    let before = Usage.now()
    var onEvent: (@Sendable (EngineEvent) -> Void)?
    if let tracker { onEvent = { event in tracker.record(event) } }
    let runner = MigrationRunner(vcenter: vc, strategy: classicStrategy(targets), configuration: runConfig, onEvent: onEvent)
    let summary = try await runner.run()
    let after = Usage.now()
    let peakHost = summary.peakUsage.filter { $0.kind == .hostCost }.map(\.peak).max() ?? 0
    report(name, before, after, "\(summary.moved.count) moved, outcome \(summary.outcome), makespan \(ProgressRenderer.duration(summary.duration)), "
        + "\(summary.calls) calls (\(String(format: "%.2f", summary.callsPerMovedVM))/VM), peak host cost \(peakHost)")
}

if runAll || phases.contains("runner") {
    try await runPhase("runner", LeanVCenter(inventory), config: config, targets: targets)
}

// The same with every event going to a ProgressTracker (what a live display costs).
if runAll || phases.contains("tracked") {
    let tracker = ProgressTracker()
    try await runPhase("tracked", LeanVCenter(inventory), config: config, targets: targets, tracker: tracker)
    let s = tracker.snapshot()
    print("tracked: tracker saw \(s.overall.done) of \(s.overall.jobs) done, \(ProgressRenderer.bytes(s.overall.bytesDone)) moved")
}

if runAll || phases.contains("simulator") {
    var simConfig = SimulatorConfiguration()
    simConfig.startTime = Date(timeIntervalSince1970: 1_700_000_000)
    let sim = try SimulatedVCenter(inventory: inventory, configuration: simConfig, source: "bench")
    try await runPhase("simulator", sim, config: config, targets: targets)
    let over = sim.stats.resources.filter(\.exceedsLimit)
    print("simulator: \(over.isEmpty ? "no resource above its limit" : "\(over.count) resource(s) above their limit")")
}
