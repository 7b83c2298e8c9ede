import ArgumentParser
import LuaHost
import VSphereSOAP

/// The `name=value` pairs of `moonmotion run`, as the `params` table (strings).
struct ScriptParameters {
    /// The values by name; a later pair with the same name wins.
    var values: [String: String] = [:]

    init(_ pairs: [String]) throws {
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("""
                    '\(pair)' is not a name=value parameter. Parameters look like datastore=new-01; \
                    arguments for the script go after --, e.g. moonmotion run script.lua -- \(pair)
                    """)
            }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
    }

    /// `params` as a Lua table.
    var table: LuaValue {
        .table(LuaTable(fields: values.mapValues { .string($0) }))
    }
}

/// The `arg` table as `lua` builds it: `arg[0]` is the script, `arg[1...]` the arguments
/// after `--`, and negative indices the command line before the script — except under
/// `--sandbox`, where a script handed over by someone else sees no negative entries (the
/// command line may name the password file, or carry a password in `--url`). Outside the
/// sandbox a password in `--url` is removed from them.
enum ScriptArgumentTable {
    static let builder = """
        local before, script, after = ...
        local t = { [0] = script }
        for i, a in ipairs(before) do t[i - #before - 1] = a end
        for i, a in ipairs(after) do t[i] = a end
        arg = t
        """

    /// The command line before the script (`moonmotion`, `run`, options), found in argv,
    /// with the password of a `--url` value removed; nothing under `--sandbox`.
    static func wordsBefore(script: String, in argv: [String], sandboxed: Bool) -> [String] {
        guard !sandboxed else { return [] }
        return redactingURLPasswords(wordsBefore(script: script, in: argv))
    }

    static func wordsBefore(script: String, in argv: [String]) -> [String] {
        guard let runIndex = argv.firstIndex(of: "run") else { return Array(argv.prefix(1)) }
        let rest = argv[(runIndex + 1)...]
        guard let scriptIndex = rest.firstIndex(of: script) else { return Array(argv[...runIndex]) }
        return Array(argv[..<scriptIndex])
    }

    /// `--url VALUE` and `--url=VALUE` with the password left out of VALUE.
    static func redactingURLPasswords(_ words: [String]) -> [String] {
        var result: [String] = []
        for (i, word) in words.enumerated() {
            if i > 0 && words[i - 1] == "--url" {
                result.append(ConnectionConfig.redactingPassword(in: word))
            } else if word.hasPrefix("--url=") {
                result.append("--url=" + ConnectionConfig.redactingPassword(in: String(word.dropFirst("--url=".count))))
            } else {
                result.append(word)
            }
        }
        return result
    }
}
