// Interrupting the Lua thread from any thread.
//
// lua_sethook marks the call frames of the thread it hooks (settraps walks L->ci); from
// another thread it would walk them while the Lua thread pushes and frees them. lua.c calls
// it from a SIGINT handler that interrupts the interpreter's own thread. Here a Ctrl-C, the
// deadline timer or Swift code may ask from any thread, so mm_host_interrupt "pokes" the Lua
// thread with a signal of its own and the hook is set there, between two instructions.
#include "host.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static _Thread_local mm_host *mm_thread_host = NULL;   // the host whose Lua runs on this thread
static int mm_poke_signal = 0;
static pthread_once_t mm_poke_once = PTHREAD_ONCE_INIT;
static void mm_install_poke(void);

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

void mm_set_interrupt_hook(mm_host *host) {
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
        // Without a poke the Lua thread sees the flag when it next resumes or reaches a hook.
        if (mm_poke_signal != 0) {
            pthread_kill(host->lua_thread, mm_poke_signal);
        }
        return;
    }
    mm_set_interrupt_hook(host);
}

int mm_host_interrupt_requested(mm_host *host) {
    return atomic_load_explicit(&host->interrupt, memory_order_acquire);
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
