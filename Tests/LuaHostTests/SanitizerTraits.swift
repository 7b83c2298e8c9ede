import Foundation
import Testing

extension Trait where Self == ConditionTrait {
    /// Off under ThreadSanitizer: a test that interrupts a pure Lua loop from another thread.
    /// The interrupt pokes the Lua thread with a signal (`interrupt.c`), and ThreadSanitizer
    /// delays every signal handler until its thread next enters instrumented code; liblua is
    /// the system's uninstrumented static library, so in `while true do end` the handler never
    /// runs and the test spins forever. Without the sanitizer the poke lands in microseconds.
    /// `scripts/sanitizers/run.sh` sets `MM_SANITIZER`.
    static var interruptsPureLuaLoop: Self {
        .disabled(if: ProcessInfo.processInfo.environment["MM_SANITIZER"] == "thread",
                  "ThreadSanitizer holds the interrupt's signal until the thread runs instrumented code; liblua is not instrumented")
    }
}
