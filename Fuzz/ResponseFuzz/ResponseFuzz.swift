// libFuzzer target for the SOAP reader and every response decoder (scripts/fuzz).
//
// Built with `FUZZING` defined and `--sanitize=fuzzer`, libFuzzer supplies `main` and calls
// `LLVMFuzzerTestOneInput` with each input; otherwise this is a replayer: `response-fuzz FILE…`
// decodes the given files (a crash the fuzzer saved, a fixture) and prints what came out.
import Foundation
import VSphereSOAP

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? ResponseDecodingProbe.decode(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
struct ResponseFuzzReplay {
    static func main() throws {
        for path in CommandLine.arguments.dropFirst() {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            do {
                print("\(path): \(try ResponseDecodingProbe.decode(bytes)) record(s)")
            } catch {
                print("\(path): \(error)")
            }
        }
    }
}
#endif
