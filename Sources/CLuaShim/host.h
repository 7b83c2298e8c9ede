// CLuaShim's private header: the host block and what the .c files share. Not in include/,
// so Swift never sees it; Swift reaches the host block only through the functions declared
// in include/CLuaShim.h.
//
// Where things are:
//   host.c        the host block's life (the state is created with it, owner, free)
//   memory.c      the counting allocator and its window (the design is at its top)
//   trampoline.c  the Swift dispatcher, the sentinel, the continuation, the trampoline,
//                 pushing / recognising Swift functions, mm_closethread
//   errors.c      error messages and reports (msghandler, thread reports, argument errors)
//   limits.c      the instruction / deadline / interrupt hook, stop reasons, stop reports
//   interrupt.c   interrupting the Lua thread from any thread (the poke signal),
//                 mm_host_set_running
//   sigint.c      the SIGINT handler and its self-pipe
//   corolib.c     coroutine.resume / coroutine.wrap that keep `running` current
//   udata.c       userdata blocks
//   panic.c       the lua_atpanic handler (exit status 70, never abort()) and warnings
#ifndef MOONMOTION_CLUASHIM_HOST_H
#define MOONMOTION_CLUASHIM_HOST_H

#include "CLuaShim.h"

#include <pthread.h>
#include <stdatomic.h>

// The per-state host block, stored in the main thread's extra space (every coroutine
// inherits the pointer).
struct mm_host {
    void *owner;                    // first field: mm_owner() reads it inline
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
    // The counting allocator (memory.c): Lua thread only.
    int lua_window;                 // 1 while Lua runs and an allocation may be refused
    size_t mem_limit;               // 0: none
    size_t mem_in_use;
    size_t mem_peak;
    unsigned long mem_refusals;
    size_t mem_refused_request;     // bytes the last refused allocation would have added
    size_t mem_in_use_at_refusal;
};

// memory.c: the lua_Alloc of every state (`ud` is its host block).
void *mm_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

// panic.c: lua_atpanic handler and lauxlib's warning functions, on a new state.
void mm_install_panic_and_warnings(lua_State *L);

// errors.c: builds `{ message, traceback, source, line, value }` on L from thread `co`, whose
// error value is at `erridx` in L, with frames starting at `level` of `co`.
void mm_build_report(lua_State *L, lua_State *co, int erridx, int level);

// limits.c: the hook that enforces interrupts and limits.
void mm_hook(lua_State *L, lua_Debug *ar);

// interrupt.c: sets the fast interrupt hook on the thread running Lua now (Lua thread only).
void mm_set_interrupt_hook(mm_host *host);

// sigint.c: the SIGINT handler forgets `host` (its state is closing).
void mm_sigint_forget(mm_host *host);

#endif
