import Foundation
import LuaBindings
import LuaHost
import Locking
import Testing
import VCenterModel
import VCenterSimulator

/// `mm.connect{...}`: what reaches the connector, errors, and closing.
@Suite(.timeLimit(.minutes(3))) struct ConnectBindingTests {
    @Test func theScriptsFieldsReachTheConnectorAndThePasswordIsNeverShown() async throws {
        let sim = try smallSimulator()
        let seen = Locked<[ConnectRequest]>([])
        let h = try BindingsHarness(connect: { request in
            seen.withLock { $0.append(request) }
            return ConnectedVCenter(sim, url: "https://vc01/sdk", isSimulated: false)
        })
        let values = try await h.run("""
            local mm = require "moonmotion"
            local a = mm.connect{url = "vc01", username = "admin", password = "s3cret", insecure = true, thumbprint = "AA:BB"}
            local b = mm.connect("vc02")
            local ok, err = pcall(mm.connect, {url = "vc01", passwrd = "x"})
            local ok2, err2 = pcall(mm.connect, {insecure = "yes"})
            return a.url, a.simulated, tostring(a):find("s3cret") == nil, ok, err, ok2, err2, a.closed
            """)
        let requests = seen.withLock { $0 }
        #expect(requests.count == 2)
        #expect(requests.first == ConnectRequest(url: "vc01", username: "admin", password: "s3cret", insecure: true, thumbprint: "AA:BB"))
        #expect(requests.last == ConnectRequest(url: "vc02"))
        #expect(!requests[0].description.contains("s3cret") && requests[0].description.contains("<redacted>"))
        #expect(values[0] == "https://vc01/sdk")
        #expect(values[1] == false)
        #expect(values[2] == true)
        #expect(values[3] == false)
        #expect(values[4].stringValue?.contains("unknown option 'passwrd'") == true, "\(values[4])")
        #expect(values[5] == false)
        #expect(values[6].stringValue?.contains("insecure must be true or false") == true, "\(values[6])")
        #expect(values[7] == false)
        await h.shutdown()
    }

    @Test func timeoutsReachTheConnector() async throws {
        let sim = try smallSimulator()
        let seen = Locked<[ConnectRequest]>([])
        let h = try BindingsHarness(connect: { request in
            seen.withLock { $0.append(request) }
            return ConnectedVCenter(sim, url: "https://vc01/sdk", isSimulated: false)
        })
        let values = try await h.run("""
            local mm = require "moonmotion"
            mm.connect{url = "vc01", connect_timeout = 3, read_timeout = 7.5}
            local ok, err = pcall(mm.connect, {read_timeout = 0})
            local ok2, err2 = pcall(mm.connect, {connect_timeout = "soon"})
            return ok, err, ok2, err2
            """)
        #expect(seen.withLock { $0 } == [ConnectRequest(url: "vc01", connectTimeout: 3, readTimeout: 7.5)])
        #expect(values[0] == false && values[1].stringValue?.contains("read_timeout must be a number of seconds above 0") == true, "\(values)")
        #expect(values[2] == false && values[3].stringValue?.contains("connect_timeout must be a number of seconds") == true, "\(values)")
        await h.shutdown()
    }

    @Test func aConnectorFailureIsOneLuaErrorLine() async throws {
        let h = try BindingsHarness(connect: { _ in
            throw VCenterFault(type: "InvalidLogin", message: "Cannot complete login due to an incorrect user name or password.")
        })
        let message = await h.failure("""
            local mm = require "moonmotion"
            mm.connect{username = "admin", password = "wrong"}
            """)
        #expect(message == "test:2: InvalidLogin: Cannot complete login due to an incorrect user name or password.")
        await h.shutdown()
    }

    @Test func closedConnectionsRefuseWork() async throws {
        // A fresh simulator per connection: closing one ends it.
        let h = try BindingsHarness(connect: { _ in ConnectedVCenter(try smallSimulator(), url: "simulated", isSimulated: true) })
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            conn:close()
            conn:close()
            local ok, err = pcall(conn.vms, conn)
            do
              local scoped <close> = mm.connect()
              assert(#scoped:vms() > 0)
            end
            return conn.closed, ok, err
            """)
        #expect(values[0] == true)
        #expect(values[1] == false)
        #expect(values[2].stringValue?.contains("is closed") == true, "\(values[2])")
        await h.shutdown()
    }
}
