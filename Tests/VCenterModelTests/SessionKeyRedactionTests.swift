import Foundation
import Testing
import VCenterModel

/// vCenter names the objects a session creates `session[<session key>]<id>` and quotes those
/// names in faults; the key identifies the login session (the test vCenter's is the session
/// cookie itself), so no description, log line or fault message carries it.
@Suite("Session keys cut from references and faults")
struct SessionKeyRedactionTests {
    static let key = "5de1493e-3456-4c46-9282-d44cf71485fc"
    static let collector = MoRef("PropertyCollector", "session[\(key)]95ca65c2-c7f6-4ff8-959b-1e539ebc7d81")

    @Test("a session-scoped reference prints without its key; its value and JSON keep it")
    func reference() throws {
        #expect(Self.collector.description == "PropertyCollector:session[…]95ca65c2-c7f6-4ff8-959b-1e539ebc7d81")
        #expect(Self.collector.redactedValue == "session[…]95ca65c2-c7f6-4ff8-959b-1e539ebc7d81")
        #expect(Self.collector.value.contains(Self.key))
        // Codable is how a reference is stored and read back: the whole value.
        let data = try JSONEncoder().encode(Self.collector)
        #expect(try JSONDecoder().decode(MoRef.self, from: data) == Self.collector)
        // Ordinary references are untouched.
        #expect(MoRef("Task", "task-17").description == "Task:task-17")
    }

    @Test("a fault's message and faultstring lose every session key, vCenter's and the test vCenter's form")
    func fault() {
        let vcenter = "The object 'vim.PropertyCollector:session[52b3a8f1-7c2e-4c1d-9f00-3e5a1b2c4d6e]52e0c9a4-1111-2222-3333-444455556666' has already been deleted or has not been completely created"
        let vcsim = "managed object not found: PropertyCollector:\(Self.collector.value); and View:session[\(Self.key)]ab"
        let f = VCenterFault(type: "ManagedObjectNotFound", message: vcenter, faultString: vcsim)
        #expect(f.message == "The object 'vim.PropertyCollector:session[…]52e0c9a4-1111-2222-3333-444455556666' has already been deleted or has not been completely created")
        #expect(f.faultString == "managed object not found: PropertyCollector:session[…]95ca65c2-c7f6-4ff8-959b-1e539ebc7d81; and View:session[…]ab")
        #expect(!f.description.contains(Self.key) && !f.description.contains("52b3a8f1"))
        // An unterminated name is cut to the end; text without one is kept as it is.
        #expect(MoRef.redactingSessionKeys("x session[abc") == "x session[…")
        #expect(MoRef.redactingSessionKeys("FileLocked: [legacy-01] vm/vm.vmdk") == "FileLocked: [legacy-01] vm/vm.vmdk")
    }
}
