import Foundation
import Lifecycle
import Logging
import Metrics
import Prometheus
import StructuredLogging
import Supervision
import SatelliteDB
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// A peer of the satellite: named subsystems in a ``PeerGroup``, run together, stopped and
/// closed in reverse order of creation.
public protocol SatellitePeer: Sendable {
    /// The peer's name in logs and errors, as `core`.
    static var name: String { get }
    /// The logger, database, metrics and subsystem group the peer is built on.
    var basis: PeerBasis { get }
    /// Health and metrics; nil when `debug.address` is empty.
    var debug: DebugServer? { get }
}

extension SatellitePeer {
    public var log: Logger { basis.log }
    public var database: SatelliteDatabase { basis.database }
    /// The peer's own metrics, served at its debug endpoint's `/metrics`.
    public var metrics: PrometheusCollectorRegistry { basis.metrics }
    public var group: PeerGroup { basis.group }

    /// Runs every subsystem until graceful shutdown, cancellation, or the first failure.
    /// - Throws: `PeerItemFailure` naming the subsystem that failed; the others were cancelled.
    ///
    /// Once every subsystem has started and its listeners are bound it logs `ready` and sets the gauge
    /// `satellite_peer_ready{peer="NAME"}` to 1; when run returns the gauge goes back to 0.
    public func run() async throws {
        log.info("running", metadata: ["subsystems": .array(group.names.map { .string($0) })])
        let ready = Gauge(label: "satellite_peer_ready", dimensions: [("peer", Self.name)], factory: PrometheusMetricsFactory(registry: metrics))
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

    /// Releases every subsystem in reverse order of creation.
    /// - Throws: ``PeerCloseError`` with every close that failed.
    public func close() async throws {
        let report = await group.close()
        await basis.databaseThreads.close()
        guard report.failures.isEmpty else { throw PeerCloseError(peer: Self.name, report: report) }
    }
}

/// Runs a peer until SIGTERM or SIGINT, then stops it gracefully and closes it.
///
/// Once every subsystem has started and its listeners are bound the peer sends `READY=1` to whoever started it (the
/// launcher's notify pipe or systemd), then `WATCHDOG=1` every `heartbeatInterval` from a task on
/// the same executor as its work, so a wedged peer stops beating. If the launcher is gone (the
/// pipe has no reader) the peer stops. The first signal begins a graceful shutdown
/// (`STOPPING=1`; subsystems stop in reverse order, then close); a second one exits the process
/// at once with status 1, for an operator who will not wait.
/// - Throws: what the peer's run or close threw.
public func runUntilSignalled(
    _ peer: some SatellitePeer,
    log: Logger,
    heartbeatInterval: Duration = .seconds(1),
    level: LogLevelControl? = nil
) async throws {
    let notifier = PeerNotifier.current()
    let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sigusr2)
    let watcher = Task {
        var received = 0
        for await signal in signals {
            if signal == .sigusr2 {
                // `satellite log-level LEVEL NAME`: the launcher left the level in this file.
                if let level, let path = ProcessInfo.processInfo.environment["SATELLITE_LOG_LEVEL_FILE"],
                    let text = try? String(contentsOfFile: path, encoding: .utf8),
                    let wanted = Logger.Level(rawValue: text.trimmingCharacters(in: .whitespacesAndNewlines))
                {
                    level.level = wanted
                    log.notice("log level changed", metadata: ["level_now": .string(wanted.rawValue)])
                }
                continue
            }
            received += 1
            if received == 1 {
                log.info("stopping", metadata: ["signal": "\(signal)"])
                notifier.send(.stopping)
                await peer.shutdown()
            } else {
                log.warning("second signal; exiting now", metadata: ["signal": "\(signal)"])
                exit(1)
            }
        }
    }
    let heartbeat = Task {
        guard await peer.untilServing() else { return }
        notifier.send(.ready, .status("\(type(of: peer).name) running"))
        while !Task.isCancelled {
            try? await Task.sleep(for: heartbeatInterval)
            guard !Task.isCancelled else { return }
            guard notifier.send(.watchdog) else {
                log.warning("the launcher is gone; stopping")
                await peer.shutdown()
                return
            }
        }
    }
    defer {
        watcher.cancel()
        heartbeat.cancel()
    }
    var runError: (any Error)?
    do {
        try await peer.run()
    } catch {
        runError = error
    }
    try await peer.close()
    if let runError { throw runError }
    log.info("stopped")
}
