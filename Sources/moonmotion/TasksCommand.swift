import ArgumentParser
import Foundation
import LuaBindings
import Synchronization
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

            --watch keeps the list on screen and updates it as the running tasks progress \
            and end, until all of them ended (Ctrl-C stops earlier). Updates come from \
            Moonmotion's single PropertyCollector long-poll — one pending call, however many \
            tasks — never from listing again. Tasks started after the command began are not \
            added.

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

    mutating func run() async throws {
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
                guard let ref = Self.lookup(entity, in: inventory) else {
                    throw VCenterFault(type: "NotFound", message: "no VM, host, datastore or cluster named '\(entity)'")
                }
                entityRef = ref
                names[ref] = inventory.name(of: ref)
            }
            let query = TaskQuery(entity: entityRef, states: Set(state.compactMap(TaskState.init(rawValue:))))
            let infos = try await vcenter.recentTasks(query)
            if !watch || infos.allSatisfy(\.state.isTerminal) {
                print(TaskTable.render(infos, names: names), terminator: "")
            } else {
                try await follow(infos, vcenter: vcenter, names: names)
            }
        } catch {
            await vcenter.close()
            throw CommandFailure.exit(error)
        }
        await vcenter.close()
    }

    static func lookup(_ text: String, in inventory: Inventory) -> MoRef? {
        if let vm = inventory.vm(named: text) { return vm.ref }
        if let h = inventory.host(named: text) { return h.ref }
        if let d = inventory.datastore(named: text) { return d.ref }
        if let c = inventory.cluster(named: text) { return c.ref }
        return MoRef(parsing: text)
    }

    /// Tracks the unfinished tasks through the backend's poller and redraws on each change.
    private func follow(_ infos: [TaskInfo], vcenter: any VCenter, names: [MoRef: String]) async throws {
        var lives: [LiveTask] = []
        for info in infos {
            lives.append(info.state.isTerminal ? LiveTask(info) : try await vcenter.task(info.ref))
        }
        let changes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let observations = lives.map { live in live.observe { _ in changes.continuation.yield() } }
        defer { observations.forEach { $0.cancel() } }
        let screen = WatchScreen(isTerminal: isatty(1) != 0)
        screen.draw(TaskTable.render(lives.map(\.info), names: names))
        for await _ in changes.stream {
            // Let a burst of updates land, then draw once.
            try? await Task.sleep(for: .milliseconds(200))
            screen.draw(TaskTable.render(lives.map(\.info), names: names))
            if lives.allSatisfy(\.isDone) { break }
        }
    }
}

/// Redraws a block of text in place on a terminal; elsewhere prints each version.
final class WatchScreen: Sendable {
    private let isTerminal: Bool
    private let lastLines = Mutex(0)

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
    static func render(_ infos: [TaskInfo], names: [MoRef: String], now: Date = Date()) -> String {
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
