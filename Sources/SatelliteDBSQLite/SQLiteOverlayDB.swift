import Foundation
import GRDB
import SatelliteDB

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

extension SQLiteDatabase: OverlayDB {
    public func recordCheckIn(_ checkIn: NodeCheckIn, at: Date) async throws {
        try await write { db in
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

    public func node(id: Data) async throws -> NodeRecord? {
        try await read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM nodes WHERE id = ?"), arguments: [id]).map(NodeRecord.init(row:)) }
    }

    public func recordContactSuccess(id: Data, at: Date) async throws {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE nodes SET last_contact_success = ? WHERE id = ?").execute(arguments: [at, id])
        }
    }

    public func eligibleNodes(onlineSince: Date) async throws -> [EligibleNode] {
        try await read { db in
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

    public func keepingNodes(onlineSince: Date) async throws -> [NodeChoice] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, address, last_net FROM nodes WHERE last_contact_success >= ? AND disqualified_at IS NULL"),
                arguments: [onlineSince]
            ).map { NodeChoice(id: $0["id"], address: $0["address"], lastNet: $0["last_net"]) }
        }
    }

    public func nodeCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM nodes")) ?? 0 }
    }
}
