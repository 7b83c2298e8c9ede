// SIGINT in the manner of lua.c: the handler interrupts the host it targets directly (which
// stops even a busy loop) and writes to a self-pipe that a watcher thread reads.
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

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

void mm_sigint_forget(mm_host *host) {
    mm_host *expected = host;
    atomic_compare_exchange_strong(&mm_sig_target, &expected, NULL);
}
