// What Lua reports outside every protected call: a panic (an error with no protected call to
// catch it) and warnings (`warn`, errors in finalizers).
//
// A panic cannot happen by design: Swift runs Lua only through protected calls, and it
// touches script-reachable tables only with raw accesses (mm_rawgetfield…) and allocates
// only when the allocator cannot refuse (memory.c). Were it to happen anyway, Lua's default handler would print the
// message and abort() — exit status 134 and a core dump, which reads like a crash of the
// script's making. Here it is one line on stderr that says it is a bug, and the distinct
// status 70 (EX_SOFTWARE). The handler allocates nothing: the state may be out of memory.
#include "host.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void mm_write_stderr(const char *text) {
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t n = write(2, text, left);
        if (n <= 0) {
            return;
        }
        text += n;
        left -= (size_t)n;
    }
}

int mm_panic(lua_State *L) {
    // Only a string is shown as it is: converting a number would allocate, and a metamethod
    // (__tostring) would run Lua on a state that has nowhere to go on error.
    const char *message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    fflush(stdout);  // what the script printed before, in order
    mm_write_stderr("moonmotion: internal error: unprotected Lua error: ");
    if (message != NULL) {
        mm_write_stderr(message);
    } else {
        mm_write_stderr("(error object is a ");
        mm_write_stderr(lua_typename(L, lua_type(L, -1)));
        mm_write_stderr(" value)");
    }
    mm_write_stderr("; this is a bug, please report it with the script\n");
    _exit(MM_PANIC_EXIT_STATUS);
}

// MARK: - Warnings: lauxlib.c's (MIT licence, Lua.org), which luaL_newstate installs and a
// state made with lua_newstate lacks. Off until a script calls warn("@on").

static void mm_warn_off(void *ud, const char *message, int tocont);
static void mm_warn_on(void *ud, const char *message, int tocont);
static void mm_warn_cont(void *ud, const char *message, int tocont);

static int mm_warn_control(lua_State *L, const char *message, int tocont) {
    if (tocont || *(message++) != '@') {
        return 0;
    }
    if (strcmp(message, "off") == 0) {
        lua_setwarnf(L, mm_warn_off, L);
    } else if (strcmp(message, "on") == 0) {
        lua_setwarnf(L, mm_warn_on, L);
    }
    return 1;
}

static void mm_warn_off(void *ud, const char *message, int tocont) {
    mm_warn_control((lua_State *)ud, message, tocont);
}

static void mm_warn_cont(void *ud, const char *message, int tocont) {
    lua_State *L = (lua_State *)ud;
    lua_writestringerror("%s", message);
    if (tocont) {
        lua_setwarnf(L, mm_warn_cont, L);
    } else {
        lua_writestringerror("%s", "\n");
        lua_setwarnf(L, mm_warn_on, L);
    }
}

static void mm_warn_on(void *ud, const char *message, int tocont) {
    if (mm_warn_control((lua_State *)ud, message, tocont)) {
        return;
    }
    lua_writestringerror("%s", "Lua warning: ");
    mm_warn_cont(ud, message, tocont);
}

void mm_install_panic_and_warnings(lua_State *L) {
    lua_atpanic(L, mm_panic);
    lua_setwarnf(L, mm_warn_off, L);
}
