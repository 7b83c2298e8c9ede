// CLuaShim: the C half of Moonmotion's Lua bridge.
//
// * `static inline` forms of the Lua API macros Swift cannot import.
// * The trampoline: every Swift function Lua can call is the C closure `mm_trampoline`
//   with one integer upvalue (the function's index in the Swift function table). It calls
//   one Swift dispatcher and, depending on its answer, returns results, raises the error
//   value on the stack top (`lua_error`) or yields (`lua_yieldk`). Lua's longjmp-based
//   errors and yields therefore never cross a Swift frame.
// * The per-state host block (stored in the main thread's extra space, inherited by every
//   coroutine): interrupt flag, instruction limit and wall-clock deadline, checked by a
//   count hook that raises from C; the byte count of the state's allocator, which refuses
//   to grow past a limit only while Lua runs, never while Swift code does (memory.c).
// * lua_atpanic: an unprotected error exits with status 70 and a report (panic.c).
// * SIGINT handling in the manner of lua.c: the handler sets the hook on the thread that is
//   running Lua right now, so even a busy loop stops.
// * Userdata blocks with a magic number and a type id, and argument-error formatting that
//   matches luaL_argerror / luaL_typeerror but only pushes the message (Swift then returns
//   MM_RAISE and C raises it).
//
// Which .c file holds what: the top of host.h (the private header with the host block).
#ifndef MOONMOTION_CLUASHIM_H
#define MOONMOTION_CLUASHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Macro forms

static inline int mm_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int mm_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline lua_Integer mm_ridx_globals(void) { return LUA_RIDX_GLOBALS; }
static inline lua_Integer mm_ridx_mainthread(void) { return LUA_RIDX_MAINTHREAD; }
static inline int mm_noref(void) { return LUA_NOREF; }
static inline int mm_refnil(void) { return LUA_REFNIL; }

static inline int mm_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline void mm_call(lua_State *L, int nargs, int nresults) { lua_call(L, nargs, nresults); }
static inline const char *mm_tostring(lua_State *L, int idx) { return lua_tostring(L, idx); }
static inline lua_Number mm_tonumber(lua_State *L, int idx) { return lua_tonumber(L, idx); }
static inline lua_Integer mm_tointeger(lua_State *L, int idx) { return lua_tointeger(L, idx); }
static inline void mm_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void mm_newtable(lua_State *L) { lua_newtable(L); }
static inline void mm_insert(lua_State *L, int idx) { lua_insert(L, idx); }
static inline void mm_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline void mm_replace(lua_State *L, int idx) { lua_replace(L, idx); }
static inline int mm_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline int mm_isnone(lua_State *L, int idx) { return lua_isnone(L, idx); }
static inline int mm_isnil(lua_State *L, int idx) { return lua_isnil(L, idx); }
static inline int mm_istable(lua_State *L, int idx) { return lua_istable(L, idx); }
static inline int mm_isfunction(lua_State *L, int idx) { return lua_isfunction(L, idx); }
static inline int mm_isthread(lua_State *L, int idx) { return lua_isthread(L, idx); }
static inline int mm_islightuserdata(lua_State *L, int idx) { return lua_islightuserdata(L, idx); }
static inline void *mm_getextraspace(lua_State *L) { return lua_getextraspace(L); }
static inline int mm_getmetatable_named(lua_State *L, const char *name) { return luaL_getmetatable(L, name); }
static inline void mm_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline const char *mm_typename_at(lua_State *L, int idx) { return luaL_typename(L, idx); }
static inline int mm_yield(lua_State *L, int n) { return lua_yield(L, n); }
static inline void *mm_newuserdata(lua_State *L, size_t size) { return lua_newuserdatauv(L, size, 0); }
static inline int mm_loadbuffer(lua_State *L, const char *buf, size_t size, const char *name, const char *mode) {
    return luaL_loadbufferx(L, buf, size, name, mode);
}
static inline void mm_pushstring_n(lua_State *L, const char *s, size_t len) { lua_pushlstring(L, s, len); }

