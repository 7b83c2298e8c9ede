import CLuaShim

/// What an interactive line compiles to (lua.c's rules).
public enum LuaInteractiveChunk: Sendable {
    /// A complete chunk, ready to run. `isExpression` when it was compiled as
    /// `return <line>` (its values are printed).
    case complete(LuaRef, isExpression: Bool)
    /// The statement is not finished (the parser hit `<eof>`): read another line.
    case incomplete
    /// A syntax error.
    case failed(LuaError)
}

extension LuaState {
    /// Compiles REPL input the way `lua` does: `=expr` and lines that are expressions are
    /// compiled as `return <line>;`; otherwise as a statement, which is `incomplete` when the
    /// parser stopped at the end of the input. `lines` is the input so far (joined by "\n").
    public func compileInteractive(_ lines: String, chunkName: String = "=stdin") -> LuaInteractiveChunk {
        let source = lines
        if source.hasPrefix("=") {
            do {
                return .complete(try load("return " + source.dropFirst(), chunkName: chunkName), isExpression: true)
            } catch {
                if error.kind == .syntax && error.message.hasSuffix("<eof>") { return .incomplete }
                return .failed(error)
            }
        }
        if !source.contains("\n"), let function = try? load("return " + source + ";", chunkName: chunkName) {
            return .complete(function, isExpression: true)
        }
        do {
            return .complete(try load(source, chunkName: chunkName), isExpression: false)
        } catch {
            if error.kind == .syntax && error.message.hasSuffix("<eof>") { return .incomplete }
            return .failed(error)
        }
    }

    /// Completions for `word`, the text before the cursor back to the last space or
    /// operator: a global (`pri` → `print`), a field (`string.fo` → `string.format`) or a
    /// method (`conn:mo` → `conn:moveVM`). Tables are read raw (no metamethod runs);
    /// Moonmotion userdata offer their fields and methods.
    public func completions(for word: String) -> [String] {
        let L = mainThread
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        guard lua_checkstack(L, 8) != 0 else { return [] }

        let separatorIndex = word.lastIndex(where: { $0 == "." || $0 == ":" })
        let prefix: String
        let head: String
        let isMethod: Bool
        var path: [Substring] = []
        if let separatorIndex {
            head = String(word[...separatorIndex])
            prefix = String(word[word.index(after: separatorIndex)...])
            isMethod = word[separatorIndex] == ":"
            path = word[..<separatorIndex].split(separator: ".", omittingEmptySubsequences: false)
            guard path.allSatisfy(LuaState.isIdentifier) else { return [] }
        } else {
            head = ""
            prefix = word
            isMethod = false
        }

        // Resolve the path from the globals, raw.
        lua_rawgeti(L, mm_registryindex(), mm_ridx_globals())
        for segment in path {
            guard lua_type(L, -1) == LUA_TTABLE else { return [] }
            LuaStack.push(string: String(segment), on: L)
            lua_rawget(L, -2)
        }

        var names = Set<String>()
        if path.isEmpty {
            collectKeys(at: lua_gettop(L), on: L, functionsOnly: false, into: &names)
            names.formUnion(LuaState.keywords)
        } else {
            let target = lua_gettop(L)
            switch lua_type(L, target) {
            case LUA_TTABLE:
                collectKeys(at: target, on: L, functionsOnly: isMethod, into: &names)
                collectIndexTableKeys(of: target, on: L, functionsOnly: isMethod, into: &names)
            case LUA_TUSERDATA:
                if let members = userdataMemberNames(at: target, on: L) {
                    names.formUnion(members)
                } else {
                    collectIndexTableKeys(of: target, on: L, functionsOnly: isMethod, into: &names)
                }
            case LUA_TSTRING:
                collectIndexTableKeys(of: target, on: L, functionsOnly: true, into: &names)
            default:
                break
            }
        }
        return names.filter { $0.hasPrefix(prefix) && (LuaState.isIdentifier(Substring($0)) || path.isEmpty) }
            .map { head + $0 }
            .sorted()
    }

    private func collectKeys(at idx: Int32, on L: OpaquePointer, functionsOnly: Bool, into names: inout Set<String>) {
        lua_pushnil(L)
        while lua_next(L, idx) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, !functionsOnly || lua_type(L, -1) == LUA_TFUNCTION,
               let key = LuaStack.string(at: -2, on: L) {
                names.insert(key)
            }
            lua_settop(L, -2)
        }
    }

    /// Keys of `getmetatable(v).__index` when that is a table (class-like objects, strings, files).
    private func collectIndexTableKeys(of idx: Int32, on L: OpaquePointer, functionsOnly: Bool, into names: inout Set<String>) {
        guard lua_getmetatable(L, idx) != 0 else { return }
        lua_pushstring(L, "__index")
        lua_rawget(L, -2)
        if lua_type(L, -1) == LUA_TTABLE {
            collectKeys(at: lua_gettop(L), on: L, functionsOnly: functionsOnly, into: &names)
        }
        lua_settop(L, -3)
    }

    static func isIdentifier(_ s: Substring) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first.properties.isAlphabetic && first.isASCII else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
            && !keywords.contains(String(s))
    }

    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
        "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]
}
