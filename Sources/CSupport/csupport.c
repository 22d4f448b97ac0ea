#define _GNU_SOURCE
#include "csupport.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int cs_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int cs_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int cs_pidfd_reap(int pidfd, int *code, int *signal) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int result;
    do {
        result = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
    } while (result < 0 && errno == EINTR);
    if (result < 0) return -1;
    if (info.si_pid == 0) return 0;
    *code = -1;
    *signal = -1;
    if (info.si_code == CLD_EXITED) *code = info.si_status;
    else *signal = info.si_status;
    return 1;
}

int cs_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cs_epoll_add(int epfd, int fd, unsigned long long token) {
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int cs_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int cs_epoll_wait(int epfd, unsigned long long *tokens, int *hangups, int capacity, int timeout_ms) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, events, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        tokens[i] = events[i].data.u64;
        hangups[i] = (events[i].events & (EPOLLHUP | EPOLLERR)) != 0;
    }
    return count;
}

int cs_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int cs_eventfd_signal(int fd) {
    eventfd_t one = 1;
    return eventfd_write(fd, one);
}

int cs_eventfd_drain(int fd) {
    eventfd_t value;
    return eventfd_read(fd, &value);
}

static volatile int signal_pipe_fd = -1;

static void write_signal_number(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    if (signal_pipe_fd >= 0) (void)!write(signal_pipe_fd, &byte, 1);
    errno = saved;
}

int cs_signal_pipe_install(int write_fd, const int *signals, int count) {
    signal_pipe_fd = write_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = write_signal_number;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, NULL) < 0) return -1;
    }
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &ignore, NULL);
}

void cs_signal_pipe_uninstall(const int *signals, int count) {
    for (int i = 0; i < count; i++) signal(signals[i], SIG_DFL);
    signal_pipe_fd = -1;
}

// A descriptor that already sits at its target would keep FD_CLOEXEC through dup2 (and the
// notify copy must not land on the extra descriptor's target): such a descriptor is copied
// elsewhere first. The copies are closed by close_layout_copies.
static int layout_copies(int *notify_fd, int notify_target, int *extra_fd, int extra_target, int copies[2]) {
    copies[0] = copies[1] = -1;
    if (*notify_fd >= 0 && *notify_fd == notify_target) {
        if ((copies[0] = fcntl(*notify_fd, F_DUPFD_CLOEXEC, notify_target + 1)) < 0) return errno;
        *notify_fd = copies[0];
    }
    if (*extra_fd >= 0 && *extra_fd <= extra_target) {
        if ((copies[1] = fcntl(*extra_fd, F_DUPFD_CLOEXEC, extra_target + 1)) < 0) return errno;
        *extra_fd = copies[1];
    }
    return 0;
}

static void close_layout_copies(const int copies[2]) {
    if (copies[0] >= 0) close(copies[0]);
    if (copies[1] >= 0) close(copies[1]);
}

static int lowest_closed_descriptor(int notify_fd, int notify_target, int extra_fd, int extra_target) {
    int lowest = 3;
    if (notify_fd >= 0) lowest = notify_target + 1;
    if (extra_fd >= 0 && extra_target + 1 > lowest) lowest = extra_target + 1;
    return lowest;
}

