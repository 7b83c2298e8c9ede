import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Process {
    /// The child's exit status (or the signal that ended it, as `terminationStatus` gives it)
    /// once it has ended, nil while it runs. It asks the kernel directly (`waitid` with
    /// `WNOWAIT`, which leaves the child for Foundation to reap): Foundation learns of a
    /// child's end late when another child inherited its end of Foundation's watch socket
    /// (processes spawned at the same moment by parallel tests), and a test that trusts
    /// `isRunning` then waits for a process that is already gone — once, 56 tests failed
    /// that way while the cooperative pool sat in such waits.
    public var endStatus: Int32? {
        if !isRunning { return terminationStatus }
        var info = siginfo_t()
        guard waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
              info._sifields._sigchld.si_pid == processIdentifier else { return nil }
        return info._sifields._sigchld.si_status
    }

    /// Whether the child has ended (see `endStatus`), whether or not Foundation noticed yet.
    public var hasEnded: Bool { endStatus != nil }
}
