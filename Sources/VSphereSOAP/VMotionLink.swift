import VimXML

/// The speed of a host's vMotion network, from the host properties read with the rest of
/// the inventory (one batched retrieval for every host, never a call per host).
///
/// vSphere allows 4 concurrent vMotions per host on a 1 GbE vMotion network and 8 on
/// 10 GbE or faster. The link is found as vCenter shows it:
///
/// 1. the vmknics enabled for vMotion: `config.virtualNicManagerInfo.netConfig`, entry
///    `nicType == "vmotion"`, its `selectedVnic` keys among its `candidateVnic`s;
/// 2. each one's uplinks: on a standard switch, its port group (`spec.portgroup`) in
///    `config.network.portgroup` → that port group's switch in `config.network.vswitch` →
///    its `pnic` keys (narrowed to the port group's active NICs when its teaming policy
///    names them); on a distributed switch (`spec.distributedVirtualPort.switchUuid`), the
///    host's proxy switch of that switch in `config.network.proxySwitch` → its `pnic` keys;
/// 3. the uplinks' `linkSpeed.speedMb` in `config.network.pnic` (absent while a link is down).
///
/// The speed is the slowest connected uplink of any vMotion vmknic. When no vMotion vmknic
/// resolves to a connected uplink (vMotion not enabled, an NSX segment, properties the user
/// may not read), it is the slowest connected NIC of the host: vMotion traffic leaves
/// through one of them, so this never overstates the link. With no link information at all
/// it is unknown (nil), and the engine then assumes 1 GbE (`Limits.networkMaxCost`).
struct VMotionLink {
    /// The property paths to read per host, added to the inventory's host retrieval.
    static let paths = [
        "config.network.pnic", "config.network.vswitch", "config.network.portgroup",
        "config.network.proxySwitch", "config.virtualNicManagerInfo.netConfig",
    ]

    /// Physical NIC key → device name and link speed in Mb/s (nil: link down).
    private var nics: [String: (device: String, speedMb: Int?)] = [:]
    /// Standard switch key → its uplinks' pnic keys.
    private var switchUplinks: [String: [String]] = [:]
    /// Port group name → its switch's key and its active NIC devices (empty: the switch's).
    private var portGroups: [String: (switchKey: String, active: [String])] = [:]
    /// Distributed switch UUID → the host proxy switch's pnic keys.
    private var proxyUplinks: [String: [String]] = [:]
    /// The vMotion vmknics: port group name (standard) or distributed switch UUID.
    private var vmotionNics: [(portGroup: String?, dvsUUID: String?)] = []

    /// Takes the value of one of `paths`; other properties are ignored.
    mutating func add(_ path: String, _ value: XMLElement) {
        switch path {
        case "config.network.pnic":
            for nic in value.children {
                guard let key = nic.child("key")?.text else { continue }
                let speed = nic.child("linkSpeed")?.child("speedMb")?.int
                nics[key] = (nic.child("device")?.text ?? key, speed.flatMap { $0 > 0 ? $0 : nil })
            }
        case "config.network.vswitch":
            for sw in value.children {
                guard let key = sw.child("key")?.text else { continue }
                switchUplinks[key] = sw.children("pnic").map(\.text)
            }
        case "config.network.portgroup":
            for pg in value.children {
                guard let name = pg.path("spec", "name")?.text, let sw = pg.child("vswitch")?.text else { continue }
                let active = pg.path("computedPolicy", "nicTeaming", "nicOrder")?.children("activeNic").map(\.text) ?? []
                portGroups[name] = (sw, active)
            }
        case "config.network.proxySwitch":
            for proxy in value.children {
                guard let uuid = proxy.child("dvsUuid")?.text else { continue }
                proxyUplinks[uuid] = proxy.children("pnic").map(\.text)
            }
        case "config.virtualNicManagerInfo.netConfig":
            for config in value.children where config.child("nicType")?.text == "vmotion" {
                let selected = Set(config.children("selectedVnic").map(\.text))
                for vnic in config.children("candidateVnic") where selected.contains(vnic.child("key")?.text ?? "") {
                    let spec = vnic.child("spec")
                    let dvs = spec?.path("distributedVirtualPort", "switchUuid")?.text
                    let pg = spec?.child("portgroup")?.text ?? vnic.child("portgroup")?.text
                    vmotionNics.append((pg.flatMap { $0.isEmpty ? nil : $0 }, dvs.flatMap { $0.isEmpty ? nil : $0 }))
                }
            }
        default:
            break
        }
    }

    /// The vMotion link speed in Mb/s (see the type's comment), or nil when unknown.
    var speedMbps: Int? {
        var slowest: Int?
        for vmk in vmotionNics {
            var uplinks: [String] = []
            if let dvs = vmk.dvsUUID {
                uplinks = proxyUplinks[dvs] ?? []
            } else if let name = vmk.portGroup, let pg = portGroups[name] {
                uplinks = switchUplinks[pg.switchKey] ?? []
                if !pg.active.isEmpty {
                    let active = Set(pg.active)
                    let narrowed = uplinks.filter { nics[$0].map { active.contains($0.device) } ?? false }
                    if !narrowed.isEmpty { uplinks = narrowed }
                }
            }
            if let speed = uplinks.compactMap({ nics[$0]?.speedMb }).min() {
                slowest = min(slowest ?? speed, speed)
            }
        }
        return slowest ?? nics.values.compactMap(\.speedMb).min()
    }
}
