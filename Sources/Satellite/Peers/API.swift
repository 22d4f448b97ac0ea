import Logging
import SatelliteDB

/// The peer that storage nodes and clients talk to (contact and metainfo endpoints come with the
/// satellite-work issue).
///
/// Shaped as Storj's peers: the initializer wires subsystems one block at a time, in creation
/// order, and closes what it had made if one fails; `run`, `shutdown` and `close` come from
/// ``SatellitePeer``.
public final class API: SatellitePeer {
    public static let name = "api"

    /// Every key the peer reads.
    public struct Config: Sendable {
        public var debug = DebugConfig()
        /// How long a graceful shutdown may take before the subsystems still running are
        /// cancelled (in-flight work abandoned); nil waits for them.
        public var shutdownTimeout: Duration?

        public init() {}
    }

    public let basis: PeerBasis
    /// Health and metrics; `nil` when `debug.address` is empty.
    public let debug: DebugServer?

    /// Wires the peer.
    /// - Throws: `PeerInitError` naming the subsystem that failed, after closing the ones made.
    public init(log: Logger, database: SatelliteDatabase, config: Config) async throws {
        let basis = PeerBasis(peer: Self.name, log: log, database: database, shutdownTimeout: config.shutdownTimeout)
        self.basis = basis
        do {
            // debug, then schema
            debug = try basis.wireDebugAndSchema(config.debug)
        } catch {
            throw await basis.failed(error)
        }
    }
}
