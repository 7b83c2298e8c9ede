import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on a free loopback port for what the test vCenter cannot show:
/// paging with `ContinueRetrievePropertiesEx`, a server that is not vSphere, scripted
/// faults. It answers each POST by asking `respond` with the SOAP method name (the first
/// element inside `soapenv:Body`) and the request body. Keep-alive connections are served
/// one request after another, each on its own thread.
final class FakeSOAPServer: @unchecked Sendable {
    /// One scripted answer.
    struct Response {
        var status: Int = 200
        var contentType: String = "text/xml; charset=utf-8"
        var headers: [(String, String)] = []
        var body: [UInt8]
        /// When set: announce a much longer body, send `body`, then one space every this
        /// many seconds until the client goes away (a server that trickles).
        var trickleInterval: Double?
        /// When set: hold the call before answering, as vCenter holds a `WaitForUpdatesEx`
        /// long poll, until the client cancels its waits (`CancelWaitForUpdates` reaches this
        /// server), the server stops, or this many seconds pass (the request's
        /// `maxWaitSeconds`, a real server's bound too). The end of a hold is an event the
        /// client causes, not a fixed delay that a loaded machine stretches or a test races.
        var holdSeconds: Double?

        /// A SOAP response from a fixture file.
        static func fixture(_ name: String, status: Int = 200, headers: [(String, String)] = []) -> Response {
            Response(status: status, headers: headers, body: Fixtures.bytes(name))
        }

        /// `<MethodResponse>` with `inner` as its content.
        static func soap(_ method: String, _ inner: String = "", headers: [(String, String)] = []) -> Response {
            let xml = #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><"# + method + #"Response xmlns="urn:vim25">"# + inner + "</" + method + "Response></soapenv:Body></soapenv:Envelope>"
            return Response(headers: headers, body: Array(xml.utf8))
        }

