import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import RunNotifications
import RunReport
import StatusServer
import Synchronization
import VCenterModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `moonmotion run` for a script that returned a strategy: runs it through the migration
/// engine against the configured vCenter or the built-in simulator, with a journal, live
/// progress, `--events`, Ctrl-C handling and a closing summary (or, with `--dry-run`,
/// prints the ordered plan and starts nothing).
///
/// Exit status (`exitStatus`): 0 when every job ended done or deliberately skipped; 1 when
/// jobs failed, the strategy aborted or the run could not start; 130 after Ctrl-C (once:
/// running tasks finished, pending jobs left for `--resume`; twice: tasks left running in
/// vCenter, recorded in the journal).
struct StrategyRun {
    /// The strategy the script returned (or `rollback`'s `RollbackStrategy`).
    let strategy: any Strategy & Sendable
    /// The runtime it lives in (the runner runs on its executor).
    let runtime: LuaRuntime
    /// The script's path as given.
    let script: String
    /// `name=value` parameters, journaled with the run.
    let parameters: [String: String]
    let options: StrategyRunOptions
    let connection: ConnectionOptions

    /// Exit status after Ctrl-C.
    static let interruptedStatus: Int32 = 130

    /// Runs the strategy to its end and returns the exit status. Every problem is reported
    /// on stderr as one line (plus a traceback for errors raised in Lua).
    func execute() async -> Int32 {
        let backend: Backend
        do {
            backend = try await Backend.make(connection: connection, options: options)
        } catch {
            writeStandardError("moonmotion: \(error)\n")
            return 1
        }
        if let banner = backend.banner { writeStandardOutput(banner + "\n") }
        let status = await execute(on: backend)
        await backend.close()
        return status
    }

