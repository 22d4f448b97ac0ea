// Linux calls that Swift cannot see through Glibc (they need _GNU_SOURCE or have no libc
// wrapper), and the one spawn routine the supervisor uses. Kept small on purpose: everything
// that can be written in Swift is.
#ifndef SATELLITE_CSUPPORT_H
#define SATELLITE_CSUPPORT_H

#include <sys/types.h>
#include <signal.h>

/// pipe2(2): both ends created with `flags` (O_CLOEXEC | O_NONBLOCK).
int cs_pipe2(int fds[2], int flags);

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits; -1 and errno on failure.
int cs_pidfd_open(pid_t pid);

/// Reaps the child behind `pidfd` without blocking. Returns 1 and fills `code`/`signal` (one of
/// them is -1) when it had exited, 0 when it is still running, -1 and errno on error.
int cs_pidfd_reap(int pidfd, int *code, int *signal);

/// epoll and eventfd, whose headers the Glibc module does not export.
int cs_epoll_create(void);
int cs_epoll_add(int epfd, int fd, unsigned long long token);
int cs_epoll_remove(int epfd, int fd);
/// Waits for up to `capacity` events; fills `tokens` with the registered tokens and `hangups`
/// with 1 where the peer closed. Returns the count, 0 on timeout, -1 and errno on error.
int cs_epoll_wait(int epfd, unsigned long long *tokens, int *hangups, int capacity, int timeout_ms);
int cs_eventfd(void);
int cs_eventfd_signal(int fd);
int cs_eventfd_drain(int fd);

/// Installs a handler for each of `signals` that writes the signal's number as one byte to
/// `write_fd` (non-blocking): the self-pipe trick, so an event loop can wait for signals.
/// SIGPIPE is ignored. Returns 0, or -1 and errno.
int cs_signal_pipe_install(int write_fd, const int *signals, int count);

/// Restores the default disposition of `signals` (used after the event loop is gone).
void cs_signal_pipe_uninstall(const int *signals, int count);

/// posix_spawn with the supervisor's descriptor layout: stdin from /dev/null, stdout and stderr
/// to `output_fd`, `notify_fd` (if >= 0) at descriptor `notify_target`, `extra_fd` (if >= 0) at
/// `extra_target` (above `notify_target`), every other descriptor closed; a new process group
/// led by the child; default signal dispositions and an empty mask. Returns 0 and sets `*pid`,
/// or an errno value (a program that cannot be executed among them).
int cs_spawn_extra(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   int output_fd, int notify_fd, int notify_target, int extra_fd, int extra_target);

/// cs_spawn_extra's child, made by fork, so that the caller goes on without waiting for the
/// child's exec; with `death_signal` (non-zero) armed as PR_SET_PDEATHSIG before `program` is
/// executed, so that the child gets it when the thread that spawned it ends. `program` without
/// a slash is found on the PATH of `envp`, as execvp finds it. What fails once the child exists
/// (its program missing, say) is written to its output as one line, and it exits 127; the
/// return value is an errno value only when no child was made, else 0 with `*pid` set.
int cs_fork_exec(pid_t *pid, const char *program, char *const argv[], char *const envp[],
                 int output_fd, int notify_fd, int notify_target, int extra_fd, int extra_target, int death_signal);

/// kill(-pgid, sig), ignoring a group that is already gone. Returns 0 or an errno value.
int cs_signal_group(pid_t pgid, int sig);

/// memfd_create(2) with MFD_CLOEXEC cleared, so that a program this process executes inherits it.
int cs_memfd_inheritable(const char *name);

/// Writes all `length` bytes, retrying on EINTR and short writes. Returns 0, or an errno value.
int cs_write_all(int fd, const void *bytes, size_t length);

/// What libsystemd's sd_notify(0, state), sd_watchdog_enabled(0, usec) and
/// sd_journal_stream_fd(identifier, priority, level_prefix) do, speaking systemd's protocols
/// directly: a datagram to NOTIFY_SOCKET (a path, or '@' for the abstract namespace);
/// WATCHDOG_USEC for this process (WATCHDOG_PID, when set, names it); a stream to journald's
/// stdout socket after its header. Without NOTIFY_SOCKET, cs_sd_notify returns 0, and 1 once the
/// message is sent; without WATCHDOG_USEC, cs_sd_watchdog_enabled returns 0. Failures are
/// negative errno values, as libsystemd's.
int cs_sd_notify(const char *state);
int cs_sd_watchdog_enabled(unsigned long long *usec);
int cs_sd_journal_stream_fd(const char *identifier, int priority, int level_prefix);

/// Whether the calling thread is the process's main thread (its tid is the pid): the only one
/// whose children stay children across an exec, since the kernel sends PR_SET_PDEATHSIG when
/// the spawning thread ends, and an exec ends every other thread.
int cs_is_main_thread(void);

/// The version of the build this program belongs to, as `--version`, `satellite status` and the
/// operator page show it. It lives in a fixed-size field after the marker `satellite-version:`
/// so that a release can stamp a built binary with its version (as Go's `-ldflags -X` does),
/// and two binaries from one commit can differ in nothing else.
const char *cs_version(void);

/// The number of this process's open descriptors (reads /proc/self/fd), or -1.
int cs_open_descriptor_count(void);



/// A listening unix stream socket at `path` (an old socket file there is replaced), mode 0600,
/// non-blocking and close-on-exec. Returns the descriptor, or -1 and errno.
int cs_unix_listen(const char *path);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; -1 and errno when nothing waits.
int cs_accept(int listener);

/// A listening TCP socket on the IPv4 or IPv6 address `host` and `port` (0 picks one), with
/// SO_REUSEADDR, non-blocking and close-on-exec. Returns the descriptor, or -1 and errno.
int cs_tcp_listen(const char *host, int port);

/// cs_tcp_listen, with SO_REUSEPORT when `reuse_port` is non-zero: several such sockets of one
/// user share the address, and the kernel spreads new connections over them.
int cs_tcp_listen_shared(const char *host, int port, int reuse_port);

/// The port a socket is bound to, or -1.
int cs_local_port(int fd);

/// A connected unix stream socket to `path`, or -1 and errno.
int cs_unix_connect(const char *path);
#endif
