#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hides passwords from the process's command line as other processes see it
/// (`/proc/PID/cmdline`, `ps`, `top`): a `--url https://user:secret@vc01` stays readable by
/// every user of the machine for as long as the run lasts. The arguments are parsed from
/// Swift's own copy (`CommandLine.arguments`, made first); then the password bytes of every
/// URL in the original argv memory are overwritten with `*` (the string keeps its length, so
/// nothing after it moves).
enum ProcessTitle {
    /// Overwrites the password of every `scheme://user:password@host` argument in argv.
    static func hidePasswords() {
        _ = CommandLine.arguments  // Swift's copy, made before the originals change
        let argv = CommandLine.unsafeArgv
        var tokenNext = false
        for i in 1..<Int(CommandLine.argc) {
            guard let p = argv[i] else { continue }
            let length = strlen(p)
            let bytes = UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer(p).assumingMemoryBound(to: UInt8.self), count: length)
            // The status page's token (`--listen-token T`, `--listen-token=T`) is a password too.
            if tokenNext {
                tokenNext = false
                for k in 0..<length { bytes[k] = UInt8(ascii: "*") }
                continue
            }
            let word = Array(bytes)
            if word == Array(tokenOption.utf8) {
                tokenNext = true
                continue
            }
            if word.starts(with: Array((tokenOption + "=").utf8)) {
                for k in (tokenOption.utf8.count + 1)..<length { bytes[k] = UInt8(ascii: "*") }
                continue
            }
            guard let range = passwordRange(word) else { continue }
            for k in range { bytes[k] = UInt8(ascii: "*") }
        }
    }

    /// The option whose value is hidden whole.
    static let tokenOption = "--listen-token"

    /// The byte range of the password in a URL argument (also `--url=URL`): after the first
    /// `:` that follows `://`, up to the last `@` (passwords may hold `/`, `@`, `:`).
    static func passwordRange(_ bytes: [UInt8]) -> Range<Int>? {
        let scheme: [UInt8] = Array("://".utf8)
        guard bytes.count > scheme.count,
              let start = (0...(bytes.count - scheme.count)).first(where: { Array(bytes[$0..<($0 + scheme.count)]) == scheme }),
              let at = bytes.lastIndex(of: UInt8(ascii: "@")), at > start + scheme.count else { return nil }
        let userinfo = (start + scheme.count)..<at
        guard let colon = bytes[userinfo].firstIndex(of: UInt8(ascii: ":")), colon + 1 < at else { return nil }
        return (colon + 1)..<at
    }
}
