import Foundation
import Logging
import Locking
import Testing
import VCenterModel
import VimXML
@testable import VSphereSOAP

/// The client's files, datastore clusters, disk locators and Storage DRS against scripted
/// answers: what it asks for and what it makes of the answers.
@Suite struct VMFilesFakeServerTests {
    /// A vCenter whose inventory has a datastore cluster and the VMs of `retrieve-vms-files.xml`.
    static func inventoryServer(extra: @escaping @Sendable (FakeSOAPServer.Request) -> FakeSOAPServer.Response? = { _ in nil }) throws -> FakeSOAPServer {
        let tasks = Locked(0)
        return try FakeSOAPServer { request in
            if let response = extra(request) { return response }
            switch request.method {
            case "CreateContainerView": return .soap(request.method, #"<returnval type="ContainerView">session[1]view-1</returnval>"#)
            case "RetrievePropertiesEx", "ContinueRetrievePropertiesEx":
                let body = request.body
                if FakeSOAPServer.Response.readsViewMembers(request) {
                    return .viewMembers(["vm-201", "vm-202", "vm-203", "vm-204", "vm-205"], view: "session[1]view-1")
                }
                if body.contains("<type>StoragePod</type>") { return .fixture("retrieve-structure-pods.xml") }
                if body.contains("<type>VirtualMachine</type>") { return .fixture("retrieve-vms-files.xml") }
                if body.contains("<type>Datastore</type>") { return .fixture("retrieve-datastores-pods.xml") }
                return .soap(request.method, "<returnval></returnval>")
            case "WaitForUpdatesEx": return .emptyWait(request)
            case "RecommendDatastores": return .fixture("recommend-datastores.xml")
            case "ApplyStorageDrsRecommendation_Task": return .soap(request.method, #"<returnval type="Task">task-900</returnval>"#)
            default: return PollerFixtureTests.sessionAndCollector(request, tasks: tasks)
            }
        }
    }

    static func connect(_ server: FakeSOAPServer) async throws -> SOAPVCenter {
        var config = try ConnectionConfig(url: server.url, username: "admin", password: "pw")
        config.keepAliveInterval = 0
        config.pollerMaxWaitSeconds = 1
        return try await SOAPVCenter.connect(config: config, logger: Logger(label: "test.files"))
    }

    static let vm201 = MoRef("VirtualMachine", "vm-201")
    static let ds11 = MoRef("Datastore", "datastore-11")
    static let ds12 = MoRef("Datastore", "datastore-12")
    static let pod = MoRef("StoragePod", "group-p7")

    @Test func inventoryReadsFilesAndDatastoreClusters() async throws {
        let server = try Self.inventoryServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let inventory = try await vc.inventory()
        await vc.close()

        // The VM retrieval asks for the files' properties.
        let vmRetrieval = try #require(server.requests.first { $0.method == "RetrievePropertiesEx" && $0.body.contains("<type>VirtualMachine</type>") }).body
        for path in ["config.files.vmPathName", "config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo", "runtime.connectionState", "guest.toolsRunningStatus"] {
            #expect(vmRetrieval.contains("<pathSet>\(path)</pathSet>"), "\(path)")
        }
        #expect(!vmRetrieval.contains("<pathSet>layoutEx</pathSet>"))
        let structure = try #require(server.requests.first { $0.method == "RetrievePropertiesEx" && $0.body.contains("<type>StoragePod</type>") }).body
        #expect(structure.contains("<pathSet>podStorageDrsEntry.storageDrsConfig.podConfig.enabled</pathSet>"))
        #expect(server.requests.contains { $0.method == "CreateContainerView" && $0.body.contains("<type>StoragePod</type>") })

        // Datastore clusters, both ways round.
        #expect(inventory.datastoreClusters.map(\.name).sorted() == ["empty-pod", "gold-pod"])
        let gold = try #require(inventory.datastoreCluster(Self.pod))
        #expect(gold.datastores == [Self.ds11, Self.ds12] && gold.sdrsEnabled)
        #expect(gold.capacityBytes == 4_398_046_511_104 && gold.freeBytes == 1_099_511_627_776)
        #expect(inventory.datastore(Self.ds11)?.datastoreCluster == Self.pod)
        #expect(inventory.datastore(MoRef("Datastore", "datastore-13"))?.datastoreCluster == nil)
        #expect(inventory.datastoreClusters(named: "empty-pod").first?.sdrsEnabled == false)

        // Homes: from the disks' paths, and for web-01 (no disk at home) from the datastore names.
        let byName = Dictionary(uniqueKeysWithValues: inventory.vms.map { ($0.name, $0) })
        #expect(byName["db-01"]?.configDatastore == Self.ds11)
        #expect(byName["web-01"]?.configDatastore == Self.ds12)
        #expect(byName["web-01"]?.disks.first?.datastore == Self.ds11)
        #expect(byName["web-01"]?.configBytes == 2500)
        #expect(byName["db-01"]?.disks.count == 2 && byName["rdm-01"]?.disks.count == 3)
        #expect(byName["orphan-01"]?.connectionState == "orphaned")
        // The inventory JSON carries the files.
        let json = String(decoding: try inventory.jsonData(), as: UTF8.self)
        #expect(json.contains("db-01.vmx") && json.contains("gold-pod") && json.contains("rdm_physical"))
    }

    @Test func refreshLooksUpUnknownDatastoreNamesOnce() async throws {
        let server = try Self.inventoryServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        // A fresh connection knows no datastore names: web-01's home needs one more call.
        let vms = try await vc.refreshVMs([MoRef("VirtualMachine", "vm-205")])
        let lookups = server.requests.filter { $0.method == "RetrievePropertiesEx" && $0.body.contains("<type>Datastore</type>") }
        #expect(lookups.count == 1)
        #expect(lookups.first?.body.contains("<pathSet>summary.name</pathSet>") == true)
        // The scripted answer is the whole fixture; the home is web-01's.
        #expect(vms.first { $0.name == "web-01" }?.configDatastore == Self.ds12)
        // Known now: no second look-up.
        _ = try await vc.refreshVMs([MoRef("VirtualMachine", "vm-205")])
        #expect(server.requests.filter { $0.method == "RetrievePropertiesEx" && $0.body.contains("<type>Datastore</type>") }.count == 1)
        await vc.close()
    }

    @Test func relocateWritesDiskLocatorsInSchemaOrder() async throws {
        let server = try Self.inventoryServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        // The connection learns db-01's independent disk 2001 from the inventory.
        _ = try await vc.inventory()
        let spec = RelocateSpec(
            datastore: MoRef("Datastore", "datastore-21"), host: MoRef("HostSystem", "host-22"), pool: MoRef("ResourcePool", "resgroup-9"),
            disks: [
                DiskLocator(diskKey: 2000, datastore: Self.ds11),
                DiskLocator(diskKey: 2001, datastore: MoRef("Datastore", "datastore-22"), format: .thin),
                DiskLocator(diskKey: 2002, datastore: MoRef("Datastore", "datastore-23"), format: .eager),
                DiskLocator(diskKey: 2003, datastore: MoRef("Datastore", "datastore-24"), format: .thick),
            ])
        _ = try await vc.relocateVM(Self.vm201, spec: spec, priority: .defaultPriority)
        await vc.close()
        let body = try #require(server.requests.first { $0.method == "RelocateVM_Task" }).body
        let expected = #"<_this type="VirtualMachine">vm-201</_this><spec>"#
            + #"<datastore type="Datastore">datastore-21</datastore><pool type="ResourcePool">resgroup-9</pool><host type="HostSystem">host-22</host>"#
            + #"<disk><diskId>2000</diskId><datastore type="Datastore">datastore-11</datastore></disk>"#
            + #"<disk><diskId>2001</diskId><datastore type="Datastore">datastore-22</datastore><diskBackingInfo xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName><diskMode>independent_persistent</diskMode><thinProvisioned>true</thinProvisioned><eagerlyScrub>false</eagerlyScrub></diskBackingInfo></disk>"#
            + #"<disk><diskId>2002</diskId><datastore type="Datastore">datastore-23</datastore><diskBackingInfo xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName><diskMode>persistent</diskMode><thinProvisioned>false</thinProvisioned><eagerlyScrub>true</eagerlyScrub></diskBackingInfo></disk>"#
            + #"<disk><diskId>2003</diskId><datastore type="Datastore">datastore-24</datastore><diskBackingInfo xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName><diskMode>persistent</diskMode><thinProvisioned>false</thinProvisioned><eagerlyScrub>false</eagerlyScrub></diskBackingInfo></disk>"#
            + "</spec><priority>defaultPriority</priority>"
        #expect(body.contains(expected), "\(body)")
    }

    @Test func locatorsAloneAreAMove() async throws {
        let server = try Self.inventoryServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        _ = try await vc.relocateVM(Self.vm201, spec: RelocateSpec(disks: [DiskLocator(diskKey: 2001, datastore: Self.ds12)]), priority: .highPriority)
        do {
            _ = try await vc.relocateVM(Self.vm201, spec: RelocateSpec(), priority: .highPriority)
            Issue.record("an empty spec must be refused")
        } catch let fault as VCenterFault {
            #expect(fault.type == "InvalidArgument")
        }
        await vc.close()
        let body = try #require(server.requests.first { $0.method == "RelocateVM_Task" }).body
        #expect(body.contains(#"<spec><disk><diskId>2001</diskId><datastore type="Datastore">datastore-12</datastore></disk></spec><priority>highPriority</priority>"#), "\(body)")
        #expect(server.requests.filter { $0.method == "RelocateVM_Task" }.count == 1)
    }

    @Test func recommendDatastoresAsksForARelocationIntoThePod() async throws {
        let server = try Self.inventoryServer()
        defer { server.stop() }
        let vc = try await Self.connect(server)
        let spec = RelocateSpec(host: MoRef("HostSystem", "host-22"), disks: [DiskLocator(diskKey: 2001, datastore: Self.ds12, format: .thin)])
        let recommendations = try await vc.recommendDatastores(Self.vm201, pod: Self.pod, spec: spec)
        let task = try await vc.applyStorageRecommendation(recommendations[0].key, vm: Self.vm201)
        await vc.close()

        let body = try #require(server.requests.first { $0.method == "RecommendDatastores" }).body
        let expected = #"<_this type="StorageResourceManager">StorageResourceManager</_this><storageSpec><type>relocate</type>"#
            + #"<vm type="VirtualMachine">vm-201</vm><podSelectionSpec><storagePod type="StoragePod">group-p7</storagePod></podSelectionSpec>"#
            + #"<relocateSpec><host type="HostSystem">host-22</host><disk><diskId>2001</diskId><datastore type="Datastore">datastore-12</datastore><diskBackingInfo xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName><diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned><eagerlyScrub>false</eagerlyScrub></diskBackingInfo></disk></relocateSpec>"#
            + "</storageSpec>"
        #expect(body.contains(expected), "\(body)")

        // Best rated first; the other VM's prerequisite move is no recommendation of ours.
        #expect(recommendations.map(\.key) == ["7", "6", "9"])
        #expect(recommendations[0] == StorageRecommendation(key: "7", destination: MoRef("Datastore", "datastore-22"), disks: [], rating: 5))
        // Disk 2000 goes with the home; only 2001 is placed elsewhere, thin.
        #expect(recommendations[1] == StorageRecommendation(
            key: "6", destination: MoRef("Datastore", "datastore-21"),
            disks: [DiskLocator(diskKey: 2001, datastore: MoRef("Datastore", "datastore-22"), format: .thin)], rating: 3))
        #expect(recommendations[2].disks == [DiskLocator(diskKey: 2001, datastore: MoRef("Datastore", "datastore-23"), format: .eager)])

        let apply = try #require(server.requests.first { $0.method == "ApplyStorageDrsRecommendation_Task" }).body
        #expect(apply.contains(#"<_this type="StorageResourceManager">StorageResourceManager</_this><key>7</key>"#), "\(apply)")
        #expect(task.ref == MoRef("Task", "task-900"))
        #expect(task.info.entity == Self.vm201 && task.info.name == "ApplyStorageDrsRecommendation_Task")
    }