    /// Runs the strategy on `backend` (already made: `rollback` checks it first).
    func execute(on backend: Backend) async -> Int32 {
        var configuration = RunConfiguration()
        configuration.strategyName = script
        configuration.parameters = parameters
        configuration.resume = options.resume
        configuration.scheduler.vcenterMaxJobsOverride = options.maxConcurrent
        configuration.scheduler.windows = options.changeWindows
        configuration.scheduler.stopAtWindowEnd = options.untilWindowEnd
        // A test vCenter on scaled time (scripts/vcsim `-speed S`; for tests and benchmarks):
        // the run takes vCenter's clock (`CurrentTime`) running S× as its own, so change windows,
        // predictions and the journal are on the simulated calendar `plan --window` predicts.
        if backend.simulator == nil, let text = ProcessInfo.processInfo.environment["MOONMOTION_CLOCK_SPEED"],
           let speed = Double(text), speed > 0, speed.isFinite {
            let offset = (try? await ServerClock.measure(backend.vcenter))?.offset ?? 0
            let localBase = Date()
            let serverBase = localBase.addingTimeInterval(offset)
            configuration.clock = { serverBase.addingTimeInterval(Date().timeIntervalSince(localBase) * speed) }
            configuration.clockSpeed = speed
        }
        // The ETA the display, /api/status, /metrics and `status` show: re-forecast from the rates
        // the run measures (at most once a minute of run time, sooner after a rate shift).
        configuration.forecast = ForecastTrigger()
        do {
            try Self.applyForecastTuning(ProcessInfo.processInfo.environment["MOONMOTION_FORECAST"], to: &configuration)
        } catch {
            writeStandardError("moonmotion: \(error)\n")
            return 1
        }
        do {
            if let simulator = backend.simulator { try Backend.followSimulatedClock(simulator, in: runtime) }
        } catch {
            writeStandardError("moonmotion: \(error)\n")
            return 1
        }

        if options.dryRun {
            let runner = makeRunner(vcenter: backend.vcenter, configuration: configuration)
            do {
                let plan = try await runner.plan()
                writeStandardOutput(plan.lines().map { $0 + "\n" }.joined())
                if let note = plan.proactiveNote { writeStandardOutput(note + "\n") }
                writeStandardOutput("dry run: nothing was started\n")
                return 0
            } catch {
                writeStandardError("moonmotion: \(error)\n")
                return 1
            }
        }

        // The journal: asked for, or by default next to the user for a real vCenter.
        var journal: Journal?
        if let path = journalPath(backend) {
            let exists = FileManager.default.fileExists(atPath: path)
            if options.resume && !exists {
                writeStandardError("moonmotion: --resume: there is no journal at \(path), so no run to continue; run without --resume to start one\n")
                return 1
            } else if options.journal == nil {
                writeStandardError("moonmotion: journal: \(path) (if the run is interrupted, continue it with --resume)\n")
            }
            do {
                journal = try Journal(path: path)
            } catch {
                writeStandardError("moonmotion: \(error)\n")
                return 1
            }
        } else if options.resume {
            writeStandardError("moonmotion: --resume needs the journal of the run to continue: add --journal FILE\n")
            return 1
        }

        // --plan: read before anything starts, so a wrong file stops the run at once.
        var planJSON: String?
        if let path = options.plan {
            guard journal != nil else {
                writeStandardError("moonmotion: --plan is kept in the run's journal, and this run keeps none: add --journal FILE (or --report DIR)\n")
                return 1
            }
            do {
                let plan = try ReportPlan(planJSON: try Data(contentsOf: URL(fileURLWithPath: path)))
                planJSON = try plan.json()
                // Change windows predict a move's end by the plan's rate until one is measured.
                if let rate = plan.rateMBps, rate > 0 { configuration.scheduler.predictedRate = rate * 1_048_576 }
                if let setup = plan.setupSeconds, setup >= 0 { configuration.scheduler.predictedOverhead = setup }
            } catch {
                writeStandardError("moonmotion: --plan \(path): \(error)\n")
                return 1
            }
        }

        var events: EventLogWriter?
        if let path = options.events {
            do {
                events = try EventLogWriter(path: path)
            } catch {
                writeStandardError("moonmotion: \(error.localizedDescription)\n")
                return 1
            }
        }
        defer { events?.close() }

        let speed = backend.simulator.flatMap { sim -> Double? in
            if case .scaled(let s) = sim.configuration.clock { return s }
            return nil
        } ?? 1
        let clock: @Sendable () -> Date
        if let simulator = backend.simulator {
            clock = { simulator.now }
        } else {
            clock = configuration.clock
        }
        let display = ProgressDisplay(
            title: "\((script as NSString).lastPathComponent) on \(backend.name)", mode: ProgressDisplay.defaultMode,
            rateWindow: max(900, 15 * speed), clock: clock, logInterval: backend.isSimulated ? 5 : 10)
        let eventLog = events
        let scriptName = (script as NSString).lastPathComponent
        let notifier = options.notify.isEmpty ? nil : Notifier(urls: options.notify, log: { writeStandardError("moonmotion: \($0)\n") })
        let plannedJSON = planJSON, planJournal = journal
        let runner = makeRunner(vcenter: backend.vcenter, configuration: configuration, journal: journal) { event in
            // The plan goes into the journal with the run it belongs to (begun, or resumed, by now).
            if let planJSON = plannedJSON, let journal = planJournal, case .runStarted = event.kind, let run = try? journal.latestRun() {
                do { try journal.recordPlan(run.id, json: planJSON, at: event.time) } catch {
                    writeStandardError("moonmotion: --plan: not journaled: \(error)\n")
                }
            }
            display.record(event)
            eventLog?.write(event)
            if let notifier, let message = RunMessages.jobFailed(event, run: scriptName) { notifier.notify(message) }
        }
        notifier?.notify(RunMessages.started(run: scriptName, on: backend.name, resume: options.resume))

        let interrupts = StrategyRunInterrupts(runner: runner, display: display, journaled: journal != nil)
        var server: StatusServer?
        if let listen = options.listen {
            let name = script, vcenterName = backend.vcenter.displayName, vcenter = backend.vcenter
            let changeWindows = configuration.scheduler.windows
            let source = StatusServer.Source(
                status: {
                    let progress = display.tracker.snapshot(at: clock())
                    return RunStatus(strategy: name, vcenter: vcenterName, phase: RunStatus.livePhase(progress, stopRequested: interrupts.count > 0),
                                     progress: progress, source: "live")
                },
                calls: { vcenter.callStatistics },
                timeline: { LiveTimeline.json(display.tracker, now: clock(), windows: changeWindows) })
            do {
                server = try await Self.startServer(listen: listen, options: options, source: source)
            } catch {
                writeStandardError("moonmotion: \(error)\n")
                return 1
            }
        }
        runtime.takeOverInterruptSignal { count in interrupts.signal(count) }
        display.start()
        let realStart = Date()
        let summary: RunSummary
        do {
            summary = try await runner.run()
            await Self.stopServer(server)
        } catch {
            await Self.stopServer(server)
            runtime.installInterruptSignalHandler()
            display.stop(showFinal: false)
            writeStandardError("moonmotion: \(error)\n")
            if let line = writeReport(journal, failure: "\(error)") { writeStandardError("moonmotion: \(line)\n") }
            if let notifier {
                notifier.notify(RunMessages.failed(run: scriptName, on: backend.name, error: "\(error)"))
                await notifier.finish(within: 10)
            }
            return interrupts.count > 0 ? Self.interruptedStatus : 1
        }
        runtime.installInterruptSignalHandler()
        display.stop()
        var lines = ProgressRenderer(width: 200, title: "").summary(summary)
        // Jobs other than storage moves (the summary's "moved" counts storage moves only).
        var others: [String: Int] = [:]
        for job in summary.done where !job.kind.movesStorage && !job.isProactive && job.attempts > 0 { others[job.kind.name, default: 0] += 1 }
        if !others.isEmpty {
            lines.insert("also done: " + others.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "),
                         at: min(2, lines.count))
        }
        if backend.isSimulated {
            lines.append("simulated: \(ProgressRenderer.duration(summary.duration)) of vCenter time in "
                + "\(ProgressRenderer.duration(Date().timeIntervalSince(realStart))) (\(Backend.speedText(speed))× faster than real)")
        }
        if let journal {
            lines.append("journal: \(journal.path)")
        } else if !summary.pending.isEmpty || !summary.leftRunning.isEmpty {
            lines = lines.filter { !$0.contains("--resume") }
            lines.append("\(summary.pending.count) job(s) not started; no journal was kept, so --resume cannot continue this run (use --journal FILE)")
        }
        if let events { lines.append("events: \(events.path)") }
        if let line = writeReport(journal, failure: nil) { lines.append(line) }
        display.printLines(lines)
        if let notifier {
            // Bounded: a dead webhook delays the exit by at most 10 s, never the run.
            notifier.notify(RunMessages.ended(summary, run: scriptName, on: backend.name))
            let sent = await notifier.finish(within: 10)
            if sent.waiting > 0 { writeStandardError("moonmotion: notify: gave up waiting for \(sent.waiting) webhook(s) after 10 s\n") }
        }
        return Self.exitStatus(summary)
    }

