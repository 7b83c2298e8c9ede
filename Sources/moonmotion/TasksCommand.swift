import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LuaBindings
import Locking
import VCenterModel

/// `moonmotion tasks [--watch]`: recent and running tasks with progress, like Get-Task.
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List recent and running vCenter tasks with their progress.",
        discussion: """
            Lists vCenter's recent tasks (TaskManager.recentTask: about the last 10 minutes, \
            at most 200) in one retrieval, newest first, with state, progress, the object \
            each works on and how long it ran.

            DURATION is measured on vCenter's clock (read once with CurrentTime), so a \
            local clock that is off does not make running tasks look 0 s or negative.

            --watch keeps the list on screen and updates it as the running tasks progress \
            and end, until all of them ended; Ctrl-C stops watching (the tasks go on in \
            vCenter; exit status 130). Updates come from Moonmotion's single \
            PropertyCollector long-poll — one pending call, however many tasks — never from \
            listing again. Tasks started after the command began are not added.

            There is no `tasks --simulate`: the built-in simulated vCenter exists only inside \
            the command that runs it (see a simulated run's tasks in its display, in \
            `moonmotion status JOURNAL` or with conn:tasks() in `moonmotion repl --simulate`).

            Examples:
              moonmotion tasks --state running
              moonmotion tasks --entity db-01 --watch
            """
    )

    @OptionGroup(title: "vCenter") var connection: ConnectionOptions

    @Flag(help: "Follow the running tasks live until they all ended.")
    var watch = false

    @Option(help: ArgumentHelp("Only tasks of this object (a VM, host, … by name or moref).", valueName: "name"))
    var entity: String?

    @Option(help: ArgumentHelp("Only tasks in this state: queued, running, success or error (repeatable).", valueName: "state"))
    var state: [String] = []

    func validate() throws {
        for s in state where TaskState(rawValue: s) == nil {
            throw ValidationError("--state must be queued, running, success or error, not '\(s)'")
        }
    }

    /// Why `tasks --simulate` is refused rather than answered "no tasks": the built-in simulator
    /// lives inside the process that runs it, so a new one never has any (issue 13: it once
    /// printed "no tasks" while a simulated run elsewhere had hundreds).
    static let simulateRefusal = """
        moonmotion: tasks --simulate has nothing to list: the built-in simulated vCenter lives inside \
        the command that runs it, and a new one has no tasks. A simulated run's tasks are in its own \
        display (or its page with run --listen), in `moonmotion status JOURNAL`, and in \
        `conn:tasks()` inside `moonmotion repl --simulate`.
        """

    mutating func run() async throws {
        if connection.simulate {
            writeStandardError(Self.simulateRefusal + "\n")
            throw ExitCode(64)
        }
        guard connection.isServerConfigured else {
            // Not the shared message: its "or --simulate" would lead to the refusal above.
            writeStandardError("moonmotion: no vCenter configured: give --url [user@]host (or set GOVC_URL, with GOVC_USERNAME and GOVC_PASSWORD)\n")
            throw ExitCode.failure
        }
        let connected: ConnectedVCenter
        do {
            connected = try await connection.connect()
        } catch {
            throw CommandFailure.exit(error)
        }
        let vcenter = connected.vcenter
        do {
            var entityRef: MoRef?
            var names: [MoRef: String] = [:]
            if let entity {
                let inventory = try await vcenter.inventory()
                guard let ref = try Self.lookup(entity, in: inventory) else {
                    throw VCenterFault(type: "NotFound", message: "no VM, host, datastore or cluster named '\(entity)'")
                }
                entityRef = ref
                names[ref] = inventory.name(of: ref)
            }
            let query = TaskQuery(entity: entityRef, states: Set(state.compactMap(TaskState.init(rawValue:))))
            let infos = try await vcenter.recentTasks(query)
            let clock = try await ServerClock.measure(vcenter)
            if !watch || infos.allSatisfy(\.state.isTerminal) {
                print(TaskTable.render(infos, names: names, now: clock.now), terminator: "")
            } else if try await follow(infos, vcenter: vcenter, names: names, clock: clock) == .interrupted {
                await vcenter.close()
                throw ExitCode(Self.interruptedStatus)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            await vcenter.close()
            throw CommandFailure.exit(error)
        }
        await vcenter.close()
    }

    /// Exit status after Ctrl-C ends `--watch`.
    static let interruptedStatus: Int32 = 130

    /// How `--watch` ended.
    enum WatchEnd { case allEnded, interrupted }

    /// The `--entity` object: the only VM, host, datastore or cluster of that name (several of
    /// one kind → `AmbiguousNameError` naming their morefs), else the text as a moref.
    static func lookup(_ text: String, in inventory: Inventory) throws(AmbiguousNameError) -> MoRef? {
        if let vm = try inventory.uniqueVM(named: text) { return vm.ref }
        if let h = try inventory.uniqueHost(named: text) { return h.ref }
        if let d = try inventory.uniqueDatastore(named: text) { return d.ref }
        if let c = try inventory.uniqueCluster(named: text) { return c.ref }
        return MoRef(parsing: text)
    }

    /// Tracks the unfinished tasks through the backend's poller and redraws on each change
    /// (and every second, for the durations), until they all ended or Ctrl-C.
    private func follow(_ infos: [TaskInfo], vcenter: any VCenter, names: [MoRef: String], clock: ServerClock) async throws -> WatchEnd {
        var lives: [LiveTask] = []
        for info in infos {
            lives.append(info.state.isTerminal ? LiveTask(info) : try await vcenter.task(info.ref))
        }
        let changes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let observations = lives.map { live in live.observe { _ in changes.continuation.yield() } }
        defer { observations.forEach { $0.cancel() } }
        // Ctrl-C ends the watch (not the process): the session logs out, the screen stays readable.
        let interrupted = Locked(false)
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            interrupted.withLock { $0 = true }
            changes.continuation.yield()
        }
        source.resume()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                changes.continuation.yield()
            }
        }
        defer {
            ticker.cancel()
            source.cancel()
            signal(SIGINT, SIG_DFL)
        }
        let screen = WatchScreen(isTerminal: isatty(1) != 0)
        screen.draw(TaskTable.render(lives.map(\.info), names: names, now: clock.now))
        for await _ in changes.stream {
            if interrupted.withLock({ $0 }) { break }
            // Let a burst of updates land, then draw once.
            try? await Task.sleep(for: .milliseconds(200))
            if interrupted.withLock({ $0 }) { break }
            screen.draw(TaskTable.render(lives.map(\.info), names: names, now: clock.now))
            if lives.allSatisfy(\.isDone) { return .allEnded }
        }
        let running = lives.filter { !$0.isDone }.count
        writeStandardError("moonmotion: Ctrl-C: stopped watching; \(running) task(s) still running or queued in vCenter\n")
        return .interrupted
    }
}

