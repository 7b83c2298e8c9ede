@preconcurrency import CLibEdit
import LuaHost
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Line editing for a terminal through libedit's readline interface: arrow keys, history
/// (saved to a file readable only by the user), tab completion of globals, fields and
/// methods (`conn:mo<TAB>`) from the live Lua state.
final class LineEditor: LineInput, @unchecked Sendable {
    private let historyPath: String?
    private static let historyLimit: Int32 = 1000

    /// The runtime asked for completions (libedit's callbacks are C functions).
    nonisolated(unsafe) static var runtime: LuaRuntime?
    nonisolated(unsafe) static var candidates: [String] = []

    init(runtime: LuaRuntime, historyPath: String?) {
        self.historyPath = historyPath
        LineEditor.runtime = runtime
        rl_readline_name = UnsafePointer(strdup("moonmotion"))
        // Word boundaries for completion: not '.', ':' or '_' (they belong to `conn:moveVM`).
        rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n\"'`@$><=;|&{}()[],+-*/%^#~"))
        rl_attempted_completion_function = lineEditorCompletion
        using_history()
        if let historyPath { _ = read_history(historyPath) }
    }

    func readLine(prompt: String) async -> String? {
        await onNewThread {
            guard let line = prompt.withCString({ readline($0) }) else { return nil }
            defer { free(line) }
            return String(cString: line)
        }
    }

    func addHistory(_ entry: String) {
        guard !entry.allSatisfy(\.isWhitespace) else { return }
        _ = add_history(entry)
    }

    func close() {
        guard let historyPath else { return }
        // History may hold what was typed at mm.connect{password = ...}: owner-only.
        let fd = open(historyPath, O_CREAT | O_WRONLY, 0o600)
        if fd >= 0 { Glibc.close(fd) }
        chmod(historyPath, 0o600)
        _ = write_history(historyPath)
        _ = history_truncate_file(historyPath, LineEditor.historyLimit)
    }
}

/// libedit's attempted-completion callback: completes the word before the cursor.
private func lineEditorCompletion(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    rl_attempted_completion_over = 1
    rl_completion_append_character = 0  // `string.format` then `(`: no space
    guard let text, let runtime = LineEditor.runtime else { return nil }
    let word = String(cString: text)
    LineEditor.candidates = (try? runtime.performSync { state in state.completions(for: word) }) ?? []
    guard !LineEditor.candidates.isEmpty else { return nil }
    return rl_completion_matches(text, lineEditorCandidate)
}

/// libedit's generator: the `index`-th candidate, malloc'ed (libedit frees it).
private func lineEditorCandidate(_ text: UnsafePointer<CChar>?, _ index: Int32) -> UnsafeMutablePointer<CChar>? {
    let i = Int(index)
    guard i >= 0, i < LineEditor.candidates.count else { return nil }
    return strdup(LineEditor.candidates[i])
}
