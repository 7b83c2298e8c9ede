import Foundation
import Locking
import Logging
import Testing
import VCenterModel
@testable import VSphereSOAP

/// Tags from the Automation REST API beside the SOAP inventory: the calls the client makes
/// and what it makes of vSphere's JSON answers, and an inventory without tags (nil, with the
/// reason) where the API is not there or refuses the account.
@Suite struct AutomationTagReaderTests {
    static func json(_ text: String, status: Int = 200) -> FakeSOAPServer.Response {
        FakeSOAPServer.Response(status: status, contentType: "application/json", body: Array(text.utf8))
    }

    static let tagWave1 = "urn:vmomi:InventoryServiceTag:4a7f2d4c-1111-4e6a-9f1d-0d3c0c9b2a01:GLOBAL"
    static let tagWave2 = "urn:vmomi:InventoryServiceTag:4a7f2d4c-2222-4e6a-9f1d-0d3c0c9b2a02:GLOBAL"
    static let tagHost = "urn:vmomi:InventoryServiceTag:4a7f2d4c-3333-4e6a-9f1d-0d3c0c9b2a03:GLOBAL"
    static let tagUnused = "urn:vmomi:InventoryServiceTag:4a7f2d4c-4444-4e6a-9f1d-0d3c0c9b2a04:GLOBAL"
    static let categoryWave = "urn:vmomi:InventoryServiceCategory:9e1b7c10-aaaa-4b0b-8d5e-3f6c1a2b3c01:GLOBAL"
    static let categoryTeam = "urn:vmomi:InventoryServiceCategory:9e1b7c10-bbbb-4b0b-8d5e-3f6c1a2b3c02:GLOBAL"
    static let session = "b1946ac92492d2347c6235b4d2611184"

