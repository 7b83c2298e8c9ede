// The host block's life: the state is created with it (its allocator counts into it), and it
// is freed after lua_close.
#include "host.h"

#include <stdlib.h>

lua_State *mm_newstate(void) {
    mm_host *host = calloc(1, sizeof(mm_host));
    if (host == NULL) {
        return NULL;
    }
    host->hook_step = 1000;
    atomic_store(&host->managed, NULL);
    atomic_store(&host->interrupt, 0);
    atomic_store(&host->stop_reason, MM_STOP_NONE);
    // The window is closed (lua_window == 0): nothing is refused while the state is built.
    lua_State *L = lua_newstate(mm_alloc, host);
    if (L == NULL) {
        free(host);
        return NULL;
    }
    atomic_store(&host->running, L);
    *(mm_host **)lua_getextraspace(L) = host;
    mm_install_panic_and_warnings(L);
    return L;
}

void mm_host_free(mm_host *host) {
    // A Ctrl-C after the state closed must not reach freed memory.
    mm_sigint_forget(host);
    free(host);
}

void mm_host_set_owner(mm_host *host, void *owner) { host->owner = owner; }

void *mm_host_owner(mm_host *host) { return host->owner; }

_Static_assert(offsetof(struct mm_host, owner) == 0, "mm_owner() reads the owner as the first field");