// MARK: - Raw field access
//
// Every field Swift reads or writes on a table a script can reach goes through these (or
// lua_rawget / lua_rawset): lua_getfield / lua_setfield / lua_setglobal honour __index and
// __newindex, and a script's metamethod that raises outside a protected call ends the process
// in lua_atpanic.

/// t[k] = v without metamethods, where t is at `idx` and v on the top (popped).
static inline void mm_rawsetfield(lua_State *L, int idx, const char *k) {
    idx = lua_absindex(L, idx);
    lua_pushstring(L, k);
    lua_insert(L, -2);
    lua_rawset(L, idx);
}
/// Pushes t[k] without metamethods, where t is at `idx`; returns its type.
static inline int mm_rawgetfield(lua_State *L, int idx, const char *k) {
    idx = lua_absindex(L, idx);
    lua_pushstring(L, k);
    return lua_rawget(L, idx);
}
/// _G[k] = v without metamethods (v on the top, popped).
static inline void mm_rawsetglobal(lua_State *L, const char *k) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_insert(L, -2);
    mm_rawsetfield(L, -2, k);
    lua_pop(L, 1);
}

/// Closes a thread's pending to-be-closed variables and resets it (lua_closethread in 5.4.6,
/// lua_resetthread before). Returns the status.
int mm_closethread(lua_State *co, lua_State *from);

// MARK: - The trampoline

/// The Swift dispatcher returned this: the error value is on the stack top; C raises it.
#define MM_RAISE (-1)
/// The Swift dispatcher returned this: the calling coroutine parks; C yields it.
#define MM_YIELD (-2)

/// Status values the scheduler passes when it resumes a parked coroutine.
/// The resume arguments are `results..., count, status, sentinel`.
#define MM_RESUME_OK 0
/// Raise the single result as the error value, unchanged.
#define MM_RESUME_RAISE 1
/// Raise the single result (a string), prefixed with the location of the Lua caller.
#define MM_RESUME_RAISE_WHERE 2

/// The one Swift entry point: `owner` is the state's Swift owner (read by C from the host
/// block), `index` the function's index in its function table.
/// Returns n >= 0 (n results on the stack top), MM_RAISE or MM_YIELD.
typedef int (*mm_dispatch_fn)(lua_State *L, void *owner, lua_Integer index);
/// Called when a parked coroutine is resumed by someone other than the scheduler (e.g.
/// `coroutine.resume` from Lua). Must push an error message; C raises it.
typedef void (*mm_foreign_resume_fn)(lua_State *L, lua_Integer index);

/// Registers the dispatcher (once per process; every state uses the same one).
void mm_set_dispatcher(mm_dispatch_fn dispatch, mm_foreign_resume_fn foreignResume);
/// The C function behind every Swift function.
int mm_trampoline(lua_State *L);
/// Pushes a Swift function: `mm_trampoline` with `index` as its upvalue.
void mm_push_swift_function(lua_State *L, lua_Integer index);
/// If the value at `idx` is a Swift function, stores its index and returns 1.
int mm_swift_function_index(lua_State *L, int idx, lua_Integer *index);
/// Pushes the unique light userdata that marks a scheduler resume / a native park.
void mm_push_sentinel(lua_State *L);
/// 1 if the value at `idx` is the sentinel.
int mm_is_sentinel(lua_State *L, int idx);

/// Message handler for every pcall into Lua: replaces the error value with a table
/// `{ message = string, traceback = string, source = string?, line = integer?, value = original }`.
int mm_msghandler(lua_State *L);
/// Protected helper: argument 1 is a dead coroutine whose error value is on its stack top.
/// Returns the same report table as `mm_msghandler`, built from that coroutine's stack.
int mm_thread_error_report(lua_State *L);

// MARK: - Argument errors that do not raise