int cs_spawn_extra(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   int output_fd, int notify_fd, int notify_target, int extra_fd, int extra_target) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    int copies[2];
    if ((result = layout_copies(&notify_fd, notify_target, &extra_fd, extra_target, copies)) != 0) goto done;
    if ((result = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)) != 0) goto done;
    if ((result = posix_spawn_file_actions_adddup2(&actions, output_fd, 1)) != 0) goto done;
    if ((result = posix_spawn_file_actions_adddup2(&actions, output_fd, 2)) != 0) goto done;
    if (notify_fd >= 0 && (result = posix_spawn_file_actions_adddup2(&actions, notify_fd, notify_target)) != 0) goto done;
    if (extra_fd >= 0 && (result = posix_spawn_file_actions_adddup2(&actions, extra_fd, extra_target)) != 0) goto done;
    int lowest_closed = lowest_closed_descriptor(notify_fd, notify_target, extra_fd, extra_target);
    if ((result = posix_spawn_file_actions_addclosefrom_np(&actions, lowest_closed)) != 0) goto done;

    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    if ((result = posix_spawnattr_setsigmask(&attributes, &empty)) != 0) goto done;
    if ((result = posix_spawnattr_setsigdefault(&attributes, &all)) != 0) goto done;
    if ((result = posix_spawnattr_setpgroup(&attributes, 0)) != 0) goto done;
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if ((result = posix_spawnattr_setflags(&attributes, flags)) != 0) goto done;

    result = posix_spawn(pid, path, &actions, &attributes, argv, envp);
done:
    close_layout_copies(copies);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

// What a child of cs_fork_exec does between fork and exec. It is a copy of a process with other
// threads, any of which may have held a lock at the fork, so it calls only system calls and
// functions that neither allocate nor lock.
struct forked_child {
    const char *program;
    char *const *argv;
    char *const *envp;
    char **shell_argv; // "/bin/sh FILE ARGS...", for a file the kernel refuses as ENOEXEC
    int output_fd, notify_fd, notify_target, extra_fd, extra_target, lowest_closed;
    pid_t parent;
    int death_signal;
};

static void child_write(const char *text) { (void)!write(2, text, strlen(text)); }

static _Noreturn void child_fail(const struct forked_child *child, const char *what, int error) {
    const char *reason = strerrordesc_np(error);
    child_write("satellite: cannot ");
    child_write(what);
    child_write(" ");
    child_write(child->program);
    child_write(": ");
    child_write(reason != NULL ? reason : "unknown error");
    child_write("\n");
    _exit(127);
}

static void place_descriptor(int from, int to) {
    if (from == to) (void)fcntl(to, F_SETFD, 0);
    else (void)dup2(from, to);
}

static void child_exec(struct forked_child *child, const char *path) {
    execve(path, child->argv, child->envp);
    if (errno == ENOEXEC && child->shell_argv != NULL) {
        child->shell_argv[1] = (char *)path;
        execve("/bin/sh", child->shell_argv, child->envp);
        errno = ENOEXEC;
    }
}

// execvp's search, over the PATH of the child's own environment (as execvp in the child's
// place would see it), without allocating.
static void child_exec_searching(struct forked_child *child) {
    const char *file = child->program;
    if (strchr(file, '/') != NULL) {
        child_exec(child, file);
        return;
    }
    const char *search = "/bin:/usr/bin";
    for (char *const *entry = child->envp; *entry != NULL; entry++) {
        if (strncmp(*entry, "PATH=", 5) == 0) { search = *entry + 5; break; }
    }
    size_t file_length = strlen(file);
    char candidate[4096];
    int denied = 0;
    for (const char *directory = search;;) {
        const char *end = strchrnul(directory, ':');
        size_t length = (size_t)(end - directory);
        if (length == 0) { directory = "."; length = 1; }
        if (length + 1 + file_length + 1 <= sizeof candidate) {
            memcpy(candidate, directory, length);
            candidate[length] = '/';
            memcpy(candidate + length + 1, file, file_length + 1);
            child_exec(child, candidate);
            switch (errno) {
            case EACCES: denied = 1; break;
            case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: case ENAMETOOLONG: break;
            default: return;
            }
        }
        if (*end == '\0') break;
        directory = end + 1;
    }
    errno = denied ? EACCES : ENOENT;
}

