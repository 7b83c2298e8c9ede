/// An error raised by Lua code (or by Moonmotion on behalf of a script), with the script
/// location and a stack traceback.
///
/// `message` is what Lua shows, location prefix included (`script.lua:12: boom`).
public struct LuaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: Sendable, Equatable {
        /// An error raised while running Lua code.
        case runtime
        /// The chunk did not compile.
        case syntax
        /// Lua ran out of memory.
        case memory
        /// Ctrl-C or `LuaRuntime.interrupt()` stopped the script.
        case interrupted
        /// The sandbox's instruction limit was reached.
        case instructionLimit
        /// The sandbox's wall-clock limit was reached.
        case timeLimit
        /// A file could not be read.
        case file
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// The message as Lua shows it, usually `chunk:line: text`.
    public var message: String
    /// `stack traceback:` and the frames, when known.
    public var traceback: String?
    /// The short source of the location (`script.lua`), when known.
    public var chunk: String?
    /// The line of the location, when known.
    public var line: Int?

    /// Creates an error. When `chunk`/`line` are nil they are parsed from a
    /// `chunk:line: text` prefix of `message`.
    public init(_ kind: Kind = .runtime, message: String, traceback: String? = nil, chunk: String? = nil, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.traceback = traceback
        if chunk == nil, line == nil, let (c, l) = LuaError.location(in: message) {
            self.chunk = c
            self.line = l
        } else {
            self.chunk = chunk
            self.line = line
        }
    }

    /// The message followed by the traceback, as printed on stderr.
    public var description: String {
        if let traceback, !traceback.isEmpty { return message + "\n" + traceback }
        return message
    }

    /// `true` for interrupts and exceeded sandbox limits: the script was stopped from outside.
    public var isStop: Bool { kind == .interrupted || kind == .instructionLimit || kind == .timeLimit }

    /// Parses a leading `chunk:line:` from a Lua message.
    static func location(in message: String) -> (String, Int)? {
        // The chunk may itself contain ':' (e.g. `[string "a:b"]`), so take the first
        // ':<digits>:' sequence.
        let scalars = Array(message.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if scalars[i] == ":" {
                var j = i + 1
                while j < scalars.count, ("0"..."9").contains(scalars[j]) { j += 1 }
                if j > i + 1, j < scalars.count, scalars[j] == ":" {
                    let chunk = String(String.UnicodeScalarView(scalars[0..<i]))
                    let line = Int(String(String.UnicodeScalarView(scalars[(i + 1)..<j])))
                    if let line, !chunk.isEmpty, !chunk.contains("\n") { return (chunk, line) }
                    return nil
                }
            }
            if scalars[i] == "\n" { return nil }
            i += 1
        }
        return nil
    }
}

/// Thrown by `LuaCall`'s argument accessors; the dispatcher turns it into the message
/// `luaL_argerror` / `luaL_typeerror` would raise (`bad argument #1 to 'wait' (...)`).
public struct LuaArgumentError: Error, Sendable, CustomStringConvertible {
    /// 1-based stack index of the argument.
    public var index: Int32
    /// What was wrong.
    public var problem: Problem

    /// What was wrong with the argument.
    public enum Problem: Sendable {
        /// Free text, as in `luaL_argerror(L, arg, text)`.
        case message(String)
        /// Wrong type, as in `luaL_typeerror(L, arg, expected)`. `actual` overrides the
        /// type name Lua would compute.
        case type(expected: String, actual: String?)
    }

    /// An argument error with free text.
    public init(_ index: Int32, _ message: String) {
        self.index = index
        self.problem = .message(message)
    }

    /// A type error.
    public init(_ index: Int32, expected: String, actual: String? = nil) {
        self.index = index
        self.problem = .type(expected: expected, actual: actual)
    }

    /// A short description (without the function name, which only Lua knows).
    public var description: String {
        switch problem {
        case .message(let m): "bad argument #\(index) (\(m))"
        case .type(let e, let a): "bad argument #\(index) (\(e) expected, got \(a ?? "other"))"
        }
    }
}

/// Thrown by a Swift function to raise a Lua error with exactly this message (no location
/// prefix is added).
public struct LuaRaise: Error, Sendable, CustomStringConvertible {
    /// The error message raised in Lua.
    public var message: String
    /// Creates an error raised as is.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