/// Pushes the message luaL_argerror would raise (location prefix, method adjustment,
/// function name from the call info or package.loaded). Never raises (except memory errors).
void mm_push_argerror(lua_State *L, int arg, const char *extramsg);
/// Pushes the message luaL_typeerror would raise. `actual` overrides the type name found
/// from `__name` / the base type; pass NULL to compute it like luaL_typeerror.
void mm_push_typeerror(lua_State *L, int arg, const char *expected, const char *actual);
/// Pushes `where .. message` (luaL_where(L, level) prefix) without raising.
void mm_push_error_where(lua_State *L, int level, const char *message);

// MARK: - Panic

/// The exit status after an unprotected Lua error (EX_SOFTWARE: an internal software error).
#define MM_PANIC_EXIT_STATUS 70
/// The lua_atpanic handler: writes `moonmotion: internal error: unprotected Lua error: <message>;
/// this is a bug, please report it with the script` on stderr and exits with
/// MM_PANIC_EXIT_STATUS, instead of Lua's abort() (status 134 and a core dump).
int mm_panic(lua_State *L);

// MARK: - Host block: owner, interrupt, limits

typedef struct mm_host mm_host;

/// Creates a state and its host block: the counting allocator (`mm_memory_*`) is the
/// state's, the host block is stored in the main thread's extra space (coroutines created
/// later inherit the pointer), `mm_panic` and lauxlib's warning functions are installed.
/// NULL when out of memory. Get the block with `mm_host_of`; set its owner next.
lua_State *mm_newstate(void);
/// Sets the Swift owner (the unretained LuaState) after creation.
void mm_host_set_owner(mm_host *host, void *owner);
/// Frees the block (after lua_close).
void mm_host_free(mm_host *host);
/// The host block of any thread of a state created with `mm_newstate`.
static inline mm_host *mm_host_of(lua_State *L) { return *(mm_host **)lua_getextraspace(L); }
/// The Swift owner of any thread of the state.
void *mm_host_owner(mm_host *host);
/// The Swift owner, read inline (the owner is the block's first field).
static inline void *mm_owner(lua_State *L) { return *(void **)mm_host_of(L); }
/// Records which thread is executing Lua right now (the signal handler hooks that one) and
/// which coroutine the scheduler resumed (a stop inside it yields instead of raising, so no
/// pcall in the script can catch it). Pass NULL as `managed` outside the scheduler.
void mm_host_set_running(mm_host *host, lua_State *running, lua_State *managed);
/// Replaces coroutine.resume and coroutine.wrap with versions that record the running
/// thread, so a Ctrl-C reaches even a busy coroutine the script created itself.
void mm_install_coroutine_tracking(lua_State *L);
/// The message for the current stop reason ("interrupted", "instruction limit exceeded ...").
const char *mm_host_stop_message(mm_host *host);
/// Protected helper: argument 1 is a coroutine stopped by the hook (yielded), argument 2 the
/// message. Returns a report table like `mm_msghandler`, message prefixed with its location.
int mm_thread_stop_report(lua_State *L);
/// Requests an interrupt: safe from a signal handler or any thread. The running thread
/// raises "interrupted" at its next instruction; the request stays until cleared.
void mm_host_interrupt(mm_host *host);
/// 1 if an interrupt was requested and not cleared.
int mm_host_interrupt_requested(mm_host *host);
/// Clears the interrupt request (REPL: after reporting it) and removes the forced hook
/// from `L` (restoring the limit hook if limits are set).
void mm_host_clear_interrupt(mm_host *host, lua_State *L);
/// Sets the instruction limit (0 = none) and wall-clock limit in seconds from now (<= 0 =
/// none), and installs the count hook on `L` when a limit is set. Threads created from `L`
/// afterwards inherit the hook.
void mm_host_set_limits(mm_host *host, lua_State *L, long long instructions, double seconds);
/// Installs the host's current hook settings on a thread (used for threads created before
/// the limits were set, or after an interrupt forced a faster hook).
void mm_host_apply_hook(mm_host *host, lua_State *L);
/// Which condition stopped the script: 0 none, 1 interrupt, 2 instruction limit, 3 time limit.
int mm_host_stop_reason(mm_host *host);
/// Marks the wall-clock limit as reached (from the executor's timer while Lua is idle).
void mm_host_mark_deadline(mm_host *host);
/// Records a stop reason (first one wins) so messages and error kinds agree.
void mm_host_mark_stop(mm_host *host, int reason);
/// Instructions executed so far (counted in hook steps; 0 without an instruction limit).
long long mm_host_instructions_used(mm_host *host);
/// Monotonic clock in seconds.
double mm_monotonic_seconds(void);

