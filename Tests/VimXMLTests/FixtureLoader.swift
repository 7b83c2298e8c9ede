#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads test fixtures from `Tests/VimXMLTests/Fixtures` (next to this file), without Foundation.
enum Fixture {
    static let directory: String = {
        var path = #filePath
        while let last = path.last, last != "/" { path.removeLast() }
        return path + "Fixtures/"
    }()

    /// The bytes of fixture `name`; fails the calling test by crashing only if the fixture is missing from the repository.
    static func bytes(_ name: String) -> [UInt8] {
        guard let file = fopen(directory + name, "rb") else { fatalError("missing fixture \(directory + name)") }
        defer { fclose(file) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }
}
