// satellite-exec --guard
// satellite-exec PARENT_PID PROGRAM [ARG...]
//
// The launcher's process-group guard (below). The second form is the trampoline that children
// started through before the launcher armed PR_SET_PDEATHSIG itself, between fork and exec
// (cs_fork_exec): a launcher of that version, still running while this file replaces
// its satellite-exec in an upgrade, spawns its children with it until it executes the new
// `satellite`. It sets PR_SET_PDEATHSIG to SIGKILL (which survives exec), makes sure the
// launcher did not die before that took effect, and executes the real program in its place.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

// The Swift driver links its image-registration object into every executable it links, C ones
// too. Its two references are satisfied here, so the linker (with --as-needed) leaves the Swift
// runtime out: each child's first exec then loads only libc, and the guard stays small.
__attribute__((visibility("hidden"))) void swift_addNewDSOImage(const void *image) { (void)image; }
__attribute__((visibility("hidden"))) int _swift_backtrace_isThunkFunction(const char *name) { (void)name; return 0; }

// The guard: one per launcher, outside its process group. The launcher writes "+PGID" when it
// spawns a child and "-PGID" when it has reaped one, on a pipe at descriptor 3. When that pipe
// reaches end-of-file with groups still listed, the launcher died without stopping them (SIGKILL,
// a crash): PR_SET_PDEATHSIG has taken the children, and the guard takes what they left in their
// groups. A launcher that stops normally has reaped everything first, and the guard just exits.
static int guard(int fd) {
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    size_t count = 0, capacity = 64;
    pid_t *groups = malloc(capacity * sizeof *groups);
    char buffer[4096];
    size_t used = 0;
    for (;;) {
        ssize_t got = read(fd, buffer + used, sizeof buffer - used);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        used += (size_t)got;
        char *start = buffer, *newline;
        while ((newline = memchr(start, '\n', used - (size_t)(start - buffer))) != NULL) {
            *newline = '\0';
            long group = strtol(start + 1, NULL, 10);
            if (group > 1 && start[0] == '+') {
                if (count == capacity) {
                    pid_t *grown = realloc(groups, 2 * capacity * sizeof *groups);
                    if (grown != NULL) { groups = grown; capacity *= 2; }
                }
                if (count < capacity) groups[count++] = (pid_t)group;
            } else if (group > 1 && start[0] == '-') {
                for (size_t i = 0; i < count; i++) {
                    if (groups[i] == (pid_t)group) { groups[i] = groups[--count]; break; }
                }
            }
            start = newline + 1;
        }
        used -= (size_t)(start - buffer);
        memmove(buffer, start, used);
        if (used == sizeof buffer) used = 0; // a line that long is not ours
    }
    for (size_t i = 0; i < count; i++) kill(-groups[i], SIGKILL);
    return 0;
}

int main(int argc, char *argv[]) {
    if (argc == 2 && strcmp(argv[1], "--guard") == 0) return guard(3);
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
