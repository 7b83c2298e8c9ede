import Foundation
import Logging
import Locking
import Testing
import VCenterModel
@testable import VSphereSOAP

/// The client against scripted responses: paging, cookies, re-login, faults, servers
/// that are not vSphere.
@Suite struct FakeServerTests {
    static let logger = Logger(label: "test.soap")
    static let cookieHeader = ("Set-Cookie", #"vmware_soap_session="52b0a6a7-fake-cookie"; Path=/; HttpOnly; Secure;"#)

    /// A scripted vCenter whose VM retrieval comes in three pages.
    static func pagingServer(extra: @escaping @Sendable (FakeSOAPServer.Request) -> FakeSOAPServer.Response? = { _ in nil }) throws -> FakeSOAPServer {
        try FakeSOAPServer { request in
            if let response = extra(request) { return response }
            switch request.method {
            case "RetrieveServiceContent": return .fixture("service-content.xml")
            case "Login": return .fixture("login.xml", headers: [cookieHeader])
            case "CreateContainerView": return .soap("CreateContainerView", #"<returnval type="ContainerView">session[52b0a6a7]view-1</returnval>"#)
            case "RetrievePropertiesEx":
                if FakeSOAPServer.Response.readsViewMembers(request) { return .viewMembers(["vm-101", "vm-102", "vm-103", "vm-104"]) }
                return .fixture("retrieve-vms-page1.xml")
            case "ContinueRetrievePropertiesEx":
                return request.body.contains("<token>7</token>") ? .fixture("retrieve-vms-page2.xml") : .fixture("retrieve-vms-page3.xml")
            case "DestroyView", "Logout", "CancelRetrievePropertiesEx": return .soap(request.method)
            default: return .fault("MethodNotFound", "no \(request.method) here")
            }
        }
    }

    static func connect(_ server: FakeSOAPServer, password: String = "pw") async throws -> SOAPVCenter {
        var config = try ConnectionConfig(url: server.url, username: "admin", password: password)
        config.keepAliveInterval = 0
        return try await SOAPVCenter.connect(config: config, logger: logger)
    }

    @Test func pagingFollowsEveryToken() async throws {
        let server = try Self.pagingServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let vms = try await vc.virtualMachines()
        await vc.close()

        #expect(vms.map(\.ref.value) == ["vm-101", "vm-102", "vm-103", "vm-104"])
        #expect(server.methods == [
            "RetrieveServiceContent", "Login", "CreateContainerView", "RetrievePropertiesEx", "RetrievePropertiesEx",
            "ContinueRetrievePropertiesEx", "ContinueRetrievePropertiesEx", "DestroyView", "Logout",
        ])
        let continues = server.requests.filter { $0.method == "ContinueRetrievePropertiesEx" }
        #expect(continues.map { $0.body.contains("<token>7</token>") } == [true, false])
        #expect(continues.map { $0.body.contains("<token>8</token>") } == [false, true])
        // The session cookie goes with every call after Login, and not before.
        for request in server.requests {
            let sent = request.headers["cookie"]
            if request.method == "RetrieveServiceContent" || request.method == "Login" {
                #expect(sent == nil, "\(request.method)")
            } else {
                #expect(sent == #"vmware_soap_session="52b0a6a7-fake-cookie""#, "\(request.method)")
            }
        }
        // The view's members are read from the view created, then the VMs by reference.
        let retrieves = server.requests.filter { $0.method == "RetrievePropertiesEx" }.map(\.body)
        #expect(retrieves.first?.contains(#"<propSet><type>ContainerView</type><all>false</all><pathSet>view</pathSet></propSet><objectSet><obj type="ContainerView">session[52b0a6a7]view-1</obj>"#) == true)
        #expect(retrieves.last?.contains(#"<objectSet><obj type="VirtualMachine">vm-101</obj>"#) == true)
    }

