import Foundation
import VCenterModel

// Change windows.
//
// With `SchedulerConfiguration.windows`, a job starts only while a window is open and only
// if its predicted end falls inside that window: a Storage vMotion that would run past 06:00
// waits for the next window instead of copying into the business day. The prediction is the
// bytes it writes at the rate measured so far between its source and destination datastores
// (decaying: each new sample weighs as much as all the older ones together), else the rate
// measured over all moves, else the plan's rate (`predictedRate`), plus the setup time. A
// move predicted longer than a whole window would never start under that rule: it starts in
// the first minutes of a window instead, and its overrun is what the prediction said.
//
// A pro-active vMotion obeys the same rule for itself and the move it makes room for: made
// at a close it would free a host no move may use until the next window.
//
// Jobs that must wait park on one `changeWindow` list; the scheduler asks to be woken at the
// next boundary (`windowWake`). At an opening every waiting job is queued again in rank
// order; at a closing nothing new starts (running tasks finish), and with `stopAtWindowEnd`
// the run ends `.windowClosed` once they have. Both boundaries are events (journaled).

/// Measured copy rates, decaying.
struct RateSamples {
    var bytes: Double = 0
    var seconds: Double = 0
    mutating func add(bytes b: Double, seconds s: Double) {
        bytes = bytes * 0.5 + b
        seconds = seconds * 0.5 + s
    }
    var rate: Double? { seconds > 0 && bytes > 0 ? bytes / seconds : nil }
}

/// A source → destination datastore pair (slots).
struct DatastorePair: Hashable {
    var from: Int32
    var to: Int32
}

extension Scheduler {
    /// How long job `j` is predicted to take with the placement `placed`.
    func predictedDuration(_ j: Int32, placed: [PlacedFile]) -> TimeInterval {
        let i = Int(j)
        guard jobs[i].kind.movesStorage, !placed.isEmpty else {
            return configuration.predictedOverhead + Double(jobs[i].size) / max(1, measuredRate ?? configuration.predictedRate)
        }
        // Files copy in one task: the slowest pair's share decides.
        var seconds = 0.0
        for f in placed {
            let pairRate = pairRates[DatastorePair(from: f.from, to: f.to)]?.rate
            seconds += Double(f.written) / max(1, pairRate ?? measuredRate ?? configuration.predictedRate)
        }
        return configuration.predictedOverhead + seconds
    }

    /// The rate measured over all moves so far.
    var measuredRate: Double? { allRates.rate }

    /// A storage move ended well: its rate counts for the predictions.
    func recordRate(_ j: Int32, now: Date) {
        let i = Int(j)
        guard configuration.windows != nil, jobs[i].kind.movesStorage, let started = jobs[i].startedAt else { return }
        let seconds = now.timeIntervalSince(started) - configuration.predictedOverhead
        guard seconds > 0 else { return }
        let placed = meta[i].placed
        let total = placed.reduce(0.0) { $0 + Double($1.written) }
        guard total > 0 else { return }
        allRates.add(bytes: total, seconds: seconds)
        for f in placed where f.written > 0 {
            pairRates[DatastorePair(from: f.from, to: f.to), default: RateSamples()].add(bytes: Double(f.written), seconds: seconds * Double(f.written) / total)
        }
    }

    /// Whether job `j` may start now with `placed` (no windows: always). Records the
    /// prediction for a move that starts.
    func windowAllows(_ j: Int32, placed: [PlacedFile], now: Date) -> Bool {
        guard let windows = configuration.windows else { return true }
        guard let window = windows.window(containing: now) else { return false }
        let duration = predictedDuration(j, placed: placed)
        let end = now.addingTimeInterval(duration)
        // Longer than the whole window: it may start in the window's first minutes only.
        let allowed = end <= window.end || (duration > window.duration && now.timeIntervalSince(window.start) < 300)
        // Recorded on the job (its events carry it): what its real end is measured against.
        if allowed { jobs[Int(j)].predictedEnd = end }
        return allowed
    }

    /// Whether pro-active vMotion `j` may start now, clearing the way for storage move `p`: only
    /// inside a window and only if the move can start after it under the window rule (both
    /// predicted to end by the close, or the move longer than any window and still in the
    /// window's first minutes). Otherwise the vMotion would be made for nothing — at a close,
    /// the host it frees is wanted by no move until the next window, whose placement may differ.
    func windowAllowsProactive(_ j: Int32, parent p: Int32, now: Date) -> Bool {
        guard let windows = configuration.windows else { return true }
        guard let window = windows.window(containing: now) else { return false }
        let vmotion = predictedDuration(j, placed: [])
        let move = predictedDuration(p, placed: [])
        let end = now.addingTimeInterval(vmotion + move)
        let allowed = end <= window.end || (move > window.duration && now.timeIntervalSince(window.start) < 300)
        if allowed { jobs[Int(j)].predictedEnd = now.addingTimeInterval(vmotion) }
        return allowed
    }

    /// Parks job `j` until the next window opens.
    func parkForWindow(_ j: Int32) -> ParkSpot {
        park(j, windowResource, cost: 0)
    }

    /// Sets the wake-up for the next window boundary after `now` (and says where the run is).
    func planWindowWake(now: Date, announce: Bool) {
        guard let windows = configuration.windows else { return }
        if let window = windows.window(containing: now) {
            windowWake = window.end
            if announce { emit(.window(open: true, end: window.end, next: nil), now) }
        } else {
            windowWake = windows.nextOpening(after: now)
            if announce { emit(.window(open: false, end: nil, next: windowWake), now) }
        }
    }

    /// A window boundary came: at an opening the waiting jobs are queued again; at a closing
    /// the run may end (`stopAtWindowEnd`).
    func windowBoundary(now: Date) {
        guard let windows = configuration.windows else { return }
        planWindowWake(now: now, announce: true)
        if windows.window(containing: now) != nil {
            let waiting = jobs.indices.filter { jobs[$0].state == .pending && meta[$0].queued && meta[$0].blockedOn == windowResource }
            for i in waiting.sorted(by: { meta[$0].rank < meta[$1].rank }) {
                take(Int32(i))
                scheduleHead(meta[i].vm, now: now)
            }
        } else if configuration.stopAtWindowEnd, stopping == nil {
            stopping = .windowClosed(next: windowWake)
        }
    }
}
