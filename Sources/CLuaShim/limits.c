// Limits: the hook that stops a script on an interrupt, at its instruction limit or at its
// wall-clock deadline (raising, or yielding a managed coroutine so no pcall can catch it),
// the stop reasons and their messages, and the report of a coroutine the hook stopped.
#include "host.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double mm_monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}



static void mm_set_stop(mm_host *host, int reason) {
    int none = MM_STOP_NONE;
    atomic_compare_exchange_strong(&host->stop_reason, &none, reason);
}

const char *mm_host_stop_message(mm_host *host) {
    switch (atomic_load(&host->stop_reason)) {
    case MM_STOP_INTERRUPT:
        return "interrupted";
    case MM_STOP_INSTRUCTIONS:
        snprintf(host->stop_message, sizeof host->stop_message,
                 "instruction limit exceeded (%lld instructions, set by --max-instructions)", host->instruction_limit);
        return host->stop_message;
    case MM_STOP_DEADLINE:
        snprintf(host->stop_message, sizeof host->stop_message,
                 "time limit exceeded (%g second%s, set by --timeout)", host->seconds, host->seconds == 1 ? "" : "s");
        return host->stop_message;
    default:
        return "stopped";
    }
}

// Pushes "source:line: " for the function running at level 0 of L (or "").
static void mm_push_where0(lua_State *L) {
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
        lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
    } else {
        lua_pushliteral(L, "");
    }
}

void mm_hook(lua_State *L, lua_Debug *ar) {
    mm_host *host = mm_host_of(L);
    int reason = MM_STOP_NONE;
    if (atomic_load_explicit(&host->interrupt, memory_order_acquire)) {
        reason = MM_STOP_INTERRUPT;
    } else if (atomic_load(&host->stop_reason) != MM_STOP_NONE) {
        reason = atomic_load(&host->stop_reason);  // a limit already hit stays hit
    } else if (ar->event == LUA_HOOKCOUNT) {
        if (host->instruction_limit > 0) {
            host->instructions_used += lua_gethookcount(L);
            if (host->instructions_used > host->instruction_limit) {
                reason = MM_STOP_INSTRUCTIONS;
            }
        }
        if (reason == MM_STOP_NONE && host->deadline > 0 && mm_monotonic_seconds() > host->deadline) {
            reason = MM_STOP_DEADLINE;
        }
    }
    if (reason == MM_STOP_NONE) {
        return;
    }
    if (ar->event != LUA_HOOKCOUNT) {
        // Never raise on entry to / return from a C function (e.g. the message handler):
        // that would turn the report into "error in error handling".
        lua_getinfo(L, "S", ar);
        if (ar->what != NULL && strcmp(ar->what, "C") == 0) {
            return;
        }
    }
    mm_set_stop(host, reason);
    lua_State *managed = atomic_load(&host->managed);
    if (L == managed && ar->event == LUA_HOOKCOUNT && lua_isyieldable(L)) {
        // Yield to the scheduler: no pcall in the script can catch this. The scheduler sees
        // the stop reason and ends the run with a report built from this coroutine's stack.
        // Lua rewinds the saved position when a hook yields: keep where it really was.
        host->stop_thread = NULL;
        if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
            host->stop_thread = L;
            host->stop_line = ar->currentline;
            snprintf(host->stop_src, sizeof host->stop_src, "%s", ar->short_src);
        }
        lua_yield(L, 0);
        return;
    }
    if (managed != NULL && managed != L) {
        // A coroutine the script made: stop its managed parent as soon as it runs again.
        lua_sethook(managed, mm_hook, LUA_MASKCOUNT, 1);
    }
    // Raise, and keep a fast hook so that a pcall catching it is stopped again.
    lua_sethook(L, mm_hook, LUA_MASKCOUNT, 100);
    mm_push_where0(L);
    lua_pushstring(L, mm_host_stop_message(host));
    lua_concat(L, 2);
    lua_error(L);
}

