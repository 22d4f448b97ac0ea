import Foundation
import PostgresNIO
import SatelliteDB

extension PostgresConnection {
    /// Every row `query` answers.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// `body` between `begin` (a BEGIN with its isolation) and COMMIT, or ROLLBACK when it throws.
    func transaction<T>(_ begin: PostgresQuery, _ logger: Logger, _ body: () async throws -> T) async throws -> T {
        try await query(begin, logger: logger)
        do {
            let result = try await body()
            try await query("COMMIT", logger: logger)
            return result
        } catch let error as PSQLError where PostgreSQLDatabase.isConnectionLoss(error) {
            // No ROLLBACK on a lost connection: the server ends the transaction with it, and a
            // statement sent on a connection that is closing is never answered (the MultiHost
            // test saw a call wait 10 s for it and answer nothing, not 503).
            throw error
        } catch {
            _ = try? await query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// How many rows a statement with `RETURNING 1` changed.
    func changed(_ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        try await self.query(query, logger: logger).collect().count
    }
}

extension PostgreSQLDatabase {
    /// Ids as a `bytea[]` parameter, for `= ANY(...)`.
    static func byteas(_ ids: some Collection<Data>) -> [ByteBuffer] {
        ids.map { ByteBuffer(bytes: $0) }
    }
}

extension PostgreSQLDatabase: OverlayDB {
    private static let nodeColumns =
        "id, address, last_net, free_disk, version, last_contact_success, last_contact_failure, disqualified_at, exit_initiated_at, created_at, public_key"

    public func recordCheckIn(_ checkIn: NodeCheckIn, at: Date) async throws {
        try await write(.oneStatement) { connection in
            _ = try await connection.query(
                """
                INSERT INTO nodes (id, address, last_net, free_disk, version, last_contact_success, created_at, public_key)
                VALUES (\(checkIn.id), \(checkIn.address), \(checkIn.lastNet), \(checkIn.freeDisk), \(checkIn.version), \(at), \(at), \(checkIn.publicKey))
                ON CONFLICT (id) DO UPDATE SET
                address = excluded.address, last_net = excluded.last_net, free_disk = excluded.free_disk,
                version = excluded.version, last_contact_success = excluded.last_contact_success,
                public_key = COALESCE(excluded.public_key, nodes.public_key)
                """,
                logger: self.logger
            )
        }
    }

    public func node(id: Data) async throws -> NodeRecord? {
        try await read { connection in
            try await connection.rows("SELECT \(unescaped: Self.nodeColumns) FROM nodes WHERE id = \(id)", self.logger).first.map { row in
                let (id, address, lastNet, freeDisk, version, success, failure, disqualified, exiting, created, key) = try row.decode(
                    (Data, String, String, Int64, String, Date?, Date?, Date?, Date?, Date, Data?).self
                )
                return NodeRecord(
                    id: id, address: address, lastNet: lastNet, freeDisk: freeDisk, version: version, lastContactSuccess: success,
                    lastContactFailure: failure, disqualifiedAt: disqualified, exitInitiatedAt: exiting, createdAt: created, publicKey: key
                )
            }
        }
    }

    public func nodeCount() async throws -> Int {
        try await read { connection in
            try await connection.rows("SELECT COUNT(*) FROM nodes", self.logger).first?.decode(Int.self) ?? 0
        }
    }

    public func recordContactSuccess(id: Data, at: Date) async throws {
        try await write { connection in
            _ = try await connection.query("UPDATE nodes SET last_contact_success = \(at) WHERE id = \(id)", logger: self.logger)
        }
    }

    public func eligibleNodes(onlineSince: Date) async throws -> [EligibleNode] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT id, address, last_net, free_disk, last_contact_success, audit_count FROM nodes
                WHERE last_contact_success >= \(onlineSince) AND disqualified_at IS NULL AND suspended_at IS NULL AND exit_initiated_at IS NULL
                """,
                self.logger
            ).map { row in
                let (id, address, lastNet, freeDisk, success, audits) = try row.decode((Data, String, String, Int64, Date, Int).self)
                return EligibleNode(choice: NodeChoice(id: id, address: address, lastNet: lastNet), freeDisk: freeDisk, lastContactSuccess: success, audits: audits)
            }
        }
    }

    public func keepingNodes(onlineSince: Date) async throws -> [NodeChoice] {
        try await read { connection in
            try await connection.rows(
                "SELECT id, address, last_net FROM nodes WHERE last_contact_success >= \(onlineSince) AND disqualified_at IS NULL", self.logger
            ).map { row in
                let (id, address, lastNet) = try row.decode((Data, String, String).self)
                return NodeChoice(id: id, address: address, lastNet: lastNet)
            }
        }
    }

}
