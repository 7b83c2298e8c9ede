#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `require` finds Moonmotion's Lua modules.
///
/// `package.path` is, in order: `MOONMOTION_PATH` (Lua path syntax: `?`-templates separated
/// by `;`), extra directories (e.g. the script's own), the checkout's `stdlib/` (found from
/// the executable: the real path of the running binary, walking up the parents until one
/// contains `stdlib/moonmotion/`), the installed `<prefix>/share/moonmotion/stdlib` (for a
/// binary in `<prefix>/bin`), then Lua's default path.
public enum LuaModulePath {
    /// The real path of the running executable, if it can be found.
    public static func executablePath() -> String? {
        #if os(Linux)
        if let p = realPath("/proc/self/exe") { return p }
        #endif
        return realPath(CommandLine.arguments.first ?? "")
    }

    /// The `stdlib` directory of the checkout the executable lives in, or nil.
    public static func checkoutStdlib(executable: String? = executablePath()) -> String? {
        guard var dir = executable.map(parent) else { return nil }
        while dir != "/" && !dir.isEmpty {
            if isDirectory(dir + "/stdlib/moonmotion") { return dir + "/stdlib" }
            dir = parent(dir)
        }
        return nil
    }

    /// `<prefix>/share/moonmotion/stdlib` for an executable in `<prefix>/bin`, if it exists.
    public static func installedStdlib(executable: String? = executablePath()) -> String? {
        guard let executable else { return nil }
        let prefix = parent(parent(executable))
        let dir = (prefix == "/" ? "" : prefix) + "/share/moonmotion/stdlib"
        return isDirectory(dir) ? dir : nil
    }

    /// The full `package.path` value, each template once.
    public static func searchPath(extraDirectories: [String] = [], environment: String? = environmentPath(), defaultPath: String) -> String {
        var parts: [String] = []
        if let environment {
            let trimmed = environment.split(separator: ";", omittingEmptySubsequences: true).map(String.init)
            parts += trimmed
        }
        var dirs = extraDirectories
        if let checkout = checkoutStdlib() { dirs.append(checkout) }
        if let installed = installedStdlib() { dirs.append(installed) }
        var seen = Set<String>()
        for dir in dirs where seen.insert(dir).inserted {
            parts.append(dir + "/?.lua")
            parts.append(dir + "/?/init.lua")
        }
        parts += defaultPath.split(separator: ";", omittingEmptySubsequences: true).map(String.init)
        // Each template once, where it first appears (`./?.lua` from the script's directory
        // `.` is also in Lua's default path).
        var kept = Set<String>()
        return parts.filter { kept.insert($0).inserted }.joined(separator: ";")
    }

    /// `MOONMOTION_PATH` from the environment.
    public static func environmentPath() -> String? {
        guard let value = getenv("MOONMOTION_PATH") else { return nil }
        let s = String(cString: value)
        return s.isEmpty ? nil : s
    }

    static func realPath(_ path: String) -> String? {
        guard !path.isEmpty, let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let p = String(path[..<slash])
        return p.isEmpty ? "/" : p
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

extension LuaState {
    /// Sets `package.path` as `LuaModulePath` describes, with `extraDirectories` searched
    /// right after `MOONMOTION_PATH`.
    public func configureModulePath(extraDirectories: [String] = []) throws {
        let current = try run("return package.path").first?.stringValue ?? ""
        let path = LuaModulePath.searchPath(extraDirectories: extraDirectories, defaultPath: current)
        try run("package.path = ...", chunkName: "=[path]", arguments: [.string(path)])
    }
}