    @Test func storageDRSFaultsComeBackAsVCenterFaults() async throws {
        let server = try Self.inventoryServer { request in
            switch request.method {
            case "RecommendDatastores": return .fault("InvalidArgument", "A specified parameter was not correct: podSelectionSpec.storagePod")
            case "ApplyStorageDrsRecommendation_Task": return .fault("NotFound", "The object or item referred to could not be found.")
            default: return nil
            }
        }
        defer { server.stop() }
        let vc = try await Self.connect(server)
        await #expect(throws: VCenterFault(type: "InvalidArgument", message: "A specified parameter was not correct: podSelectionSpec.storagePod")) {
            _ = try await vc.recommendDatastores(Self.vm201, pod: Self.pod, spec: RelocateSpec())
        }
        do {
            _ = try await vc.applyStorageRecommendation("42", vm: Self.vm201)
            Issue.record("apply should fail")
        } catch let fault as VCenterFault {
            #expect(fault.type == "NotFound")
        }
        await vc.close()
    }

    @Test func drsFaultWithoutRecommendationsIsThrown() throws {
        let xml = #"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><RecommendDatastoresResponse xmlns="urn:vim25"><returnval><drsFault><reason>Storage DRS found no datastore</reason><faultsByVm xsi:type="ClusterDrsFaultsFaultsByVm"><vm type="VirtualMachine">vm-201</vm><fault><fault xsi:type="InsufficientStorageSpace"></fault><localizedMessage>Insufficient disk space on datastore ''.</localizedMessage></fault></faultsByVm></drsFault></returnval></RecommendDatastoresResponse></soapenv:Body></soapenv:Envelope>"#
        let (_, pieces) = try SOAPResponseParser.parse(Array(xml.utf8))
        #expect(throws: VCenterFault(type: "InsufficientStorageSpace", message: "Insufficient disk space on datastore ''.")) {
            _ = try StorageDRSDecoding.recommendations(pieces[0], vm: Self.vm201)
        }
        let none = #"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RecommendDatastoresResponse xmlns="urn:vim25"><returnval></returnval></RecommendDatastoresResponse></soapenv:Body></soapenv:Envelope>"#
        let (_, empty) = try SOAPResponseParser.parse(Array(none.utf8))
        #expect(try StorageDRSDecoding.recommendations(empty[0], vm: Self.vm201).isEmpty)
    }

    @Test func serviceContentNamesTheStorageResourceManager() throws {
        let (_, pieces) = try SOAPResponseParser.parse(Fixtures.bytes("service-content.xml"))
        let content = try ServiceContent(pieces[0])
        #expect(content.storageResourceManager == MoRef("StorageResourceManager", "StorageResourceManager"))
    }
}
