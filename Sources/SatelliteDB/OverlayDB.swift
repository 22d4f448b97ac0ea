import Foundation
import GRDB

/// What a storage node says when it checks in, after the API checked it.
public struct NodeCheckIn: Sendable, Equatable {
    /// 32 bytes.
    public let id: Data
    public let address: String
    public let lastNet: String
    public let freeDisk: Int64
    public let version: String
    /// The node's Ed25519 public key (32 bytes) that its id is the hash of.
    public let publicKey: Data?

    public init(id: Data, address: String, lastNet: String, freeDisk: Int64, version: String, publicKey: Data? = nil) {
        self.id = id
        self.address = address
        self.lastNet = lastNet
        self.freeDisk = freeDisk
        self.version = version
        self.publicKey = publicKey
    }
}

/// A storage node as the overlay knows it.
public struct NodeRecord: Sendable, Equatable {
    public let id: Data
    public let address: String
    public let lastNet: String
    public let freeDisk: Int64
    public let version: String
    public let lastContactSuccess: Date?
    public let lastContactFailure: Date?
    public let disqualifiedAt: Date?
    public let exitInitiatedAt: Date?
    public let createdAt: Date
    /// The Ed25519 key the node's id is the hash of; nil if it never checked in with one.
    public let publicKey: Data?

    public init(
        id: Data, address: String, lastNet: String, freeDisk: Int64, version: String, lastContactSuccess: Date?, lastContactFailure: Date?,
        disqualifiedAt: Date?, exitInitiatedAt: Date?, createdAt: Date, publicKey: Data?
    ) {
        self.id = id
        self.address = address
        self.lastNet = lastNet
        self.freeDisk = freeDisk
        self.version = version
        self.lastContactSuccess = lastContactSuccess
        self.lastContactFailure = lastContactFailure
        self.disqualifiedAt = disqualifiedAt
        self.exitInitiatedAt = exitInitiatedAt
        self.createdAt = createdAt
        self.publicKey = publicKey
    }
}

// The record stays a plain value; reading it from a row is the SQLite side's business.
extension NodeRecord {
    init(row: Row) {
        self.init(
            id: row["id"], address: row["address"], lastNet: row["last_net"], freeDisk: row["free_disk"], version: row["version"],
            lastContactSuccess: row["last_contact_success"], lastContactFailure: row["last_contact_failure"], disqualifiedAt: row["disqualified_at"],
            exitInitiatedAt: row["exit_initiated_at"], createdAt: row["created_at"], publicKey: row["public_key"]
        )
    }
}

/// A node that may be offered for uploads and repairs, as the selection cache keeps it.
public struct EligibleNode: Sendable, Equatable {
    public let choice: NodeChoice
    public let freeDisk: Int64
    public let lastContactSuccess: Date
    /// The audits the node has had, passed or failed: what vetting counts.
    public let audits: Int

    public init(choice: NodeChoice, freeDisk: Int64, lastContactSuccess: Date, audits: Int = 0) {
        self.choice = choice
        self.freeDisk = freeDisk
        self.lastContactSuccess = lastContactSuccess
        self.audits = audits
    }
}

/// The overlay's storage: the nodes table.
public protocol OverlayDB: Sendable {
    /// Creates the node or updates its address, network, free disk and version, and records a
    /// successful contact at `at`, in one transaction.
    func recordCheckIn(_ checkIn: NodeCheckIn, at: Date) throws
    /// The node, if the overlay knows it.
    func node(id: Data) throws -> NodeRecord?
    /// How many nodes the overlay knows.
    func nodeCount() throws -> Int
    /// Sets when the node was last contacted successfully (as an audit or a ping would).
    func recordContactSuccess(id: Data, at: Date) throws
    /// Every node contacted successfully since `onlineSince`, neither disqualified, suspended nor
    /// exiting.
    func eligibleNodes(onlineSince: Date) throws -> [EligibleNode]
    /// Every node contacted successfully since `onlineSince` and not disqualified, suspended and
    /// exiting ones too: the nodes that keep pieces for the satellite.
    func keepingNodes(onlineSince: Date) throws -> [NodeChoice]
}

extension SatelliteDatabase: OverlayDB {
    public func recordCheckIn(_ checkIn: NodeCheckIn, at: Date) throws {
        try pool.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO nodes (id, address, last_net, free_disk, version, last_contact_success, created_at, public_key)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET
                    address = excluded.address, last_net = excluded.last_net, free_disk = excluded.free_disk,
                    version = excluded.version, last_contact_success = excluded.last_contact_success,
                    public_key = COALESCE(excluded.public_key, nodes.public_key)
                    """
            ).execute(
                arguments: [checkIn.id, checkIn.address, checkIn.lastNet, checkIn.freeDisk, checkIn.version, at, at, checkIn.publicKey]
            )
        }
    }

    public func node(id: Data) throws -> NodeRecord? {
        try pool.read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM nodes WHERE id = ?"), arguments: [id]).map(NodeRecord.init(row:)) }
    }

    public func recordContactSuccess(id: Data, at: Date) throws {
        try pool.write { db in
            try db.cachedStatement(sql: "UPDATE nodes SET last_contact_success = ? WHERE id = ?").execute(arguments: [at, id])
        }
    }

    public func eligibleNodes(onlineSince: Date) throws -> [EligibleNode] {
        try pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, address, last_net, free_disk, last_contact_success, audit_count FROM nodes
                        WHERE last_contact_success >= ? AND disqualified_at IS NULL AND suspended_at IS NULL AND exit_initiated_at IS NULL
                        """
                ),
                arguments: [onlineSince]
            ).map {
                EligibleNode(
                    choice: NodeChoice(id: $0["id"], address: $0["address"], lastNet: $0["last_net"]),
                    freeDisk: $0["free_disk"], lastContactSuccess: $0["last_contact_success"], audits: $0["audit_count"]
                )
            }
        }
    }

    public func keepingNodes(onlineSince: Date) throws -> [NodeChoice] {
        try pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, address, last_net FROM nodes WHERE last_contact_success >= ? AND disqualified_at IS NULL"),
                arguments: [onlineSince]
            ).map { NodeChoice(id: $0["id"], address: $0["address"], lastNet: $0["last_net"]) }
        }
    }

    public func nodeCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM nodes")) ?? 0 }
    }
}