    /// A vCenter 6.7's answers (its JSON, `used_by` and descriptions included): vm-201 in
    /// wave-1 and team fin, vm-202 in wave-2, a tag on a host and one on nothing.
    static func vCenterREST(_ request: FakeSOAPServer.Request) -> FakeSOAPServer.Response? {
        let base = "/rest/com/vmware/cis/"
        switch request.target {
        case "POST \(base)session": return json(#"{"value":"\#(session)"}"#)
        case "DELETE \(base)session": return json("{}")
        case "GET \(base)tagging/tag": return json(#"{"value":["\#(tagWave1)","\#(tagWave2)","\#(tagHost)","\#(tagUnused)"]}"#)
        case "POST \(base)tagging/tag-association?~action=list-attached-objects-on-tags":
            return json(#"""
                {"value":[{"tag_id":"\#(tagWave1)","object_ids":[{"id":"vm-201","type":"VirtualMachine"}]},
                {"tag_id":"\#(tagWave2)","object_ids":[{"id":"vm-202","type":"VirtualMachine"},{"id":"vm-201","type":"VirtualMachine"}]},
                {"tag_id":"\#(tagHost)","object_ids":[{"id":"host-10","type":"HostSystem"}]},
                {"tag_id":"\#(tagUnused)","object_ids":[]}]}
                """#)
        case "GET \(base)tagging/tag/id:\(tagWave1)":
            return json(#"{"value":{"category_id":"\#(categoryWave)","name":"wave-1","description":"","id":"\#(tagWave1)","used_by":[]}}"#)
        case "GET \(base)tagging/tag/id:\(tagWave2)":
            return json(#"{"value":{"category_id":"\#(categoryTeam)","name":"fin","description":"finance","id":"\#(tagWave2)","used_by":[]}}"#)
        case "GET \(base)tagging/category/id:\(categoryWave)":
            return json(#"{"value":{"associable_types":["VirtualMachine"],"name":"migration-wave","description":"","id":"\#(categoryWave)","used_by":[],"cardinality":"SINGLE"}}"#)
        case "GET \(base)tagging/category/id:\(categoryTeam)":
            return json(#"{"value":{"associable_types":[],"name":"team","description":"","id":"\#(categoryTeam)","used_by":[],"cardinality":"MULTIPLE"}}"#)
        default:
            return request.target.contains("/rest/") ? json(#"{"type":"com.vmware.vapi.std.errors.not_found"}"#, status: 404) : nil
        }
    }

    @Test func readsEveryVMsTagsInFewCallsWithTheSessionHeader() async throws {
        let server = try VMFilesFakeServerTests.inventoryServer(extra: Self.vCenterREST)
        let vc = try await VMFilesFakeServerTests.connect(server)
        let inventory = try await vc.inventory()
        await vc.close()
        let tags = Dictionary(uniqueKeysWithValues: inventory.vms.map { ($0.ref.value, $0.tags?.map(\.description)) })
        #expect(tags["vm-201"] == ["migration-wave:wave-1", "team:fin"])
        #expect(tags["vm-202"] == ["team:fin"])
        #expect(tags["vm-203"] == [])
        #expect(inventory.tagsUnread == nil)

        let rest = server.requests.filter { $0.target.contains("/rest/") }
        // Login, the tags, one batch listing, the two tags on VMs, their two categories, logout:
        // not the host's tag nor the unused one.
        #expect(rest.map(\.target).map { $0.replacingOccurrences(of: "/rest/com/vmware/cis/", with: "") }.sorted() == [
            "DELETE session", "GET tagging/category/id:\(Self.categoryTeam)", "GET tagging/category/id:\(Self.categoryWave)",
            "GET tagging/tag", "GET tagging/tag/id:\(Self.tagWave1)", "GET tagging/tag/id:\(Self.tagWave2)",
            "POST session", "POST tagging/tag-association?~action=list-attached-objects-on-tags",
        ].sorted())
        let login = try #require(rest.first)
        #expect(login.target.hasSuffix("/session") && login.headers["authorization"] == "Basic " + Data("admin:pw".utf8).base64EncodedString())
        #expect(login.headers["vmware-api-session-id"] == nil)
        for call in rest.dropFirst() {
            #expect(call.headers["vmware-api-session-id"] == Self.session && call.headers["authorization"] == nil, "\(call.target)")
        }
        #expect(rest.last?.target.hasPrefix("DELETE") == true)
        let listing = try #require(rest.first { $0.target.contains("list-attached-objects-on-tags") })
        let asked = try JSONDecoder().decode([String: [String]].self, from: Data(listing.body.utf8))
        #expect(asked["tag_ids"]?.count == 4)
    }

    /// An empty tag list as govmomi's simulator writes it (`"value":null`): every VM has none.
    @Test func noTagsAtAllIsAnEmptyListPerVM() async throws {
        let server = try VMFilesFakeServerTests.inventoryServer { request in
            if request.target.hasSuffix("/tagging/tag") { return Self.json(#"{"value":null}"#) }
            return Self.vCenterREST(request)
        }
        let vc = try await VMFilesFakeServerTests.connect(server)
        let inventory = try await vc.inventory()
        await vc.close()
        #expect(!inventory.vms.isEmpty && inventory.vms.allSatisfy { $0.tags == [] })
        #expect(server.requests.filter { $0.target.contains("/rest/") }.count == 3)
    }

    /// No Automation API (404), an account it refuses (401), an answer that is no JSON: the
    /// inventory is read as before, its VMs' tags are nil (not "none") and it says why.
    @Test(arguments: [
        (404, #"{"type":"com.vmware.vapi.std.errors.not_found"}"#, "is not there (HTTP 404)"),
        (401, "", "refused the account (HTTP 401)"),
        (200, "<html>login</html>", "answer to POST session was not the documented JSON"),
    ])
    func unreadableTagsLeaveTagsNilWithTheReason(status: Int, body: String, reason: String) async throws {
        let server = try VMFilesFakeServerTests.inventoryServer { request in
            request.target.contains("/rest/") ? Self.json(body, status: status) : nil
        }
        let vc = try await VMFilesFakeServerTests.connect(server)
        let inventory = try await vc.inventory()
        let again = try await vc.inventory()
        let refreshed = try await vc.refreshVMs([MoRef("VirtualMachine", "vm-201")])
        await vc.close()
        #expect(inventory.vms.count == 5)
        #expect(inventory.vms.allSatisfy { $0.tags == nil } && refreshed.allSatisfy { $0.tags == nil })
        let why = try #require(inventory.tagsUnread)
        #expect(why.hasPrefix("tags were not read: ") && why.contains(reason), "\(why)")
        #expect(again.tagsUnread == why)
        #expect(!why.contains("pw") && !why.contains(Self.session))
        // One try per inventory read, and no logout without a session.
        let rest = server.requests.filter { $0.target.contains("/rest/") }
        #expect(rest.map(\.target) == Array(repeating: "POST /rest/com/vmware/cis/session", count: 2))
    }

    /// Tags read with the inventory are kept for the VMs re-read later.
    @Test func refreshKeepsTheTagsOfTheLastInventory() async throws {
        let server = try VMFilesFakeServerTests.inventoryServer(extra: Self.vCenterREST)
        let vc = try await VMFilesFakeServerTests.connect(server)
        _ = try await vc.inventory()
        let refreshed = try await vc.refreshVMs([MoRef("VirtualMachine", "vm-201")])
        await vc.close()
        #expect(refreshed.first?.tags?.map(\.description) == ["migration-wave:wave-1", "team:fin"])
    }

    @Test func restURLsAreTheSOAPEndpointsHostWithoutCredentials() throws {
        func url(_ text: String, _ path: String) throws -> String {
            AutomationTagReader.url(path, config: try ConnectionConfig(url: text, username: "u", password: "p"))
        }
        #expect(try url("http://u:secret@127.0.0.1:8989/sdk", "session") == "http://127.0.0.1:8989/rest/com/vmware/cis/session")
        #expect(try url("https://[::1]:8443/sdk", "tagging/tag") == "https://[::1]:8443/rest/com/vmware/cis/tagging/tag")
        let plain = try url("vc01.example.com", "session")
        #expect(plain.hasPrefix("https://vc01.example.com") && plain.hasSuffix("/rest/com/vmware/cis/session") && !plain.contains("sdk"), "\(plain)")
    }

    @Test func tagTextRoundTrips() {
        #expect(VMTag(parsing: "migration-wave:wave-1") == VMTag(category: "migration-wave", name: "wave-1"))
        #expect(VMTag(parsing: "os:rhel:9")?.name == "rhel:9")
        #expect(VMTag(parsing: "wave-1") == nil && VMTag(parsing: ":x") == nil && VMTag(parsing: "x:") == nil)
    }

    /// Why tags are missing is logged once per connection, at notice level, however often the
    /// inventory is re-read; at trace level nothing logged carries the REST session id.
    @Test func theReasonIsLoggedOnceAndTheSessionIdNever() async throws {
        let lines = Locked<[(Logger.Level, String)]>([])
        var logger = Logger(label: "test.tags") { _ in CapturingLogHandler(lines) }
        logger.logLevel = .trace
        let answers: [@Sendable (FakeSOAPServer.Request) -> FakeSOAPServer.Response?] = [
            { Self.vCenterREST($0) }, { request in request.target.contains("/rest/") ? Self.json("", status: 404) : nil },
        ]
        for answer in answers {
            let server = try VMFilesFakeServerTests.inventoryServer(extra: answer)
            var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
            config.keepAliveInterval = 0
            config.pollerMaxWaitSeconds = 1
            let vc = try await SOAPVCenter.connect(config: config, logger: logger)
            _ = try await vc.inventory()
            _ = try await vc.inventory()
            await vc.close()
        }
        let logged = lines.withLock { $0 }
        let notices = logged.filter { $0.1.contains("tags were not read") }
        #expect(notices.count == 1 && notices.first?.0 == .notice, "\(notices)")
        #expect(logged.contains { $0.1.contains("read tags") }, "the trace log is empty: nothing was searched")
        let basic = Data("admin:pw".utf8).base64EncodedString()
        #expect(!logged.contains { $0.1.contains(Self.session) || $0.1.contains(basic) || $0.1.contains("vmware-api-session-id") })
    }
}

/// Keeps every log line (message and metadata) for a test to search.
struct CapturingLogHandler: LogHandler {
    let lines: Locked<[(Logger.Level, String)]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(_ lines: Locked<[(Logger.Level, String)]>) { self.lines = lines }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let all = self.metadata.merging(metadata ?? [:]) { _, new in new }
        lines.withLock { $0.append((level, "\(message) \(all)")) }
    }
}