static _Noreturn void forked_child_main(struct forked_child *child) {
    // Through the system call: the C library's sigaction refuses the signals it keeps for
    // itself (32 and 33), which this process may have had set to be ignored, and an ignored
    // signal stays ignored across exec.
    struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask; } standard = {SIG_DFL, 0, NULL, 0};
    for (int sig = 1; sig < NSIG; sig++) (void)syscall(SYS_rt_sigaction, sig, &standard, NULL, sizeof standard.mask);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    if (setpgid(0, 0) != 0) child_fail(child, "make a process group for", errno);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0) child_fail(child, "open /dev/null for", errno);
    if (null != 0) {
        (void)dup2(null, 0);
        close(null);
    }
    place_descriptor(child->output_fd, 1);
    place_descriptor(child->output_fd, 2);
    if (child->notify_fd >= 0) place_descriptor(child->notify_fd, child->notify_target);
    if (child->extra_fd >= 0) place_descriptor(child->extra_fd, child->extra_target);
    closefrom(child->lowest_closed);
    if (child->death_signal != 0) {
        if (prctl(PR_SET_PDEATHSIG, child->death_signal) != 0) child_fail(child, "arm the parent-death signal of", errno);
        if (getppid() != child->parent) _exit(0); // the launcher died before that took effect
    }
    child_exec_searching(child);
    child_fail(child, "execute", errno);
}

int cs_fork_exec(pid_t *pid, const char *program, char *const argv[], char *const envp[],
                 int output_fd, int notify_fd, int notify_target, int extra_fd, int extra_target, int death_signal) {
    int copies[2];
    int result = layout_copies(&notify_fd, notify_target, &extra_fd, extra_target, copies);
    if (result != 0) {
        close_layout_copies(copies);
        return result;
    }
    size_t count = 0;
    while (argv[count] != NULL) count++;
    char **shell_argv = malloc((count + 2) * sizeof *shell_argv);
    if (shell_argv == NULL) {
        close_layout_copies(copies);
        return ENOMEM;
    }
    shell_argv[0] = "/bin/sh";
    shell_argv[1] = NULL;
    for (size_t i = 1; i <= count; i++) shell_argv[i + 1] = argv[i];
    struct forked_child child = {
        .program = program, .argv = argv, .envp = envp, .shell_argv = shell_argv,
        .output_fd = output_fd, .notify_fd = notify_fd, .notify_target = notify_target,
        .extra_fd = extra_fd, .extra_target = extra_target,
        .lowest_closed = lowest_closed_descriptor(notify_fd, notify_target, extra_fd, extra_target),
        .parent = getpid(), .death_signal = death_signal,
    };
    // No handler of this process may run in the child before it has put every signal back to
    // its default: the handlers write to descriptors the child shares with the launcher.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    // A fork, not posix_spawn's vfork: the launcher goes on to its next child at once instead
    // of waiting for this one's exec, which on a busy machine meant waiting for a CPU too. Its
    // memory is small, and _Fork runs no fork handlers.
    pid_t spawned = _Fork();
    if (spawned == 0) forked_child_main(&child);
    result = spawned < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    free(shell_argv);
    close_layout_copies(copies);
    if (spawned > 0) *pid = spawned;
    return result;
}

int cs_signal_group(pid_t pgid, int sig) {
    if (pgid <= 1) return EINVAL;
    if (kill(-pgid, sig) == 0) return 0;
    return errno == ESRCH ? 0 : errno;
}

int cs_write_all(int fd, const void *bytes, size_t length) {
    const char *next = bytes;
    while (length > 0) {
        ssize_t written = write(fd, next, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        next += written;
        length -= (size_t)written;
    }
    return 0;
}

int cs_memfd_inheritable(const char *name) { return memfd_create(name, 0); }

// systemd's three small protocols, spoken directly (as its documentation invites): loading
// libsystemd cost a launcher seven libraries, and `satellite`, linked statically to start fast,
// must not dlopen a shared library at all.

int cs_sd_notify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') return 0;
    if (path[0] != '/' && path[0] != '@') return -EAFNOSUPPORT;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t length = strlen(path);
    if (length >= sizeof address.sun_path) return -EINVAL;
    memcpy(address.sun_path, path, length);
    // '@' names a socket in the abstract namespace: a NUL first, and no NUL at the end.
    if (path[0] == '@') address.sun_path[0] = '\0';
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + (path[0] == '@' ? 0 : 1));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&address, size);
    int failure = sent < 0 ? errno : 0;
    close(fd);
    return failure != 0 ? -failure : 1;
}

