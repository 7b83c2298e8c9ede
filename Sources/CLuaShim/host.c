// The host block's life: created with the state, freed after lua_close.
#include "host.h"

#include <stdlib.h>

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

void mm_host_free(mm_host *host) {
    // A Ctrl-C after the state closed must not reach freed memory.
    mm_sigint_forget(host);
    free(host);
}

void mm_host_set_owner(mm_host *host, void *owner) { host->owner = owner; }

void *mm_host_owner(mm_host *host) { return host->owner; }

_Static_assert(offsetof(struct mm_host, owner) == 0, "mm_owner() reads the owner as the first field");
