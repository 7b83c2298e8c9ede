import Foundation
import VCenterModel

extension FaultInjection {
    /// The keys `apply(spec:)` understands, with what each does (for help texts and errors).
    public static let specKeys: [(key: String, meaning: String)] = [
        ("every=N", "every Nth Storage vMotion fails"),
        ("rate=P", "each Storage vMotion fails with probability P (0-1, seeded)"),
        ("fault=TYPE", "the fault of every= and rate= (default FileLocked, which the engine retries)"),
        ("kinds=all", "every= and rate= count every kind of task, not only Storage vMotions"),
        ("at=F", "how far through its copy a failure strikes (0-1, default 0.5)"),
        ("vm=NAME", "the next task of that VM fails once (with fault=)"),
        ("slow-host=NAME:F", "that host works at F times the rate (0.5: half speed)"),
        ("slow-datastore=NAME:F", "that datastore works at F times the rate"),
        ("delay=S", "every task waits S simulated seconds queued before it starts"),
        ("seed=N", "seed of rate="),
    ]

    /// Adds the failures and delays `spec` describes, a comma-separated list of
    /// `key=value` pairs (`every=40,fault=FileLocked`, `rate=0.02`,
    /// `slow-datastore=legacy-01:0.5`, `delay=30`; see `specKeys`). Throws a
    /// `SimulatorConfigurationError` that names the bad pair and the keys there are.
    public mutating func apply(spec: String) throws {
        var every: Int?
        var rate: Double?
        var fault = "FileLocked"
        var allKinds = false
        var vms: [String] = []
        for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            guard let eq = part.firstIndex(of: "="), eq != part.startIndex else { throw Self.specError(part, "is not key=value") }
            let key = String(part[..<eq]).lowercased(), value = String(part[part.index(after: eq)...])
            switch key {
            case "every":
                guard let n = Int(value), n >= 1 else { throw Self.specError(part, "needs a whole number of 1 or more") }
                every = n
            case "rate":
                guard let p = Double(value), p >= 0, p <= 1 else { throw Self.specError(part, "needs a probability between 0 and 1") }
                rate = p
            case "fault":
                guard !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }) else {
                    throw Self.specError(part, "needs a fault type such as FileLocked or NoDiskSpace")
                }
                fault = value
            case "kinds":
                guard value == "all" || value == "storage" else { throw Self.specError(part, "is all or storage") }
                allKinds = value == "all"
            case "at":
                guard let f = Double(value), f >= 0, f <= 1 else { throw Self.specError(part, "needs a fraction between 0 and 1") }
                failurePoint = f
            case "vm":
                guard !value.isEmpty else { throw Self.specError(part, "needs a VM name") }
                vms.append(value)
            case "slow-host", "slow-datastore":
                guard let colon = value.lastIndex(of: ":"), let f = Double(value[value.index(after: colon)...]), f > 0, f.isFinite,
                      colon != value.startIndex else {
                    throw Self.specError(part, "needs NAME:FACTOR, for example \(key)=esx-01:0.5")
                }
                let name = String(value[..<colon])
                if key == "slow-host" { slowHosts[name] = f } else { slowDatastores[name] = f }
            case "delay":
                guard let s = Double(value), s >= 0, s.isFinite else { throw Self.specError(part, "needs seconds (0 or more)") }
                startDelay = s
            case "seed":
                guard let n = UInt64(value) else { throw Self.specError(part, "needs a whole number") }
                seed = n
            default:
                throw Self.specError(part, "has an unknown key")
            }
        }
        // The message does not repeat the type: `description` puts it in front already.
        let injected = Self.fault(fault, "injected by the simulator (--inject)")
        let kinds: Set<SimulatedTaskKind> = allKinds ? [] : [.storageVMotion, .hostAndStorageVMotion]
        if let every { everyNth.append(EveryNth(every, kinds: kinds, fault: injected)) }
        if let rate {
            failureProbability = rate
            probabilityKinds = kinds
            probabilityFault = injected
        }
        for vm in vms { failNextTask[vm] = injected }
    }

    private static func specError(_ part: String, _ why: String) -> SimulatorConfigurationError {
        SimulatorConfigurationError("'\(part)' \(why); use " + specKeys.map(\.key).joined(separator: ", "))
    }
}