int cs_sd_watchdog_enabled(unsigned long long *usec) {
    const char *text = getenv("WATCHDOG_USEC");
    if (text == NULL) return 0;
    const char *owner = getenv("WATCHDOG_PID");
    if (owner != NULL) {
        char *end = NULL;
        long pid = strtol(owner, &end, 10);
        if (end == owner || *end != '\0' || pid <= 0) return -EINVAL;
        if ((pid_t)pid != getpid()) return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value == 0) return -EINVAL;
    if (usec != NULL) *usec = value;
    return 1;
}

int cs_sd_journal_stream_fd(const char *identifier, int priority, int level_prefix) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_un address = {.sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/stdout"};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int failure = errno;
        close(fd);
        return -failure;
    }
    shutdown(fd, SHUT_RD);
    // The stream's header, as journald reads it: identifier, unit id (none), priority, whether
    // lines carry <N> prefixes, and no forwarding to syslog, kmsg or the console.
    char header[512];
    int length = snprintf(header, sizeof header, "%s\n\n%i\n%i\n0\n0\n0\n", identifier != NULL ? identifier : "", priority, level_prefix != 0);
    if (length < 0 || (size_t)length >= sizeof header) {
        close(fd);
        return -EINVAL;
    }
    int failure = cs_write_all(fd, header, (size_t)length);
    if (failure != 0) {
        close(fd);
        return -failure;
    }
    return fd;
}

int cs_is_main_thread(void) { return syscall(SYS_gettid) == getpid(); }

// The marker and the version share one array, so a stamping tool finds the field by the marker
// alone; `used` keeps the array whole in the binary even though only its tail is read.
__attribute__((used)) static const char version_field[80] = "satellite-version:0.1.0-dev";

const char *cs_version(void) { return version_field + sizeof "satellite-version:" - 1; }

int cs_open_descriptor_count(void) {
    DIR *directory = opendir("/proc/self/fd");
    if (directory == NULL) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(directory);
    return count - 1; // the directory's own descriptor
}

static int unix_address(struct sockaddr_un *address, const char *path) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(address->sun_path, path);
    return 0;
}

int cs_unix_listen(const char *path) {
    struct sockaddr_un address;
    if (unix_address(&address, path) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct stat existing;
    if (lstat(path, &existing) == 0 && S_ISSOCK(existing.st_mode)) unlink(path);
    mode_t previous = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof address);
    umask(previous);
    if (bound < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cs_accept(int listener) { return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int cs_unix_connect(const char *path) {
    struct sockaddr_un address;
    if (unix_address(&address, path) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cs_tcp_listen(const char *host, int port) { return cs_tcp_listen_shared(host, port, 0); }

int cs_tcp_listen_shared(const char *host, int port, int reuse_port) {
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof storage);
    socklen_t length;
    int family;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        length = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        length = sizeof *v6;
    } else {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    /* The API's backlog: a burst of connects past it loses SYNs, and each client waits a 1 s
       retransmission (the silent flood test saw 6 in every 1,000 connects do so at 64). The
       kernel caps it at net.core.somaxconn (4096 by default), as nginx and HAProxy rely on. */
    if (bind(fd, (struct sockaddr *)&storage, length) < 0 || listen(fd, 4096) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cs_local_port(int fd) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof storage;
    if (getsockname(fd, (struct sockaddr *)&storage, &length) < 0) return -1;
    if (storage.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&storage)->sin_port);
    if (storage.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&storage)->sin6_port);
    return -1;
}
