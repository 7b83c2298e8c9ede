// The trampoline: every Swift function Lua can call is the C closure `mm_trampoline` with one
// integer upvalue (its index in the Swift function table). Swift answers with a result count,
// MM_RAISE or MM_YIELD, and C raises or yields here, so no longjmp crosses a Swift frame.
#include "host.h"

// MARK: - Threads

int mm_closethread(lua_State *co, lua_State *from) {
#if LUA_VERSION_RELEASE_NUM >= 50406
    return lua_closethread(co, from);
#else
    (void)from;
    return lua_resetthread(co);
#endif
}

// MARK: - Trampoline

static mm_dispatch_fn mm_dispatch = NULL;
static mm_foreign_resume_fn mm_foreign_resume = NULL;
static const char mm_sentinel_storage = 0;
#define MM_SENTINEL ((void *)&mm_sentinel_storage)

void mm_set_dispatcher(mm_dispatch_fn dispatch, mm_foreign_resume_fn foreignResume) {
    mm_dispatch = dispatch;
    mm_foreign_resume = foreignResume;
}

void mm_push_sentinel(lua_State *L) { lua_pushlightuserdata(L, MM_SENTINEL); }

int mm_is_sentinel(lua_State *L, int idx) {
    return lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == MM_SENTINEL;
}

// Continuation of a Swift function that parked its coroutine. The scheduler resumes with
// `results..., count, status, sentinel`; anything else means someone else resumed it.
static int mm_continue(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    if (lua_gettop(L) < 3 || !mm_is_sentinel(L, -1)) {
        if (mm_foreign_resume != NULL) {
            mm_host *host = mm_host_of(L);
            int window = mm_memory_enter_host(host);  // Swift runs: nothing may be refused (memory.c)
            mm_foreign_resume(L, (lua_Integer)ctx);
            mm_memory_restore(host, window);
        } else {
            lua_pushliteral(L, "a coroutine waiting for native work was resumed by coroutine.resume");
        }
        return lua_error(L);
    }
    int rstatus = (int)lua_tointeger(L, -2);
    lua_Integer n = lua_tointeger(L, -3);
    lua_pop(L, 3);
    if (rstatus == MM_RESUME_OK) {
        return (int)n;
    }
    if (rstatus == MM_RESUME_RAISE_WHERE) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

int mm_trampoline(lua_State *L) {
    lua_Integer index = lua_tointeger(L, lua_upvalueindex(1));
    mm_host *host = mm_host_of(L);
    // The Swift body runs with the allocator's window closed (memory.c): a memory error
    // raised inside it would longjmp across Swift frames. Restored before raising or yielding.
    int window = host->lua_window;
    host->lua_window = 0;
    int r = mm_dispatch(L, host->owner, index);
    host->lua_window = window;
    if (r >= 0) {
        return r;
    }
    if (r == MM_YIELD) {
        if (!lua_isyieldable(L)) {  // Swift checks first; this is the last line of defence
            return luaL_error(L, "cannot wait here: called across a C boundary");
        }
        lua_pushlightuserdata(L, MM_SENTINEL);
        return lua_yieldk(L, 1, (lua_KContext)index, mm_continue);
    }
    return lua_error(L);
}

void mm_push_swift_function(lua_State *L, lua_Integer index) {
    lua_pushinteger(L, index);
    lua_pushcclosure(L, mm_trampoline, 1);
}

int mm_swift_function_index(lua_State *L, int idx, lua_Integer *index) {
    if (lua_tocfunction(L, idx) != mm_trampoline) {
        return 0;
    }
    if (lua_getupvalue(L, idx, 1) == NULL) {
        return 0;
    }
    int isnum = 0;
    lua_Integer i = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum) {
        return 0;
    }
    *index = i;
    return 1;
}
