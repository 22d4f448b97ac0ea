import PostgresNIO
import Synchronization

/// Answers the call that holds a pooled connection when the connection closes under it, with
/// one close callback per connection: a callback per call would pile up on the `closeFuture` of
/// a connection that lives for days, one closure per statement it ever ran.
final class ConnectionCloseWatch: Sendable {
    /// The current call's answer for each connection watched, until the connection closes.
    private let current = Mutex<[PostgresConnection.ID: (@Sendable () -> Void)?]>([:])

    /// `onClose` runs if `connection` closes before ``end(_:)`` (at once if it already has).
    func begin(_ connection: PostgresConnection, onClose: @escaping @Sendable () -> Void) {
        let id = connection.id
        let firstCall = current.withLock { current in
            let first = current[id] == nil
            current[id] = .some(onClose)
            return first
        }
        guard firstCall else { return }
        connection.closeFuture.whenComplete { [self] _ in
            let answer = current.withLock { $0.removeValue(forKey: id) ?? nil }
            answer?()
        }
    }

    /// The call on `connection` is over; its close no longer concerns it.
    func end(_ connection: PostgresConnection) {
        current.withLock { current in
            if current[connection.id] != nil { current[connection.id] = .some(nil) }
        }
    }
}
