import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Posts `RunNotification`s to webhooks (`--notify URL`, repeatable) without ever slowing the
/// run: `notify` only enqueues; each webhook has its own `NotifierStateMachine` (bounded
/// queue, retries with backoff), and this class performs its actions. Logs name a webhook by
/// scheme and host only — the path of a Slack or Teams webhook is its secret.
public final class Notifier: @unchecked Sendable {
    final class Endpoint: @unchecked Sendable {
        let url: String
        let label: String
        let lock = NSLock()
        var machine: NotifierStateMachine
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        init(url: String, label: String, configuration: NotifierStateMachine.Configuration) {
            self.url = url
            self.label = label
            machine = NotifierStateMachine(configuration: configuration)
        }
    }

    private let endpoints: [Endpoint]
    private let client: HTTPClient
    private let log: @Sendable (String) -> Void
    private let clock: @Sendable () -> Date

    /// A notifier for `urls` (checked with `problem(with:)` first). `log` gets one line per
    /// dropped message; `clock` is real time (retries wait real seconds even under simulation).
    public init(urls: [String], configuration: NotifierStateMachine.Configuration = .init(),
                log: @escaping @Sendable (String) -> Void, clock: @escaping @Sendable () -> Date = { Date() }) {
        endpoints = urls.map { Endpoint(url: $0, label: Self.label(of: $0), configuration: configuration) }
        client = HTTPClient(eventLoopGroupProvider: .singleton)
        self.log = log
        self.clock = clock
    }

    /// Why `url` cannot be a webhook (nil: it can): http(s) with a host.
    public static func problem(with url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https" else {
            return "'\(label(of: url))' is not an http:// or https:// URL"
        }
        guard let host = components.host, !host.isEmpty else { return "\(label(of: url)) names no host" }
        return nil
    }

    /// `https://hooks.slack.com` — never the path or query (they carry the webhook's token).
    public static func label(of url: String) -> String {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return "(not a URL)" }
        return "\(scheme)://\(host)" + (c.port.map { ":\($0)" } ?? "")
    }

    /// Sends `message` to every webhook; returns at once.
    public func notify(_ message: RunNotification) {
        for endpoint in endpoints {
            let actions = endpoint.lock.withLock { endpoint.machine.enqueue(message, now: clock()) }
            perform(actions, on: endpoint)
        }
    }

    /// Waits until every message is delivered or dropped, at most `seconds`, then closes the
    /// HTTP client. Returns (delivered, dropped, still waiting) over all webhooks.
    @discardableResult
    public func finish(within seconds: Double) async -> (delivered: Int, dropped: Int, waiting: Int) {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { inner in
                    for endpoint in self.endpoints {
                        inner.addTask { await self.waitIdle(endpoint) }
                    }
                }
            }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9)) }
            await group.next()
            group.cancelAll()
            // Release whoever still waits for idle (the deadline came first).
            for endpoint in self.endpoints {
                let waiters = endpoint.lock.withLock { () -> [CheckedContinuation<Void, Never>] in
                    defer { endpoint.idleWaiters = [] }
                    return endpoint.idleWaiters
                }
                for w in waiters { w.resume() }
            }
        }
        var totals = (delivered: 0, dropped: 0, waiting: 0)
        for endpoint in endpoints {
            endpoint.lock.withLock {
                totals.delivered += endpoint.machine.delivered
                totals.dropped += endpoint.machine.dropped
                totals.waiting += endpoint.machine.isIdle ? 0 : 1
            }
        }
        try? await client.shutdown()
        return totals
    }

    private func waitIdle(_ endpoint: Endpoint) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let idle = endpoint.lock.withLock { () -> Bool in
                if endpoint.machine.isIdle { return true }
                endpoint.idleWaiters.append(c)
                return false
            }
            if idle { c.resume() }
        }
    }

    private func perform(_ actions: [NotifierStateMachine.Action], on endpoint: Endpoint) {
        for action in actions {
            switch action {
            case .post(let id, let message):
                Task {
                    let failure = await self.post(message, to: endpoint.url)
                    let next = endpoint.lock.withLock {
                        failure.map { endpoint.machine.postFailed(id: id, $0, now: self.clock()) }
                            ?? endpoint.machine.posted(id: id, now: self.clock())
                    }
                    self.perform(next, on: endpoint)
                    self.wakeIdleWaiters(endpoint)
                }
            case .wake(let at):
                Task {
                    let wait = at.timeIntervalSince(self.clock())
                    if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                    let next = endpoint.lock.withLock { endpoint.machine.timerFired(now: self.clock()) }
                    self.perform(next, on: endpoint)
                }
            case .dropped(_, let event, let reason):
                log("notify \(endpoint.label): dropped a \(event.rawValue) message: \(reason)")
                wakeIdleWaiters(endpoint)
            }
        }
    }

    private func wakeIdleWaiters(_ endpoint: Endpoint) {
        let waiters = endpoint.lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            guard endpoint.machine.isIdle else { return [] }
            defer { endpoint.idleWaiters = [] }
            return endpoint.idleWaiters
        }
        for w in waiters { w.resume() }
    }

    /// One POST; nil when the webhook accepted it (2xx).
    private func post(_ message: RunNotification, to url: String) async -> NotifierStateMachine.Failure? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "moonmotion")
        request.body = .bytes(ByteBuffer(bytes: Array(message.payload())))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            switch code {
            case 200..<300: return nil
            case 408, 429, 500...: return .transient("HTTP \(code)")
            default: return .refused("HTTP \(code)")
            }
        } catch {
            return .transient(String(describing: error).prefix(200).description)
        }
    }
}
