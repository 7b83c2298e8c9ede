import Testing
@testable import LuaHost

@Suite struct LuaUserdataTests {
    private func setUp(_ state: LuaState) {
        state.setGlobal("new_task", function: { call in
            call.push(TestTask(id: try call.string(1)))
            return .values(1)
        })
        state.setGlobal("new_vm", function: { call in
            call.push(TestVM(name: try call.string(1)))
            return .values(1)
        })
    }

    @Test func methodsFieldsAndTostring() throws {
        try withState { state throws in
            setUp(state)
            let results = try state.run("""
                local t = new_task("task-1")
                return t:wait(), t.id, tostring(t), getmetatable(t), pcall(setmetatable, t, {})
                """)
            // The metatable is protected: getmetatable gives its name, setmetatable refuses.
            #expect(results.prefix(5) == ["waited task-1", "task-1", "Task(task-1)", "moonmotion.Task", false])
        }
    }

    @Test func typeConfusionIsALuaError() throws {
        try withState { state throws in
            setUp(state)
            let results = try state.run("""
                local task, vm = new_task("t"), new_vm("v")
                local _, a = pcall(function() return task.wait(vm) end)
                local _, b = pcall(function() return task.wait(io.stdout) end)
                local _, c = pcall(function() return task.wait(42) end)
                local _, d = pcall(function() return vm:wait() end)
                local wait = task.wait
                local _, e = pcall(function() return vm.name(task) end)
                local _, f = pcall(function() task.id = 3 end)
                return a, b, c, d, e, f
                """, chunkName: "@confuse.lua")
            #expect(results == [
                "confuse.lua:2: bad argument #1 to 'wait' (moonmotion.Task expected, got moonmotion.VM)",
                "confuse.lua:3: bad argument #1 to 'wait' (moonmotion.Task expected, got FILE*)",
                "confuse.lua:4: bad argument #1 to 'wait' (moonmotion.Task expected, got number)",
                "confuse.lua:5: moonmotion.VM has no field or method 'wait'",
                "confuse.lua:7: bad argument #1 to 'name' (moonmotion.VM expected, got moonmotion.Task)",
                "confuse.lua:8: cannot set 'id': fields of moonmotion.Task are read-only",
            ])
        }
    }

    @Test func forgedMetatablesGiveErrorsNotCrashes() throws {
        try withState { state throws in
            setUp(state)
            let results = try state.run("""
                local task, vm = new_task("t"), new_vm("v")
                -- A foreign userdata dressed as a VM.
                debug.setmetatable(io.stdout, debug.getmetatable(vm))
                local _, a = pcall(function() return io.stdout:name() end)
                local _, b = pcall(function() return io.stdout.powered end)
                local c = tostring(io.stdout)
                -- A VM dressed as a Task: the block's type id still says VM.
                local vm2 = new_vm("v2")
                debug.setmetatable(vm2, debug.getmetatable(task))
                local _, d = pcall(function() return vm2:wait() end)
                local e = tostring(vm2)
                -- A VM dressed as a file: liolib sees a closed file, never a FILE*.
                local vm3 = new_vm("v3")
                debug.setmetatable(vm3, getmetatable(io.stderr))
                local _, f = pcall(function() return vm3:write("x") end)
                local g = tostring(vm3)
                collectgarbage()  -- __gc on forged values must be harmless
                return a, b, c, d, e, f, g
                """, chunkName: "@forged.lua")
            #expect(results == [
                "forged.lua:4: calling 'name' on bad self (moonmotion.VM expected, got userdata)",
                "forged.lua:5: cannot read 'powered' (moonmotion.VM expected, got userdata)",
                "userdata (forged moonmotion.VM)",
                "forged.lua:10: calling 'wait' on bad self (moonmotion.Task expected, got moonmotion.VM)",
                "userdata (forged moonmotion.Task)",
                "forged.lua:15: attempt to use a closed file",
                "file (closed)",
            ])
        }
    }

    @Test func gcReleasesSwiftObjectsOnce() throws {
        let counter = DeinitCounter()
        try withState { state throws in
            state.setGlobal("make", function: { call in
                call.push(TestVM(name: "vm-\(try call.integer(1))", counter: counter))
                return .values(1)
            })
            try state.run("for i = 1, 100 do local vm = make(i) assert(vm:name() == 'vm-' .. i) end collectgarbage() collectgarbage()")
            #expect(counter.value == 100)

            // __close and a manual __gc: released once, then a clear error on use.
            let results = try state.run("""
                local vm = make(7)
                do local closing <close> = vm end
                local mt = debug.getmetatable(vm)
                mt.__gc(vm); mt.__close(vm)
                local ok, err = pcall(function() return vm:name() end)
                return ok, err, tostring(vm)
                """, chunkName: "@closed.lua")
            #expect(results == [false, "closed.lua:5: attempt to use a closed moonmotion.VM", "moonmotion.VM (closed)"])
            #expect(counter.value == 101)
            try state.run("collectgarbage() collectgarbage()")
            #expect(counter.value == 101)
        }
        #expect(counter.value == 101)
    }

    @Test func sameObjectSameUserdata() throws {
        try withState { state throws in
            let vm = TestVM(name: "shared")
            state.setGlobal("get", function: { call in
                call.push(vm)
                return .values(1)
            })
            #expect(try state.run("local a, b = get(), get() local t = { [a] = 1 } return rawequal(a, b), t[b]") == [true, 1])
        }
    }

    @Test func closingTheStateReleasesEverything() throws {
        let counter = DeinitCounter()
        let state = LuaState()
        state.setGlobal("make", function: { call in
            call.push(TestTask(id: "t", counter: counter))
            return .values(1)
        })
        try state.run("keep = {} for i = 1, 10 do keep[i] = make() end")
        #expect(counter.value == 0)
        state.close()
        #expect(counter.value == 10)
    }
}
