import Foundation
import Testing
import VCenterModel
@testable import VSphereSOAP

@Suite struct ConnectionConfigTests {
    @Test func govcURLDefaults() throws {
        let c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "user:pass@vc01.example.com"]))
        #expect(c.url.absoluteString == "https://vc01.example.com/sdk")
        #expect(c.username == "user")
        #expect(c.password == "pass")
        #expect(c.hostAndPort == "vc01.example.com:443")
        #expect(!c.insecure)
        #expect(c.thumbprint == nil)
    }

    @Test func schemePortPathAndPercentDecoding() throws {
        let c = try #require(try ConnectionConfig.resolve(.init(insecureHTTP: true),
                                                          environment: ["GOVC_URL": "http://adm%40vsphere.local:p%3Ass%40w0rd@10.0.0.5:8989/custom"]))
        #expect(c.url.absoluteString == "http://10.0.0.5:8989/custom")
        #expect(c.username == "adm@vsphere.local")
        #expect(c.password == "p:ss@w0rd")
        #expect(c.hostAndPort == "10.0.0.5:8989")
        #expect(!c.isTLS)
    }

    @Test func timeoutFlags() throws {
        let defaults = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc01"]))
        #expect(defaults.connectTimeout == 15 && defaults.readTimeout == 120 && defaults.pollerMaxWaitSeconds == 30)
        let set = try #require(try ConnectionConfig.resolve(.init(connectTimeout: 3, readTimeout: 10), environment: ["GOVC_URL": "u:p@vc01"]))
        #expect(set.connectTimeout == 3 && set.readTimeout == 10)
        #expect(set.pollerMaxWaitSeconds == 5)  // the long poll answers well within the read timeout
        Self.refused { try ConnectionConfig.resolve(.init(readTimeout: 0), environment: ["GOVC_URL": "u:p@vc01"]) }
        Self.refused { try ConnectionConfig.resolve(.init(connectTimeout: .infinity), environment: ["GOVC_URL": "u:p@vc01"]) }
    }

    /// `mm.connect{connect_timeout=, read_timeout=}` reaches the resolver in the same
    /// `ConnectRequest` the bindings fill (ConnectBindingTests checks the Lua side): the
    /// script's timeouts win over the flags and go through the same checks.
    @Test func scriptTimeoutsWinOverFlagsAndAreChecked() throws {
        let flags = ConnectionConfig.Flags(connectTimeout: 3, readTimeout: 10)
        let script = try #require(try Self.resolveScript(ConnectRequest(connectTimeout: 4, readTimeout: 8), flags: flags))
        #expect(script.connectTimeout == 4 && script.readTimeout == 8 && script.pollerMaxWaitSeconds == 4)
        let flagsOnly = try #require(try Self.resolveScript(ConnectRequest(), flags: flags))
        #expect(flagsOnly.connectTimeout == 3 && flagsOnly.readTimeout == 10)
        Self.refused { try Self.resolveScript(ConnectRequest(readTimeout: -1)) }
        Self.refused { try Self.resolveScript(ConnectRequest(connectTimeout: .nan)) }
    }

    @Test func unescapedAtInPasswordUsesTheLastAt() throws {
        let c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "root:se@cret@esx01"]))
        #expect(c.password == "se@cret")
        #expect(c.host == "esx01")
    }

    @Test func aPasswordWithSlashAtColonAndPercentIsReadAsTyped() throws {
        let typed = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "https://user:p@ss/w%rd@vc01/sdk"]))
        #expect(typed.username == "user" && typed.password == "p@ss/w%rd" && typed.host == "vc01" && typed.url.path == "/sdk")
        let colon = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "administrator@vsphere.local:a:b@c/d?e#f%@vc01.example.com:8443"]))
        #expect(colon.username == "administrator@vsphere.local" && colon.password == "a:b@c/d?e#f%" && colon.hostAndPort == "vc01.example.com:8443")
        // Escapes are decoded; a '%' that starts none stays.
        let escaped = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "https://user:p%40ss%2Fw%25rd@vc01/sdk"]))
        #expect(escaped.password == "p@ss/w%rd")
        let mixed = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "user:100%25-%zz@vc01"]))
        #expect(mixed.password == "100%-%zz")
        // Never echoed by an error, nor by what the configuration shows.
        for bad in ["https://user:p@ss/w%rd@/sdk", "https://user:p@ss/w%rd@vc 01/sdk", "ftp://user:p@ss/w%rd@vc01"] {
            let text = Self.refused { try ConnectionConfig.resolve(environment: ["GOVC_URL": bad]) }.map(String.init(describing:)) ?? ""
            #expect(!text.contains("p@ss") && !text.contains("w%rd"), "\(text)")
        }
        for text in [typed.description, typed.redactedURL, String(reflecting: typed)] {
            #expect(!text.contains("p@ss") && !text.contains("w%rd"), "\(text)")
        }
        #expect(ConnectionConfig.redactingPassword(in: "https://user:p@ss/w%rd@vc01/sdk") == "https://user@vc01/sdk")
    }

    @Test func precedence() throws {
        let env = ["GOVC_URL": "envuser:envpass@vc-env", "GOVC_USERNAME": "govc-user", "GOVC_PASSWORD": "govc-pass", "GOVC_INSECURE": "1"]
        // URL credentials win over GOVC_USERNAME/GOVC_PASSWORD (as in govc).
        var c = try #require(try ConnectionConfig.resolve(environment: env))
        #expect(c.username == "envuser" && c.password == "envpass" && c.insecure)
        // Flags win over everything.
        c = try #require(try ConnectionConfig.resolve(.init(url: "vc-flag", username: "flaguser", password: "flagpass", insecure: false), environment: env))
        #expect(c.host == "vc-flag" && c.username == "flaguser" && c.password == "flagpass" && !c.insecure)
        // A flag URL without credentials takes them from GOVC_USERNAME/GOVC_PASSWORD.
        c = try #require(try ConnectionConfig.resolve(.init(url: "vc-flag"), environment: env))
        #expect(c.username == "govc-user" && c.password == "govc-pass")
    }

    @Test func passwordFile() throws {
        let path = NSTemporaryDirectory() + "mm-pass-\(UUID().uuidString)"
        try "s3cr3t pass\nsecond line\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try #require(try ConnectionConfig.resolve(.init(url: "vc01", username: "u", passwordFile: path), environment: [:]))
        #expect(c.password == "s3cr3t pass")
        Self.refused {
            try ConnectionConfig.resolve(.init(url: "vc01", username: "u", passwordFile: "/nonexistent/mm-pass"), environment: [:])
        }
    }

    @Test func serverConfigured() throws {
        #expect(!ConnectionConfig.isServerConfigured(environment: [:]))
        #expect(!ConnectionConfig.isServerConfigured(environment: ["GOVC_URL": "  "]))
        #expect(ConnectionConfig.isServerConfigured(environment: ["GOVC_URL": "vc01"]))
        #expect(ConnectionConfig.isServerConfigured(.init(url: "vc01"), environment: [:]))
        #expect(try ConnectionConfig.resolve(environment: [:]) == nil)
    }

    @Test func passwordNeverPrinted() throws {
        let secret = "Sup3r-S3cret!"
        let c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "https://admin:\(secret)@vc01/sdk"]))
        #expect(c.password == secret)
        for text in [c.description, c.debugDescription, c.redactedURL, "\(c)", String(reflecting: c)] {
            #expect(!text.contains(secret), "\(text)")
        }
        var dumped = ""
        dump(c, to: &dumped)
        #expect(!dumped.contains(secret), "\(dumped)")
        #expect(c.redactedURL == "https://admin@vc01/sdk")
        // Errors about a URL never echo its password either.
        let ftp = Self.refused { try ConnectionConfig.resolve(environment: ["GOVC_URL": "ftp://admin:\(secret)@vc01"]) }
        #expect(ftp.map { !"\($0)".contains(secret) } == true)
        let noHost = Self.refused { try ConnectionConfig.resolve(environment: ["GOVC_URL": "https://admin:\(secret)@"]) }
        #expect(noHost.map { !"\($0)".contains(secret) } == true)
    }

    @Test func insecureValues() throws {
        for (value, expected) in [("1", true), ("true", true), ("0", false), ("false", false), ("", false)] {
            let c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc", "GOVC_INSECURE": value]))
            #expect(c.insecure == expected, "\(value)")
        }
        Self.refused { try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc", "GOVC_INSECURE": "maybe"]) }
    }

    @Test func thumbprints() throws {
        let sha1 = try Thumbprint(parsing: "ab:CD:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01")
        #expect(sha1.algorithm == .sha1)
        #expect(sha1.description == "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01")
        #expect(try Thumbprint(parsing: "abcdef0123456789abcdef0123456789abcdef01") == sha1)
        let sha256 = try Thumbprint(parsing: String(repeating: "0a:", count: 31) + "FF")
        #expect(sha256.algorithm == .sha256)
        Self.refused { try Thumbprint(parsing: "AB:CD") }
        Self.refused { try Thumbprint(parsing: String(repeating: "zz:", count: 19) + "zz") }
        let flag = try #require(try ConnectionConfig.resolve(.init(url: "u:p@vc", thumbprint: sha1.description.lowercased()), environment: [:]))
        #expect(flag.thumbprint == sha1)
    }

    @Test func knownHostsFile() throws {
        let path = NSTemporaryDirectory() + "mm-known-\(UUID().uuidString)"
        let sha1 = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
        let other = "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67"
        try "# govc known hosts\nvc01 \(other)\nvc01:8443 \(sha1)\n\nvc02 \(other)\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc01:8443", "GOVC_TLS_KNOWN_HOSTS": path]))
        #expect(c.thumbprint?.description == sha1)
        c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc02", "GOVC_TLS_KNOWN_HOSTS": path]))
        #expect(c.thumbprint?.description == other)
        c = try #require(try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc03", "GOVC_TLS_KNOWN_HOSTS": path]))
        #expect(c.thumbprint == nil)
        // An explicit --thumbprint wins over the file.
        c = try #require(try ConnectionConfig.resolve(.init(thumbprint: sha1), environment: ["GOVC_URL": "u:p@vc02", "GOVC_TLS_KNOWN_HOSTS": path]))
        #expect(c.thumbprint?.description == sha1)
    }

    /// Expects `body` to be refused with a `ConfigurationError` fault — the client's own
    /// refusal before anything is sent, which a script or the engine must not take for a
    /// fault of vCenter or of the network — and returns it (nil, with an issue recorded, when
    /// nothing or something else is thrown).
    @discardableResult
    static func refused<R>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R) -> VCenterFault? {
        let fault = #expect(throws: VCenterFault.self, sourceLocation: sourceLocation) { _ = try body() }
        if let fault { #expect(fault.code == .configurationError, "\(fault)", sourceLocation: sourceLocation) }
        return fault
    }

    // MARK: A script's mm.connect{...} against the operator's configuration

    static let operatorEnvironment = ["GOVC_URL": "https://vc01.example.com/sdk", "GOVC_USERNAME": "admin", "GOVC_PASSWORD": "Op3rator-Secret"]

    static func resolveScript(_ script: ConnectRequest, flags: ConnectionConfig.Flags = .init(), sandboxed: Bool = false,
                              environment: [String: String] = operatorEnvironment) throws -> ConnectionConfig? {
        try ConnectionConfig.resolve(flags, script: script, sandboxed: sandboxed, environment: environment)
    }

    @Test func storedCredentialsGoOnlyToTheConfiguredVCenter() throws {
        // The configured vCenter, named or not: the stored credentials.
        for url in [nil, "vc01.example.com", "https://VC01.example.com:443/sdk", "other-user@vc01.example.com"] {
            let c = try #require(try Self.resolveScript(.init(url: url)))
            #expect(c.host.lowercased() == "vc01.example.com" && c.password == "Op3rator-Secret", "\(url ?? "nil")")
        }
        // Another vCenter (host, port or scheme) without credentials of its own: refused,
        // naming where it asked to go, never the password.
        for url in ["https://attacker.example.com/sdk", "vc01.example.com:8443", "http://attacker:8080/"] {
            do {
                _ = try Self.resolveScript(.init(url: url))
                Issue.record("\(url): expected a refusal")
            } catch let fault as VCenterFault {
                #expect(fault.message.contains("is not the configured vCenter"), "\(fault)")
                #expect(fault.message.contains("give its own username= and password="), "\(fault)")
                #expect(!fault.message.contains("Op3rator-Secret"))
            }
        }
        let named = Self.refused { try Self.resolveScript(.init(url: "http://attacker:8080/")) }
        #expect(named?.message.contains("http://attacker:8080 is not the configured vCenter") == true, "\(named?.message ?? "")")
        // The password file and a password in --url are stored credentials too.
        let path = NSTemporaryDirectory() + "mm-pass-\(UUID().uuidString)"
        try "from-the-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        Self.refused {
            try Self.resolveScript(.init(url: "elsewhere"), flags: .init(url: "admin@vc01", passwordFile: path), environment: [:])
        }
        Self.refused {
            try Self.resolveScript(.init(url: "elsewhere", username: "u"), flags: .init(url: "admin:in-url@vc01"), environment: [:])
        }
        // Nothing configured: no stored credential goes anywhere (GOVC_PASSWORD alone is not a vCenter).
        Self.refused {
            try Self.resolveScript(.init(url: "vc09"), environment: ["GOVC_USERNAME": "admin", "GOVC_PASSWORD": "Op3rator-Secret"])
        }
        // Its own credentials: fine, and none of the operator's TLS or login settings follow it.
        let own = try #require(try Self.resolveScript(.init(url: "https://vc02.example.com/sdk", username: "bob", password: "bobs"),
                                                     flags: .init(insecure: true, thumbprint: String(repeating: "AB:", count: 19) + "AB")))
        #expect(own.host == "vc02.example.com" && own.username == "bob" && own.password == "bobs" && !own.insecure && own.thumbprint == nil)
        let inURL = try #require(try Self.resolveScript(.init(url: "https://bob:bobs@vc02.example.com/sdk")))
        #expect(inURL.username == "bob" && inURL.password == "bobs")
    }

    @Test func aSandboxedScriptCannotChangeWhereOrHowItConnects() throws {
        let configured = try #require(try Self.resolveScript(.init(username: "admin"), sandboxed: true))
        #expect(configured.host == "vc01.example.com" && configured.password == "Op3rator-Secret")
        #expect(try Self.resolveScript(.init(url: "vc01.example.com"), sandboxed: true)?.host == "vc01.example.com")
        let elsewhere = Self.refused {
            try Self.resolveScript(.init(url: "https://attacker.example.com/", username: "u", password: "p"), sandboxed: true)
        }
        #expect(elsewhere?.message == "mm.connect: under --sandbox a script connects only to the configured vCenter, https://vc01.example.com:443; it asked for https://attacker.example.com:443")
        let insecure = Self.refused { try Self.resolveScript(.init(insecure: true), sandboxed: true) }
        #expect(insecure?.message.hasPrefix("mm.connect: insecure= is not allowed under --sandbox") == true)
        let pin = Self.refused { try Self.resolveScript(.init(thumbprint: "AA:BB"), sandboxed: true) }
        #expect(pin?.message.hasPrefix("mm.connect: thumbprint= is not allowed under --sandbox") == true)
        // Nothing configured: the simulator, as without the sandbox; a URL is refused.
        #expect(try Self.resolveScript(.init(), sandboxed: true, environment: [:]) == nil)
        Self.refused { try Self.resolveScript(.init(url: "vc01", username: "u", password: "p"), sandboxed: true, environment: [:]) }
    }

    // MARK: TLS that says what it does

    @Test func plainHTTPNeedsToBeAllowed() throws {
        let secret = "Sup3r-S3cret"
        let refused = Self.refused {
            try ConnectionConfig.resolve(environment: ["GOVC_URL": "http://admin:\(secret)@vc01:8080/sdk"])
        }
        #expect(refused?.message == "refusing http://admin@vc01:8080/sdk: over plain HTTP the password and the session cookie would cross the network in clear text; use https://, or allow it for a test vCenter with --insecure-http (MOONMOTION_INSECURE_HTTP=1)",
                "\(refused?.message ?? "")")
        #expect(try ConnectionConfig.resolve(.init(insecureHTTP: true), environment: ["GOVC_URL": "http://admin:p@vc01"])?.isTLS == false)
        for value in ["1", "true", "yes"] {
            #expect(try ConnectionConfig.resolve(environment: ["GOVC_URL": "http://admin:p@vc01", "MOONMOTION_INSECURE_HTTP": value]) != nil)
        }
        // The flag wins over the environment, both ways; a script cannot allow it (no such field).
        Self.refused {
            try ConnectionConfig.resolve(.init(insecureHTTP: false), environment: ["GOVC_URL": "http://admin:p@vc01", "MOONMOTION_INSECURE_HTTP": "1"])
        }
        Self.refused { try ConnectionConfig.resolve(environment: ["GOVC_URL": "http://admin:p@vc01", "MOONMOTION_INSECURE_HTTP": "0"]) }
        Self.refused {
            try ConnectionConfig.resolve(.init(), script: .init(url: "http://u:p@vc02"), sandboxed: false, environment: ["GOVC_URL": "vc01"])
        }
        // https needs nothing.
        #expect(try ConnectionConfig.resolve(environment: ["GOVC_URL": "admin:p@vc01"])?.isTLS == true)
    }

    @Test func insecureWithAPinIsRefused() throws {
        let pin = String(repeating: "AB:", count: 31) + "AB"
        let both = Self.refused { try ConnectionConfig.resolve(.init(url: "u:p@vc01", insecure: true, thumbprint: pin), environment: [:]) }
        #expect(both?.message == "--insecure turns certificate checks off, which would silently drop the --thumbprint pin; give one of them (a pin alone accepts exactly that certificate)",
                "\(both?.message ?? "")")
        let env = Self.refused {
            try ConnectionConfig.resolve(.init(url: "u:p@vc01", thumbprint: pin), environment: ["GOVC_INSECURE": "1"])
        }
        #expect(env?.message.hasPrefix("GOVC_INSECURE turns certificate checks off, which would silently drop the --thumbprint pin") == true)
        let script = Self.refused {
            try ConnectionConfig.resolve(.init(url: "u:p@vc01", thumbprint: pin), script: .init(insecure: true), sandboxed: false, environment: [:])
        }
        #expect(script?.message.hasPrefix("insecure=true turns certificate checks off, which would silently drop the --thumbprint pin") == true)
        // A known-hosts pin too, naming the file.
        let path = NSTemporaryDirectory() + "mm-known-\(UUID().uuidString)"
        try "vc01 \(pin)\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let known = Self.refused {
            try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc01", "GOVC_INSECURE": "1", "GOVC_TLS_KNOWN_HOSTS": path])
        }
        #expect(known?.message == "GOVC_INSECURE turns certificate checks off, which would silently drop the pin for vc01:443 in \(path) (GOVC_TLS_KNOWN_HOSTS); give one of them",
                "\(known?.message ?? "")")
        // --insecure for a host the file does not pin is fine.
        #expect(try ConnectionConfig.resolve(environment: ["GOVC_URL": "u:p@vc02", "GOVC_INSECURE": "1", "GOVC_TLS_KNOWN_HOSTS": path])?.insecure == true)
        // A pin on a URL without TLS would pin nothing.
        let http = Self.refused {
            try ConnectionConfig.resolve(.init(url: "http://u:p@vc01", thumbprint: pin, insecureHTTP: true), environment: [:])
        }
        #expect(http?.message == "--thumbprint pins a TLS certificate, but http://u@vc01/sdk does not use TLS", "\(http?.message ?? "")")
        // And the plain initializer.
        Self.refused { try ConnectionConfig(url: "vc01", username: "u", insecure: true, thumbprint: pin) }
    }

    @Test func badURLs() {
        Self.refused { try ConnectionConfig(url: "ftp://vc01", username: "u") }
        Self.refused { try ConnectionConfig(url: "", username: "u") }
        Self.refused { try ConnectionConfig(url: "vc01") }  // no user name
    }
}
