import Foundation
import Testing
import TestSupport

/// `scripts/install` and `scripts/package-deb`: what they lay out runs on its own, from a
/// directory outside the checkout, with nothing of the checkout in reach — no
/// `MOONMOTION_PATH`, and a binary whose real path is not inside the repository, so the
/// stdlib can only come from `<prefix>/share/moonmotion/stdlib`.
///
/// Serialized: both install the test binary with the same generate-manual tool, which the
/// first run of `scripts/generate-manual` builds when `scripts/test` has not already.
@Suite(.serialized) struct InstallTests {
    /// The subcommands every completion script and the man pages must know.
    static let subcommands = ["run", "plan", "repl", "inventory", "tasks"]

    /// A small simulated demo: the README's `moonmotion run examples/storage-migration.lua`
    /// on a smaller generated inventory, at a speed that ends it in a few seconds.
    static let demoOptions = ["--generate", "clusters=1,hosts=4,vms=12", "--speed", "20000"]

    @Test func installedTreeRunsOutsideTheCheckoutAndUninstallsCleanly() async throws {
        let scratch = try makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prefix = scratch.appendingPathComponent("prefix dir")   // a space: quoting
        let binary = try moonmotionBinary()
        // Something of the system's that uninstalling must leave alone, with its directory.
        let foreignPage = prefix.appendingPathComponent("share/man/man1/other.1")
        try FileManager.default.createDirectory(at: foreignPage.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "foreign\n".write(to: foreignPage, atomically: true, encoding: .utf8)

        let install = try await runProgram(repoRoot.appendingPathComponent("scripts/install").path,
                                           ["--prefix", prefix.path, "--binary", binary.path])
        try #require(install.status == 0, "scripts/install failed:\n\(install.stdout)\n\(install.stderr)")
        let installed = try Self.files(under: prefix)
        for expected in ["bin/moonmotion", "share/moonmotion/stdlib/moonmotion/strategy.lua",
                         "share/moonmotion/stdlib/moonmotion/pretty.lua",
                         "share/moonmotion/examples/storage-migration.lua", "share/moonmotion/install-manifest",
                         "share/doc/moonmotion/README.md", "share/doc/moonmotion/LUA.md",
                         "share/bash-completion/completions/moonmotion", "share/zsh/site-functions/_moonmotion",
                         "share/fish/vendor_completions.d/moonmotion.fish", "share/man/man1/moonmotion.1"]
                         + Self.subcommands.map({ "share/man/man1/moonmotion.\($0).1" }) {
            #expect(installed.contains(expected), "\(expected) not installed; installed: \(installed.sorted())")
        }
        #expect(install.stdout.contains("installed \(prefix.path)/bin/moonmotion"), "\(install.stdout)")

        // Run from elsewhere, found on PATH, with a bare environment.
        let home = scratch.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let env = ["PATH": "\(prefix.path)/bin:/usr/bin:/bin", "HOME": home.path, "LANG": "C.UTF-8"]
        let help = try await runProgram("/usr/bin/env", ["moonmotion", "help"], directory: home, environment: env)
        #expect(help.status == 0, "\(help.stderr)")
        for command in Self.subcommands {
            #expect(help.stdout.contains("  \(command) "), "`moonmotion help` does not list \(command):\n\(help.stdout)")
        }

        // `require` finds the installed stdlib, and nothing else.
        let probe = home.appendingPathComponent("probe.lua")
        try #"print(package.searchpath("moonmotion.strategy", package.path))"#.write(to: probe, atomically: true, encoding: .utf8)
        let found = try await runProgram("/usr/bin/env", ["moonmotion", "run", "probe.lua"], directory: home, environment: env)
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout == "\(prefix.path)/share/moonmotion/stdlib/moonmotion/strategy.lua\n",
                "moonmotion.strategy resolved elsewhere: \(found.stdout) \(found.stderr)")

        let demo = try await runProgram("/usr/bin/env",
                                        ["moonmotion", "run", prefix.appendingPathComponent("share/moonmotion/examples/storage-migration.lua").path]
                                        + Self.demoOptions, directory: home, environment: env)
        #expect(demo.status == 0, "the installed demo failed:\n\(demo.stdout)\n\(demo.stderr)")
        #expect(demo.stdout.contains("running against a simulated vCenter (generated: 1 cluster, 4 hosts, 12 VMs"),
                "no simulator banner:\n\(demo.stdout)\n\(demo.stderr)")
        #expect(demo.stdout.contains("moved 12 VM(s)") && demo.stdout.contains("0 failed"),
                "the demo did not move its 12 VMs:\n\(demo.stdout)\n\(demo.stderr)")

        // The bash completion completes: the subcommands after `moonmotion `, a strategy option after `run --dr`.
        let bashCompletion = prefix.appendingPathComponent("share/bash-completion/completions/moonmotion").path
        func complete(_ words: [String]) async throws -> [String] {
            let line = words.joined(separator: " ")
            let script = """
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _moonmotion moonmotion "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                printf '%s\\n' "${COMPREPLY[@]}"
                """
            let outcome = try await runProgram("/bin/bash", ["-c", script, "bash", bashCompletion] + words,
                                               directory: home, environment: env)
            #expect(outcome.status == 0, "completing \(line): \(outcome.stderr)")
            return outcome.stdout.split(separator: "\n").map(String.init)
        }
        let afterCommand = try await complete(["moonmotion", ""])
        #expect(Set(Self.subcommands).isSubset(of: afterCommand), "`moonmotion <TAB>` offers \(afterCommand)")
        #expect(try await complete(["moonmotion", "run", "--dr"]) == ["--dry-run"])
        // zsh and fish (not installed here) list each subcommand with its abstract.
        let zsh = try String(contentsOf: prefix.appendingPathComponent("share/zsh/site-functions/_moonmotion"), encoding: .utf8)
        let fish = try String(contentsOf: prefix.appendingPathComponent("share/fish/vendor_completions.d/moonmotion.fish"), encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef moonmotion\n"))
        for command in Self.subcommands {
            #expect(zsh.contains("'\(command):"), "_moonmotion does not complete \(command)")
            #expect(fish.contains("-fa '\(command)'"), "moonmotion.fish does not complete \(command)")
        }

        // The man pages render without a warning and carry the options and their help.
        let main = try await Self.renderManPage(prefix.appendingPathComponent("share/man/man1/moonmotion.1"))
        for command in Self.subcommands {
            #expect(main.contains("moonmotion.\(command)(1)"), "moonmotion.1 does not refer to moonmotion.\(command)(1):\n\(main)")
        }
        let run = try await Self.renderManPage(prefix.appendingPathComponent("share/man/man1/moonmotion.run.1"))
        // Options with their help, and the help's non-ASCII characters (generate-manual drops them: scripts/generate-manual).
        for text in ["--dry-run", "--max-concurrent N", "Run a Lua script, or a migration strategy through the engine.",
                     "from \u{2192} to", "simulated vCenter \u{2014} a generated inventory"] {
            #expect(run.contains(text), "moonmotion.run.1 lacks \(text):\n\(run)")
        }

        // Installing again changes nothing; uninstalling removes exactly what was installed.
        let manifest = try String(contentsOf: prefix.appendingPathComponent("share/moonmotion/install-manifest"), encoding: .utf8)
        let again = try await runProgram(repoRoot.appendingPathComponent("scripts/install").path,
                                         ["--prefix", prefix.path, "--binary", binary.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Self.files(under: prefix) == installed)
        #expect(try String(contentsOf: prefix.appendingPathComponent("share/moonmotion/install-manifest"), encoding: .utf8) == manifest)

        let uninstall = try await runProgram(repoRoot.appendingPathComponent("scripts/install").path,
                                             ["--prefix", prefix.path, "--uninstall"])
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(try Self.files(under: prefix) == ["share/man/man1/other.1"])
        let leftDirectories = try FileManager.default.subpathsOfDirectory(atPath: prefix.path).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: prefix.appendingPathComponent($0).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        #expect(Set(leftDirectories) == ["share", "share/man", "share/man/man1"], "left behind: \(leftDirectories.sorted())")
    }

    @Test(.enabled(if: systemTool("dpkg-deb") != nil && systemTool("dpkg-shlibdeps") != nil,
                   "dpkg-deb or dpkg-shlibdeps is missing (scripts/install-deps installs dpkg-dev): no .deb to build"))
    func debianPackageHoldsTheSameLayoutAndRuns() async throws {
        let scratch = try makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let binary = try moonmotionBinary()
        let output = scratch.appendingPathComponent("out")
        let build = try await runProgram(repoRoot.appendingPathComponent("scripts/package-deb").path,
                                         ["--binary", binary.path, "--output", output.path, "--compression", "none"])
        try #require(build.status == 0, "scripts/package-deb failed:\n\(build.stdout)\n\(build.stderr)")

        let version = try await runProgram(binary.path, ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let arch = try await runProgram("/usr/bin/dpkg", ["--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let deb = output.appendingPathComponent("moonmotion_\(version)_\(arch).deb")
        #expect(build.stdout == deb.path + "\n", "package-deb's last line is not the package: \(build.stdout)")
        try #require(FileManager.default.fileExists(atPath: deb.path), "no \(deb.lastPathComponent) in \(output.path)")

        let contents = try await runProgram("/usr/bin/dpkg-deb", ["--contents", deb.path])
        #expect(contents.status == 0, "\(contents.stderr)")
        for path in ["./usr/bin/moonmotion", "./usr/share/moonmotion/stdlib/moonmotion/strategy.lua",
                     "./usr/share/moonmotion/examples/storage-migration.lua", "./usr/share/doc/moonmotion/LUA.md",
                     "./usr/share/bash-completion/completions/moonmotion", "./usr/share/zsh/site-functions/_moonmotion",
                     "./usr/share/fish/vendor_completions.d/moonmotion.fish", "./usr/share/man/man1/moonmotion.1.gz",
                     "./usr/share/man/man1/moonmotion.run.1.gz"] {
            #expect(contents.stdout.contains(" \(path)\n"), "\(path) not in the package:\n\(contents.stdout)")
        }
        #expect(!contents.stdout.contains("install-manifest"), "dpkg owns the files: no install manifest in the package")
        #expect(!contents.stdout.contains("/usr/local"))
        #expect(!contents.stdout.split(separator: "\n").contains { !$0.contains(" root/root ") }, "files not owned by root")

        let control = try await runProgram("/usr/bin/dpkg-deb", ["--field", deb.path, "Package", "Version", "Architecture", "Depends"])
        #expect(control.stdout.contains("Package: moonmotion\n") && control.stdout.contains("Version: \(version)\n")
                && control.stdout.contains("Architecture: \(arch)\n"), "\(control.stdout)")
        for library in ["liblua5.4", "libxml2", "libedit", "libsqlite3"] {
            #expect(control.stdout.contains(library), "Depends lacks \(library): \(control.stdout)")
        }
        // A debug binary loads the toolchain's Swift runtime, which no package provides.
        let needsToolchain = try await runProgram("/usr/bin/ldd", [binary.path]).stdout.contains("libswiftCore.so")
        #expect(build.stderr.contains("libswiftCore.so") == needsToolchain, "warning about unpackaged libraries: \(build.stderr)")

        // Unpacked (no root, no dpkg database touched), it runs like an installed one.
        let root = scratch.appendingPathComponent("root")
        let extract = try await runProgram("/usr/bin/dpkg-deb", ["-x", deb.path, root.path])
        try #require(extract.status == 0, "\(extract.stderr)")
        // Packaged without its debug information (strip --strip-debug), as Debian ships binaries.
        let size = { (url: URL) in (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil }
        let packagedSize = size(root.appendingPathComponent("usr/bin/moonmotion")), builtSize = size(binary)
        #expect(packagedSize != nil && builtSize != nil && packagedSize! < builtSize!,
                "packaged binary \(packagedSize as Any) bytes, built \(builtSize as Any): not stripped")
        let env = ["PATH": "\(root.path)/usr/bin:/usr/bin:/bin", "HOME": scratch.path, "LANG": "C.UTF-8"]
        let help = try await runProgram("/usr/bin/env", ["moonmotion", "help"], directory: scratch, environment: env)
        #expect(help.status == 0 && help.stdout.contains("  plan "), "\(help.stdout)\n\(help.stderr)")
        let demo = try await runProgram("/usr/bin/env",
                                        ["moonmotion", "run", root.appendingPathComponent("usr/share/moonmotion/examples/storage-migration.lua").path]
                                        + Self.demoOptions, directory: scratch, environment: env)
        #expect(demo.status == 0, "the packaged demo failed:\n\(demo.stdout)\n\(demo.stderr)")
        #expect(demo.stdout.contains("moved 12 VM(s)") && demo.stdout.contains("0 failed"), "\(demo.stdout)\n\(demo.stderr)")
    }

    /// Every regular file under `directory`, as paths relative to it.
    static func files(under directory: URL) throws -> Set<String> {
        Set(try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        })
    }

    /// The page as man shows it, with every groff warning turned on (any warning fails), its
    /// runs of white space made single spaces: a phrase is found wherever a line broke it.
    static func renderManPage(_ page: URL) async throws -> String {
        guard let groff = systemTool("groff") else {
            Issue.record("groff is missing (scripts/install-deps installs groff-base): \(page.lastPathComponent) cannot be checked")
            return ""
        }
        // -P-cbou: plain characters, without the overstrikes (or SGR escapes) for bold and underline.
        // Lines as long as a paragraph: mdoc hyphenates the words it breaks across lines.
        let rendered = try await runProgram(groff, ["-mandoc", "-Tutf8", "-P-cbou", "-ww", "-rLL=5000n", page.path],
                                            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"])
        #expect(rendered.status == 0, "groff failed on \(page.lastPathComponent): \(rendered.stderr)")
        #expect(rendered.stderr.isEmpty, "groff warns about \(page.lastPathComponent):\n\(rendered.stderr)")
        #expect(rendered.stdout.contains("SYNOPSIS") && rendered.stdout.contains("DESCRIPTION"), "\(rendered.stdout)")
        return rendered.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}

/// The full path of the system's `tool` (in /usr/bin, /bin, /usr/sbin or /sbin), or nil.
private func systemTool(_ tool: String) -> String? {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// A fresh temporary directory, removed by the caller.
private func makeScratch() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mm-install-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `executable arguments` in `directory` with exactly `environment` (the test
/// process's when nil), stdin empty; ends it after `timeout` s, recorded as an issue.
private func runProgram(_ executable: String, _ arguments: [String], directory: URL? = nil,
                        environment: [String: String]? = nil, timeout: Double = 300) async throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if let environment { process.environment = environment }
    let scratch = try makeScratch()
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    let start = Date()
    while !process.hasEnded {
        if Date().timeIntervalSince(start) > timeout {
            Issue.record("\(executable) \(arguments) did not finish within \(timeout) s")
            break
        }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    let status = await reapChild(process, what: "\(executable) \(arguments)")
    return ProcessOutcome(status: status,
                          stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}
