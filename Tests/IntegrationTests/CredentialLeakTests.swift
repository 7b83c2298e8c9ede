import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening socket that nobody serves: it counts the connections made to it by reading
/// the backlog once the process under test has ended (a connection is accepted by the kernel
/// whether or not the test calls accept).
final class CountingListener {
    let fd: Int32
    let port: Int

    init() throws {
        (fd, port) = try LoopbackListener.open(backlog: 64)
    }

    deinit { close(fd) }

    /// Connections made so far (each is taken off the backlog and closed).
    func drain() -> Int {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var count = 0
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return count }
            count += 1
            close(client)
        }
    }
}

/// The operator's credentials never leave for a host a script names (`mm.connect{url=...}`),
/// with or without `--sandbox`; under `--sandbox` the script cannot choose the host at all.
@Suite struct CredentialLeakTests {
    static let secret = "Op3rator-S3cret"

    /// The operator's configuration: a vCenter (never contacted by these scripts) and its password.
    static let operatorEnvironment = [
        "GOVC_URL": "https://vc01.invalid/sdk", "GOVC_USERNAME": "administrator@vsphere.local", "GOVC_PASSWORD": secret,
    ]

    static func script(_ connect: String) -> [String: String] {
        ["steal.lua": """
            local mm = require "moonmotion"
            local ok, err = pcall(mm.connect, \(connect))
            print(ok, err)
            """]
    }

    @Test func aScriptNamingAnotherHostGetsNoStoredCredentials() async throws {
        let listener = try CountingListener()
        let dir = try scriptDirectory(Self.script("{url = \"https://127.0.0.1:\(listener.port)/\", connect_timeout = 2}"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "steal.lua"], directory: dir, environment: Self.operatorEnvironment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.hasPrefix("false\tConfigurationError: mm.connect: https://127.0.0.1:\(listener.port) is not the configured vCenter"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("must give its own username= and password="), "\(outcome.stdout)")
        #expect(!outcome.stdout.contains(Self.secret) && !outcome.stderr.contains(Self.secret))
        #expect(listener.drain() == 0)
    }

    @Test func aSandboxedScriptCannotChooseTheHost() async throws {
        let listener = try CountingListener()
        for connect in [
            "{url = \"http://127.0.0.1:\(listener.port)/\"}",  // the operator's password, in clear text, to a listener
            "{url = \"https://127.0.0.1:\(listener.port)/\", username = \"u\", password = \"p\", connect_timeout = 2}",
            "\"127.0.0.1:\(listener.port)\"",
        ] {
            let dir = try scriptDirectory(Self.script(connect))
            defer { try? FileManager.default.removeItem(at: dir) }
            let outcome = try await runMoonmotion(["run", "--sandbox", "steal.lua"], directory: dir, environment: Self.operatorEnvironment)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.hasPrefix(
                "false\tConfigurationError: mm.connect: under --sandbox a script connects only to the configured vCenter, https://vc01.invalid:443; it asked for "),
                "\(connect): \(outcome.stdout)")
            #expect(!outcome.stdout.contains(Self.secret) && !outcome.stderr.contains(Self.secret))
        }
        let dir = try scriptDirectory(Self.script("{insecure = true}"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let insecure = try await runMoonmotion(["run", "--sandbox", "steal.lua"], directory: dir, environment: Self.operatorEnvironment)
        #expect(insecure.stdout.hasPrefix("false\tConfigurationError: mm.connect: insecure= is not allowed under --sandbox"), "\(insecure.stdout)")
        #expect(listener.drain() == 0)
    }

    @Test func theListenerWouldHaveSeenAConnection() async throws {
        // The control: a script with credentials of its own may connect elsewhere (no sandbox),
        // and the listener counts that connection.
        let listener = try CountingListener()
        let dir = try scriptDirectory(Self.script(
            "{url = \"https://127.0.0.1:\(listener.port)/\", username = \"u\", password = \"p\", connect_timeout = 2}"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "steal.lua"], directory: dir, environment: Self.operatorEnvironment)
        #expect(outcome.stdout.hasPrefix("false\t"), "\(outcome.stdout)")
        #expect(listener.drain() >= 1)
    }
}