    /// The runner: a Lua strategy's own (its hooks run on its runtime's executor); any other
    /// strategy's on the same executor, so Ctrl-C and the simulated clock behave alike.
    private func makeRunner(vcenter: any VCenter, configuration: RunConfiguration, journal: Journal? = nil,
                            onEvent: (@Sendable (EngineEvent) -> Void)? = nil) -> MigrationRunner {
        if let lua = strategy as? LuaStrategy {
            return lua.makeRunner(vcenter: vcenter, configuration: configuration, journal: journal, onEvent: onEvent)
        }
        return MigrationRunner(vcenter: vcenter, strategy: strategy, configuration: configuration, journal: journal,
                               executor: runtime.executor, onEvent: onEvent)
    }

    /// Starts `--listen`'s server and says where it serves (never with its token).
    static func startServer(listen: String, options: StrategyRunOptions, source: StatusServer.Source) async throws -> StatusServer {
        let address = try ListenAddress(parsing: listen)
        var token = options.listenToken
        if let file = options.listenTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw StatusServerError.cannotBind(address, "cannot read --listen-token-file \(file)")
            }
            token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        }
        let server = try StatusServer(address: address, token: token, source: source)
        let port = try await server.start()
        var shown = address
        shown.port = port
        writeStandardError("moonmotion: status page: http://\(shown)/ (also /api/status, /metrics)\(token == nil ? "" : "; add ?token=… to the address")\n")
        return server
    }

    /// Ends `--listen`'s streams once open pages have had the final status.
    static func stopServer(_ server: StatusServer?) async {
        guard let server else { return }
        server.runEnded()
        // A page polls once per second: give it the final state before the process exits.
        try? await Task.sleep(for: .milliseconds(1200))
        // Not stopped: the process exits next and takes it down. Cancelling it while browsers
        // keep reconnecting made NIO trap on a connection accepted during the shutdown
        // ("Deinited NIOAsyncWriter without calling finish()", the bench's 20 watchers).
    }

    /// `--journal`, else `<script name>.journal` in the current directory for a real
    /// vCenter (not with `--no-journal`), else, with `--report DIR` against the simulator,
    /// `DIR/<script name>.journal` (the report is made from a journal), else none.
    func journalPath(_ backend: Backend) -> String? {
        if let path = options.journal { return path }
        if options.noJournal { return nil }
        let base = ((script as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = (base.isEmpty ? "moonmotion" : base) + ".journal"
        if backend.isSimulated {
            guard let report = options.report else { return nil }
            try? FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
            return (report as NSString).appendingPathComponent(name)
        }
        return name
    }

    /// `--report DIR`: writes the report of the run just ended from its journal, and returns
    /// the line that says where (or what went wrong); nil without `--report`. `failure` is why
    /// the run failed when it could not record its own end.
    func writeReport(_ journal: Journal?, failure: String?) -> String? {
        guard let directory = options.report else { return nil }
        guard let journal else { return "report: not written: the run kept no journal" }
        do {
            let written = try ReportWriter.write(try RunReport.read(journalAt: journal.path, failure: failure), to: directory)
            return "report: \(written.html) (and report.csv)"
        } catch {
            return "report: not written: \(error)"
        }
    }

    /// 0: every job done or skipped (or held by the strategy, as it asked); 1: a job of the
    /// strategy failed, or the run aborted; 130: stopped or abandoned by Ctrl-C.
    static func exitStatus(_ summary: RunSummary) -> Int32 {
        switch summary.outcome {
        case .stopped, .abandoned: return interruptedStatus
        case .aborted, .timeLimit: return 1
        case .completed, .held, .windowClosed: return summary.failed.contains { !$0.isProactive } ? 1 : 0
        }
    }
}

extension StrategyRun {
    /// Applies `MOONMOTION_FORECAST` (`min_interval=60,refresh=600,shift=0.25,half_life=1800,overhead=15,rate=157`:
    /// seconds of the runner's clock, shift a fraction, rate in MB per second of the runner's
    /// clock — what a copy or a vMotion is assumed to move before one is measured): for a test vCenter on scaled time,
    /// whose runner runs on real time, the forecast's intervals scaled down with it; `off`
    /// shows the rate-based ETA only.
    static func applyForecastTuning(_ text: String?, to configuration: inout RunConfiguration) throws {
        guard let text, !text.isEmpty else { return }
        if text == "off" {
            configuration.forecast = nil
            return
        }
        var trigger = configuration.forecast ?? ForecastTrigger()
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let value = Double(kv[1]), value >= 0, value.isFinite else {
                throw ForecastTuningError(description: "MOONMOTION_FORECAST: '\(item)' is not name=number")
            }
            switch kv[0] {
            case "min_interval": trigger.minimumInterval = value
            case "refresh": trigger.refreshInterval = value
            case "shift": trigger.shiftThreshold = value
            case "half_life": configuration.forecastHalfLife = value
            case "overhead": configuration.scheduler.predictedOverhead = value
            case "rate": configuration.scheduler.predictedRate = value * 1_000_000
            default:
                throw ForecastTuningError(description: "MOONMOTION_FORECAST: unknown setting '\(kv[0])' (min_interval, refresh, shift, half_life, overhead, rate, or off)")
            }
        }
        trigger.refreshInterval = max(trigger.refreshInterval, trigger.minimumInterval)
        configuration.forecast = trigger
    }
}

/// A `MOONMOTION_FORECAST` setting that cannot be read.
struct ForecastTuningError: Error, CustomStringConvertible {
    let description: String
}
