import Foundation

/// The decisions of one webhook's delivery, as a value: what to post next, when to retry,
/// what to drop. Inputs carry `now`; outputs are actions a thin shell (`Notifier`) performs.
///
/// One message is in flight at a time (messages arrive in order). A failed post is retried
/// with backoff (`initialDelay` doubling to `maxDelay`) when the failure may pass (no answer,
/// 408, 429, 5xx) up to `maxAttempts`; a refusal (another 4xx) drops the message at once. The
/// queue is bounded (`queueLimit`): when full, the oldest job failure waiting is dropped to make
/// room (run-level messages — started, finished, aborted — are kept first), so a run that fails
/// thousands of jobs against a dead webhook holds a bounded amount of memory and never waits.
public struct NotifierStateMachine: Sendable {
    /// Bounds and backoff.
    public struct Configuration: Sendable, Hashable {
        /// Messages waiting at most (in flight not counted).
        public var queueLimit = 200
        /// Attempts per message in all.
        public var maxAttempts = 5
        /// The wait before the second attempt, doubling after each further failure.
        public var initialDelay: TimeInterval = 2
        /// The longest wait between attempts.
        public var maxDelay: TimeInterval = 60

        /// The defaults: 200 waiting, 5 attempts, 2 s doubling to 60 s.
        public init() {}
    }

    /// What the shell does.
    public enum Action: Sendable, Hashable {
        /// POST the message (then report `posted` or `postFailed`).
        case post(id: Int, RunNotification)
        /// Call `timerFired` at this time (a retry is due).
        case wake(at: Date)
        /// The message will never be delivered (for the log: how many and why).
        case dropped(id: Int, event: RunNotification.Event, reason: String)
    }

    /// How a post failed.
    public enum Failure: Sendable, Hashable {
        /// No answer (connection refused, timeout, DNS) or 408/429/5xx: may pass.
        case transient(String)
        /// Refused (400, 401, 403, 404, …): posting again will not help.
        case refused(String)
    }

    struct Item: Sendable {
        var id: Int
        var message: RunNotification
        var attempts = 0
        var notBefore: Date?
    }

    public let configuration: Configuration
    private var queue: [Item] = []
    private var inFlight: Item?
    private var nextID = 0
    /// Messages delivered, dropped.
    public private(set) var delivered = 0
    public private(set) var dropped = 0

    /// An idle machine.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether nothing waits or is in flight.
    public var isIdle: Bool { queue.isEmpty && inFlight == nil }

    /// A message to send.
    public mutating func enqueue(_ message: RunNotification, now: Date) -> [Action] {
        var actions: [Action] = []
        if queue.count >= configuration.queueLimit {
            let victim = queue.firstIndex { !$0.message.event.isRunLevel } ?? 0
            let item = queue.remove(at: victim)
            dropped += 1
            actions.append(.dropped(id: item.id, event: item.message.event, reason: "the queue is full (\(configuration.queueLimit) waiting)"))
        }
        queue.append(Item(id: nextID, message: message))
        nextID += 1
        return actions + next(now: now)
    }

    /// The message in flight was accepted.
    public mutating func posted(id: Int, now: Date) -> [Action] {
        guard inFlight?.id == id else { return next(now: now) }
        inFlight = nil
        delivered += 1
        return next(now: now)
    }

    /// The message in flight failed.
    public mutating func postFailed(id: Int, _ failure: Failure, now: Date) -> [Action] {
        guard var item = inFlight, item.id == id else { return next(now: now) }
        inFlight = nil
        switch failure {
        case .refused(let why):
            dropped += 1
            return [.dropped(id: id, event: item.message.event, reason: "refused: \(why)")] + next(now: now)
        case .transient(let why):
            guard item.attempts < configuration.maxAttempts else {
                dropped += 1
                return [.dropped(id: id, event: item.message.event, reason: "\(item.attempts) attempts failed; last: \(why)")] + next(now: now)
            }
            let delay = min(configuration.maxDelay, configuration.initialDelay * pow(2, Double(item.attempts - 1)))
            item.notBefore = now.addingTimeInterval(delay)
            queue.insert(item, at: 0)   // order is kept: it goes first when due
            return next(now: now)
        }
    }

    /// A wake-up asked for by `.wake(at:)` came.
    public mutating func timerFired(now: Date) -> [Action] { next(now: now) }

    /// The next post if the head is due, else the wake for it.
    private mutating func next(now: Date) -> [Action] {
        guard inFlight == nil, var head = queue.first else { return [] }
        if let due = head.notBefore, due > now { return [.wake(at: due)] }
        queue.removeFirst()
        head.attempts += 1
        head.notBefore = nil
        inFlight = head
        return [.post(id: head.id, head.message)]
    }
}