    @Test func vmRecordsAreDecoded() async throws {
        let server = try Self.pagingServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let vms = try await vc.virtualMachines()
        await vc.close()

        let db = try #require(vms.first)
        #expect(db.name == "db-01 & <friends>")
        #expect(db.host == MoRef("HostSystem", "host-21"))
        #expect(db.resourcePool == MoRef("ResourcePool", "resgroup-8"))
        #expect(db.datastores == [MoRef("Datastore", "datastore-11"), MoRef("Datastore", "datastore-12")])
        #expect(db.committedBytes == 53_687_091_200)
        #expect(db.uncommittedBytes == 10_737_418_240)
        #expect(db.memoryMB == 8192)
        #expect(db.powerState == "poweredOn")
        #expect(db.consolidationNeeded)
        #expect(!db.isTemplate)
        #expect(db.snapshots.map(\.name) == ["before-upgrade", "after-upgrade"])
        #expect(db.snapshots[1].parent == db.snapshots[0].ref)
        #expect(db.snapshots[0].createTime == Date(timeIntervalSince1970: 1_709_288_130.123))
        #expect(db.snapshots[1].createTime == Date(timeIntervalSince1970: 1_709_359_200))
        #expect(vms[1].isTemplate && vms[1].powerState == "poweredOff" && vms[1].snapshots.isEmpty)
        #expect(vms[2].powerState == "suspended" && vms[2].committedBytes == 2_147_483_648)
        #expect(vms[3].name == "last-one" && vms[3].datastores.isEmpty)
    }

    @Test func notAuthenticatedLogsInAgainOnceAndRetries() async throws {
        let failures = Locked(1)
        let logins = Locked(0)
        let server = try Self.pagingServer { request in
            if request.method == "Login" { logins.withLock { $0 += 1 } }
            if request.method == "CreateContainerView" {
                let fail = failures.withLock { n -> Bool in defer { n -= 1 }; return n > 0 }
                if fail { return .fault("NotAuthenticated", "The session is not authenticated.") }
            }
            return nil
        }
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let hookCalls = Locked(0)
        vc.onRelogin { hookCalls.withLock { $0 += 1 } }
        let vms = try await vc.virtualMachines()
        await vc.close()
        #expect(vms.count == 4)
        #expect(logins.withLock { $0 } == 2)
        #expect(hookCalls.withLock { $0 } == 1)
        #expect(Array(server.methods.prefix(5)) == ["RetrieveServiceContent", "Login", "CreateContainerView", "Login", "CreateContainerView"])
    }

