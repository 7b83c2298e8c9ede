import Foundation

/// One message to the operators' chat: the run started, a job failed for good, the run
/// ended. Its JSON (`payload`) is what Slack's and Microsoft Teams' incoming webhooks accept:
/// a top-level `text` (Markdown-ish, shown as the message), plus a `moonmotion` object with
/// the same facts as fields for other receivers (they ignore what they do not know).
public struct RunNotification: Sendable, Hashable {
    /// What happened.
    public enum Event: String, Sendable, Hashable, Codable {
        case runStarted = "run_started"
        case jobFailed = "job_failed"
        case runFinished = "run_finished"
        case runAborted = "run_aborted"

        /// Run-level events are kept when the queue is full; job failures may be dropped.
        var isRunLevel: Bool { self != .jobFailed }
    }

    /// What happened.
    public var event: Event
    /// The message as people read it: `moonmotion: storage-migration.lua on vc01 finished: …`.
    public var text: String
    /// Facts for machines (`run`, `vm`, `fault`, `moved`, `failed`, …): strings or numbers.
    public var fields: [String: Field]

    /// A field's value.
    public enum Field: Sendable, Hashable, Encodable {
        case string(String)
        case number(Double)
        case integer(Int)

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .number(let x): try c.encode(x)
            case .integer(let n): try c.encode(n)
            }
        }
    }

    /// A message.
    public init(event: Event, text: String, fields: [String: Field] = [:]) {
        self.event = event
        self.text = text
        self.fields = fields
    }

    /// `{"text": "...", "moonmotion": {"event": "run_finished", ...fields}}`.
    public func payload() -> Data {
        struct Body: Encodable {
            var text: String
            var moonmotion: [String: Field]
        }
        var facts = fields
        facts["event"] = .string(event.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Body(text: text, moonmotion: facts))) ?? Data("{\"text\":\"\"}".utf8)
    }
}
