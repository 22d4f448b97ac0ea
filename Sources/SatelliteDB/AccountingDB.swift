import Foundation
import GRDB

/// One bucket's totals at one moment.
public struct BucketTally: Sendable, Equatable {
    public let project: Data
    public let bucket: String
    public let bytes: Int64
    public let segments: Int
    public let objects: Int
}

/// Bucket tallies, and the deletion of objects whose time is up.
public protocol AccountingDB: Sendable {
    /// Totals every bucket's committed objects, segments and bytes and records them at `at`, in
    /// one transaction, so a tally never mixes two moments.
    func tallyBuckets(at: Date) throws -> [BucketTally]
    func tallies(at: Date) throws -> [BucketTally]
    /// Deletes up to `limit` objects whose `expires_at` is before `now`; returns how many.
    func deleteExpiredObjects(before now: Date, limit: Int) throws -> Int
    /// Deletes up to `limit` pending objects whose zombie deadline is before `now`; returns how many.
    func deleteZombieObjects(before now: Date, limit: Int) throws -> Int
}

extension SatelliteDatabase: AccountingDB {
    public func tallyBuckets(at: Date) throws -> [BucketTally] {
        try pool.write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT b.project_id, b.name,
                        COALESCE(SUM(s.encrypted_size), 0) AS bytes, COUNT(s.position) AS segments,
                        COUNT(DISTINCT o.stream_id) AS objects
                        FROM buckets b
                        LEFT JOIN objects o ON o.project_id = b.project_id AND o.bucket = b.name AND o.status = 'committed'
                        LEFT JOIN segments s ON s.stream_id = o.stream_id
                        GROUP BY b.project_id, b.name ORDER BY b.project_id, b.name
                        """
                )
            )
            var tallies: [BucketTally] = []
            for row in rows {
                let tally = BucketTally(project: row["project_id"], bucket: row["name"], bytes: row["bytes"], segments: row["segments"], objects: row["objects"])
                try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO bucket_tallies (project_id, bucket, interval_start, bytes, segments, objects) VALUES (?, ?, ?, ?, ?, ?)"
                ).execute(
                    arguments: [tally.project, tally.bucket, at, tally.bytes, tally.segments, tally.objects]
                )
                tallies.append(tally)
            }
            return tallies
        }
    }

    public func tallies(at: Date) throws -> [BucketTally] {
        try pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM bucket_tallies WHERE interval_start = ? ORDER BY project_id, bucket"), arguments: [at]).map {
                BucketTally(project: $0["project_id"], bucket: $0["bucket"], bytes: $0["bytes"], segments: $0["segments"], objects: $0["objects"])
            }
        }
    }

    public func deleteExpiredObjects(before now: Date, limit: Int) throws -> Int {
        try pool.write { db in
            try db.cachedStatement(
                sql: "DELETE FROM objects WHERE rowid IN (SELECT rowid FROM objects WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?)"
            ).execute(
                arguments: [now, limit]
            )
            return db.changesCount
        }
    }

    public func deleteZombieObjects(before now: Date, limit: Int) throws -> Int {
        try pool.write { db in
            try db.cachedStatement(
                sql: "DELETE FROM objects WHERE rowid IN (SELECT rowid FROM objects WHERE status = 'pending' AND zombie_deadline < ? LIMIT ?)"
            ).execute(
                arguments: [now, limit]
            )
            return db.changesCount
        }
    }
}
