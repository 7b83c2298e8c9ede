// CLuaShim: see include/CLuaShim.h for the contract of every function here.
#include "CLuaShim.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>

// MARK: - Threads

int mm_closethread(lua_State *co, lua_State *from) {
#if LUA_VERSION_RELEASE_NUM >= 50406
    return lua_closethread(co, from);
#else
    (void)from;
    return lua_resetthread(co);
#endif
}

// The host block (see "Host block" below); defined first because the trampoline reads it.
struct mm_host {
    void *owner;
    _Atomic(lua_State *) running;   // thread executing Lua now (signal target)
    _Atomic(lua_State *) managed;   // coroutine the scheduler resumed (may be yielded from a hook)
    atomic_int interrupt;
    atomic_int stop_reason;
    long long instruction_limit;
    long long instructions_used;
    int hook_step;
    double deadline;
    double seconds;
    char stop_message[200];
    // Where the hook stopped a managed coroutine by yielding: Lua rewinds the coroutine's saved
    // position when a hook yields, so its stack then names the instruction before (often the
    // line before). Recorded before the yield; used (and cleared) by mm_thread_stop_report.
    lua_State *stop_thread;
    int stop_line;
    char stop_src[LUA_IDSIZE];
    // The thread that runs Lua (the executor), recorded when it first resumes a coroutine:
    // a Ctrl-C that lands on another thread is sent on to it (see mm_on_sigint).
    pthread_t lua_thread;
    atomic_int has_lua_thread;
};

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
            mm_foreign_resume(L, (lua_Integer)ctx);
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
    int r = mm_dispatch(L, ((mm_host *)mm_host_of(L))->owner, index);
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

// MARK: - Error reports

