import Testing
import VCenterModel
@testable import VSphereSOAP

/// The poller's rules on virtual time: each test drives `TaskPollerStateMachine` by hand —
/// inputs at chosen instants, the calls' results as the shell would report them — and
/// checks the actions. No server, no clock, no sleep: a test either always passes or
/// always fails. Each rule's test fails when that rule is broken.
@Suite struct TaskPollerStateMachineTests {
    typealias Machine = TaskPollerStateMachine
    typealias Action = Machine.Action

    /// The defaults a connection uses (`ConnectionConfig` with `pollerMaxWaitSeconds` 30).
    static let defaults = Machine.Settings(
        maxWaitSeconds: 30, coalesceSeconds: 0.3, removeThreshold: 500, paceSeconds: 0.7, addIntervalSeconds: 3,
        addBurst: 16, addDelaySeconds: 1, reconcileSeconds: 30, progressSeconds: 10)

    /// `Task:task-n`.
    static func task(_ n: Int) -> MoRef { MoRef("Task", "task-\(n)") }

    /// The machine, virtual time and the one timer the shell would arm.
    struct Driver {
        var m: Machine
        var now = 0.0
        /// The instant the shell's timer is armed for (the last `sleep(until:)`).
        var timer: PollerInstant?
        /// Every action with the instant it was returned at.
        var log: [(at: Double, action: Action)] = []

        init(_ settings: Machine.Settings = TaskPollerStateMachineTests.defaults) {
            m = Machine(settings: settings)
        }

        /// Gives one input at `now`, records and returns its actions (arming the timer as the shell does).
        @discardableResult
        mutating func feed(_ input: (inout Machine, PollerInstant) -> [Action]) -> [Action] {
            let actions = input(&m, PollerInstant(seconds: now))
            for action in actions {
                log.append((now, action))
                if case .sleep(let until) = action { timer = until }
            }
            return actions
        }

        /// Moves time to `t`, firing the timer on the way when it is due (at its instant).
        @discardableResult
        mutating func advance(to t: Double) -> [Action] {
            var actions: [Action] = []
            while let due = timer, due.seconds <= t {
                timer = nil
                now = max(now, due.seconds)
                actions += feed { $0.timerFired(now: $1) }
            }
            now = max(now, t)
            return actions
        }

        mutating func start() -> [Action] { feed { $0.start(now: $1) } }
        @discardableResult
        mutating func track(_ refs: MoRef..., phase: Machine.TaskPhase = .queued) -> [Action] {
            refs.flatMap { ref in feed { $0.track(ref, phase: phase, now: $1) } }
        }
        @discardableResult
        mutating func rebuilt() -> [Action] { feed { $0.rebuilt(now: $1) } }
        @discardableResult
        mutating func reconciled(_ tasks: [MoRef: Machine.TaskPhase] = [:]) -> [Action] { feed { $0.reconciled(tasks, now: $1) } }
        @discardableResult
        mutating func viewChanged() -> [Action] { feed { $0.viewChanged(now: $1) } }
        @discardableResult
        mutating func waitReturned(_ outcome: Machine.WaitOutcome, _ tasks: [MoRef: Machine.TaskPhase] = [:], truncated: Bool = false) -> [Action] {
            feed { $0.waitReturned(.init(outcome: outcome, tasks: tasks, returnedUpdates: outcome != .empty, truncated: truncated), now: $1) }
        }

        /// Starts the machine with `running` tasks running: rebuild, reconcile, up to the first wait.
        mutating func startWatching(running refs: [MoRef]) -> [Action] {
            for ref in refs { track(ref) }
            _ = start()
            rebuilt()
            return reconciled(Dictionary(uniqueKeysWithValues: refs.map { ($0, .running) }))
        }

        /// The actions of one kind in the log, with their instants.
        func logged(_ match: (Action) -> Bool) -> [(at: Double, action: Action)] { log.filter { match($0.action) } }
    }

    static func isWait(_ a: Action) -> Bool { if case .wait = a { return true }; return false }
    static func isModify(_ a: Action) -> Bool { if case .modifyView = a { return true }; return false }
    static func isReconcile(_ a: Action) -> Bool { if case .reconcile = a { return true }; return false }
    static func isRebuild(_ a: Action) -> Bool { if case .rebuild = a { return true }; return false }
    static func adds(_ a: Action) -> [MoRef]? { if case .modifyView(let add, _) = a { return add }; return nil }
    static func why(_ a: Action) -> Machine.ReconcileReason? { if case .reconcile(_, let why) = a { return why }; return nil }

