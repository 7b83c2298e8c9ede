import Foundation
import Testing
import VCenterModel
import VimXML
@testable import VSphereSOAP

/// The vMotion network's speed from the host properties of the inventory retrieval
/// (`VMotionLink`), on vCenter-shaped responses: standard and distributed switches, a
/// port group's active NICs, no vMotion vmknic, nothing readable.
@Suite struct VMotionLinkTests {
    static func hosts() throws -> [String: HostInfo] {
        let (_, pieces) = try SOAPResponseParser.parse(Fixtures.bytes("retrieve-hosts-network.xml"), granularity: .returnValueMembers)
        var hosts: [String: HostInfo] = [:]
        for piece in pieces where piece.name == "objects" {
            if let host = InventoryDecoding.host(ObjectContent(element: piece)) { hosts[host.name] = host }
        }
        return hosts
    }

    @Test func linkSpeedFollowsTheVMotionVmknicsUplinks() throws {
        let hosts = try Self.hosts()
        #expect(hosts.count == 5)
        // vmk1 on its own vSwitch with 10 GbE uplinks; the 1 GbE management NICs do not count.
        #expect(hosts["esx-std-10g"]?.vmotionLinkSpeedMbps == 10_000)
        // vmk1 on a distributed switch: the host's proxy switch's 25 GbE uplinks.
        #expect(hosts["esx-dvs-25g"]?.vmotionLinkSpeedMbps == 25_000)
        // The vMotion port group's teaming uses only the 1 GbE uplink of its vSwitch.
        #expect(hosts["esx-std-active-1g"]?.vmotionLinkSpeedMbps == 1_000)
        // No vmknic enabled for vMotion: the slowest connected NIC (a NIC whose link is down is ignored).
        #expect(hosts["esx-no-vmotion-vmk"]?.vmotionLinkSpeedMbps == 1_000)
        // Nothing readable: unknown, and the engine then assumes 1 GbE.
        #expect(hosts["esx-unknown"]?.vmotionLinkSpeedMbps == nil)
        #expect(hosts.values.allSatisfy { $0.cluster == MoRef("ClusterComputeResource", "domain-c7") && $0.connectionState == "connected" })
    }

    @Test func theHostRetrievalAsksForTheNetworkProperties() {
        for path in ["config.network.pnic", "config.network.vswitch", "config.network.portgroup",
                     "config.network.proxySwitch", "config.virtualNicManagerInfo.netConfig"] {
            #expect(InventoryDecoding.hostPaths.contains(path), "\(path)")
        }
    }
}
