import Foundation
import Locking

/// Writes every `EngineEvent` as one line of JSON (`EventRecord`) to a file
/// (`--events FILE`). Thread-safe; each line is written whole.
public final class EventLogWriter: Sendable {
    private let handle: Locked<FileHandle?>
    /// The file's path.
    public let path: String

    /// Creates (or truncates) the file at `path`.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path,
                NSLocalizedDescriptionKey: "cannot create the events file \(path); check the directory exists and is writable"])
        }
        handle = Locked(try FileHandle(forWritingTo: URL(fileURLWithPath: path)))
    }

    /// Appends one event.
    public func write(_ event: EngineEvent) {
        guard let line = try? EventRecord(event).jsonLine() else { return }
        let data = Data((line + "\n").utf8)
        handle.withLock { h in
            do { try h?.write(contentsOf: data) } catch { h = nil }
        }
    }

    /// Flushes and closes the file. Idempotent.
    public func close() {
        handle.withLock { h in
            try? h?.synchronize()
            try? h?.close()
            h = nil
        }
    }
}
