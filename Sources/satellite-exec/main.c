// satellite-exec PARENT_PID PROGRAM [ARG...]
//
// The launcher's trampoline. posix_spawn cannot ask the kernel to kill a child when its parent
// dies, so every child starts here: it sets PR_SET_PDEATHSIG to SIGKILL (which survives exec),
// makes sure the launcher did not die before that took effect, and executes the real program
// in its place. The launcher spawns from one thread that lives as long as it does, because the
// kernel sends the signal when the spawning *thread* exits.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
    if (argc < 3) {
        fprintf(stderr, "usage: satellite-exec PARENT_PID PROGRAM [ARG...] (started by the satellite launcher)\n");
        return 64;
    }
    char *end = NULL;
    long parent = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || parent <= 0) {
        fprintf(stderr, "satellite-exec: parent pid '%s' is not a number\n", argv[1]);
        return 64;
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fprintf(stderr, "satellite-exec: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
        return 71;
    }
    if ((long)getppid() != parent) return 0; // the launcher is already gone
    execvp(argv[2], argv + 2);
    fprintf(stderr, "satellite-exec: cannot execute %s: %s\n", argv[2], strerror(errno));
    return 127;
}
