#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which files a sandboxed script may read, decided on the real path: symbolic links and
/// `..` are resolved (`realpath`) before the path is compared with the roots, and the file is
/// then opened by that resolved path, so a link inside the script's directory that points
/// at `/etc` reads as `/etc`.
///
/// * `fileRoots` (the script's directory, each `--allow-read`): what `io.open`, `io.lines`,
///   `io.input`, `loadfile` and `dofile` may read.
/// * `moduleRoots`: what `require` (and `package.searchpath`) may also read — the
///   directories of the absolute templates Moonmotion put in `package.path` (its stdlib,
///   `MOONMOTION_PATH`, Lua's system directories), so `require "moonmotion.strategy"` works
///   while `package.path = "/etc/?"` finds nothing.
/// * Never: `/proc`, `/sys`, `/dev` (the environment, other processes' memory, devices),
///   nor `deniedFiles` (the password file), whatever the roots say.
///
/// A path that does not exist is judged by its text made absolute (`.` and `..` applied), so
/// whether a file exists outside the roots cannot be learnt from the message.
struct SandboxFiles: Sendable {
    let fileRoots: [String]
    let moduleRoots: [String]
    let deniedFiles: Set<String>

    /// The verdict on one path.
    enum Verdict: Equatable {
        /// Readable: open this resolved path.
        case allowed(String)
        /// Inside the roots but there is no such file (Lua's usual message follows).
        case missing
        /// Not readable in the sandbox, with why.
        case refused(String)
    }

    /// Paths no sandboxed script reads, whatever was allowed.
    static let forbiddenTrees = ["/proc", "/sys", "/dev"]

    /// Resolves the roots (directories or files) now; roots that do not exist are dropped.
    init(fileRoots: [String], moduleRoots: [String], deniedFiles: [String]) {
        self.fileRoots = SandboxFiles.unique(fileRoots.compactMap(SandboxFiles.realPath))
        self.moduleRoots = SandboxFiles.unique(moduleRoots.compactMap(SandboxFiles.realPath))
        self.deniedFiles = Set(deniedFiles.compactMap(SandboxFiles.realPath))
    }

    /// May `path` be read (`forModule`: by `require`)?
    func check(_ path: String, forModule: Bool) -> Verdict {
        let roots = forModule ? fileRoots + moduleRoots : fileRoots
        guard let resolved = SandboxFiles.realPath(path) else {
            let lexical = SandboxFiles.lexicallyAbsolute(path)
            if SandboxFiles.isForbidden(lexical) { return .refused(forbiddenMessage(path)) }
            return roots.contains(where: { SandboxFiles.isInside(lexical, $0) }) ? .missing : .refused(outsideMessage(path))
        }
        if SandboxFiles.isForbidden(resolved) { return .refused(forbiddenMessage(path)) }
        if deniedFiles.contains(resolved) || !roots.contains(where: { SandboxFiles.isInside(resolved, $0) }) {
            return .refused(outsideMessage(path))
        }
        return .allowed(resolved)
    }

    private func outsideMessage(_ path: String) -> String {
        let roots = fileRoots.isEmpty ? "nothing was allowed" : fileRoots.joined(separator: ", ")
        return "\(path): not readable in the sandbox, which reads only files under the script's directory and --allow-read paths (\(roots))"
    }

    private func forbiddenMessage(_ path: String) -> String {
        "\(path): not readable in the sandbox, which never reads /proc, /sys or /dev"
    }

    static func isForbidden(_ path: String) -> Bool {
        forbiddenTrees.contains { isInside(path, $0) }
    }

    /// `path` is `root` or below it (both absolute, normalised).
    static func isInside(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    static func realPath(_ path: String) -> String? {
        guard !path.isEmpty, let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` made absolute against the working directory, with `.`, `..` and repeated
    /// slashes applied to the text (no link is followed).
    static func lexicallyAbsolute(_ path: String) -> String {
        var text = path
        if !text.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let cwd = getcwd(&buffer, buffer.count).map { _ in String(cString: buffer) } ?? "/"
            text = cwd + "/" + text
        }
        var parts: [Substring] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func unique(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }

    /// The directories of the absolute templates of a `package.path` (`/x/?.lua` → `/x`).
    static func templateDirectories(of packagePath: String) -> [String] {
        packagePath.split(separator: ";").compactMap { template -> String? in
            guard template.hasPrefix("/"), let mark = template.firstIndex(of: "?") else { return nil }
            let head = template[..<mark]
            guard let slash = head.lastIndex(of: "/") else { return nil }
            let dir = String(head[..<slash])
            return dir.isEmpty ? "/" : dir
        }
    }
}
