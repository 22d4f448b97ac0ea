import CSystemd

/// Tells systemd (under `Type=notify`, through NOTIFY_SOCKET) how the process is doing.
///
/// Without NOTIFY_SOCKET, as when the launcher or a shell runs the peer, it does nothing.
enum SystemdNotify {
    /// Sends newline-separated `KEY=value` assignments, as `READY=1`.
    static func send(_ assignments: String) {
        _ = sd_notify(0, assignments)
    }
}
