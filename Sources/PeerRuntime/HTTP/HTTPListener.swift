import Hummingbird
import HummingbirdCore
import Logging
import SatelliteConfig
import Synchronization

/// A Hummingbird application on one address that tells when it is listening: what the debug
/// endpoint and the API server have in common.
public final class HTTPListener: Sendable {
    private struct State {
        var port: Int?
        var closed = false
        var portWaiters: [CheckedContinuation<Int?, Never>] = []
    }

    private let app: Application<RouterResponder<PeerRequestContext>>
    private let state = Mutex(State())
    /// Its connections, each bounded by `limits`.
    public let connections: ConnectionGuard

    /// Builds the application around `router`; it listens only once ``run()`` starts.
    public init(address: HostPort, router: Router<PeerRequestContext>, limits: ConnectionLimits = ConnectionLimits(), log: Logger) {
        // The application learns its port after init; the box lets the callback reach this instance.
        let box = ListenerBox()
        let connections = ConnectionGuard(limits: limits)
        self.connections = connections
        app = Application(
            router: router,
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [connections.deadlines()])),
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in box.listener.withLock { $0 }?.listening(on: channel.localAddress?.port) },
            logger: log
        )
        box.listener.withLock { $0 = self }
    }

    /// Serves until graceful shutdown (in-flight requests finish) or cancellation; returns at
    /// once if closed before it started.
    /// - Throws: the bind error when the address is taken.
    public func run() async throws {
        guard !state.withLock({ $0.closed }) else { return }
        defer { listening(on: nil) }
        try await app.run()
    }

    /// Marks the listener closed: a run that has not started will not start.
    public func close() {
        state.withLock { $0.closed = true }
    }

    /// The port it listens on, once it does; `nil` if it stopped or never started.
    public func listeningPort() async -> Int? {
        await withCheckedContinuation { continuation in
            let port = state.withLock { state -> Int?? in
                if let port = state.port { return .some(port) }
                if state.closed { return .some(nil) }
                state.portWaiters.append(continuation)
                return .none
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    private func listening(on port: Int?) {
        let waiters = state.withLock { state in
            if port == nil { state.closed = true } else { state.port = port }
            defer { state.portWaiters.removeAll() }
            return state.portWaiters
        }
        waiters.forEach { $0.resume(returning: port) }
    }
}

private final class ListenerBox: Sendable {
    let listener = Mutex<HTTPListener?>(nil)
}
