import Hummingbird
import Logging
import Prometheus
import SatelliteConfig

/// A peer's debug endpoint: `/health/live`, `/health/ready` and `/metrics` over HTTP.
///
/// `ready` answers `/health/ready`; the registry answers `/metrics` in Prometheus' text format.
public final class DebugServer: Sendable {
    private let listener: HTTPListener

    /// Creates the server; it listens only once ``run()`` starts.
    public init(
        address: HostPort,
        registry: PrometheusCollectorRegistry,
        log: Logger,
        ready: @escaping @Sendable () async -> Bool
    ) {
        let router = Router(context: PeerRequestContext.self)
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
        listener = HTTPListener(address: address, router: router, log: log)
    }

    /// Serves until graceful shutdown or cancellation; returns at once if closed before it started.
    /// - Throws: the bind error when the address is taken.
    public func run() async throws { try await listener.run() }

    /// Marks the server closed: a run that has not started will not start.
    public func close() { listener.close() }

    /// The port it listens on, once it does; `nil` if it stopped or never started.
    public func listeningPort() async -> Int? { await listener.listeningPort() }
}