void mm_host_apply_hook(mm_host *host, lua_State *L) {
    if (atomic_load(&host->interrupt)) {
        lua_sethook(L, mm_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    } else if (host->instruction_limit > 0 || host->deadline > 0) {
        lua_sethook(L, mm_hook, LUA_MASKCOUNT, host->hook_step);
    } else {
        lua_sethook(L, NULL, 0, 0);
    }
}

void mm_host_set_limits(mm_host *host, lua_State *L, long long instructions, double seconds) {
    host->instruction_limit = instructions > 0 ? instructions : 0;
    host->instructions_used = 0;
    host->seconds = seconds > 0 ? seconds : 0;
    host->deadline = seconds > 0 ? mm_monotonic_seconds() + seconds : 0;
    int step = 1000;
    if (host->instruction_limit > 0 && host->instruction_limit < step) {
        step = (int)host->instruction_limit;
    }
    host->hook_step = step;
    mm_host_apply_hook(host, L);
}

int mm_host_stop_reason(mm_host *host) { return atomic_load(&host->stop_reason); }

void mm_host_mark_deadline(mm_host *host) { mm_set_stop(host, MM_STOP_DEADLINE); }

void mm_host_mark_stop(mm_host *host, int reason) { mm_set_stop(host, reason); }

long long mm_host_instructions_used(mm_host *host) { return host->instructions_used; }

// Pushes (on L) "source:line: " for the innermost Lua function of co with a current line (a
// coroutine parked in a native wait has that C function at level 0), or "". Sets *line to
// that line (0 when none).
static void mm_push_where_lua(lua_State *L, lua_State *co, int *line) {
    lua_Debug ar;
    *line = 0;
    for (int lv = 0; lua_getstack(co, lv, &ar); lv++) {
        if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
            *line = ar.currentline;
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

// In the traceback at `idx`, the first frame "\n\t<src>:<bad>:" becomes "\n\t<src>:<good>:".
static void mm_fix_first_frame(lua_State *L, int idx, const char *src, int bad, int good) {
    idx = lua_absindex(L, idx);
    const char *tb = lua_tostring(L, idx);
    if (tb == NULL) {
        return;
    }
    const char *wrong = lua_pushfstring(L, "\n\t%s:%d:", src, bad);
    const char *at = strstr(tb, wrong);
    if (at != NULL && strchr(tb, '\n') == at) {  // only the first frame
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addlstring(&b, tb, (size_t)(at - tb));
        lua_pushfstring(L, "\n\t%s:%d:", src, good);
        luaL_addvalue(&b);
        luaL_addstring(&b, at + strlen(wrong));
        luaL_pushresult(&b);
        lua_replace(L, idx);
    }
    lua_pop(L, 1);  // wrong
}

int mm_thread_stop_report(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    if (co == NULL) {
        return luaL_error(L, "mm_thread_stop_report: thread expected");
    }
    mm_host *host = mm_host_of(L);
    int recorded = host->stop_thread == co && host->stop_line > 0;
    host->stop_thread = NULL;
    int line = 0;
    if (recorded) {
        lua_pushfstring(L, "%s:%d: ", host->stop_src, host->stop_line);
    } else {
        mm_push_where_lua(L, co, &line);
    }
    lua_pushvalue(L, 2);
    lua_concat(L, 2);
    mm_build_report(L, co, -1, 0);
    if (recorded) {
        // The report's location and first traceback frame as the hook saw them, not the
        // rewound position the yield left on the stack.
        lua_Debug ar;
        int rewound = 0;
        if (lua_getstack(co, 0, &ar) && lua_getinfo(co, "Sl", &ar)) {
            rewound = ar.currentline;
        }
        lua_pushstring(L, host->stop_src);
        lua_setfield(L, -2, "source");
        lua_pushinteger(L, host->stop_line);
        lua_setfield(L, -2, "line");
        if (rewound > 0 && rewound != host->stop_line) {
            lua_getfield(L, -1, "traceback");
            mm_fix_first_frame(L, -1, ar.short_src, rewound, host->stop_line);
            lua_setfield(L, -2, "traceback");
        }
    }
    return 1;
}