    @Test func aSecondNotAuthenticatedIsNotRetriedForever() async throws {
        let server = try Self.pagingServer { request in
            request.method == "CreateContainerView" ? .fault("NotAuthenticated", "The session is not authenticated.") : nil
        }
        defer { server.stop() }
        let vc = try await Self.connect(server)
        await #expect(throws: VCenterFault(type: "NotAuthenticated", message: "The session is not authenticated.")) {
            _ = try await vc.virtualMachines()
        }
        await vc.close()
        #expect(server.methods.filter { $0 == "CreateContainerView" }.count == 2)
    }

    @Test func invalidLoginIsOneClearLineWithoutThePassword() async throws {
        let server = try FakeSOAPServer { request in
            switch request.method {
            case "RetrieveServiceContent": return .fixture("service-content.xml")
            default: return .fault("InvalidLogin", "Cannot complete login due to an incorrect user name or password.")
            }
        }
        defer { server.stop() }
        do {
            _ = try await Self.connect(server, password: "hunter2-secret")
            Issue.record("login should fail")
        } catch let fault as VCenterFault {
            #expect(fault.description == "InvalidLogin: Cannot complete login due to an incorrect user name or password.")
            #expect(!fault.description.contains("hunter2"))
        }
        // The password went to the server, escaped, in the Login body only.
        #expect(server.requests.first { $0.method == "Login" }?.body.contains("<password>hunter2-secret</password>") == true)
    }

    @Test(arguments: [
        (200, "text/html", "<!DOCTYPE html><html><body>It works</body></html>", "answered text/html instead of SOAP XML"),
        (404, "text/html", "<html><body>Not Found</body></html>", "HTTP 404"),
        (200, "text/xml", "<html><body>hello</body></html>", "not a SOAP response"),
        (200, "application/xml", #"<?xml version="1.0"?><rss version="2.0"/>"#, "not a SOAP response"),
    ])
    func notVSphere(status: Int, contentType: String, body: String, expected: String) async throws {
        let server = try FakeSOAPServer { _ in .init(status: status, contentType: contentType, body: Array(body.utf8)) }
        defer { server.stop() }
        do {
            _ = try await Self.connect(server)
            Issue.record("connect should fail")
        } catch let fault as VCenterFault {
            #expect(fault.type == "NotVSphere", "\(fault)")
            #expect(fault.message.contains(expected), "\(fault)")
            #expect(fault.message.contains("127.0.0.1:\(server.port)"), "\(fault)")
        }
    }

    @Test func truncatedResponseIsInvalidResponse() async throws {
        let full = Fixtures.bytes("service-content.xml")
        let server = try FakeSOAPServer { _ in .init(body: Array(full.prefix(700))) }
        defer { server.stop() }
        do {
            _ = try await Self.connect(server)
            Issue.record("connect should fail")
        } catch let fault as VCenterFault {
            #expect(fault.type == "InvalidResponse")
            #expect(fault.message.contains("RetrieveServiceContent"))
            #expect(fault.message.contains("truncated"), "\(fault)")
        }
    }

    @Test func failureWhilePagingCancelsTheResultSet() async throws {
        let server = try Self.pagingServer { request in
            request.method == "ContinueRetrievePropertiesEx" && request.body.contains("<token>8</token>")
                ? .fault("SystemError", "A general system error occurred: out of cheese") : nil
        }
        defer { server.stop() }
        let vc = try await Self.connect(server)
        // The server's own fault, not a transport failure of the cancelled result set.
        let fault = await #expect(throws: VCenterFault.self) { _ = try await vc.virtualMachines() }
        #expect(fault?.code == .systemError, "\(String(describing: fault))")
        await vc.close()
        let methods = server.methods
        #expect(methods.contains("CancelRetrievePropertiesEx"))
        #expect(methods.contains("DestroyView"))
        #expect(server.requests.first { $0.method == "CancelRetrievePropertiesEx" }?.body.contains("<token>8</token>") == true)
    }

    @Test func unreachablePort() async throws {
        // A port that was free a moment ago: nothing listens there.
        let server = try FakeSOAPServer { _ in .soap("X") }
        let port = server.port
        server.stop()
        var config = try ConnectionConfig(url: "http://127.0.0.1:\(port)/sdk", username: "u", password: "secret-pw")
        config.connectTimeout = 3
        do {
            _ = try await SOAPVCenter.connect(config: config, logger: Self.logger)
            Issue.record("connect should fail")
        } catch let fault as VCenterFault {
            #expect(fault.type == "ConnectionFailed", "\(fault)")
            #expect(fault.message.contains("127.0.0.1:\(port)"), "\(fault)")
            #expect(fault.message.contains("refused"), "\(fault)")
            #expect(!fault.description.contains("secret-pw"))
        }
    }

    /// A server that sends a byte now and then never trips the read timeout (it is never
    /// silent for long): the body's rate bound ends the call instead of letting it hang.
    @Test(.timeLimit(.minutes(2))) func tricklingServerTimesOut() async throws {
        let server = try FakeSOAPServer { request in
            var response = FakeSOAPServer.Response.soap("RetrieveServiceContent", "<returnval>")
            response.body = Array(response.body.prefix(200))
            response.trickleInterval = 0.25
            return response
        }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "u", password: "p")
        config.readTimeout = 2
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await SOAPVCenter.connect(config: config, logger: Self.logger)
            Issue.record("connect should time out")
        } catch let fault as VCenterFault {
            #expect(fault.type == "Timeout", "\(fault)")
            // Normally the rate bound ("… too slowly"); on a starved machine the trickle itself
            // may stall past the read timeout ("sent nothing for 2 s") — a timeout either way.
            #expect(fault.message.hasPrefix("127.0.0.1:\(server.port) "), "\(fault)")
        }
        // ~2 s alone. The server would trickle for weeks, so any bound tells "timed out" from
        // "waited": far, because the time includes waits for a cooperative-pool thread while
        // other tests hold both of a 2-core machine's (34–35 s measured under load).
        #expect(clock.now - start < .seconds(100))
    }

    @Test func readTimeout() async throws {
        // A server that stays silent until the test has its answer (stop() ends the hold;
        // 30 s bounds it): the client's 1 s read timeout, on a real socket, must end the call.
        let server = try FakeSOAPServer { _ in .held(.fixture("service-content.xml"), upTo: 30) }
        defer { server.stop() }
        var config = try ConnectionConfig(url: server.url, username: "u", password: "p")
        config.readTimeout = 1
        do {
            _ = try await SOAPVCenter.connect(config: config, logger: Self.logger)
            Issue.record("connect should time out")
        } catch let fault as VCenterFault {
            #expect(fault.type == "Timeout", "\(fault)")
            #expect(fault.message.contains("127.0.0.1:\(server.port)"), "\(fault)")
        }
    }
}
