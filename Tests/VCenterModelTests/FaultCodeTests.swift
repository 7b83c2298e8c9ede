import Testing
import VCenterModel

/// Faults as codes with vSphere's hierarchy: decisions are properties of the code.
@Suite("Fault codes")
struct FaultCodeTests {
    @Test("vSphere's inheritance: a rule for a parent covers its subtypes")
    func hierarchy() {
        let hostNotConnected = VCenterFault.Code("HostNotConnected")
        #expect(hostNotConnected.parent == .hostCommunication)
        #expect(hostNotConnected.isA(.hostCommunication) && hostNotConnected.isA(.runtimeFault) && hostNotConnected.isA(.methodFault))
        #expect(!hostNotConnected.isA(.vimFault))
        #expect(VCenterFault.Code.invalidPowerState.isA(.invalidState))
        #expect(VCenterFault.Code("VAppTaskInProgress").isA(.taskInProgress))
        #expect(VCenterFault.Code.notAuthenticated.isA(.noPermission))
        #expect(VCenterFault.Code.noDiskSpace.isA(.fileFault) && VCenterFault.Code.fileLocked.isA(.fileFault))
        #expect(VCenterFault.Code.timeout.parent == nil && !VCenterFault.Code.timeout.isVSphereFault)
        #expect(VCenterFault.Code.invalidLogin.isVSphereFault)
    }

    @Test("retriable, decided per type: subtypes of the retriable parents retry; InvalidState's subtypes and other file faults do not")
    func retriability() {
        let retried: [VCenterFault.Code] = [.taskInProgress, "VAppTaskInProgress", .fileLocked, .invalidState, .resourceInUse,
                                            .concurrentAccess, .hostCommunication, .hostNotConnected, "HostNotReachable", .noPermissionOnHost]
        for code in retried { #expect(code.isRetriable, "\(code)") }
        let notRetried: [VCenterFault.Code] = [.invalidPowerState, "InvalidHostState", .noDiskSpace, "FileNotFound", .invalidArgument,
                                               .managedObjectNotFound, .notSupported, .timeout, .notAuthenticated]
        for code in notRetried { #expect(!code.isRetriable, "\(code)") }
        #expect(VCenterFault(.hostNotConnected, "esx-01 is gone").isRetriable)
    }

    @Test("outcome unknown, session lost and TLS are properties of the code")
    func otherDecisions() {
        for code: VCenterFault.Code in [.timeout, .connectionFailed, .invalidResponse, .cancelled, .closed, .clientError] {
            #expect(code.isOutcomeUnknown, "\(code)")
        }
        #expect(!VCenterFault.Code.fileLocked.isOutcomeUnknown)
        #expect(VCenterFault.Code.notAuthenticated.isSessionLost && !VCenterFault.Code.invalidLogin.isSessionLost)
        #expect(VCenterFault.Code.tlsThumbprintMismatch.isTLS && VCenterFault.Code.tlsVerificationFailed.isTLS && !VCenterFault.Code.notVSphere.isTLS)
        #expect(VCenterFault(type: "FileLocked", message: "x").code == .fileLocked)
    }

    @Test("known: every vSphere fault type and Moonmotion's own codes, for checking names a strategy writes")
    func knownCodes() {
        let known = VCenterFault.Code.known
        #expect(known.contains(.fileLocked) && known.contains(.hostNotConnected) && known.contains(.methodFault))
        #expect(known.contains(.timeout) && known.contains(.tlsError))
        #expect(known == known.sorted { $0.rawValue < $1.rawValue } && Set(known).count == known.count)
        #expect(known.allSatisfy { $0.isKnown })
        #expect(!VCenterFault.Code("FileLoked").isKnown)
    }

    @Test("description names the type once, also for a message that already starts with it")
    func descriptionOnce() {
        #expect(VCenterFault(.fileLocked, "the file is locked").description == "FileLocked: the file is locked")
        #expect(VCenterFault(.fileLocked, "FileLocked: the file is locked").description == "FileLocked: the file is locked")
        #expect(VCenterFault(.fileLocked, "").description == "FileLocked")
        #expect(VCenterFault(.fileLocked, "FileLocked").description == "FileLocked")
        #expect(VCenterFault(.fileFault, "FileLocked: x").description == "FileFault: FileLocked: x")
    }
}
