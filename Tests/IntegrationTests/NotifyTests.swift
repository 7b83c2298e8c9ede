import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `--notify URL` during a simulated run: a local listener receives the run's messages (issue 14.5).
@Suite("moonmotion run --notify")
struct NotifyTests {
    /// A loopback HTTP listener that records each request body and answers 200 (or `status`).
    final class Webhook: @unchecked Sendable {
        let port: Int
        private let fd: Int32
        private let lock = NSLock()
        private var bodies: [String] = []
        let status: Int

        init(status: Int = 200) throws {
            self.status = status
            (fd, port) = try LoopbackListener.open(backlog: 16)
            Thread.detachNewThread { [self] in serve() }
        }

        var received: [String] { lock.withLock { bodies } }

        /// Shuts the listener down; the serving loop closes it when it leaves (never a number
        /// that another socket of the test process may have reused).
        func stop() {
            shutdown(fd, Int32(SHUT_RDWR))
        }

        private func serve() {
            defer { close(fd) }
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var data = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 65536)
                // Read headers, then Content-Length bytes of body.
                while true {
                    let n = read(client, &buffer, buffer.count)
                    if n <= 0 { break }
                    data += buffer[0..<n]
                    let text = String(decoding: data, as: UTF8.self)
                    if let headerEnd = text.range(of: "\r\n\r\n") {
                        let headers = text[..<headerEnd.lowerBound].lowercased()
                        let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                        let body = text[headerEnd.upperBound...]
                        if body.utf8.count >= length {
                            lock.withLock { bodies.append(String(body)) }
                            break
                        }
                    }
                }
                let reply = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = reply.withCString { write(client, $0, strlen($0)) }
                close(client)
            }
        }
    }

    @Test("started, each job that failed for good, finished with the summary; JSON with a top-level text")
    func messagesOfARun() async throws {
        let hook = try Webhook()
        defer { hook.stop() }
        let dir = try scriptDirectory(["fail-one.lua": """
            local strategy = require("moonmotion.strategy")
            return strategy.new{
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              -- One VM gets a target that is not a candidate: its job fails for good.
              target = function(job, candidates)
                if job.vm.name == "app-c1-0001" then return "legacy-01" end
                return candidates[1]
              end,
            }
            """])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(
            ["run", "fail-one.lua", "--generate", "clusters=1,hosts=2,vms=4", "--speed", "5000", "--no-journal",
             "--notify", "http://127.0.0.1:\(hook.port)/services/T0/SECRET-TOKEN"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 1, "one job failed: \(outcome.stderr)")
        let messages = try hook.received.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let events = messages.compactMap { ($0["moonmotion"] as? [String: Any])?["event"] as? String }
        #expect(events.first == "run_started", "\(events)")
        #expect(events.last == "run_finished", "\(events)")
        let last = try #require(messages.last)
        #expect((last["text"] as? String)?.contains("finished after") == true, "\(last)")
        #expect(((last["moonmotion"] as? [String: Any])?["moved"] as? Int) == 3)
        let failure = try #require(messages.first { ($0["moonmotion"] as? [String: Any])?["event"] as? String == "job_failed" })
        #expect((failure["text"] as? String)?.contains("app-c1-0001 (storage) failed:") == true, "\(failure)")
        #expect((failure["text"] as? String)?.contains("'legacy-01', which is not one of the candidates") == true, "\(failure)")
        #expect(!outcome.stderr.contains("SECRET-TOKEN") && !outcome.stdout.contains("SECRET-TOKEN"))
    }

    @Test("a webhook that refuses costs the run nothing: the run ends, the drop is said once per message")
    func refusingWebhook() async throws {
        let hook = try Webhook(status: 403)
        defer { hook.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(
            ["run", examplePath("storage-migration.lua"), "--generate", "clusters=1,hosts=2,vms=4", "--speed", "5000", "--no-journal",
             "--notify", "http://127.0.0.1:\(hook.port)/hook"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("notify http://127.0.0.1:\(hook.port): dropped a run_started message: refused: HTTP 403"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("/hook"))
    }

    @Test("--notify must be an http(s) URL")
    func badURL() async throws {
        let outcome = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--notify", "slack"], environment: ["GOVC_URL": ""])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("--notify:"), "\(outcome.stderr)")
    }
}
