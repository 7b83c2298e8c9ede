import LuaHost
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a failed script is reported: the message (`script.lua:12: text`) and the traceback on
/// stderr, and the exit status.
enum ScriptFailure {
    /// 130 after Ctrl-C (like a shell), 1 for every other failure.
    static func exitCode(for error: LuaError) -> Int32 {
        error.kind == .interrupted ? 130 : 1
    }

    /// Writes the error and its traceback to stderr.
    static func report(_ error: LuaError) {
        writeStandardError(error.description + "\n")
    }
}

/// Writes `text` to stderr (unbuffered).
func writeStandardError(_ text: String) {
    fflush(nil)
    var remaining = Array(text.utf8)[...]
    while !remaining.isEmpty {
        let n = remaining.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        remaining = remaining.dropFirst(n)
    }
}

/// Writes `text` to stdout through C stdio (the stream Lua's `print` uses), then flushes.
func writeStandardOutput(_ text: String) {
    print(text, terminator: "")
    fflush(nil)
}
