// Error messages and reports: the message handler every protected call into Lua uses, the
// same report built from a dead coroutine's stack, and luaL_argerror / luaL_typeerror's
// messages without the raise (Swift returns MM_RAISE and the trampoline raises).
#include "host.h"

#include <string.h>

// MARK: - Error reports

// Converts the error value at `idx` to a message the way lua.c's msghandler does, pushing it.
static void mm_push_message_of(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
        lua_pushvalue(L, idx);
        lua_tostring(L, -1);  // numbers become strings on the copy only
        return;
    }
    // The error object's __tostring is the script's code: it runs in the allocator's window,
    // under the protected call this report is built in (memory.c).
    mm_host *host = mm_host_of(L);
    int window = mm_memory_enter_lua(host);
    int called = luaL_callmeta(L, idx, "__tostring");
    mm_memory_restore(host, window);
    if (called && lua_type(L, -1) == LUA_TSTRING) {
        return;
    }
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

// Builds `{ message, traceback, source, line, value }` on L from thread `co`, whose error
// value is at `erridx` in L, with frames starting at `level` of `co`. The report is the
// host's work: it is built with the allocator's window closed, so it exists even when the
// script used every byte it may (memory.c); only the script's __tostring runs in the window.
void mm_build_report(lua_State *L, lua_State *co, int erridx, int level) {
    erridx = lua_absindex(L, erridx);
    mm_push_message_of(L, erridx);
    mm_host *host = mm_host_of(L);
    int window = mm_memory_enter_host(host);
    int message = lua_gettop(L);
    lua_createtable(L, 0, 5);
    int report = lua_gettop(L);
    lua_pushvalue(L, erridx);
    lua_setfield(L, report, "value");
    lua_pushvalue(L, message);
    lua_setfield(L, report, "message");
    luaL_traceback(L, co, NULL, level);
    lua_setfield(L, report, "traceback");
    lua_Debug ar;
    for (int lv = level; lua_getstack(co, lv, &ar); lv++) {
        if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
            lua_pushstring(L, ar.short_src);
            lua_setfield(L, report, "source");
            lua_pushinteger(L, ar.currentline);
            lua_setfield(L, report, "line");
            break;
        }
    }
    lua_remove(L, message);
    mm_memory_restore(host, window);
}

int mm_msghandler(lua_State *L) {
    mm_build_report(L, L, 1, 1);
    return 1;
}

int mm_thread_error_report(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    if (co == NULL) {
        return luaL_error(L, "mm_thread_error_report: thread expected");
    }
    if (lua_gettop(co) > 0) {
        lua_pushvalue(co, -1);
        lua_xmove(co, L, 1);
    } else {
        lua_pushnil(L);
    }
    mm_build_report(L, co, -1, 0);
    return 1;
}

// MARK: - Argument errors (luaL_argerror / luaL_typeerror without the raise)

// From lauxlib.c (MIT licence, Lua.org): search package.loaded for the function.
static int mm_findfield(lua_State *L, int objidx, int level) {
    if (level == 0 || !lua_istable(L, -1)) {
        return 0;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            if (lua_rawequal(L, objidx, -1)) {
                lua_pop(L, 1);
                return 1;
            } else if (mm_findfield(L, objidx, level - 1)) {
                lua_pushliteral(L, ".");
                lua_replace(L, -3);
                lua_concat(L, 3);
                return 1;
            }
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int mm_pushglobalfuncname(lua_State *L, lua_Debug *ar) {
    int top = lua_gettop(L);
    lua_getinfo(L, "f", ar);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (!lua_checkstack(L, 6)) {
        lua_settop(L, top);
        return 0;
    }
    if (mm_findfield(L, top + 1, 2)) {
        const char *name = lua_tostring(L, -1);
        if (strncmp(name, LUA_GNAME ".", 3) == 0) {
            lua_pushstring(L, name + 3);
            lua_remove(L, -2);
        }
        lua_copy(L, -1, top + 1);
        lua_settop(L, top + 1);
        return 1;
    }
    lua_settop(L, top);
    return 0;
}

void mm_push_error_where(lua_State *L, int level, const char *message) {
    luaL_where(L, level);
    lua_pushstring(L, message);
    lua_concat(L, 2);
}

void mm_push_argerror(lua_State *L, int arg, const char *extramsg) {
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar)) {
        luaL_where(L, 1);
        lua_pushfstring(L, "bad argument #%d (%s)", arg, extramsg);
        lua_concat(L, 2);
        return;
    }
    lua_getinfo(L, "n", &ar);
    if (ar.namewhat != NULL && strcmp(ar.namewhat, "method") == 0) {
        arg--;
        if (arg == 0) {
            luaL_where(L, 1);
            lua_pushfstring(L, "calling '%s' on bad self (%s)", ar.name, extramsg);
            lua_concat(L, 2);
            return;
        }
    }
    if (ar.name == NULL) {
        ar.name = mm_pushglobalfuncname(L, &ar) ? lua_tostring(L, -1) : "?";
    }
    luaL_where(L, 1);
    lua_pushfstring(L, "bad argument #%d to '%s' (%s)", arg, ar.name, extramsg);
    lua_concat(L, 2);
}

void mm_push_typeerror(lua_State *L, int arg, const char *expected, const char *actual) {
    const char *typearg = actual;
    if (typearg == NULL) {
        if (luaL_getmetafield(L, arg, "__name") == LUA_TSTRING) {
            typearg = lua_tostring(L, -1);
        } else if (lua_type(L, arg) == LUA_TLIGHTUSERDATA) {
            typearg = "light userdata";
        } else {
            typearg = luaL_typename(L, arg);
        }
    }
    const char *msg = lua_pushfstring(L, "%s expected, got %s", expected, typearg);
    mm_push_argerror(L, arg, msg);
}
