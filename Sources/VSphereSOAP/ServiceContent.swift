import VCenterModel
import VimXML

/// The parts of `ServiceContent` Moonmotion uses.
struct ServiceContent: Sendable {
    var rootFolder: MoRef
    var propertyCollector: MoRef
    var viewManager: MoRef
    var sessionManager: MoRef
    var taskManager: MoRef?
    /// Storage DRS (vCenter only; ESXi has none).
    var storageResourceManager: MoRef?
    /// Names the keys of custom attributes (`customValue`); nil where there is none.
    var customFieldsManager: MoRef?
    var about: AboutInfo

    static let serviceInstance = MoRef("ServiceInstance", "ServiceInstance")

    init(_ element: XMLElement) throws {
        func ref(_ name: String) throws -> MoRef {
            guard let r = element.child(name)?.moRef else {
                throw VCenterFault(.invalidResponse, "ServiceContent has no \(name): is this a vCenter or ESXi SOAP endpoint?")
            }
            return r
        }
        rootFolder = try ref("rootFolder")
        propertyCollector = try ref("propertyCollector")
        viewManager = try ref("viewManager")
        sessionManager = try ref("sessionManager")
        taskManager = element.child("taskManager")?.moRef
        storageResourceManager = element.child("storageResourceManager")?.moRef
        customFieldsManager = element.child("customFieldsManager")?.moRef
        let about = element.child("about")
        func text(_ name: String) -> String { about?.child(name)?.text ?? "" }
        self.about = AboutInfo(
            name: text("name"), fullName: text("fullName"), version: text("version"), build: text("build"),
            apiVersion: text("apiVersion"), apiType: text("apiType"), instanceUuid: text("instanceUuid"))
    }
}
