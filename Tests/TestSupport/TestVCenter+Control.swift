import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension TestVCenter {
    /// A fault to inject at runtime (`POST /_mm/faults`). Build one with the static helpers.
    public struct FaultRule: Encodable, Sendable {
        /// `"task"` (a task ends in error or takes longer) or `"soap"` (a SOAP call faults or is delayed).
        public var target: String
        /// Method name: a task method (`RelocateVM_Task`) or any SOAP method; nil = any.
        public var method: String?
        /// VM name a task rule applies to; nil = any VM.
        public var vm: String?
        /// Fault type (`FileLocked`, `NotAuthenticated`, `InvalidState`, …); nil = no fault (a pure delay).
        public var fault: String?
        /// Fault message.
        public var message: String?
        /// How many matching tasks/calls the rule applies to; -1 = until cleared.
        public var count: Int
        /// Every Nth matching task fails (task rules; replaces `-fail-every` when set with no vm).
        public var every: Int?
        /// Task rules: extra simulated seconds; SOAP rules: real seconds to hold the call before answering.
        public var delaySeconds: Double?
        /// SOAP rules: `"after"` handles the call, then closes the connection unanswered;
        /// `"before"` closes it without handling the call.
        public var drop: String?

        enum CodingKeys: String, CodingKey {
            case target, method, vm, fault, message, count, every, drop
            case delaySeconds = "delay_seconds"
        }

        /// The next task of `vm` (and `method`, if given) ends in error with `fault`, `count` times.
        public static func failTask(vm: String, method: String? = nil, fault: String = "FileLocked", message: String? = nil, count: Int = 1) -> FaultRule {
            FaultRule(target: "task", method: method, vm: vm, fault: fault, message: message, count: count)
        }

        /// The next `count` tasks of `method` (any VM) end in error with `fault`.
        public static func failTasks(method: String, fault: String = "FileLocked", message: String? = nil, count: Int = 1) -> FaultRule {
            FaultRule(target: "task", method: method, fault: fault, message: message, count: count)
        }

        /// Every `n`th task of `method` ends in error with `fault` (like `-fail-every`), until cleared.
        public static func failEvery(_ n: Int, method: String = "RelocateVM_Task", fault: String = "FileLocked") -> FaultRule {
            FaultRule(target: "task", method: method, fault: fault, count: -1, every: n)
        }

        /// Matching tasks take `seconds` simulated seconds longer (`count` of them; -1 = all).
        public static func delayTasks(method: String? = nil, vm: String? = nil, seconds: Double, count: Int = -1) -> FaultRule {
            FaultRule(target: "task", method: method, vm: vm, count: count, delaySeconds: seconds)
        }

        /// The next `count` SOAP calls of `method` get a SOAP fault of type `fault` (for retry tests).
        public static func failCalls(method: String, fault: String, message: String? = nil, count: Int = 1) -> FaultRule {
            FaultRule(target: "soap", method: method, fault: fault, message: message, count: count)
        }

        /// The next `count` calls of `method` are handled (a task method's task is created) and
        /// then their connection is closed without an answer: the client cannot tell whether
        /// the call reached vCenter. `afterHandling: false` closes it without handling the call.
        public static func dropConnection(method: String, afterHandling: Bool = true, count: Int = 1) -> FaultRule {
            FaultRule(target: "soap", method: method, count: count, drop: afterHandling ? "after" : "before")
        }

        /// The next `count` SOAP calls of `method` are held `seconds` real seconds before being
        /// answered normally (a large value makes them hang until the client gives up).
        public static func delayCalls(method: String, seconds: Double, count: Int = 1) -> FaultRule {
            FaultRule(target: "soap", method: method, count: count, delaySeconds: seconds)
        }
    }

    /// Runtime changes to the time model and limits (`POST /_mm/config`); nil fields stay.
    public struct ConfigChange: Encodable, Sendable {
        /// Simulated seconds per real second.
        public var speed: Double?
        /// Storage vMotion MB/s.
        public var rateMBps: Double?
        /// vMotion memory MB/s.
        public var vmotionRateMBps: Double?
        /// Progress updates per task.
        public var progressSteps: Int?
        /// Minimum simulated task seconds.
        public var minTaskSeconds: Double?
        /// Per-host cost limit.
        public var hostMaxCost: Int?
        /// Per-datastore cost limit.
        public var datastoreMaxCost: Int?
        /// Concurrent vMotions per host network.
        public var networkMaxVMotions: Int?

        enum CodingKeys: String, CodingKey {
            case speed
            case rateMBps = "rate_mbps"
            case vmotionRateMBps = "vmotion_rate_mbps"
            case progressSteps = "progress_steps"
            case minTaskSeconds = "min_task_seconds"
            case hostMaxCost = "host_max_cost"
            case datastoreMaxCost = "datastore_max_cost"
            case networkMaxVMotions = "network_max_vmotions"
        }

        /// A change of the given settings.
        public init(speed: Double? = nil, rateMBps: Double? = nil, vmotionRateMBps: Double? = nil, progressSteps: Int? = nil,
                    minTaskSeconds: Double? = nil, hostMaxCost: Int? = nil, datastoreMaxCost: Int? = nil, networkMaxVMotions: Int? = nil) {
            self.speed = speed; self.rateMBps = rateMBps; self.vmotionRateMBps = vmotionRateMBps
            self.progressSteps = progressSteps; self.minTaskSeconds = minTaskSeconds
            self.hostMaxCost = hostMaxCost; self.datastoreMaxCost = datastoreMaxCost; self.networkMaxVMotions = networkMaxVMotions
        }
    }

    /// The server's counters (`GET /_mm/stats`). `includeTasks: false` leaves out the task list.
    public func stats(includeTasks: Bool = true) async throws -> Stats {
        let data = try await control("GET", includeTasks ? "stats" : "stats?tasks=0")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(Stats.self, from: data)
        } catch {
            throw TestVCenterError.controlFailed("stats: undecodable answer: \(error)")
        }
    }

    /// Zeroes SOAP counters, peak costs, the task list and moves (`POST /_mm/reset-stats`).
    public func resetStats() async throws {
        _ = try await control("POST", "reset-stats")
    }

    /// Invalidates every session (`POST /_mm/terminate-sessions`): the next call of each
    /// client gets a NotAuthenticated SOAP fault; a new Login works.
    public func terminateSessions() async throws {
        _ = try await control("POST", "terminate-sessions")
    }

    /// Every vim25 session key (the session cookie's value) and Automation API session id the
    /// test vCenter has handed out so far, live or not (`GET /_mm/session-keys`).
    public func sessionKeys() async throws -> [String] {
        struct Answer: Decodable { var keys: [String]? }
        return try JSONDecoder().decode(Answer.self, from: try await control("GET", "session-keys")).keys ?? []
    }

    /// Adds a fault rule (`POST /_mm/faults`).
    public func injectFault(_ rule: FaultRule) async throws {
        _ = try await control("POST", "faults", body: try JSONEncoder().encode(rule))
    }

    /// Removes every fault rule, including `-fail-every` (`DELETE /_mm/faults`).
    public func clearFaults() async throws {
        _ = try await control("DELETE", "faults")
    }

    /// Changes the time model or limits while running (`POST /_mm/config`).
    public func setConfig(_ change: ConfigChange) async throws {
        _ = try await control("POST", "config", body: try JSONEncoder().encode(change))
    }

    /// One control request; throws with the server's answer on a non-2xx status.
    @discardableResult
    public func control(_ method: String, _ path: String, body: Data? = nil) async throws -> Data {
        guard let url = URL(string: controlURL.absoluteString + "/" + path) else {
            throw TestVCenterError.controlFailed("bad path \(path)")
        }
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw TestVCenterError.controlFailed("\(method) \(url.absoluteString): \(error)\(isRunning ? "" : " (the server has exited)")")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw TestVCenterError.controlFailed("\(method) \(url.absoluteString): HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }
}
