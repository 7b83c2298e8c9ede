// The counting allocator: every byte a Lua state holds goes through `mm_alloc`, which counts
// it per state and refuses to grow past the state's limit (`--max-memory`,
// `SandboxOptions.memoryLimit`) — but only at moments when a refusal is safe.
//
// What a refusal does
//   Lua turns a NULL from the allocator into a memory error: it first runs an emergency
//   full collection and asks again, then raises LUA_ERRMEM with the preallocated message
//   "not enough memory" (luaM_realloc_, luaD_throw). A raise is a longjmp to the innermost
//   protected call of the thread. Lua never asks us to shrink and fails on a NULL there, so
//   only growth (nsize > old size) is ever refused.
//
// When a refusal would be a crash
//   1. Swift code on the Lua thread: a Swift function body called through the trampoline,
//      or host code (LuaScheduler, LuaState, the bindings) pushing values, creating threads,
//      taking references between calls into Lua. A longjmp from there would cross Swift
//      frames — skipping their releases and defers, corrupting the Swift runtime's state —
//      or, outside any protected call, reach lua_atpanic and end the process.
//   2. C code of the host that is not inside a protected call (the same, without Swift).
//   So the allocator must know whether Lua itself is running (bytecode, or a C library
//   function such as string.rep or table.concat called by bytecode), in which case a memory
//   error unwinds Lua frames and C frames written for it (lua_error-safe) only.
//
// The window: `host->lua_window`
//   The allocator refuses only while the state's window is open. It is closed by default —
//   every allocation made while nothing opened it is granted, so host code that forgets
//   about the window is safe, never the reverse — and opened only by the host's three
//   entries into Lua, each of which catches every error of what runs inside:
//     * LuaState.protectedCall (lua_pcallk),
//     * LuaScheduler.resume (lua_resume),
//     * the scheduler's mm_closethread (to-be-closed variables run in protected mode).
//   Each saves the previous state (mm_memory_enter_lua) and restores it when the protected
//   call returns (mm_memory_restore), whatever happened inside: calls nest (a Swift
//   function calls a strategy hook, which calls a Swift function…).
//   Inside, the window is closed again around Swift:
//     * mm_trampoline closes it around the dispatch of a Swift function body and restores
//       it before it returns, raises or yields — Swift frames are never on the stack while
//       it is open; mm_continue does the same around its one other call into Swift (a
//       parked coroutine resumed by coroutine.resume);
//     * mm_build_report (errors.c) closes it while it builds an error report — the report
//       is the host's, not the script's, and must exist even when the script used every
//       byte — and opens it around the one piece of script code it calls (an error
//       object's __tostring), which runs under the same protected call.
//   A longjmp can leave a nested "save" unrestored only when it also leaves the protected
//   call that opened the outer window; that call's host code restores the state it saved,
//   so the window is right again as soon as the host runs.
//
// What is counted
//   Lua's own heap: strings, tables, closures, userdata blocks, threads and their stacks.
//   Not counted: the Swift objects behind userdata (inventories, tasks), the C library's own
//   buffers (a FILE's buffer), or memory Swift code allocates in Lua while the window is
//   closed beyond the limit — it is counted and makes the next growth in Lua fail, but it
//   is never refused.
//
// Known gap: a finalizer (__gc) that Lua runs during an allocation Swift made runs with the
//   window closed. The sandbox refuses metatables with __gc for this reason (and because
//   Lua turns hooks off in finalizers, so the instruction and time limits could not stop
//   one either).
#include "host.h"

#include <stdlib.h>

void *mm_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    mm_host *host = (mm_host *)ud;
    // With ptr == NULL, osize is the kind of object Lua is allocating, not a size.
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        host->mem_in_use -= old;
        return NULL;
    }
    if (nsize > old && host->lua_window && host->mem_limit > 0) {
        size_t grow = nsize - old;
        if (host->mem_in_use >= host->mem_limit || grow > host->mem_limit - host->mem_in_use) {
            host->mem_refusals++;
            host->mem_refused_request = grow;
            host->mem_in_use_at_refusal = host->mem_in_use;
            return NULL;
        }
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) {
        // Lua assumes a shrink never fails: keep the old block, which is big enough.
        return nsize <= old ? ptr : NULL;
    }
    host->mem_in_use = host->mem_in_use - old + nsize;
    if (host->mem_in_use > host->mem_peak) {
        host->mem_peak = host->mem_in_use;
    }
    return block;
}

int mm_memory_enter_lua(mm_host *host) {
    int previous = host->lua_window;
    host->lua_window = 1;
    return previous;
}

int mm_memory_enter_host(mm_host *host) {
    int previous = host->lua_window;
    host->lua_window = 0;
    return previous;
}

void mm_memory_restore(mm_host *host, int previous) { host->lua_window = previous; }

void mm_memory_set_limit(mm_host *host, size_t bytes) { host->mem_limit = bytes; }

size_t mm_memory_limit(mm_host *host) { return host->mem_limit; }

size_t mm_memory_in_use(mm_host *host) { return host->mem_in_use; }

size_t mm_memory_peak(mm_host *host) { return host->mem_peak; }

void mm_memory_reset_peak(mm_host *host) { host->mem_peak = host->mem_in_use; }

unsigned long mm_memory_refusals(mm_host *host) { return host->mem_refusals; }

size_t mm_memory_refused_request(mm_host *host) { return host->mem_refused_request; }

size_t mm_memory_in_use_at_refusal(mm_host *host) { return host->mem_in_use_at_refusal; }
