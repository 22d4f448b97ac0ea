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

int cs_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
             int output_fd, int notify_fd, int notify_target) {
    return cs_spawn_extra(pid, path, argv, envp, output_fd, notify_fd, notify_target, -1, -1);
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
    // A notify descriptor that already sits at its target would keep FD_CLOEXEC through dup2;
    // a copy elsewhere avoids relying on how the C library treats dup2 onto itself.
    int notify_copy = -1;
    int extra_copy = -1;
    if (notify_fd >= 0 && notify_fd == notify_target) {
        notify_copy = fcntl(notify_fd, F_DUPFD_CLOEXEC, notify_target + 1);
        if (notify_copy < 0) {
            result = errno;
            goto done;
        }
        notify_fd = notify_copy;
    }
    // The same for the extra descriptor, which must also not sit where the notify copy lands.
    if (extra_fd >= 0 && extra_fd <= extra_target) {
        extra_copy = fcntl(extra_fd, F_DUPFD_CLOEXEC, extra_target + 1);
        if (extra_copy < 0) {
            result = errno;
            goto done;
        }
        extra_fd = extra_copy;
    }
    int lowest_closed = 3;
    if ((result = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)) != 0) goto done;
    if ((result = posix_spawn_file_actions_adddup2(&actions, output_fd, 1)) != 0) goto done;
    if ((result = posix_spawn_file_actions_adddup2(&actions, output_fd, 2)) != 0) goto done;
    if (notify_fd >= 0) {
        if ((result = posix_spawn_file_actions_adddup2(&actions, notify_fd, notify_target)) != 0) goto done;
        lowest_closed = notify_target + 1;
    }
    if (extra_fd >= 0) {
        if ((result = posix_spawn_file_actions_adddup2(&actions, extra_fd, extra_target)) != 0) goto done;
        if (extra_target + 1 > lowest_closed) lowest_closed = extra_target + 1;
    }
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
    if (notify_copy >= 0) close(notify_copy);
    if (extra_copy >= 0) close(extra_copy);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
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
