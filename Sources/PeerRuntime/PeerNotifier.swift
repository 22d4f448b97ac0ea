import CSupport
import Supervision

/// Where a peer reports how it is doing: the launcher's notify pipe when the launcher started it
/// (`SATELLITE_NOTIFY_FD`), systemd's NOTIFY_SOCKET when systemd did, nowhere otherwise. One
/// binary serves all three.
enum PeerNotifier: Sendable {
    case launcher(NotifyClient)
    /// sd_notify, which does nothing without NOTIFY_SOCKET.
    case systemd

    static func current() -> PeerNotifier {
        NotifyClient.fromEnvironment().map { .launcher($0) } ?? .systemd
    }

    /// Sends the messages together; false when the launcher is gone.
    @discardableResult
    func send(_ messages: NotifyMessage...) -> Bool {
        switch self {
        case .launcher(let client):
            return messages.isEmpty || client.send(messages)
        case .systemd:
            _ = cs_sd_notify(messages.map(\.line).joined(separator: "\n"))
            return true
        }
    }
}