// Converts the error value at `idx` to a message the way lua.c's msghandler does, pushing it.
static void mm_push_message_of(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
        lua_pushvalue(L, idx);
        lua_tostring(L, -1);  // numbers become strings on the copy only
        return;
    }
    if (luaL_callmeta(L, idx, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        return;
    }
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

// Builds `{ message, traceback, source, line, value }` on L from thread `co`, whose error
// value is at `erridx` in L, with frames starting at `level` of `co`.
static void mm_build_report(lua_State *L, lua_State *co, int erridx, int level) {
    erridx = lua_absindex(L, erridx);
    lua_createtable(L, 0, 5);
    int report = lua_gettop(L);
    lua_pushvalue(L, erridx);
    lua_setfield(L, report, "value");
    mm_push_message_of(L, erridx);
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

// MARK: - Host block



mm_host *mm_host_new(lua_State *L, void *owner) {
    mm_host *host = calloc(1, sizeof(mm_host));
    if (host == NULL) {
        return NULL;
    }
    host->owner = owner;
    host->hook_step = 1000;
    atomic_store(&host->running, L);
    atomic_store(&host->managed, NULL);
    atomic_store(&host->interrupt, 0);
    atomic_store(&host->stop_reason, MM_STOP_NONE);
    *(mm_host **)lua_getextraspace(L) = host;
    return host;
}

static _Atomic(mm_host *) mm_sig_target;

void mm_host_free(mm_host *host) {
    // A Ctrl-C after the state closed must not reach freed memory.
    mm_host *expected = host;
    atomic_compare_exchange_strong(&mm_sig_target, &expected, NULL);
    free(host);
}

void mm_host_set_owner(mm_host *host, void *owner) { host->owner = owner; }

void *mm_host_owner(mm_host *host) { return host->owner; }

_Static_assert(offsetof(struct mm_host, owner) == 0, "mm_owner() reads the owner as the first field");

// See "Interrupting the Lua thread from any thread" below.
static _Thread_local mm_host *mm_thread_host = NULL;   // the host whose Lua runs on this thread
static int mm_poke_signal = 0;
static pthread_once_t mm_poke_once = PTHREAD_ONCE_INIT;
static void mm_install_poke(void);
static void mm_set_interrupt_hook(mm_host *host);

void mm_host_set_running(mm_host *host, lua_State *running, lua_State *managed) {
    if (!atomic_load_explicit(&host->has_lua_thread, memory_order_relaxed)) {
        pthread_once(&mm_poke_once, mm_install_poke);
        if (mm_poke_signal != 0) {
            // A thread started from a dispatch worker inherits its mask, which blocks signals.
            sigset_t poke;
            sigemptyset(&poke);
            sigaddset(&poke, mm_poke_signal);
            pthread_sigmask(SIG_UNBLOCK, &poke, NULL);
        }
        host->lua_thread = pthread_self();
        mm_thread_host = host;
        atomic_store_explicit(&host->has_lua_thread, 1, memory_order_release);
        // An interrupt asked before the thread was known: apply it here.
        if (atomic_load_explicit(&host->interrupt, memory_order_acquire)) {
            atomic_store_explicit(&host->running, running, memory_order_release);
            mm_set_interrupt_hook(host);
        }
    }
    atomic_store_explicit(&host->managed, managed, memory_order_release);
    atomic_store_explicit(&host->running, running, memory_order_release);
}

double mm_monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void mm_hook(lua_State *L, lua_Debug *ar);

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

static void mm_hook(lua_State *L, lua_Debug *ar) {
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

// MARK: - Interrupting the Lua thread from any thread
//
// lua_sethook marks the call frames of the thread it hooks (settraps walks L->ci); from
// another thread it would walk them while the Lua thread pushes and frees them. lua.c calls
// it from a SIGINT handler that interrupts the interpreter's own thread. Here a Ctrl-C, the
// deadline timer or Swift code may ask from any thread, so mm_host_interrupt "pokes" the Lua
// thread with a signal of its own and the hook is set there, between two instructions.

static void mm_set_interrupt_hook(mm_host *host) {
    lua_State *running = atomic_load_explicit(&host->running, memory_order_acquire);
    if (running != NULL) {
        lua_sethook(running, mm_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
}

static void mm_on_poke(int sig) {
    (void)sig;
    int saved = errno;
    mm_host *host = mm_thread_host;
    if (host != NULL && atomic_load_explicit(&host->interrupt, memory_order_acquire)) {
        mm_set_interrupt_hook(host);
    }
    errno = saved;
}

static void mm_install_poke(void) {
    int sig = SIGRTMIN + 3;   // glibc keeps the first two real-time signals for itself
    if (sig > SIGRTMAX) {
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mm_on_poke;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(sig, &sa, NULL) == 0) {
        mm_poke_signal = sig;
    }
}

void mm_host_interrupt(mm_host *host) {
    atomic_store_explicit(&host->interrupt, 1, memory_order_release);
    if (atomic_load_explicit(&host->has_lua_thread, memory_order_acquire) && !pthread_equal(pthread_self(), host->lua_thread)) {
        // Not the Lua thread (pthread_kill is async-signal-safe, so a signal handler may do this).
        if (mm_poke_signal != 0 && pthread_kill(host->lua_thread, mm_poke_signal) == 0) {
            return;
        }
        // No poke: the Lua thread sees the flag when it next resumes or reaches a hook.
        return;
    }
    mm_set_interrupt_hook(host);
}

int mm_host_interrupt_requested(mm_host *host) {
    return atomic_load_explicit(&host->interrupt, memory_order_acquire);
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

void mm_host_clear_interrupt(mm_host *host, lua_State *L) {
    atomic_store(&host->interrupt, 0);
    host->stop_thread = NULL;
    int reason = MM_STOP_INTERRUPT;
    atomic_compare_exchange_strong(&host->stop_reason, &reason, MM_STOP_NONE);
    if (L != NULL) {
        mm_host_apply_hook(host, L);
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

// MARK: - coroutine.resume / coroutine.wrap that keep `running` current

// From lcorolib.c (MIT licence, Lua.org), with the running thread recorded around
// lua_resume so that a Ctrl-C reaches a busy coroutine the script created itself.
static int mm_auxresume(lua_State *L, lua_State *co, int narg) {
    int status, nres;
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    lua_xmove(L, co, narg);
    mm_host *host = mm_host_of(L);
    lua_State *previous = atomic_load(&host->running);
    atomic_store(&host->running, co);
    if (atomic_load(&host->interrupt)) {
        lua_sethook(co, mm_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
    status = lua_resume(co, L, narg, &nres);
    atomic_store(&host->running, previous);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);
    return -1;
}

static int mm_coroutine_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    int r = mm_auxresume(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

static int mm_auxwrap(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int r = mm_auxresume(L, co, lua_gettop(L));
    if (r < 0) {
        int stat = lua_status(co);
        if (stat != LUA_OK && stat != LUA_YIELD) {
            stat = mm_closethread(co, L);
            lua_xmove(co, L, 1);
        }
        if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return r;
}

static int mm_coroutine_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, mm_auxwrap, 1);
    return 1;
}

void mm_install_coroutine_tracking(lua_State *L) {
    lua_getglobal(L, "coroutine");
    if (lua_istable(L, -1)) {
        lua_pushcfunction(L, mm_coroutine_resume);
        lua_setfield(L, -2, "resume");
        lua_pushcfunction(L, mm_coroutine_wrap);
        lua_setfield(L, -2, "wrap");
    }
    lua_pop(L, 1);
}

// MARK: - SIGINT

static _Atomic(mm_host *) mm_sig_target = NULL;
static atomic_int mm_sig_count = 0;
static atomic_int mm_sig_installed = 0;
static int mm_sig_pipe[2] = {-1, -1};

static void mm_on_sigint(int sig) {
    (void)sig;
    int saved = errno;
    atomic_fetch_add(&mm_sig_count, 1);
    mm_host *host = atomic_load(&mm_sig_target);
    if (host != NULL) {
        mm_host_interrupt(host);
    }
    char byte = 1;
    ssize_t ignored = write(mm_sig_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

int mm_sigint_install(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&mm_sig_installed, &expected, 1)) {
        struct sigaction again;
        memset(&again, 0, sizeof again);
        again.sa_handler = mm_on_sigint;
        sigemptyset(&again.sa_mask);
        again.sa_flags = SA_RESTART;
        return sigaction(SIGINT, &again, NULL);
    }
    if (pipe(mm_sig_pipe) != 0) {
        return -1;
    }
    fcntl(mm_sig_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(mm_sig_pipe[1], F_SETFD, FD_CLOEXEC);
    fcntl(mm_sig_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mm_on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGINT, &sa, NULL);
}

void mm_sigint_set_direct_target(mm_host *host) { atomic_store(&mm_sig_target, host); }

void mm_sigint_restore(void) {
    atomic_store(&mm_sig_target, NULL);
    signal(SIGINT, SIG_DFL);
}

int mm_sigint_wait(void) {
    char byte;
    for (;;) {
        ssize_t n = read(mm_sig_pipe[0], &byte, 1);
        if (n == 1) {
            return atomic_load(&mm_sig_count);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return -1;
    }
}

void mm_sigint_post(void) {
    char byte = 0;
    ssize_t ignored = write(mm_sig_pipe[1], &byte, 1);
    (void)ignored;
}

// MARK: - Userdata blocks

mm_udata *mm_udata_push(lua_State *L, const void *type_id, void *object) {
    mm_udata *block = (mm_udata *)lua_newuserdatauv(L, sizeof(mm_udata), 0);
    block->magic = MM_UDATA_MAGIC;
    block->reserved_null = NULL;
    block->type_id = type_id;
    block->object = object;
    return block;
}

mm_udata *mm_udata_at(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA) {
        return NULL;
    }
    if (lua_rawlen(L, idx) != sizeof(mm_udata)) {
        return NULL;
    }
    mm_udata *block = (mm_udata *)lua_touserdata(L, idx);
    if (block == NULL || block->magic != MM_UDATA_MAGIC || block->reserved_null != NULL) {
        return NULL;
    }
    return block;
}
