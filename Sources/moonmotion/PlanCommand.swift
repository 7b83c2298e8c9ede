import ArgumentParser
import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import VCenterModel
import VCenterSimulator
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `moonmotion plan STRATEGY [name=value ...]`: runs the real engine and the real strategy
/// against the simulated vCenter on virtual time and prints the prediction (`PlanReport`):
/// makespan, finish per cluster, peak concurrency per resource, idle slot time.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Predict how long a migration strategy takes, before the window.",
        discussion: """
            Runs the strategy (a script that returns a table of hooks, as for \
            `moonmotion run`) through the real migration engine against a simulated \
            vCenter on virtual time: days of copying are simulated in seconds, and \
            nothing touches a real vCenter. Prints the predicted makespan (and, with \
            --start, the clock time it ends), when each cluster finishes against the \
            best its slots allow, how long slots sat idle (in the tails, or while work \
            waited), peak concurrency per host, datastore and vMotion network against \
            ESXi's limits, and failures.

            The inventory: --inventory FILE (saved by `moonmotion inventory --json`), or \
            --generate SPEC (clusters=3,hosts=8,vms=3000,from=legacy,to=new; keys: \
            \(GenerateSpec.keys.joined(separator: ", ")) — for real VMs' files: \
            disks=1-4 (disks per VM), flash=2 (datastores holding disks that stay), spread, \
            thin, rdm, vrdm, multiwriter, iso, templates, off, ft (fractions of VMs), pods=1 \
            (the `to` datastores as a datastore cluster); for strategies that select: \
            folders=prod|prod/db, attr.wave=1|2|3, tag.migration-wave=wave-1|wave-2, \
            guests=rhel9_64Guest|windows2019srv_64Guest, \
            given to the VMs in turn), or — with a vCenter \
            configured (--url or GOVC_URL) and neither — the live inventory, read once \
            (read-only). Default: the demo inventory (\(Backend.demoSpecText)), the one `run`, `repl --simulate` and `inventory --simulate` simulate.

            The rate model: each Storage vMotion copies at --rate MiB/s (default 150) \
            after 15 s of setup; --datastore-bandwidth MiB/s makes the copies on one \
            datastore share that bandwidth; --array NAME=GLOB:MBPS[:knee=K][:loss=L] \
            makes the datastores matching GLOB one storage array serving MBPS in total \
            (reads plus writes) to the copies touching it, max-min fair, losing L of it \
            per copy beyond K (the test vCenter's -array); a vMotion copies memory at --vmotion-rate \
            (default from the hosts' vMotion link). Measure your rate on a real move \
            first: the prediction is only as good as it. --max-concurrent N caps the jobs \
            running at once in the vCenter, as for `moonmotion run`.

            Rehearse trouble with --inject: `--inject every=40` fails every 40th Storage \
            vMotion with FileLocked (the engine retries it), `--inject \
            rate=0.02,fault=NoDiskSpace` fails 2% (the strategy's on_failure decides), \
            `--inject slow-datastore=legacy-01:0.5` halves one datastore's rate. The \
            report lists the failures.

            --out DIR writes timeline-hosts.html and timeline-datastores.html (timeline \
            charts to open in a browser), plan.json and plan.txt, and prints their \
            paths. --json prints plan.json's document instead of the text (what the \
            strategy prints goes to stderr then).

            Exit status: 0 when the plan was computed (failures in the simulation are \
            part of the report), 1 when it could not be (a bad strategy, inventory or \
            option).

            Examples:
              moonmotion plan examples/storage-migration.lua
              moonmotion plan examples/storage-migration.lua --generate clusters=3,hosts=8,vms=3000 --rate 200
              moonmotion inventory --json > inv.json
              moonmotion plan examples/storage-migration.lua from='ds-old-*' to='ds-new-*' --inventory inv.json --start "2026-12-05 22:00" --out plan/
              moonmotion plan examples/evacuate-datastore.lua datastore=legacy-01 --json > plan.json
              moonmotion plan examples/storage-migration.lua --inject every=25 --inject slow-host=esx-c1-01:0.5
              moonmotion plan examples/storage-migration.lua --array 'old=legacy-*:400:knee=4:loss=0.1' --array 'new=new-*:800'
            """
    )

    @OptionGroup var lua: LuaOptions
    @OptionGroup(title: "vCenter (only to read the live inventory)") var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("The strategy script (it returns a table of hooks).", valueName: "strategy"))
    var script: String

    @Argument(help: ArgumentHelp("Parameters for the strategy (params.<name>, strings).", valueName: "name=value"))
    var parameters: [String] = []

    @Option(help: ArgumentHelp("Simulate this inventory (a `moonmotion inventory --json` file).", valueName: "file"))
    var inventory: String?

    @Option(help: ArgumentHelp("Simulate a generated inventory (default \(Backend.demoSpecText), as `run`).", valueName: "spec"))
    var generate: String?

    @Option(help: ArgumentHelp("Copy rate of one Storage vMotion, MiB/s (default 150).", valueName: "MiBps"))
    var rate: Double?

    @Option(name: .customLong("datastore-bandwidth"), help: ArgumentHelp(
        "Bandwidth of each datastore, MiB/s, shared by the copies reading or writing it at once (default: not shared).",
        valueName: "MiBps"))
    var datastoreBandwidth: Double?

    @Option(name: .customLong("array"), help: ArgumentHelp(
        "A storage array whose bandwidth its copies share: NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F], repeatable (as the test vCenter's -array).",
        valueName: "spec"))
    var arrays: [String] = []

    @Option(name: .customLong("vmotion-rate"), help: ArgumentHelp(
        "Memory copy rate of one vMotion, MiB/s (default: a tenth of the hosts' vMotion link in Mbit/s: 1,000 on 10 GbE).",
        valueName: "MiBps"))
    var vMotionRate: Double?

    @Option(name: .customLong("inject"), help: ArgumentHelp(
        "Rehearse failures and slow hardware: key=value pairs, repeatable ("
            + FaultInjection.specKeys.map { "\($0.key): \($0.meaning)" }.joined(separator: "; ") + ").",
        valueName: "spec"))
    var inject: [String] = []

    @Option(help: ArgumentHelp(
        "When the window starts, local time (\"2026-12-05 22:00\", or ISO 8601): the report gives clock times.",
        valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("Also write the timeline charts, plan.json and plan.txt into this directory.", valueName: "dir"))
    var out: String?

    @Flag(help: "Print the plan as JSON (plan.json's document) instead of text.")
    var json = false

    @Option(name: .customLong("max-concurrent"), help: ArgumentHelp(
        "At most N jobs running at once in the whole vCenter (1-\(MaxConcurrentOption.limit); default: the strategy's vcenter_limits, else 256), as `moonmotion run --max-concurrent`.",
        valueName: "N"))
    var maxConcurrent: Int?

    @Option(name: .customLong("time-limit"), help: ArgumentHelp(
        "Stop the simulation after this much simulated time (90m, 36h, 30d, 2w; default 365d): a strategy that never lets its jobs finish gets a plan that says so, and plan exits 1.",
        valueName: "duration"))
    var timeLimit: String = "365d"

    @Option(name: .customLong("window"), help: ArgumentHelp(
        "Plan with change windows, as `run --window` (\"Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00\"): predicts how many windows the migration takes and the date it ends (from --start, else now).",
        valueName: "windows"))
    var window: String?

    @Option(name: .customLong("tz"), help: ArgumentHelp("The time zone of --window and --start (default: this machine's).", valueName: "zone"))
    var timeZone: String?

    func validate() throws {
        _ = try ScriptParameters(parameters)
        if inventory != nil && generate != nil {
            throw ValidationError("--inventory and --generate both choose the inventory; give one of them")
        }
        if let rate, !(rate > 0 && rate.isFinite) {
            throw ValidationError("--rate must be a positive number of MiB/s, not \(rate)")
        }
        if let datastoreBandwidth, !(datastoreBandwidth > 0 && datastoreBandwidth.isFinite) {
            throw ValidationError("--datastore-bandwidth must be a positive number of MiB/s, not \(datastoreBandwidth)")
        }
        if let maxConcurrent, let problem = MaxConcurrentOption.problem(maxConcurrent) {
            throw ValidationError("--max-concurrent: \(problem)")
        }
        for spec in arrays {
            do { _ = try StorageArray(parsing: spec) } catch { throw ValidationError("--array: \(error)") }
        }
        if let vMotionRate, !(vMotionRate > 0 && vMotionRate.isFinite) {
            throw ValidationError("--vmotion-rate must be a positive number of MiB/s, not \(vMotionRate)")
        }
        if let timeZone, TimeZone(identifier: timeZone) == nil {
            throw ValidationError("--tz '\(timeZone)' is not a time zone (e.g. Europe/Berlin, America/New_York, UTC)")
        }
        if let window {
            do { _ = try ChangeWindows(parsing: window) } catch { throw ValidationError("--window: \(error)") }
        }
        if DurationOption.seconds(timeLimit) == nil {
            throw ValidationError("--time-limit '\(timeLimit)' is not a duration; write it as 90m, 36h, 30d or 2w")
        }
        var faults = FaultInjection()
        for spec in inject {
            do { try faults.apply(spec: spec) } catch { throw ValidationError("--inject \(spec): \(error)") }
        }
        if let start, Self.parseStart(start) == nil {
            throw ValidationError("--start '\(start)' is not a time; write it as \"2026-12-05 22:00\" (local time) or ISO 8601 (2026-12-05T22:00:00+01:00)")
        }
    }

    mutating func run() async throws {
        let params = try ScriptParameters(parameters).values
        let windowStart = start.flatMap(Self.parseStart)
        let simStart = windowStart ?? Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))

        // The inventory.
        let inventory: Inventory
        let source: String
        do {
            (inventory, source) = try await loadInventory(referenceDate: simStart)
        } catch {
            throw CommandFailure.exit(error)
        }
        var simConfig = SimulatorConfiguration()
        simConfig.startTime = simStart
        if let rate { simConfig.storageVMotionRateMBps = rate }
        simConfig.datastoreBandwidthMBps = datastoreBandwidth
        simConfig.arrays = arrays.compactMap { try? StorageArray(parsing: $0) }   // checked in validate()
        simConfig.vMotionRateMBps = vMotionRate
        for spec in inject { try? simConfig.faults.apply(spec: spec) }   // checked in validate()
        let simulator: SimulatedVCenter
        do {
            simulator = try SimulatedVCenter(inventory: inventory, configuration: simConfig, source: source)
        } catch {
            throw CommandFailure.exit(error)
        }

        // The strategy, run on virtual time. With --json, whatever Lua prints goes to stderr.
        let redirect = json ? StandardOutputRedirect() : nil
        let outcome: (RunSummary, Inventory)
        do {
            outcome = try await simulate(simulator, parameters: params)
        } catch let error as LuaError {
            redirect?.restore()
            ScriptFailure.report(error)
            throw ExitCode(ScriptFailure.exitCode(for: error))
        } catch {
            redirect?.restore()
            throw CommandFailure.exit(error)
        }
        redirect?.restore()
        let (summary, _) = outcome

        let costs = SchedulerConfiguration().costs
        let slots = Self.clusterSlots(summary.peakUsage, inventory: inventory, costs: costs)
        var report = PlanReport(stats: simulator.stats, inventory: inventory, configuration: simConfig, runStart: simStart,
                                clusterSlots: slots, datastoreSlots: Self.datastoreSlots(summary.peakUsage, costs: costs), windowStart: windowStart,
                                title: "\((script as NSString).lastPathComponent), simulated on \(source == "generated" ? "a generated inventory" : source) "
                                    + "(\(Backend.describe(inventory)))")
        // The header counts what the engine decided too, so that it agrees with the Engine line:
        // a job that failed before any task (no target with room) is no failed task.
        let engineJobs = summary.jobs.filter { !$0.isProactive }
        report.totals.jobsFailedWithoutTask = engineJobs.filter { $0.state == .failed && $0.attempts == 0 }.count
        report.totals.jobsHeld = engineJobs.filter { $0.state == .pending && $0.heldByStrategy }.count
        let width = isatty(1) != 0 ? ProgressDisplay.terminalWidth() : 100
        var written: [URL] = []
        if let out {
            do {
                written = try report.writeFiles(to: URL(fileURLWithPath: out), width: width)
            } catch {
                throw CommandFailure.exit(error)
            }
        }
        var engineLines = Self.engineLines(summary, start: simStart)
        if let window, let windows = try? ChangeWindows(parsing: window, timeZone: timeZone.flatMap(TimeZone.init(identifier:)) ?? .current) {
            engineLines += Self.windowLines(summary, windows: windows)
        }
        if json {
            var data = try report.jsonData()
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
            if summary.failed.contains(where: { !$0.isProactive }) || summary.outcome != .completed {
                writeStandardError(engineLines.map { $0 + "\n" }.joined())
            }
            if !written.isEmpty { writeStandardError("wrote " + written.map(\.path).joined(separator: ", ") + "\n") }
        } else {
            var text = report.renderText(width: width)
            if !text.hasSuffix("\n") { text += "\n" }
            text += "\n" + engineLines.map { $0 + "\n" }.joined()
            if !written.isEmpty {
                text += "\nWrote:\n" + written.map { "  \($0.path)\n" }.joined()
            }
            writeStandardOutput(text)
        }
        if case .timeLimit = summary.outcome { throw ExitCode(1) }
    }

    /// The inventory to simulate and a word for its source.
    private func loadInventory(referenceDate: Date) async throws -> (Inventory, String) {
        if inventory != nil || generate != nil || !connection.isServerConfigured {
            return try Backend.loadInventory(file: inventory, generate: generate ?? Backend.demoSpecText, referenceDate: referenceDate)
        }
        let connected = try await connection.connect()
        writeStandardError("moonmotion: planning on the inventory of \(connected.url) (read once; nothing is changed there)\n")
        do {
            let live = try await connected.vcenter.inventory()
            await connected.vcenter.close()
            return (live, "inventory of \(connected.url)")
        } catch {
            await connected.vcenter.close()
            throw error
        }
    }

    /// Runs the strategy to its end against `simulator` and returns the engine's summary.
    private func simulate(_ simulator: SimulatedVCenter, parameters: [String: String]) async throws -> (RunSummary, Inventory) {
        let runtime = try LuaRuntime(options: lua.runtimeOptions(moduleDirectories: [RunCommand.directory(of: script)], secretFiles: connection.secretFiles))
        defer { runtime.shutdown() }
        runtime.installInterruptSignalHandler()
        try LuaBindings.install(into: runtime, connector: { _ in
            throw VCenterFault(type: "Plan", message: """
                moonmotion plan runs strategies (scripts that return a table of hooks) on a simulated \
                vCenter, and this script connects to vCenter from its main chunk; plan a strategy script instead
                """)
        })
        try Backend.followSimulatedClock(simulator, in: runtime)
        guard let strategy = try await LuaStrategy.fromScript(path: script, parameters: parameters, runtime: runtime) else {
            throw PlanError("\(script) returned no strategy table; plan needs a strategy (a script that returns a table of hooks: docs/LUA.md, \"Strategies\")")
        }
        var configuration = RunConfiguration()
        configuration.parameters = parameters
        configuration.scheduler.vcenterMaxJobsOverride = maxConcurrent
        configuration.simulatedTimeLimit = DurationOption.seconds(timeLimit)
        if let window {
            configuration.scheduler.windows = try? ChangeWindows(parsing: window, timeZone: timeZone.flatMap(TimeZone.init(identifier:)) ?? .current)
        }
        let runner = strategy.makeRunner(vcenter: simulator, configuration: configuration)
        // Ctrl-C ends a long plan at once (interrupting a hook would only fail its job).
        runtime.takeOverInterruptSignal { _ in
            writeStandardError("\nmoonmotion: interrupted; no plan\n")
            _exit(130)
        }
        let summary = try await runner.run()
        return (summary, simulator.inventorySnapshot)
    }

    /// Concurrent jobs per cluster as the engine configured them from the strategy's
    /// limits: the cluster cap, or the Storage vMotions its usable hosts may run
    /// (per-host count and cost), whichever is smaller. Clusters without a cluster cap or
    /// per-host count are left out (the report derives ESXi's 2 per host).
    static func clusterSlots(_ usage: [ResourceUsage], inventory: Inventory, costs: CostModel) -> [MoRef: Int] {
        var byCost: [MoRef: Int] = [:], byCount: [MoRef: Int] = [:], clusterJobs: [MoRef: Int] = [:]
        for u in usage {
            guard let object = u.object else { continue }
            switch u.kind {
            case .hostCost: byCost[object] = u.capacity / max(1, costs.storageVMotionHost)
            case .hostStorageMoves: byCount[object] = u.capacity
            case .clusterJobs: clusterJobs[object] = u.capacity
            default: break
            }
        }
        var slots: [MoRef: Int] = [:]
        for cluster in inventory.clusters {
            let hosts = inventory.hosts(in: cluster.ref).filter(\.isUsable)
            let counted = hosts.contains { byCount[$0.ref] != nil }
            guard clusterJobs[cluster.ref] != nil || counted else { continue }
            var perHosts = 0
            for h in hosts { perHosts += min(byCost[h.ref] ?? 2, byCount[h.ref] ?? Int.max) }
            slots[cluster.ref] = max(1, min(clusterJobs[cluster.ref] ?? Int.max, perHosts))
        }
        return slots
    }

    /// Concurrent Storage vMotions per datastore as the engine configured them: the
    /// datastore's cost room for Storage vMotions, or the strategy's count cap if lower.
    static func datastoreSlots(_ usage: [ResourceUsage], costs: CostModel) -> [MoRef: Int] {
        var slots: [MoRef: Int] = [:]
        for u in usage {
            guard let object = u.object else { continue }
            switch u.kind {
            case .datastoreCost: slots[object] = min(slots[object] ?? Int.max, u.capacity / max(1, costs.storageVMotionDatastore))
            case .datastoreStorageMoves: slots[object] = min(slots[object] ?? Int.max, u.capacity)
            default: break
            }
        }
        return slots
    }

    /// The engine's side of the simulated run: jobs by end state and what failed.
    /// `Windows: 3 windows (Mon-Fri 20:00-06:00 …, Europe/Berlin); the last job ends Wed 2026-12-09 04:12`.
    static func windowLines(_ summary: RunSummary, windows: ChangeWindows) -> [String] {
        var used: [DateInterval] = []
        for job in summary.jobs {
            guard let started = job.startedAt ?? job.dispatchedAt, let w = windows.window(containing: started) else { continue }
            if !used.contains(w) { used.append(w) }
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = windows.timeZone
        formatter.dateFormat = "EEE yyyy-MM-dd HH:mm"
        let end = summary.jobs.compactMap(\.finishedAt).max() ?? summary.endedAt
        let last = used.max { $0.start < $1.start }
        var lines = ["Windows: \(used.count) window\(used.count == 1 ? "" : "s") of \(windows); the last job ends \(formatter.string(from: end)) (\(windows.timeZone.identifier))"]
        if let last { lines.append("  last window: \(formatter.string(from: last.start)) – \(formatter.string(from: last.end))") }
        return lines
    }

    static func engineLines(_ summary: RunSummary, start: Date) -> [String] {
        let jobs = summary.jobs.filter { !$0.isProactive }
        let done = jobs.filter { $0.state == .done }.count
        let failed = jobs.filter { $0.state == .failed }
        let skipped = jobs.filter { $0.state == .skipped }
        let pending = jobs.filter { $0.state == .pending }.count
        let already = summary.alreadyOnTarget.filter { !$0.isProactive }.count
        var head = "Engine: \(jobs.count) job\(jobs.count == 1 ? "" : "s"): \(done) done"
        if already > 0 { head += " (\(already) already in place)" }
        head += ", \(failed.count) failed, \(skipped.count) skipped"
        let blocked = skipped.filter(\.cannotMove).count
        if blocked > 0 { head += " (\(blocked) cannot move as asked)" }
        if pending > 0 { head += ", \(pending) never started" }
        let held = jobs.filter { $0.state == .pending && $0.heldByStrategy }.count
        if held > 0 { head += " (\(held) held by the strategy)" }
        let vmotions = summary.proactiveVMotions.filter { $0.state == .done }.count
        if vmotions > 0 { head += "; \(vmotions) pro-active vMotion\(vmotions == 1 ? "" : "s")" }
        var lines = [head]
        lines += waveLines(jobs, start: start)
        if summary.outcome != .completed { lines.append("  the simulated run ended \(summary.outcome)") }
        if case .timeLimit = summary.outcome {
            // Name what never finished: the jobs a strategy kept going (or kept back) forever.
            let unfinished = jobs.filter { !$0.state.isTerminal }
            for job in unfinished.prefix(10) {
                let why = job.heldByStrategy ? "held by the strategy" : (job.lastError.map { "last: \($0)" } ?? job.state.rawValue)
                lines.append("  unfinished: \(job.vmName) (\(job.kind.name), \(job.attempts) attempt\(job.attempts == 1 ? "" : "s")): \(why)")
            }
            if unfinished.count > 10 { lines.append("  … and \(unfinished.count - 10) more unfinished") }
        }
        // VMs that cannot move are listed in full: they are the work to do before the window.
        for job in skipped where job.cannotMove {
            lines.append("  cannot move: \(job.vmName): \((job.lastError ?? "").replacingOccurrences(of: "cannot move: ", with: ""))")
        }
        let problems = failed + skipped.filter { !$0.cannotMove }
        for job in problems.prefix(20) {
            lines.append("  \(job.state.rawValue): \(job.vmName) (\(job.kind.name)): \(job.lastError ?? "no reason recorded")")
        }
        if problems.count > 20 { lines.append("  … and \(problems.count - 20) more") }
        return lines
    }

    /// A line per wave of the strategy (`wave` hook), lowest first: its jobs, the bytes they
    /// move and when its last job is predicted to end (from the simulated start). None
    /// without waves.
    static func waveLines(_ jobs: [Job], start: Date) -> [String] {
        let waves = Set(jobs.compactMap(\.wave)).sorted()
        guard !waves.isEmpty else { return [] }
        return waves.map { w in
            let members = jobs.filter { $0.wave == w }
            let bytes = members.filter { $0.kind.movesStorage }.reduce(Int64(0)) { $0 + $1.size }
            let unfinished = members.filter { !$0.state.isTerminal }.count
            let end = members.compactMap(\.finishedAt).max()
            let ends = unfinished > 0 ? "\(unfinished) not finished"
                : end.map { "ends at +\(ProgressRenderer.duration($0.timeIntervalSince(start)))" } ?? "nothing ran"
            return "  wave \(w): \(members.count) job\(members.count == 1 ? "" : "s"), \(ProgressRenderer.bytes(bytes)), \(ends)"
        }
    }

    /// `2026-12-05 22:00` (local), with seconds, with a `T`, a bare date, or ISO 8601 with a zone.
    static func parseStart(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let iso = ISO8601DateFormatter()
        if let date = iso.date(from: trimmed) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        for format in ["yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }
}

/// `moonmotion plan` could not run the strategy, as one line.
struct PlanError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Sends stdout to stderr until `restore()` (so `plan --json` keeps stdout for the JSON).
final class StandardOutputRedirect {
    private var saved: Int32

    init() {
        fflush(nil)
        saved = dup(1)
        dup2(2, 1)
    }

    /// Puts stdout back. Idempotent.
    func restore() {
        guard saved >= 0 else { return }
        fflush(nil)
        dup2(saved, 1)
        close(saved)
        saved = -1
    }

    deinit { restore() }
}
