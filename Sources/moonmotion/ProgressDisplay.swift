import Foundation
import MigrationEngine
import Locking
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a run shows while it goes: on a terminal, a live display per cluster and overall
/// (`ProgressRenderer`) redrawn in place a few times a second on stdout; otherwise one log
/// line (`ProgressRenderer.logLine`) every `logInterval` real seconds, plus one line per
/// failed or skipped job as it happens. Messages (`note`) go to stderr without garbling
/// the live display. Feed it every `EngineEvent` (`record`, thread-safe).
final class ProgressDisplay: Sendable {
    /// How progress is shown.
    enum Mode: Sendable {
        /// Redrawn in place (stdout is a terminal).
        case live
        /// Periodic log lines.
        case log
    }

    let tracker: ProgressTracker
    let mode: Mode
    private let title: String
    private let clock: @Sendable () -> Date
    private let logInterval: Double
    private let redrawInterval: Double
    private let state = Locked(State())

    private struct State {
        /// Lines of the live display on screen now (cleared before anything else is written).
        var drawn = 0
        var stopped = false
        var started = false
        /// Failures to log (log mode), in order.
        var pendingLines: [String] = []
    }

    /// A display titled `title`; `clock` is the backend's time (the simulator's when simulated).
    init(title: String, mode: Mode, rateWindow: TimeInterval, clock: @escaping @Sendable () -> Date,
         logInterval: Double = 10, redrawInterval: Double = 0.25) {
        self.title = title
        self.mode = mode
        self.clock = clock
        self.tracker = ProgressTracker(rateWindow: rateWindow)
        self.logInterval = logInterval
        self.redrawInterval = redrawInterval
    }

    /// `.live` when stdout is a terminal, else `.log`.
    static var defaultMode: Mode { isatty(1) != 0 ? .live : .log }

    /// Takes one event into account (called on the runner's executor, in order).
    func record(_ event: EngineEvent) {
        tracker.record(event)
        // Warnings about the run as a whole (a resume with another strategy, …) are shown at once.
        if case .warning(let text, nil) = event.kind {
            note("moonmotion: warning: \(text)")
            return
        }
        // A pacing change says what the engine learnt about the storage: shown as it happens.
        if case .pacingChanged(let change) = event.kind {
            note("moonmotion: \(change.summary)")
            return
        }
        guard mode == .log, case .jobChanged(let job, _) = event.kind, !job.isProactive,
              job.state == .failed || job.state == .skipped else { return }
        let line = "\(job.state.rawValue): \(job.vmName) (\(job.kind.name)): \(job.lastError ?? "no reason recorded")"
        state.withLock { $0.pendingLines.append(line) }
    }

    /// Starts the redraw (live) or logging (log) loop.
    func start() {
        let first = state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard first else { return }
        let interval = mode == .live ? redrawInterval : logInterval
        Thread.detachNewThread { [self] in
            var sinceLog = 0.0
            while !state.withLock({ $0.stopped }) {
                usleep(useconds_t(min(interval, 0.25) * 1_000_000))
                sinceLog += min(interval, 0.25)
                if mode == .live {
                    draw(final: false)
                } else {
                    flushPendingLines()
                    if sinceLog >= interval {
                        sinceLog = 0
                        writeLog()
                    }
                }
            }
        }
    }

    /// Ends the loop and, with `showFinal`, shows the last state (live: the final frame
    /// stays on screen; log: a last log line). Without it a live display is cleared.
    func stop(showFinal: Bool = true) {
        let wasStopped = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return s.stopped
        }
        guard !wasStopped else { return }
        if !showFinal {
            note("")
        } else if mode == .live {
            draw(final: true)
        } else {
            flushPendingLines()
            writeLog()
        }
    }

    /// Writes `text` (one or more lines) to stderr, clearing the live display first (the
    /// next frame redraws it below).
    func note(_ text: String) {
        state.withLock { s in
            var out = ""
            if s.drawn > 0 { out += "\u{1B}[\(s.drawn)A\u{1B}[J" }
            s.drawn = 0
            writeStandardOutput(out)
            if !text.isEmpty { writeStandardError(text.hasSuffix("\n") ? text : text + "\n") }
        }
    }

    /// Writes lines to stdout below the display (the closing summary).
    func printLines(_ lines: [String]) {
        state.withLock { s in
            s.drawn = 0
            writeStandardOutput(lines.map { $0 + "\n" }.joined())
        }
    }

    private func draw(final: Bool) {
        let width = Self.terminalWidth(), height = Self.terminalHeight()
        let snapshot = tracker.snapshot(at: clock())
        let room = height - snapshot.clusters.count - 7
        let renderer = ProgressRenderer(width: width - 1, maxRunningLines: max(3, min(12, room)), title: title)
        var lines = renderer.render(snapshot)
        // Lines scrolled off the screen cannot be redrawn in place: keep the display within it.
        if lines.count > height - 1 { lines = Array(lines.prefix(max(1, height - 1))) }
        state.withLock { s in
            if s.stopped && !final { return }
            var out = s.drawn > 0 ? "\u{1B}[\(s.drawn)A\u{1B}[J" : ""
            out += lines.map { $0 + "\n" }.joined()
            s.drawn = final ? 0 : lines.count
            writeStandardOutput(out)
        }
    }

    private func writeLog() {
        let line = ProgressRenderer(width: 200, title: title).logLine(tracker.snapshot(at: clock()))
        state.withLock { _ in writeStandardOutput(line + "\n") }
    }

    private func flushPendingLines() {
        state.withLock { s in
            guard !s.pendingLines.isEmpty else { return }
            writeStandardOutput(s.pendingLines.map { $0 + "\n" }.joined())
            s.pendingLines.removeAll()
        }
    }

    /// Columns of the terminal on stdout (80 when unknown).
    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Rows of the terminal on stdout (24 when unknown).
    static func terminalHeight() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 { return Int(size.ws_row) }
        return 24
    }
}
