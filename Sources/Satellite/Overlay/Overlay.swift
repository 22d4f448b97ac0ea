import Foundation
import Logging
import SatelliteDB

/// The satellite's view of its storage nodes: who they are, where they are, how they do.
public struct Overlay: Sendable {
    public let config: OverlayConfig
    /// The choice of nodes for uploads.
    public let selection: NodeSelectionCache
    private let db: any OverlayDB
    private let log: Logger

    public init(config: OverlayConfig, db: any OverlayDB, log: Logger) {
        self.config = config
        self.selection = NodeSelectionCache(config: config, db: db)
        self.db = db
        self.log = log
    }

    /// Records that the node `id` (the hash of `publicKey`) checked in from `address` with
    /// `freeDisk` bytes free.
    /// - Returns: the network the node is counted in.
    public func checkIn(id: Data, publicKey: Data? = nil, address: NodeAddress, freeDisk: Int64, version: String, at now: Date = Date()) async throws -> String {
        try await db.recordCheckIn(
            NodeCheckIn(id: id, address: address.description, lastNet: address.lastNet, freeDisk: freeDisk, version: version, publicKey: publicKey), at: now
        )
        return address.lastNet
    }

    public func node(id: Data) async throws -> NodeRecord? {
        try await db.node(id: id)
    }
}
