#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the REPL reads lines from. Reads run on their own thread so the Lua executor (and
/// the coroutines it runs) keeps going while the user types.
protocol LineInput: Sendable {
    /// The next line without its newline, or nil at end of input. `prompt` is shown only by
    /// interactive inputs.
    func readLine(prompt: String) async -> String?
    /// Remembers a complete entry for history.
    func addHistory(_ entry: String)
    /// Saves history and releases the input.
    func close()
}

/// Lines from a non-terminal stdin (pipes, files, tests): no prompts, no editing.
struct PlainLineInput: LineInput {
    func readLine(prompt: String) async -> String? {
        await onNewThread { Swift.readLine(strippingNewline: true) }
    }

    func addHistory(_ entry: String) {}

    func close() {}
}

/// Runs `body` on a fresh detached thread and returns its result.
func onNewThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let start = Unmanaged.passRetained(ThreadStart { continuation.resume(returning: body()) })
        var thread = pthread_t(bitPattern: 0)
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, start.toOpaque())
        if result == 0 {
            pthread_detach(thread)
        } else {
            start.takeRetainedValue().run()  // no thread: read here rather than never
        }
    }
}

/// The body of a thread started by `onNewThread`.
private final class ThreadStart: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
