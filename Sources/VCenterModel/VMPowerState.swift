/// A VM's power state as vSphere spells it (`runtime.powerState`), read from the spellings
/// people use: vSphere's (`poweredOff`), PowerCLI's (`PoweredOff`) and the short one (`off`),
/// in any case. A filter or a file that says `power = "PoweredOff"` means what it says
/// instead of matching nothing.
public enum VMPowerState: String, Sendable, CaseIterable {
    case poweredOn
    case poweredOff
    case suspended

    /// The state `text` names, or nil when it names none (the caller lists `allCases`).
    public init?(_ text: String) {
        switch text.lowercased() {
        case "poweredon", "on": self = .poweredOn
        case "poweredoff", "off": self = .poweredOff
        case "suspended": self = .suspended
        default: return nil
        }
    }

    /// Every spelling `init` accepts, for error messages: `poweredOn (or "on"), …`.
    public static var accepted: String {
        "\"poweredOn\" (or \"on\"), \"poweredOff\" (or \"off\"), \"suspended\" — in any case"
    }
}
