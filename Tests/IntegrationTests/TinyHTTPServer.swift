import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on a free loopback port that is not vSphere: it answers every
/// request with a web page, or trickles a SOAP-looking response one byte at a time. Each
/// connection is served on its own thread (never on the Swift cooperative pool).
final class TinyHTTPServer: @unchecked Sendable {
    /// How it answers.
    enum Mode: Sendable {
        /// `200 OK`, `text/html`: a web server that is not vCenter.
        case webPage
        /// `200 OK`, `text/xml` announcing a large body, then the start of a SOAP envelope
        /// followed by one space every `interval` seconds, forever.
        case trickle(interval: Double)
    }

    let port: Int
    private let mode: Mode
    private let listener: Int32
    private let lock = NSLock()
    private var stopped = false
    private var clients: [Int32] = []

    init(_ mode: Mode) throws {
        self.mode = mode
        let (fd, port) = try LoopbackListener.open(backlog: 16)
        self.port = port
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// `http://127.0.0.1:port/sdk`.
    var url: String { "http://127.0.0.1:\(port)/sdk" }

    /// Stops listening and closes every connection.
    func stop() {
        // Under the lock: a connection's thread closes its descriptor under the same lock and
        // takes it off `clients` first, so every number shut down here is still this server's.
        // (Shutting down a number after its connection closed hit whatever socket of the test
        // process reused it — a status server's listener, an HTTP client's connection — and
        // failed unrelated tests with "connection refused" or "remote closed".)
        // The listener is only shut down here; the accept loop closes it when it leaves, so its
        // number is not reused by another socket while `accept` may still be called on it.
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            for fd in clients { shutdown(fd, Int32(SHUT_RDWR)) }
            shutdown(listener, Int32(SHUT_RDWR))
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let open = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                clients.append(client)
                return true
            }
            guard open else {
                close(client)
                return
            }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    /// Reads one request head (and its body), then answers; keeps the connection for more.
    private func serve(_ fd: Int32) {
        defer {
            lock.withLock {
                clients.removeAll { $0 == fd }
                close(fd)
            }
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while !isStopped {
            var headEnd: Int?
            while headEnd == nil {
                if let r = Self.find(buffer, Array("\r\n\r\n".utf8)) { headEnd = r; break }
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self).lowercased()
            var length = 0
            for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            while buffer.count < headEnd! + 4 + length {
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            buffer.removeFirst(headEnd! + 4 + length)
            switch mode {
            case .webPage:
                let body = "<!DOCTYPE html><html><body><h1>It works!</h1></body></html>"
                let response = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
                guard sendAll(fd, Array(response.utf8)) else { return }
            case .trickle(let interval):
                let start = "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: 10000000\r\n\r\n"
                    + #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">"#
                guard sendAll(fd, Array(start.utf8)) else { return }
                while !isStopped {
                    Thread.sleep(forTimeInterval: interval)
                    guard sendAll(fd, [0x20]) else { return }
                }
                return
            }
        }
    }

    /// Writes all of `bytes`; false once the peer is gone (no SIGPIPE).
    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