/// Redraws a block of text in place on a terminal; elsewhere prints each version.
final class WatchScreen: Sendable {
    private let isTerminal: Bool
    private let lastLines = Locked(0)

    init(isTerminal: Bool) { self.isTerminal = isTerminal }

    func draw(_ text: String) {
        var out = ""
        if isTerminal {
            let previous = lastLines.withLock { $0 }
            if previous > 0 { out += "\u{1B}[\(previous)A\u{1B}[J" }  // up, clear to the end
        } else {
            out += "\n"
        }
        out += text
        lastLines.withLock { $0 = text.reduce(0) { $1 == "\n" ? $0 + 1 : $0 } }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}

/// The task list as text: one row per task, newest first.
enum TaskTable {
    /// `now` is the server's time (task times are on its clock).
    static func render(_ infos: [TaskInfo], names: [MoRef: String], now: Date) -> String {
        if infos.isEmpty { return "no tasks\n" }
        var rows = [["TASK", "OPERATION", "ENTITY", "STATE", "PROGRESS", "STARTED", "DURATION"]]
        let clock = DateFormatter()
        clock.dateFormat = "HH:mm:ss"
        for info in infos {
            let entity = info.entityName ?? info.entity.map { names[$0] ?? $0.value } ?? ""
            var state = info.state.rawValue
            if let fault = info.error { state += " (\(fault.type))" }
            let progress: String = switch info.state {
            case .success: "100%"
            case .running: info.progress.map { "\($0)%" } ?? ""
            default: ""
            }
            let start = info.startTime ?? info.queueTime
            let end = info.completeTime ?? (info.state.isTerminal ? nil : now)
            let duration = start.flatMap { s in end.map { Self.duration($0.timeIntervalSince(s)) } } ?? ""
            rows.append([info.ref.value, info.name, entity, state, progress, info.startTime.map(clock.string(from:)) ?? "", duration])
        }
        let running = infos.filter { !$0.state.isTerminal }.count
        let failed = infos.filter { $0.state == .error }.count
        return Table.render(rows, rightAligned: [4, 6]) + "\(infos.count) tasks: \(running) running or queued, \(failed) failed\n"
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", s / 60 % 60))m"
    }
}
