#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The one-writer lock of a journal: an exclusive `flock` on `<journal>.lock`, held for the
/// journal's whole life by the process that writes it.
///
/// Two runs writing one journal would each dispatch the same pending jobs — in one test
/// four processes on one journal copied 74 VMs twice and overran host and datastore limits
/// hundreds of times — so a second writer is refused at once, before it reads or changes
/// anything, with the holder's PID, host and start time. The kernel drops the lock when the
/// holder dies however it dies (kill -9, a crash, power loss: nothing survives a reboot), so a
/// stale lock never blocks a resume; the file itself stays (unlinking it would race a writer
/// that has just opened it) and only its lock counts, never its contents.
final class JournalLock: Sendable {
    /// The lock file's path.
    let path: String
    private let descriptor: Int32

    /// Who holds a journal, as the holder wrote it into the lock file.
    struct Holder: Sendable, Hashable, CustomStringConvertible {
        var pid: Int32?
        var host: String?
        var since: String?

        var description: String {
            var parts: [String] = []
            if let pid { parts.append("PID \(pid)") }
            if let host { parts.append("on \(host)") }
            if let since { parts.append("since \(since)") }
            return parts.isEmpty ? "another process" : parts.joined(separator: " ")
        }
    }

    /// Takes the lock of the journal at `journalPath`, or throws `JournalError.inUse` naming
    /// the holder (another process, or another `Journal` of this one) without waiting.
    init(journalPath: String) throws {
        path = journalPath + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw JournalError.cannotOpen(path: journalPath, reason: "cannot create its lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readHolder(fd)
            close(fd)
            throw JournalError.inUse(path: journalPath, holder: holder.description)
        }
        descriptor = fd
        // Who holds it, for the message a second writer gets.
        let since = ISO8601DateFormatter().string(from: Date())
        let text = "pid=\(getpid())\nhost=\(ProcessInfo.processInfo.hostName)\nsince=\(since)\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        close(descriptor)
    }

    /// Who last took the lock of the journal at `journalPath`, as written in its lock file
    /// (read without taking the lock: a reader must never make a starting writer fail);
    /// nil when there is no lock file.
    static func lastHolder(journalPath: String) -> Holder? {
        let fd = open(journalPath + ".lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readHolder(fd)
    }

    /// Whether the process `holder` names still runs: false only when it ran on this host and
    /// its PID is gone (a process on another host cannot be checked, so it counts as running).
    static func isAlive(_ holder: Holder) -> Bool {
        guard let pid = holder.pid else { return true }
        if let host = holder.host, host != ProcessInfo.processInfo.hostName { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    private static func readHolder(_ fd: Int32) -> Holder {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return Holder() }
        var holder = Holder()
        for line in String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "pid": holder.pid = Int32(parts[1])
            case "host": holder.host = parts[1]
            case "since": holder.since = parts[1]
            default: break
            }
        }
        return holder
    }
}
