import Lifecycle
import Logging
import Metrics
import Prometheus

/// A peer: named subsystems in a ``PeerGroup``, run together, stopped and closed in reverse
/// order of creation. Every kind of peer (the satellite's Core, API and Repairer; a storage
/// node) is one of these, built on a ``PeerBasis``.
public protocol Peer: Sendable {
    /// The peer's name in logs and errors, as `core`.
    static var name: String { get }
    /// The logger, threads, metrics and subsystem group the peer is built on.
    var basis: PeerBasis { get }
    /// Health and metrics; nil when `debug.address` is empty.
    var debug: DebugServer? { get }
}

extension Peer {
    public var log: Logger { basis.log }
    /// The peer's own metrics, served at its debug endpoint's `/metrics`.
    public var metrics: PrometheusCollectorRegistry { basis.metrics }
    public var group: PeerGroup { basis.group }

    /// Runs every subsystem until graceful shutdown, cancellation, or the first failure.
    /// - Throws: `PeerItemFailure` naming the subsystem that failed; the others were cancelled.
    ///
    /// Once every subsystem has started and its listeners are bound it logs `ready` and sets the
    /// gauge `<namespace>_peer_ready{peer="NAME"}` to 1; when run returns the gauge goes back to 0.
    public func run() async throws {
        log.info("running", metadata: ["subsystems": .array(group.names.map { .string($0) })])
        let ready = Gauge(
            label: basis.namespace + "_peer_ready", dimensions: [("peer", Self.name)], factory: PrometheusMetricsFactory(registry: metrics)
        )
        ready.record(0)
        let readiness = Task { [log] in
            guard await self.untilServing() else { return }
            ready.record(1)
            log.info("ready")
        }
        defer {
            readiness.cancel()
            ready.record(0)
        }
        try await group.run()
    }

    /// Returns true once every subsystem has started and every listener is bound (so READY
    /// means a client can connect); false if the peer stopped first.
    public func untilServing() async -> Bool {
        guard await group.untilStarted() else { return false }
        return await basis.untilListening()
    }

    /// Stops the subsystems gracefully, in reverse order of creation. Returns at once.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// Releases every subsystem in reverse order of creation, then the blocking threads.
    /// - Throws: ``PeerCloseError`` with every close that failed.
    public func close() async throws {
        let report = await group.close()
        await basis.blockingThreads.close()
        guard report.failures.isEmpty else { throw PeerCloseError(peer: Self.name, report: report) }
    }
}
