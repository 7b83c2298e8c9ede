import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a child process is doing, read from Linux's `/proc`: the events a test waits for
/// when the child cannot say them itself — a script spinning in a loop prints nothing, and
/// one waiting in `mm.sleep` has nothing left to print.
enum ProcessProbe {
    /// The CPU time (user + system, all threads) `pid` has used, in seconds; nil once it is gone.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        // Fields after the command name (which may hold spaces, hence the last ')'): state is
        // the 3rd field of the line, utime and stime the 14th and 15th, in clock ticks.
        guard let fields = statFields("/proc/\(pid)/stat"), fields.count > 12,
              let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Whether every thread of `pid` is asleep (state `S`: blocked in a wait, a read, a
    /// condition) — none running or runnable. False when the process is gone.
    static func allThreadsAsleep(_ pid: Int32) -> Bool {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"), !threads.isEmpty else { return false }
        return threads.allSatisfy { statFields("/proc/\(pid)/task/\($0)/stat")?.first == "S" }
    }

    /// The fields of a `stat` file after the command name.
    private static func statFields(_ path: String) -> [Substring]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
}
