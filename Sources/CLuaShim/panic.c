// lua_atpanic: what happens when a Lua error finds no protected call to catch it.
//
// A panic cannot happen by design: Swift runs Lua only through protected calls, and it
// touches script-reachable tables only with raw accesses (mm_rawgetfield…). Were it to happen anyway, Lua's default handler would print the
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

void mm_install_panic_handler(lua_State *L) { lua_atpanic(L, mm_panic); }