    // MARK: The cycle

    @Test func theFirstTrackBuildsTheCollectorReconcilesAndWaits() {
        var d = Driver()
        #expect(d.start() == [])
        #expect(d.m.phase == .idle)
        #expect(d.track(Self.task(1)) == [.rebuild(members: [Self.task(1)])])
        #expect(d.rebuilt() == [.reconcile(tasks: [Self.task(1)], why: .rebuilt)])
        #expect(d.reconciled([Self.task(1): .running]) == [.wait(maxSeconds: 10)], "progress is read in 10 s: the wait ends by then")
        #expect(d.m.counters == .init(waits: 0, emptyWaits: 0, reconciles: 1, rebuilds: 1, viewChanges: 0, errors: 0))
    }

    @Test func tasksTrackedBeforeStartWaitForIt() {
        var d = Driver()
        #expect(d.track(Self.task(1)) == [])
        #expect(d.start() == [.rebuild(members: [Self.task(1)])])
    }

    @Test func anIdlePollerAsksForNothing() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.now = 2
        // The task ended: the reconcile-free end of the cycle finds nothing pending.
        #expect(d.waitReturned(.ended, [Self.task(1): .ended]) == [])
        #expect(d.m.phase == .idle)
        #expect(d.advance(to: 3600) == [])
        // A new task starts a cycle at once (the coalescing pause is long over).
        #expect(d.track(Self.task(2)).contains { Self.isModify($0) })
    }

    @Test func aTruncatedAnswerContinuesTheWaitAtOnce() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.now = 1
        #expect(d.waitReturned(.changed, truncated: true) == [.wait(maxSeconds: 10)])
        #expect(d.waitReturned(.ended, [Self.task(1): .ended]) == [])
        #expect(d.m.counters.waits == 2)
    }

    // MARK: Batched adds

    /// Rule: while the view watches a running task, tasks tracked within `addIntervalSeconds`
    /// of the last add join together, in one `ModifyListView`, when the interval has passed.
    @Test func tasksTrackedWithinTheIntervalJoinInOneViewChange() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])   // the rebuild is the last add, at 0
        for (i, t) in [0.2, 0.9, 1.5, 2.4].enumerated() {
            d.advance(to: t)
            #expect(!d.track(Self.task(10 + i)).contains { Self.isModify($0) }, "task \(10 + i) at \(t) s")
        }
        #expect(d.timer == PollerInstant(seconds: 3))
        let due = d.advance(to: 3)
        #expect(due == [.modifyView(add: (10...13).map(Self.task), remove: [])])
        #expect(d.logged(Self.isModify).count == 1)
    }

    /// Rule: `addBurst` waiting tasks join at once, and the next batch joins `addDelaySeconds`
    /// (not `addIntervalSeconds`) after such a burst.
    @Test func aBurstJoinsAtOnceAndTheNextBatchAfterTheDelay() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 0.5)
        for n in 100..<115 { #expect(d.track(Self.task(n)).allSatisfy { !Self.isModify($0) }) }
        // The 16th makes a burst: no waiting for the interval.
        #expect(d.track(Self.task(115)) == [.modifyView(add: (100...115).map(Self.task), remove: [])])
        d.advance(to: 0.6)
        d.viewChanged()
        d.advance(to: 0.7)
        d.track(Self.task(200))
        #expect(d.timer == PollerInstant(seconds: 1.6), "addDelaySeconds (1) after the burst's add at 0.6")
        #expect(d.advance(to: 1.6) == [.modifyView(add: [Self.task(200)], remove: [])])
    }

    /// Rule: a task tracked while the view watches no unfinished task joins at once.
    @Test func aTaskJoinsAtOnceWhenTheViewWatchesNothingUnfinished() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 1)
        d.waitReturned(.ended, [Self.task(1): .ended])
        d.advance(to: 1.1)
        // Idle; the add interval since the rebuild (at 0) has not passed, but nothing else is watched.
        #expect(d.track(Self.task(2)) == [.sleep(until: PollerInstant(seconds: 1.3))], "the coalescing pause first")
        #expect(d.advance(to: 1.3) == [.modifyView(add: [Self.task(2)], remove: [])])
    }

    /// Rule: during a wait, tasks join when their batch is due, not at the wait's end; the
    /// `ModifyListView` is made beside the wait (its new tasks' first state ends it).
    @Test func anAddDuringAWaitHappensWhenDue() {
        var d = Driver()
        #expect(d.startWatching(running: [Self.task(1)]) == [.wait(maxSeconds: 10)])
        d.advance(to: 1)
        #expect(d.track(Self.task(2)) == [.sleep(until: PollerInstant(seconds: 3))])
        #expect(d.advance(to: 2.99) == [])
        #expect(d.advance(to: 3) == [.modifyView(add: [Self.task(2)], remove: [])])
        #expect(d.m.phase == .waiting)
        d.advance(to: 3.1)
        #expect(d.viewChanged() == [])
        d.advance(to: 3.2)
        // The server answers the wait with task-2's first state: the next wait follows at once.
        #expect(d.waitReturned(.changed, [Self.task(2): .queued]) == [.wait(maxSeconds: 7)], "until the progress read at 10 s")
    }

    /// The next cycle does not start while a view change made during the wait is in flight
    /// (two `ModifyListView` at once could land in any order).
    @Test func aCycleWaitsForTheViewChangeMadeDuringTheWait() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 3)
        d.track(Self.task(2))        // due at once: 3 s since the rebuild
        #expect(d.logged(Self.isModify).count == 1)
        d.advance(to: 3.05)
        #expect(d.waitReturned(.changed) == [])
        #expect(d.m.phase == .blocked)
        d.advance(to: 3.1)
        #expect(d.viewChanged() == [.wait(maxSeconds: 7)])
    }

    // MARK: Pacing

    /// Rule: after a wait that reported an end, the next starts `coalesceSeconds` later.
    @Test func theWaitAfterAnEndStartsAfterTheCoalescingPause() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1), Self.task(2)])
        d.advance(to: 5)
        #expect(d.waitReturned(.ended, [Self.task(1): .ended]) == [.sleep(until: PollerInstant(seconds: 5.3))])
        #expect(d.advance(to: 5.29) == [])
        #expect(d.advance(to: 5.3) == [.wait(maxSeconds: 5)])
    }

    /// Rule: after a return that brought only progress, the next wait starts no sooner than
    /// `paceSeconds` after the previous one started; other changes do not pause.
    @Test func progressOnlyReturnsArePaced() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])   // the wait started at 0
        d.advance(to: 0.2)
        #expect(d.waitReturned(.progress) == [.sleep(until: PollerInstant(seconds: 0.7))])
        #expect(d.advance(to: 0.7) == [.wait(maxSeconds: 10)])
        // A return later than the pace: at once.
        d.advance(to: 2)
        #expect(d.waitReturned(.progress) == [.wait(maxSeconds: 8)])
        // A change other than progress: at once.
        d.advance(to: 2.1)
        #expect(d.waitReturned(.changed) == [.wait(maxSeconds: 8)])
    }

    // MARK: Reconciles and progress reads

    /// Rule: every empty wait reconciles (a missed update cannot hide an end).
    @Test func anEmptyWaitReconciles() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 10)
        #expect(d.waitReturned(.empty) == [.reconcile(tasks: [Self.task(1)], why: [.emptyWait, .progress])])
        // Queued tasks only: no progress to read, the reconcile is for the empty wait alone.
        var q = Driver()
        _ = q.start()
        q.track(Self.task(1))
        q.rebuilt()
        #expect(q.reconciled([Self.task(1): .queued]) == [.wait(maxSeconds: 30)])
        q.advance(to: 2)
        #expect(q.waitReturned(.empty) == [.reconcile(tasks: [Self.task(1)], why: .emptyWait)])
        #expect(q.reconciled([Self.task(1): .ended]) == [])
        #expect(q.m.counters.emptyWaits == 1 && q.m.counters.reconciles == 2)
    }

    /// Rule: a poller whose waits are never empty still reconciles every `reconcileSeconds`,
    /// and its waits are cut short to end by then.
    @Test func aBusyPollerReconcilesEveryReconcileSeconds() {
        var settings = Self.defaults
        settings.progressSeconds = 0
        settings.reconcileSeconds = 10
        var d = Driver(settings)
        #expect(d.startWatching(running: [Self.task(1)]) == [.wait(maxSeconds: 10)])
        var reconciles: [Double] = []
        var lastReconciled = 0.0   // when the last reconcile's answer came (the rebuild's at 0)
        var t = 0.0
        while t < 35 {
            t += 0.9
            d.advance(to: t)
            let actions = d.waitReturned(.changed)
            if let action = actions.first, let why = Self.why(action) {
                #expect(why == .periodic)
                reconciles.append(t)
                d.advance(to: t + 0.05)
                lastReconciled = t + 0.05
                #expect(d.reconciled() == [.wait(maxSeconds: 10)])
            } else {
                // Cut short to return by the next reconcile.
                #expect(actions == [.wait(maxSeconds: max(1, Int((lastReconciled + 10 - t).rounded(.up))))], "at \(t)")
            }
        }
        #expect(reconciles.count == 3, "\(reconciles)")
        #expect(zip(reconciles, reconciles.dropFirst()).allSatisfy { $1 - $0 <= 10.9 }, "\(reconciles)")
        #expect(d.m.counters.emptyWaits == 0)
    }

    /// Rule: progress is read (a reconcile) every `progressSeconds` while a task runs, and
    /// not while the pending tasks are all queued.
    @Test func progressIsReadEveryProgressSecondsOnlyWhileTasksRun() {
        var d = Driver()
        // Queued only: the waits run to reconcileSeconds, no progress read.
        _ = d.start()
        d.track(Self.task(1))
        d.rebuilt()
        #expect(d.reconciled([Self.task(1): .queued]) == [.wait(maxSeconds: 30)])
        d.advance(to: 4)
        #expect(d.waitReturned(.changed) == [.wait(maxSeconds: 26)])
        // It starts running: the next wait ends by the next progress read, 10 s after the last reconcile.
        d.advance(to: 5)
        #expect(d.waitReturned(.changed, [Self.task(1): .running]) == [.wait(maxSeconds: 5)])
        d.advance(to: 9.9)
        #expect(d.waitReturned(.changed) == [.wait(maxSeconds: 1)])
        d.advance(to: 10)
        #expect(d.waitReturned(.changed) == [.reconcile(tasks: [Self.task(1)], why: .progress)])
        #expect(d.reconciled([Self.task(1): .running]) == [.wait(maxSeconds: 10)])
        d.advance(to: 20)
        #expect(d.waitReturned(.changed) == [.reconcile(tasks: [Self.task(1)], why: .progress)])
        // Back to queued (as after a restart of the task): no more progress reads.
        #expect(d.reconciled([Self.task(1): .queued]) == [.wait(maxSeconds: 30)])
        d.advance(to: 31)
        #expect(d.waitReturned(.changed) == [.wait(maxSeconds: 19)], "the next reconcile at 50 s")
    }

    /// With progress in the filter (`progressSeconds` 0) there is no progress read.
    @Test func noProgressReadWhenProgressWakesTheWait() {
        var settings = Self.defaults
        settings.progressSeconds = 0
        var d = Driver(settings)
        #expect(d.startWatching(running: [Self.task(1)]) == [.wait(maxSeconds: 30)])
        d.advance(to: 11)
        #expect(d.waitReturned(.changed) == [.wait(maxSeconds: 19)])
    }

    // MARK: Errors and re-logins

    /// Rule: a failed call rebuilds the collector (and reconciles) after a pause of 0.5 s
    /// doubling to 10 s; a completed cycle resets the pause.
    @Test func errorsRebuildAfterADoublingBackoff() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 1)
        var pauses: [Double] = []
        #expect(d.feed { $0.waitFailed(now: $1) } == [.sleep(until: PollerInstant(seconds: 1.5))])
        for _ in 0..<7 {
            let failedAt = d.now
            let pause = d.timer.map { $0.seconds - failedAt } ?? -1
            pauses.append((pause * 1000).rounded() / 1000)
            #expect(d.advance(to: d.timer?.seconds ?? 0) == [.rebuild(members: [Self.task(1)])])
            d.advance(to: d.now + 0.01)
            d.feed { $0.rebuildFailed(now: $1) }
        }
        #expect(pauses == [0.5, 1, 2, 4, 8, 10, 10])
        #expect(d.m.counters.errors == 8)
        // A rebuild that works is followed by a reconcile, then a cycle completes: back to 0.5 s.
        d.advance(to: d.timer!.seconds)
        d.rebuilt()
        #expect(d.reconciled([Self.task(1): .running]) == [.wait(maxSeconds: 10)])
        d.advance(to: d.now + 1)
        d.waitReturned(.changed)
        d.advance(to: d.now + 1)
        let failedAt = d.now
        d.feed { $0.waitFailed(now: $1) }
        #expect(d.timer == PollerInstant(seconds: failedAt + 0.5))
        #expect(d.m.counters.rebuilds == 2)
    }

    /// Every kind of failure takes the same path: a reconcile's and a view change's too.
    @Test func aFailedReconcileOrViewChangeAlsoRebuilds() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 10)
        d.waitReturned(.empty)
        #expect(d.feed { $0.reconcileFailed(now: $1) } == [.sleep(until: PollerInstant(seconds: 10.5))])
        #expect(d.advance(to: 10.5) == [.rebuild(members: [Self.task(1)])])
        d.rebuilt()
        d.reconciled([Self.task(1): .running])
        d.advance(to: 11)
        d.track(Self.task(2))
        d.advance(to: 13.5)     // due: 3 s after the rebuild at 10.5
        #expect(d.logged(Self.isModify).count == 1)
        // It fails during the wait: the wait on the suspect collector is cancelled...
        #expect(d.feed { $0.viewChangeFailed(now: $1) } == [.cancelWait])
        // ...and its failure rebuilds with both tasks.
        d.advance(to: 13.6)
        #expect(d.feed { $0.waitFailed(now: $1) } == [.sleep(until: PollerInstant(seconds: 14.6))])
        #expect(d.advance(to: 14.6) == [.rebuild(members: [Self.task(1), Self.task(2)])])
    }

    /// Rule: after a re-login the next cycle rebuilds the collector and reconciles.
    @Test func aReloginRebuildsAndReconciles() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1), Self.task(2)])
        d.advance(to: 4)
        #expect(d.feed { $0.rebuildRequested(now: $1) } == [])
        // The wait in flight came back (before the server noticed): the next cycle rebuilds.
        d.advance(to: 5)
        #expect(d.waitReturned(.changed) == [.rebuild(members: [Self.task(1), Self.task(2)])])
        #expect(d.rebuilt() == [.reconcile(tasks: [Self.task(1), Self.task(2)], why: .rebuilt)])
        #expect(d.reconciled([Self.task(1): .ended]) == [.wait(maxSeconds: 10)])
        #expect(d.m.counters.rebuilds == 2 && d.m.counters.errors == 0)
        // No add is scheduled during a wait while a rebuild is pending.
        d.feed { $0.rebuildRequested(now: $1) }
        d.advance(to: 9)
        #expect(d.track(Self.task(3)) == [])
    }

    // MARK: Removal

    /// Rule: finished tasks leave the view in one `ModifyListView` once `removeThreshold`
    /// gathered, at the start of a cycle.
    @Test func finishedTasksLeaveTheViewInBulk() {
        var settings = Self.defaults
        settings.removeThreshold = 3
        var d = Driver(settings)
        let all = (1...5).map(Self.task)
        _ = d.startWatching(running: all)
        d.advance(to: 1)
        #expect(d.waitReturned(.ended, [all[0]: .ended, all[1]: .ended]) == [.sleep(until: PollerInstant(seconds: 1.3))])
        #expect(d.advance(to: 1.3) == [.wait(maxSeconds: 9)], "two finished: below the threshold")
        d.advance(to: 2)
        d.waitReturned(.ended, [all[2]: .ended])
        #expect(d.advance(to: 2.3) == [.modifyView(add: [], remove: Array(all[0...2]))])
        #expect(d.viewChanged() == [.wait(maxSeconds: 8)])
        #expect(d.m.inView == Set(all[3...]))
    }

    /// A task that ended before it joined the view never joins it.
    @Test func aTaskThatEndedBeforeJoiningNeverJoins() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 1)
        d.track(Self.task(2))
        d.advance(to: 2)
        d.waitReturned(.empty)
        #expect(d.reconciled([Self.task(2): .ended]) == [.wait(maxSeconds: 10)])
        #expect(d.advance(to: 60).allSatisfy { !Self.isModify($0) })
        #expect(d.m.toAdd.isEmpty)
    }

    // MARK: Stop

    /// Rule: stop asks once to stop, and then nothing: late results and timers are ignored.
    @Test func stopEndsEverything() {
        var d = Driver()
        _ = d.startWatching(running: [Self.task(1)])
        d.advance(to: 1)
        d.track(Self.task(2))
        #expect(d.feed { $0.stop(now: $1) } == [.stop])
        #expect(d.feed { $0.stop(now: $1) } == [])
        #expect(d.m.phase == .stopped)
        #expect(d.waitReturned(.ended, [Self.task(1): .ended]) == [])
        #expect(d.advance(to: 100) == [])
        #expect(d.track(Self.task(3)) == [])
        #expect(d.feed { $0.rebuildRequested(now: $1) } == [])
    }
}
