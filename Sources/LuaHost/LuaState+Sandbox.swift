import CLuaShim

extension LuaState {
    /// Applies the sandbox: removes the dangerous library functions (see `SandboxOptions`)
    /// and sets the instruction, wall-clock and memory limits. Call before running any script code
    /// (coroutines created earlier do not inherit the limit hook).
    public func applySandbox(_ options: SandboxOptions) throws {
        if options.restrictsLibraries {
            loadMode = "t"
            try run(LuaState.sandboxSource, chunkName: "=[sandbox]")
        }
        setLimits(instructions: options.instructionLimit, seconds: options.timeLimit)
        memoryLimit = options.memoryLimit
    }

    /// Sets (or clears with nil) the instruction and wall-clock limits enforced by the hook.
    public func setLimits(instructions: Int?, seconds: Double?) {
        mm_host_set_limits(host, mainThread, Int64(instructions ?? 0), seconds ?? 0)
    }

    /// Instructions counted so far against the instruction limit.
    public var instructionsUsed: Int { Int(mm_host_instructions_used(host)) }

    static let sandboxSource = #"""
    local io, os, package, string, table = io, os, package, string, table
    local error, type, tostring, rawload, rawloadfile = error, type, tostring, load, loadfile

    for _, name in ipairs { "execute", "exit", "remove", "rename", "tmpname", "getenv", "setlocale" } do
      os[name] = nil
    end
    io.popen, io.tmpfile = nil, nil

    local open = io.open
    io.open = function(filename, mode)
      mode = mode or "r"
      if mode ~= "r" and mode ~= "rb" then
        error("io.open: the sandbox opens files for reading only (mode 'r' or 'rb'), not '"
          .. tostring(mode) .. "'", 2)
      end
      return open(filename, mode)
    end
    local output = io.output
    io.output = function(file)
      if type(file) == "string" then
        error("io.output: the sandbox cannot open files for writing", 2)
      end
      return output(file)
    end

    package.loadlib = nil
    package.cpath = ""
    table.remove(package.searchers, 4)
    table.remove(package.searchers, 3)
    package.searchers[2] = function(name)
      local path, err = package.searchpath(name, package.path)
      if not path then return err end
      local chunk, lerr = rawloadfile(path, "t")
      if not chunk then
        error(string.format("error loading module '%s' from file '%s':\n\t%s", name, path, lerr), 0)
      end
      return chunk, path
    end

    debug = nil
    package.loaded.debug = nil
    string.dump = nil

    load = function(chunk, chunkname, _, env)
      if env == nil then return rawload(chunk, chunkname, "t") end
      return rawload(chunk, chunkname, "t", env)
    end
    loadfile = function(filename, _, env)
      if env == nil then return rawloadfile(filename, "t") end
      return rawloadfile(filename, "t", env)
    end
    dofile = function(filename)
      local chunk, err = rawloadfile(filename, "t")
      if not chunk then error(err, 2) end
      return chunk()
    end
    """#
}
