import Foundation
import RunNotifications
import Testing

/// The webhook delivery decisions on virtual time: order, retries, refusals, the bound.
@Suite("Notifier state machine")
struct NotifierStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func message(_ event: RunNotification.Event, _ text: String) -> RunNotification {
        RunNotification(event: event, text: text)
    }

    func posts(_ actions: [NotifierStateMachine.Action]) -> [(Int, String)] {
        actions.compactMap { if case .post(let id, let m) = $0 { (id, m.text) } else { nil } }
    }

    @Test("one message in flight at a time, in order")
    func inOrder() {
        var m = NotifierStateMachine()
        #expect(posts(m.enqueue(message(.runStarted, "a"), now: t0)).map(\.1) == ["a"])
        #expect(m.enqueue(message(.jobFailed, "b"), now: t0).isEmpty, "a is in flight")
        #expect(posts(m.posted(id: 0, now: t0)).map(\.1) == ["b"])
        #expect(m.posted(id: 1, now: t0).isEmpty)
        #expect(m.isIdle && m.delivered == 2)
    }

    @Test("a transient failure is retried with backoff, ahead of later messages; then delivered")
    func retriesWithBackoff() {
        var m = NotifierStateMachine()
        _ = m.enqueue(message(.runStarted, "a"), now: t0)
        _ = m.enqueue(message(.jobFailed, "b"), now: t0)
        #expect(m.postFailed(id: 0, .transient("connection refused"), now: t0) == [.wake(at: t0.addingTimeInterval(2))])
        #expect(m.timerFired(now: t0.addingTimeInterval(1)) == [.wake(at: t0.addingTimeInterval(2))], "not yet due")
        #expect(posts(m.timerFired(now: t0.addingTimeInterval(2))).map(\.1) == ["a"], "a again, before b")
        #expect(m.postFailed(id: 0, .transient("HTTP 503"), now: t0.addingTimeInterval(2)) == [.wake(at: t0.addingTimeInterval(6))])
        #expect(posts(m.timerFired(now: t0.addingTimeInterval(6))).map(\.1) == ["a"])
        #expect(posts(m.posted(id: 0, now: t0.addingTimeInterval(6))).map(\.1) == ["b"])
    }

    @Test("after maxAttempts transient failures the message is dropped and the next goes")
    func givesUp() {
        var config = NotifierStateMachine.Configuration()
        config.maxAttempts = 3
        var m = NotifierStateMachine(configuration: config)
        var now = t0
        _ = m.enqueue(message(.runStarted, "a"), now: now)
        _ = m.enqueue(message(.runFinished, "z"), now: now)
        var last: [NotifierStateMachine.Action] = []
        for _ in 0..<3 {
            last = m.postFailed(id: 0, .transient("timeout"), now: now)
            if case .wake(let at)? = last.first { now = at; _ = m.timerFired(now: now) }
        }
        #expect(last.first == .dropped(id: 0, event: .runStarted, reason: "3 attempts failed; last: timeout"))
        #expect(posts(last).map(\.1) == ["z"])
        #expect(m.dropped == 1)
    }

    @Test("a refusal (4xx) drops the message at once")
    func refused() {
        var m = NotifierStateMachine()
        _ = m.enqueue(message(.jobFailed, "a"), now: t0)
        let actions = m.postFailed(id: 0, .refused("HTTP 404"), now: t0)
        #expect(actions == [.dropped(id: 0, event: .jobFailed, reason: "refused: HTTP 404")])
        #expect(m.isIdle)
    }

    @Test("the queue is bounded: a job failure is dropped first, run-level messages kept")
    func bounded() {
        var config = NotifierStateMachine.Configuration()
        config.queueLimit = 3
        var m = NotifierStateMachine(configuration: config)
        _ = m.enqueue(message(.runStarted, "start"), now: t0)   // in flight
        _ = m.enqueue(message(.jobFailed, "f1"), now: t0)
        _ = m.enqueue(message(.jobFailed, "f2"), now: t0)
        _ = m.enqueue(message(.jobFailed, "f3"), now: t0)
        let overflow = m.enqueue(message(.runFinished, "end"), now: t0)
        #expect(overflow == [.dropped(id: 1, event: .jobFailed, reason: "the queue is full (3 waiting)")])
        var delivered: [String] = []
        var next = m.posted(id: 0, now: t0)
        while let (id, text) = posts(next).first {
            delivered.append(text)
            next = m.posted(id: id, now: t0)
        }
        #expect(delivered == ["f2", "f3", "end"])
        // Thousands of failures against a dead webhook hold at most queueLimit messages.
        for i in 0..<10_000 { _ = m.enqueue(message(.jobFailed, "x\(i)"), now: t0) }
        #expect(m.dropped == 1 + (10_000 - 1 - 3), "one in flight, three waiting, the rest dropped")
    }

    @Test("the payload is what Slack and Teams incoming webhooks read: a top-level text, the facts beside it")
    func payload() throws {
        let n = RunNotification(event: .runFinished, text: "moonmotion: done", fields: ["moved": .integer(3), "run": .string("x.lua")])
        let json = try JSONSerialization.jsonObject(with: n.payload()) as? [String: Any]
        #expect(json?["text"] as? String == "moonmotion: done")
        let facts = json?["moonmotion"] as? [String: Any]
        #expect(facts?["event"] as? String == "run_finished")
        #expect(facts?["moved"] as? Int == 3)
    }

    @Test("a webhook is named by scheme and host only: its path is its secret")
    func labels() {
        #expect(Notifier.label(of: "https://hooks.slack.com/services/T000/B000/XXXXSECRET") == "https://hooks.slack.com")
        #expect(Notifier.problem(with: "ftp://x/y") != nil)
        #expect(Notifier.problem(with: "https:///nohost") != nil)
        #expect(Notifier.problem(with: "http://127.0.0.1:8080/hook") == nil)
        #expect(!(Notifier.problem(with: "hooks.slack.com/services/T000/SECRET") ?? "").contains("SECRET"))
    }
}
