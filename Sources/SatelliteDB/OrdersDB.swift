import Foundation
import GRDB

/// One order a node settled, as the satellite checked it.
public struct SettledOrder: Sendable, Equatable {
    public let serial: Data
    public let node: Data
    public let project: Data
    public let bucket: String
    /// The limit's action, as `PUT`.
    public let action: String
    public let amount: Int64
    /// After this the serial's row may go: no later settlement of it is accepted anyway.
    public let settleableUntil: Date

    public init(serial: Data, node: Data, project: Data, bucket: String, action: String, amount: Int64, settleableUntil: Date) {
        self.serial = serial
        self.node = node
        self.project = project
        self.bucket = bucket
        self.action = action
        self.amount = amount
        self.settleableUntil = settleableUntil
    }
}

/// One bucket's settled bandwidth for one action in one hour.
public struct BucketBandwidth: Sendable, Equatable {
    public let project: Data
    public let bucket: String
    public let action: String
    public let intervalStart: Date
    public let bytes: Int64
}

/// Settled orders and the bandwidth they add to buckets.
public protocol OrdersDB: Sendable {
    /// The public key a node's signed check-in showed, or nil for a node unknown or without one.
    func publicKey(ofNode node: Data) throws -> Data?
    /// Records each order whose serial was not settled before, adding its amount to its bucket's
    /// bandwidth in the hour of `at`, in one transaction; answers, for each, whether it was new.
    func settle(_ orders: [SettledOrder], at: Date) throws -> [Bool]
    /// Every bucket's settled bandwidth, by hour.
    func bucketBandwidth(project: Data) throws -> [BucketBandwidth]
    /// Forgets up to `limit` settled serials that can no longer be settled at `now`; returns how many.
    func deleteSettledSerials(before now: Date, limit: Int) throws -> Int
}

extension SatelliteDatabase: OrdersDB {
    public func publicKey(ofNode node: Data) throws -> Data? {
        try readOneStatement { db in try Data.fetchOne(db.cachedStatement(sql: "SELECT public_key FROM nodes WHERE id = ?"), arguments: [node]) }
    }

    public func settle(_ orders: [SettledOrder], at: Date) throws -> [Bool] {
        let hour = Date(timeIntervalSince1970: (at.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        return try pool.write { db in
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

    public func bucketBandwidth(project: Data) throws -> [BucketBandwidth] {
        try pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT bucket, action, interval_start, bytes FROM bucket_bandwidth WHERE project_id = ? ORDER BY bucket, action, interval_start"
                ),
                arguments: [project]
            ).map { BucketBandwidth(project: project, bucket: $0[0], action: $0[1], intervalStart: $0[2], bytes: $0[3]) }
        }
    }

    public func deleteSettledSerials(before now: Date, limit: Int) throws -> Int {
        try pool.write { db in
            try db.cachedStatement(
                sql: "DELETE FROM settled_orders WHERE rowid IN (SELECT rowid FROM settled_orders WHERE settleable_until < ? LIMIT ?)"
            ).execute(arguments: [now, limit])
            return db.changesCount
        }
    }
}
