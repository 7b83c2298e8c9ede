/// The full names vSphere shows for the guest OS ids the simulators generate
/// (`config.guestId` → `config.guestFullName`), so a generated VM reads like a real one.
public enum GuestOSNames {
    /// Known ids and their names (vSphere 8's).
    public static let known: [String: String] = [
        "windows2019srv_64Guest": "Microsoft Windows Server 2019 (64-bit)",
        "windows2019srvNext_64Guest": "Microsoft Windows Server 2022 (64-bit)",
        "windows9Server64Guest": "Microsoft Windows Server 2016 (64-bit)",
        "windows9_64Guest": "Microsoft Windows 10 (64-bit)",
        "rhel9_64Guest": "Red Hat Enterprise Linux 9 (64-bit)",
        "rhel8_64Guest": "Red Hat Enterprise Linux 8 (64-bit)",
        "ubuntu64Guest": "Ubuntu Linux (64-bit)",
        "sles15_64Guest": "SUSE Linux Enterprise 15 (64-bit)",
        "otherGuest64": "Other (64-bit)",
    ]

    /// The full name of `id`; an id it does not know is its own name.
    public static func fullName(of id: String) -> String {
        known[id] ?? id
    }
}