#define MM_STOP_NONE 0
#define MM_STOP_INTERRUPT 1
#define MM_STOP_INSTRUCTIONS 2
#define MM_STOP_DEADLINE 3

// MARK: - Memory: the counting allocator (design and rules at the top of memory.c)

/// Opens the allocator's window: until `mm_memory_restore`, an allocation that would pass
/// the limit is refused (Lua raises a memory error). Only around a protected entry into Lua
/// (lua_pcall, lua_resume, mm_closethread), never while Swift code could be on the stack.
/// Returns the previous state for `mm_memory_restore`.
int mm_memory_enter_lua(mm_host *host);
/// Closes the window (nothing is refused) and returns the previous state.
int mm_memory_enter_host(mm_host *host);
/// Restores what `mm_memory_enter_lua` / `mm_memory_enter_host` returned.
void mm_memory_restore(mm_host *host, int previous);
/// Sets the most bytes Lua may hold while its window is open (0: no limit).
void mm_memory_set_limit(mm_host *host, size_t bytes);
/// The limit (0: none).
size_t mm_memory_limit(mm_host *host);
/// Bytes Lua holds now (every allocation of the state, counted or not refusable).
size_t mm_memory_in_use(mm_host *host);
/// The most bytes Lua held at once since creation or `mm_memory_reset_peak`.
size_t mm_memory_peak(mm_host *host);
/// Starts a new peak measurement from the bytes in use now.
void mm_memory_reset_peak(mm_host *host);
/// How many allocations the limit refused so far.
unsigned long mm_memory_refusals(mm_host *host);
/// The bytes the last refused allocation would have added.
size_t mm_memory_refused_request(mm_host *host);
/// The bytes in use when the last allocation was refused.
size_t mm_memory_in_use_at_refusal(mm_host *host);

// MARK: - SIGINT

/// Installs the SIGINT handler (idempotent). Each signal increments a counter, posts a
/// semaphore `mm_sigint_wait` returns from, and — when a direct target is set — interrupts
/// that host right away (this is what stops a busy loop).
int mm_sigint_install(void);
/// Sets (or clears with NULL) the host the handler interrupts directly.
void mm_sigint_set_direct_target(mm_host *host);
/// Restores the default SIGINT disposition.
void mm_sigint_restore(void);
/// Blocks until a SIGINT arrives; returns the total number received so far.
int mm_sigint_wait(void);
/// Wakes `mm_sigint_wait` without a signal (returns the unchanged count).
void mm_sigint_post(void);

// MARK: - Userdata blocks

#define MM_UDATA_MAGIC 0x4d4d55444154410aULL

/// The block behind every Moonmotion userdata. The second word is always NULL so that a
/// block given liolib's FILE* metatable (debug.setmetatable) reads as a closed file and
/// liolib raises "attempt to use a closed file" instead of dereferencing it.
typedef struct mm_udata {
    uint64_t magic;
    void *reserved_null;
    const void *type_id;
    void *object;
} mm_udata;

/// Pushes a new userdata block for `object` (an Unmanaged-retained Swift object).
mm_udata *mm_udata_push(lua_State *L, const void *type_id, void *object);
/// The block at `idx` if it is a full userdata of the right size and magic, else NULL.
mm_udata *mm_udata_at(lua_State *L, int idx);

#ifdef __cplusplus
}
#endif
#endif
