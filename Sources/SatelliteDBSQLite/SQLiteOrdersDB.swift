import Foundation
import GRDB
import SatelliteDB

extension SQLiteDatabase: OrdersDB {
    public func publicKey(ofNode node: Data) async throws -> Data? {
        try await readOneStatement { db in try Data.fetchOne(db.cachedStatement(sql: "SELECT public_key FROM nodes WHERE id = ?"), arguments: [node]) }
    }

    public func settle(_ orders: [SettledOrder], at: Date) async throws -> [Bool] {
        let hour = Date(timeIntervalSince1970: (at.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        return try await write { db in
            let claim = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO settled_orders (serial, node_id, action, amount, settled_at, settleable_until) VALUES (?, ?, ?, ?, ?, ?)"
            )
            let add = try db.cachedStatement(
                sql: """
                    INSERT INTO bucket_bandwidth (project_id, bucket, action, interval_start, bytes) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, bucket, action, interval_start) DO UPDATE SET bytes = bytes + excluded.bytes
                    """
            )
            return try orders.map { order in
                try claim.execute(arguments: [order.serial, order.node, order.action, order.amount, at, order.settleableUntil])
                guard db.changesCount == 1 else { return false }
                try add.execute(arguments: [order.project, order.bucket, order.action, hour, order.amount])
                return true
            }
        }
    }

    public func bucketBandwidth(project: Data) async throws -> [BucketBandwidth] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT bucket, action, interval_start, bytes FROM bucket_bandwidth WHERE project_id = ? ORDER BY bucket, action, interval_start"
                ),
                arguments: [project]
            ).map { BucketBandwidth(project: project, bucket: $0[0], action: $0[1], intervalStart: $0[2], bytes: $0[3]) }
        }
    }

    public func deleteSettledSerials(before now: Date, limit: Int) async throws -> Int {
        try await write { db in
            try db.cachedStatement(
                sql: "DELETE FROM settled_orders WHERE rowid IN (SELECT rowid FROM settled_orders WHERE settleable_until < ? LIMIT ?)"
            ).execute(arguments: [now, limit])
            return db.changesCount
        }
    }
}
