import CLuaShim

extension LuaState {
    /// Applies the sandbox: removes the dangerous library functions (see `SandboxOptions`),
    /// confines reading to the script's files, and sets the instruction, wall-clock and memory
    /// limits. `scriptDirectories` are the directories the script's own files live in (its
    /// directory; the REPL's working directory): with `options.readablePaths`, the only
    /// places `io.open` and friends read. Call after `package.path` is set (its absolute
    /// directories become readable to `require`) and before running any script code
    /// (coroutines created earlier do not inherit the limit hook).
    public func applySandbox(_ options: SandboxOptions, scriptDirectories: [String] = []) throws {
        if options.restrictsLibraries {
            loadMode = "t"
            let packagePath = try run("return package.path").first?.stringValue ?? ""
            let files = SandboxFiles(fileRoots: scriptDirectories + options.readablePaths,
                                     moduleRoots: SandboxFiles.templateDirectories(of: packagePath),
                                     deniedFiles: options.unreadablePaths)
            let L = mainThread
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            try loadOnStack(LuaState.sandboxSource, chunkName: "=[sandbox]", on: L)
            pushFunction(named: "sandbox_check", { call in
                let path = try call.string(1)
                switch files.check(path, forModule: call.isNoneOrNil(2) ? false : try call.string(2) == "module") {
                case .allowed(let resolved):
                    call.push(resolved)
                    return .values(1)
                case .missing:
                    call.pushNil()
                    call.push("\(path): No such file or directory")
                    call.push("missing")
                    return .values(3)
                case .refused(let message):
                    call.pushNil()
                    call.push(message)
                    call.push("refused")
                    return .values(3)
                }
            }, on: L)
            try protectedCall(argumentCount: 1, resultCount: 0, on: L)
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

    // The sandbox, in Lua: `check` (the chunk's argument) is `SandboxFiles.check`, and the
    // library functions it wraps stay reachable only as this chunk's upvalues (the debug
    // library, which could fetch them, is gone).
    static let sandboxSource = #"""
    local check = ...
    local io, os, package, string, table = io, os, package, string, table
    local error, type, tostring, select = error, type, tostring, select
    local rawload, rawloadfile, rawget, rawsetmetatable = load, loadfile, rawget, setmetatable
    local open, lines, input, output = io.open, io.lines, io.input, io.output

    for _, name in ipairs { "execute", "exit", "remove", "rename", "tmpname", "getenv", "setlocale" } do
      os[name] = nil
    end
    io.popen, io.tmpfile = nil, nil

    -- A file name as Lua's library reads it (numbers too), or a "bad argument" error.
    local function name_of(filename, what)
      local t = type(filename)
      if t == "number" then return tostring(filename) end
      if t ~= "string" then
        error("bad argument #1 to '" .. what .. "' (string expected, got " .. (t == "nil" and "no value" or t) .. ")", 3)
      end
      return filename
    end

    -- Reads a source file the sandbox may read and compiles it as text, named as given.
    local function load_checked(filename, env, purpose)
      local path, err, why = check(filename, purpose)
      if not path then
        return nil, why == "missing" and ("cannot open " .. err) or err
      end
      local f, oerr = open(path, "rb")
      if not f then return nil, "cannot open " .. tostring(oerr) end
      local text = f:read("a")
      f:close()
      if not text then return nil, "cannot read " .. filename end
      if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end  -- a UTF-8 BOM, as luaL_loadfile
      if text:sub(1, 1) == "#" then text = "--" .. text end           -- "#!" line, line numbers kept
      if env == nil then return rawload(text, "@" .. filename, "t") end
      return rawload(text, "@" .. filename, "t", env)
    end

    io.open = function(filename, mode)
      filename = name_of(filename, "open")
      mode = mode or "r"
      if mode ~= "r" and mode ~= "rb" then
        error("io.open: the sandbox opens files for reading only (mode 'r' or 'rb'), not '"
          .. tostring(mode) .. "'", 2)
      end
      local path, err = check(filename, "file")
      if not path then return nil, err, 13 end  -- EACCES, as a refused open
      return open(path, mode)
    end
    io.lines = function(filename, ...)
      if filename == nil then return lines() end
      filename = name_of(filename, "lines")
      local path, err = check(filename, "file")
      if not path then error(err, 2) end
      return lines(path, ...)
    end
    io.input = function(file)
      if type(file) == "string" or type(file) == "number" then
        local path, err = check(tostring(file), "file")
        if not path then error(err, 2) end
        return input(path)
      end
      return input(file)
    end
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
    -- package.searchpath, checking every candidate: a path outside the sandbox is never
    -- opened, so its existence is not revealed either.
    local function searchpath(name, path, sep, rep)
      name = name_of(name, "searchpath")
      if type(path) ~= "string" then
        error("bad argument #2 to 'searchpath' (string expected, got " .. type(path) .. ")", 2)
      end
      sep, rep = sep or ".", rep or "/"
      if sep ~= "" then
        name = name:gsub(sep:gsub("%p", "%%%0"), (rep:gsub("%%", "%%%%")))
      end
      local tried = {}
      for template in path:gmatch("[^;]+") do
        local filename = template:gsub("%?", (name:gsub("%%", "%%%%")))
        local resolved, _, why = check(filename, "module")
        if resolved then
          local f = open(resolved, "r")
          if f then
            f:close()
            return filename
          end
        end
        tried[#tried + 1] = "no file '" .. filename .. "'" .. (why == "refused" and " (not readable in the sandbox)" or "")
      end
      return nil, table.concat(tried, "\n\t")
    end
    package.searchpath = searchpath
    package.searchers[2] = function(name)
      local filename, err = searchpath(name, package.path)
      if not filename then return err end
      local chunk, lerr = load_checked(filename, nil, "module")
      if not chunk then
        error(string.format("error loading module '%s' from file '%s':\n\t%s", name, filename, lerr), 0)
      end
      return chunk, filename
    end

    debug = nil
    package.loaded.debug = nil
    string.dump = nil

    load = function(chunk, chunkname, _, env)
      if env == nil then return rawload(chunk, chunkname, "t") end
      return rawload(chunk, chunkname, "t", env)
    end
    loadfile = function(filename, _, env)
      if filename == nil then
        if env == nil then return rawloadfile(nil, "t") end
        return rawloadfile(nil, "t", env)
      end
      return load_checked(name_of(filename, "loadfile"), env, "file")
    end
    dofile = function(filename)
      local chunk, err
      if filename == nil then
        chunk, err = rawloadfile(nil, "t")
      else
        chunk, err = load_checked(name_of(filename, "dofile"), nil, "file")
      end
      if not chunk then error(err, 2) end
      return chunk()
    end

    -- Lua runs finalizers with hooks off (so no instruction or time limit could stop one) and
    -- possibly while Swift allocates (so no memory limit could either: CLuaShim/memory.c).
    setmetatable = function(t, mt)
      if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
        error("setmetatable: the sandbox does not run finalizers (__gc): Lua runs them outside the "
          .. "instruction, time and memory limits; close resources with a to-be-closed variable "
          .. "(local x <close> = ...) instead", 2)
      end
      return rawsetmetatable(t, mt)
    end
    """#
}
