import Hummingbird
import Logging
import Prometheus
import SatelliteConfig
import Synchronization

/// A peer's debug endpoint: `/health/live`, `/health/ready` and `/metrics` over HTTP.
///
/// `ready` answers `/health/ready`; the registry answers `/metrics` in Prometheus' text format.
public final class DebugServer: Sendable {
    private struct State {
        var port: Int?
        var closed = false
        var portWaiters: [CheckedContinuation<Int?, Never>] = []
    }

    private let app: Application<RouterResponder<BasicRequestContext>>
    private let state = Mutex(State())

    /// Creates the server; it listens only once ``run()`` starts.
    public init(
        address: HostPort,
        registry: PrometheusCollectorRegistry,
        log: Logger,
        ready: @escaping @Sendable () async -> Bool
    ) {
        let router = Router()
        router.get("/health/live") { _, _ in "ok\n" }
        router.get("/health/ready") { _, _ -> Response in
            let isReady = await ready()
            return Response(
                status: isReady ? .ok : .serviceUnavailable,
                body: ResponseBody(byteBuffer: ByteBuffer(string: isReady ? "ready\n" : "not ready\n"))
            )
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        // The server learns its port after init; the box lets the callback reach this instance.
        let box = ServerBox()
        app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in box.server.withLock { $0 }?.listening(on: channel.localAddress?.port) },
            logger: log
        )
        box.server.withLock { $0 = self }
    }

    /// Serves until graceful shutdown or cancellation; returns at once if closed before it started.
    /// - Throws: the bind error when the address is taken.
    public func run() async throws {
        guard !state.withLock({ $0.closed }) else { return }
        defer { listening(on: nil) }
        try await app.run()
    }

    /// Marks the server closed: a run that has not started will not start.
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

private final class ServerBox: Sendable {
    let server = Mutex<DebugServer?>(nil)
}
