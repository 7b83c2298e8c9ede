import VCenterModel

/// The faults the simulator raises, worded like vCenter's and saying what to do.
extension VCenterFault {
    static func notFound(_ ref: MoRef) -> VCenterFault {
        VCenterFault(.managedObjectNotFound, "The object '\(ref)' has already been deleted or has not been completely created (simulated vCenter)")
    }
    static func invalidArgument(_ message: String) -> VCenterFault {
        VCenterFault(.invalidArgument, message)
    }
    static func invalidState(_ message: String) -> VCenterFault {
        VCenterFault(.invalidState, message)
    }
    static func notSupported(_ message: String) -> VCenterFault {
        VCenterFault(.notSupported, message)
    }
    static func taskInProgress(_ vmName: String, _ running: MoRef) -> VCenterFault {
        VCenterFault(.taskInProgress, "The VM '\(vmName)' is busy: \(running.value) is still running on it; retry when it ends")
    }
    static let requestCanceled = VCenterFault(.requestCanceled, "The task was canceled by a user.")
    static func noDiskSpace(_ datastore: String, need: Int64, free: Int64) -> VCenterFault {
        VCenterFault(.noDiskSpace, "Datastore '\(datastore)' has \(GenerateSpec.formatBytes(free)) free, the VM needs \(GenerateSpec.formatBytes(need)); choose another datastore")
    }
    static func hostNotConnected(_ host: String, state: String, vm: String) -> VCenterFault {
        VCenterFault(.hostNotConnected, "host '\(host)' of VM '\(vm)' is \(state): vCenter cannot relocate the VM until the host is connected again")
    }
    static func rdmConversionNotSupported(_ vm: String, _ disk: VirtualDiskInfo) -> VCenterFault {
        VCenterFault(.rdmConversionNotSupported,
                     "\(disk.label) (key \(disk.key)) of VM '\(vm)' is a physical-mode raw device mapping: its format cannot change (only its mapping file moves); give its locator no format")
    }
    static func multiWriterNotSupported(_ vm: String, _ disk: VirtualDiskInfo) -> VCenterFault {
        VCenterFault(.multiWriterNotSupported,
                     "VM '\(vm)' is powered on and \(disk.label) (key \(disk.key)) is shared multi-writer: Storage vMotion is not supported for it; power the VM off or leave its storage")
    }
    static func faultToleranceStorageVMotion(_ vm: String) -> VCenterFault {
        VCenterFault(.notSupported, "Storage vMotion is not supported for a Fault Tolerance VM ('\(vm)'); turn Fault Tolerance off first")
    }
    static let sessionClosed = VCenterFault(.notAuthenticated, "The simulated vCenter was closed; create a new one")
}
