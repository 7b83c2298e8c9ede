/// What a sandboxed script may do: for scripts a customer hands over (`--sandbox`).
///
/// With `restrictsLibraries`, the script loses everything that runs programs, writes or
/// deletes files, loads native code or bytecode, or reads the environment:
/// `os.execute`, `os.exit`, `os.remove`, `os.rename`, `os.tmpname`, `os.getenv`,
/// `os.setlocale`, `io.popen`, `io.tmpfile`, `package.loadlib`, the C module searchers
/// (`package.cpath` is emptied), `debug` (and `require "debug"`), `string.dump`; `load`,
/// `loadfile`, `dofile` and `require` accept source text only (crafted bytecode can crash
/// Lua). `io.open` stays for reading (`"r"`, `"rb"`), so a strategy can read a CSV;
/// `io.output` refuses file names. Configuration comes in through `params` instead of the
/// environment (which may hold `GOVC_PASSWORD`). `setmetatable` refuses a metatable with
/// `__gc`: Lua runs finalizers with hooks off, outside every limit.
///
/// Reading is confined (`SandboxFiles`): `io.open`, `io.lines`, `io.input`, `loadfile`,
/// `dofile` read only under the script's directory and `readablePaths`; `require` and
/// `package.searchpath` also in the directories of Moonmotion's own `package.path`; never
/// `/proc`, `/sys`, `/dev` or `unreadablePaths` (the password file). Paths are resolved
/// (symbolic links, `..`) before they are checked.
///
/// The limits stop a script that runs too long or grows too big: `instructionLimit` counts
/// VM instructions (in steps of 1000) across all coroutines; `timeLimit` is wall-clock
/// seconds from the start, enforced while Lua runs (hook) and while it waits (timer);
/// `memoryLimit` is the most bytes Lua's heap may hold (`LuaState.memoryLimit`). Each
/// applies with or without `restrictsLibraries`.
public struct SandboxOptions: Sendable, Equatable {
    /// Remove the dangerous library functions listed above.
    public var restrictsLibraries: Bool
    /// Maximum number of Lua VM instructions, or nil for no limit.
    public var instructionLimit: Int?
    /// Maximum wall-clock seconds, or nil for no limit.
    public var timeLimit: Double?
    /// Maximum bytes Lua's heap may hold, or nil for no limit.
    public var memoryLimit: Int?
    /// With `restrictsLibraries`: files and directories the script may read besides its own
    /// directory (`--allow-read`).
    public var readablePaths: [String]
    /// With `restrictsLibraries`: files never readable, even inside a readable directory
    /// (the password file).
    public var unreadablePaths: [String]
    /// With `restrictsLibraries`: names of host operations the script may call by name
    /// (`--allow-method`; LuaBindings: vSphere methods through `conn:invoke` and custom jobs,
    /// which are refused otherwise). LuaHost only carries them.
    public var allowedMethods: [String]

    /// Creates sandbox options.
    public init(restrictsLibraries: Bool = false, instructionLimit: Int? = nil, timeLimit: Double? = nil, memoryLimit: Int? = nil,
                readablePaths: [String] = [], unreadablePaths: [String] = [], allowedMethods: [String] = []) {
        self.restrictsLibraries = restrictsLibraries
        self.instructionLimit = instructionLimit
        self.timeLimit = timeLimit
        self.memoryLimit = memoryLimit
        self.readablePaths = readablePaths
        self.unreadablePaths = unreadablePaths
        self.allowedMethods = allowedMethods
    }

    /// No restrictions, no limits.
    public static let none = SandboxOptions()
    /// Restricted libraries, no limits.
    public static let restricted = SandboxOptions(restrictsLibraries: true)

    /// `true` when any limit is set.
    public var hasLimits: Bool { instructionLimit != nil || timeLimit != nil || memoryLimit != nil }
}
