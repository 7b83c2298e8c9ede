import Foundation

// Jobs the strategy holds.
//
// A target hook that answers "wait" (nil in Lua) while datastores have room holds the job:
// the strategy, not the limits, keeps it back — a gate across clusters, a time of day, a
// dependency between VMs. Such a job must never fail for it ("never got room" was the
// message before, for 348 held jobs of a cluster with nothing running). It parks on the one
// `strategyHold` list (and on its target group, so freed space wakes it too) and is re-asked
// whenever a job starts or ends anywhere: the facts a gate looks at. Only the best-ranked
// held job is re-asked per change; it goes back to the head when still held, so a change
// costs one hook call, not one per held job.
//
// When nothing runs, no timer is due and jobs are still held, every held job is re-asked
// once; if that starts nothing, waiting would be forever (nothing is left to change the
// strategy's mind) and the run ends `.held`: the held jobs stay pending for `--resume`.

extension Scheduler {
    /// Holds job `j` for the strategy (its target hook answered "wait").
    func holdForStrategy(_ j: Int32) -> ParkSpot {
        let i = Int(j)
        if !jobs[i].heldByStrategy {
            jobs[i].heldByStrategy = true
            heldCount += 1
        }
        let spot = park(j, holdResource, cost: 0)
        alsoPark(j, meta[i].group)
        return spot
    }

    /// The job leaves the strategy's hold (it starts, or ends).
    func releaseHold(_ j: Int32) {
        let i = Int(j)
        guard jobs[i].heldByStrategy else { return }
        jobs[i].heldByStrategy = false
        heldCount -= 1
    }

    /// A job started or ended: the strategy's held jobs may go now.
    func holdsMayChange() {
        idleRecheckDone = false
        if heldCount > 0 { freed(holdResource) }
    }

    /// Nothing runs and nothing is due: re-asks every held job once. Returns whether the
    /// run can go on (a held job started, or the re-ask is still to come).
    func recheckHeldWhenIdle(now: Date) -> Bool {
        guard heldCount > 0, !idleRecheckDone else { return false }
        idleRecheckDone = true
        let held = jobs.indices.filter { jobs[$0].heldByStrategy && jobs[$0].state == .pending && meta[$0].queued }
        for i in held.sorted(by: { meta[$0].rank < meta[$1].rank }) {
            take(Int32(i))
            _ = examine(Int32(i), now: now)
        }
        dispatch(now: now)
        return activeCount > 0 || nextWake != nil
    }
}
