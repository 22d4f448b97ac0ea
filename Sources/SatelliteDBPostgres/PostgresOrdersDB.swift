import Foundation
import PostgresNIO
import SatelliteDB

extension PostgreSQLDatabase: OrdersDB {
    public func publicKey(ofNode node: Data) async throws -> Data? {
        try await read { connection in
            try await connection.rows("SELECT public_key FROM nodes WHERE id = \(node)", self.logger).first?.decode(Data?.self) ?? nil
        }
    }

    public func settle(_ orders: [SettledOrder], at: Date) async throws -> [Bool] {
        let hour = Date(timeIntervalSince1970: (at.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        return try await write { connection in
            var fresh: [Bool] = []
            for order in orders {
                let claimed = try await connection.changed(
                    """
                    INSERT INTO settled_orders (serial, node_id, action, amount, settled_at, settleable_until)
                    VALUES (\(order.serial), \(order.node), \(order.action), \(order.amount), \(at), \(order.settleableUntil))
                    ON CONFLICT DO NOTHING RETURNING 1
                    """,
                    self.logger
                ) == 1
                if claimed {
                    try await connection.query(
                        """
                        INSERT INTO bucket_bandwidth (project_id, bucket, action, interval_start, bytes)
                        VALUES (\(order.project), \(order.bucket), \(order.action), \(hour), \(order.amount))
                        ON CONFLICT (project_id, bucket, action, interval_start) DO UPDATE SET bytes = bucket_bandwidth.bytes + excluded.bytes
                        """,
                        logger: self.logger
                    )
                }
                fresh.append(claimed)
            }
            return fresh
        }
    }

    public func bucketBandwidth(project: Data) async throws -> [BucketBandwidth] {
        try await read { connection in
            try await connection.rows(
                "SELECT bucket, action, interval_start, bytes FROM bucket_bandwidth WHERE project_id = \(project) ORDER BY bucket, action, interval_start",
                self.logger
            ).map { row in
                let (bucket, action, start, bytes) = try row.decode((String, String, Date, Int64).self)
                return BucketBandwidth(project: project, bucket: bucket, action: action, intervalStart: start, bytes: bytes)
            }
        }
    }

    public func deleteSettledSerials(before now: Date, limit: Int) async throws -> Int {
        try await write { connection in
            try await connection.changed(
                "DELETE FROM settled_orders WHERE serial IN (SELECT serial FROM settled_orders WHERE settleable_until < \(now) LIMIT \(limit)) RETURNING 1",
                self.logger
            )
        }
    }
}