        /// A `RetrievePropertiesEx` answer with the members (`view`) of a ContainerView: the light
        /// call that comes before the VMs are read (in one or several retrievals).
        static func viewMembers(_ refs: [String], view: String = "session[52b0a6a7]view-1", type: String = "VirtualMachine") -> Response {
            let members = refs.map { #"<ManagedObjectReference type=""# + type + #"">"# + $0 + "</ManagedObjectReference>" }.joined()
            return soap("RetrievePropertiesEx", #"<returnval><objects><obj type="ContainerView">"# + view
                + #"</obj><propSet><name>view</name><val xsi:type="ArrayOfManagedObjectReference">"# + members + "</val></propSet></objects></returnval>")
        }

        /// Whether a request reads a ContainerView's members.
        static func readsViewMembers(_ request: Request) -> Bool {
            request.method == "RetrievePropertiesEx" && request.body.contains("<propSet><type>ContainerView</type>")
        }

        /// An empty `WaitForUpdatesEx` answer after holding the call as vCenter does (see
        /// `holdSeconds`): up to the request's `maxWaitSeconds` (10 when it gives none).
        static func emptyWait(_ request: Request) -> Response {
            var response = soap("WaitForUpdatesEx")
            response.holdSeconds = maxWaitSeconds(request) ?? 10
            return response
        }

        /// `response`, answered once the call has been held (see `holdSeconds`) at most `seconds`.
        static func held(_ response: Response, upTo seconds: Double) -> Response {
            var response = response
            response.holdSeconds = seconds
            return response
        }

        /// The `maxWaitSeconds` of a `WaitForUpdatesEx` request.
        static func maxWaitSeconds(_ request: Request) -> Double? {
            guard let start = request.body.range(of: "<maxWaitSeconds>"),
                  let end = request.body.range(of: "</maxWaitSeconds>", range: start.upperBound..<request.body.endIndex) else { return nil }
            return Double(request.body[start.upperBound..<end.lowerBound])
        }

        /// A SOAP fault of `type` with `message`, as vCenter sends it (HTTP 500).
        static func fault(_ type: String, _ message: String) -> Response {
            let xml = #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>"# + message + #"</faultstring><detail><"# + type + #"Fault xmlns="urn:vim25" xsi:type=""# + type + #""></"# + type + "Fault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            return Response(status: 500, body: Array(xml.utf8))
        }
    }

    /// A request as received.
    struct Request: Sendable {
        var method: String
        var body: String
        var headers: [String: String]
        /// The request line's method and target: `POST /sdk`, `GET /rest/com/vmware/cis/tagging/tag`.
        var target: String = ""
    }

    let port: Int
    private let listener: Int32
    private let respond: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var received: [Request] = []
    private var stopped = false
    /// Held calls (`Response.holdSeconds`) wait on this for `cancels` to change or `stopped`.
    private let holds = NSCondition()
    private var cancels = 0

    init(_ respond: @escaping @Sendable (Request) -> Response) throws {
        self.respond = respond
        let (fd, port) = try LoopbackListener.open(backlog: 64)
        self.port = port
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// `http://127.0.0.1:port/sdk`.
    var url: String { "http://127.0.0.1:\(port)/sdk" }

    /// The SOAP methods received so far, in order.
    var methods: [String] { lock.withLock { received.map(\.method) } }

    /// The requests received so far.
    var requests: [Request] { lock.withLock { received } }

    /// Stops accepting. The listening socket is only shut down here; the accept loop closes
    /// it when it leaves, so its descriptor cannot be reused (by another test's server) while
    /// the loop may still call `accept` on it — which would steal that server's connections.
    func stop() {
        let first = lock.withLock { () -> Bool in defer { stopped = true }; return !stopped }
        if first {
            shutdown(listener, Int32(SHUT_RDWR))
        }
        holds.lock()
        holds.broadcast()
        holds.unlock()
    }

    /// Ends every held call (a `CancelWaitForUpdates` arrived).
    private func releaseHolds() {
        holds.lock()
        cancels += 1
        holds.broadcast()
        holds.unlock()
    }

    /// Holds the calling connection thread until `releaseHolds`, `stop` or `seconds`.
    private func hold(upTo seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        holds.lock()
        let generation = cancels
        while cancels == generation && !lock.withLock({ stopped }) {
            if !holds.wait(until: deadline) { break }
        }
        holds.unlock()
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !lock.withLock({ stopped }) {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            if lock.withLock({ stopped }) {
                close(client)
                return
            }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            // Read the head.
            var headEnd: Int?
            while headEnd == nil {
                if let r = find(buffer, Array("\r\n\r\n".utf8)) { headEnd = r; break }
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
            var headers: [String: String] = [:]
            for line in head.split(separator: "\r\n").dropFirst() {
                if let colon = line.firstIndex(of: ":") {
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyStart = headEnd! + 4
            while buffer.count < bodyStart + length {
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            let body = String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self)
            buffer.removeFirst(bodyStart + length)
            let requestLine = head.split(separator: "\r\n").first.map { $0.split(separator: " ").prefix(2).joined(separator: " ") } ?? ""
            let request = Request(method: FakeSOAPServer.soapMethod(body), body: body, headers: headers, target: requestLine)
            lock.withLock { received.append(request) }
            if request.method == "CancelWaitForUpdates" { releaseHolds() }
            let response = respond(request)
            if let seconds = response.holdSeconds { hold(upTo: seconds) }
            var out = "HTTP/1.1 \(response.status) \(response.status == 200 ? "OK" : response.status == 500 ? "Internal Server Error" : "Status")\r\n"
            out += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count + (response.trickleInterval == nil ? 0 : 10_000_000))\r\n"
            for (name, value) in response.headers { out += "\(name): \(value)\r\n" }
            out += "\r\n"
            var bytes = Array(out.utf8)
            bytes.append(contentsOf: response.body)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                sent += n
            }
            if let interval = response.trickleInterval {
                var space: UInt8 = 0x20
                while !lock.withLock({ stopped }) {
                    // Real time on purpose: the client's read timeout measures it (a real
                    // socket, as in production). Bounded by the client going away or stop().
                    Thread.sleep(forTimeInterval: interval)
                    // MSG_NOSIGNAL: a client that gave up must not kill the test process with SIGPIPE.
                    if send(fd, &space, 1, Int32(MSG_NOSIGNAL)) <= 0 { return }
                }
                return
            }
        }
    }

    private func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    /// The local name of the first element inside `<soapenv:Body>`.
    static func soapMethod(_ body: String) -> String {
        guard let bodyTag = body.range(of: "Body>") else { return "" }
        let rest = body[bodyTag.upperBound...]
        guard let open = rest.firstIndex(of: "<") else { return "" }
        let name = rest[rest.index(after: open)...].prefix { $0 != " " && $0 != ">" && $0 != "/" }
        return String(name.split(separator: ":").last ?? "")
    }
}

/// Reads fixtures from `Tests/VSphereSOAPTests/Fixtures`.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
            fatalError("missing fixture \(name) in \(directory.path)")
        }
        return Array(data)
    }
}
