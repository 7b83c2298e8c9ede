import Foundation
import LuaBindings
import Logging
import TestSupport
import VCenterModel
import VSphereSOAP

/// The test vCenter and a connector to it, as the executable would build one.
enum SOAPHarness {
    static let logger = Logger(label: "test.bindings.soap")

    /// A connector: the script's fields win, then the server's URL and credentials.
    static func connector(_ server: TestVCenter) -> VCenterConnector {
        let url = server.url.absoluteString, username = server.username, password = server.password
        return { request in
            var config = try ConnectionConfig(
                url: request.url ?? url, username: request.username ?? username, password: request.password ?? password,
                insecure: request.insecure ?? false, thumbprint: request.thumbprint)
            config.readTimeout = 20
            config.pollerMaxWaitSeconds = 3
            config.pollerCoalesceSeconds = 0.05
            let vc = try await SOAPVCenter.connect(config: config, logger: logger)
            return ConnectedVCenter(vc, url: config.redactedURL, isSimulated: false)
        }
    }

    /// Starts a server and a runtime connected to it through the bindings.
    static func start(_ options: TestVCenter.Options) async throws -> (TestVCenter, BindingsHarness) {
        let server = try await TestVCenter.start(options)
        do {
            return (server, try BindingsHarness(connect: connector(server)))
        } catch {
            server.stop()
            throw error
        }
    }

    /// A second, independent client (someone else starting tasks).
    static func rawClient(_ server: TestVCenter) async throws -> SOAPVCenter {
        let config = try ConnectionConfig(url: server.url.absoluteString, username: server.username, password: server.password)
        return try await SOAPVCenter.connect(config: config, logger: logger)
    }

    /// SOAP calls that watch tasks (everything but starting them, logging in and reading the inventory).
    static let monitoringMethods = ["WaitForUpdatesEx", "ModifyListView", "CreatePropertyCollector", "CreateListView",
                                    "CreateFilter", "RetrievePropertiesEx", "CancelWaitForUpdates", "DestroyPropertyFilter",
                                    "DestroyPropertyCollector", "DestroyView"]

    static func monitoringCalls(_ stats: TestVCenterStats) -> Int {
        monitoringMethods.reduce(0) { $0 + stats.calls($1) }
    }
}
