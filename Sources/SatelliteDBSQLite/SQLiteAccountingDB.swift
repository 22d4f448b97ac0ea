import Foundation
import GRDB
import SatelliteDB

extension SQLiteDatabase: AccountingDB {
    public func tallyBuckets(at: Date) async throws -> [BucketTally] {
        try await write { db in
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

    public func tallies(at: Date) async throws -> [BucketTally] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM bucket_tallies WHERE interval_start = ? ORDER BY project_id, bucket"), arguments: [at]).map {
                BucketTally(project: $0["project_id"], bucket: $0["bucket"], bytes: $0["bytes"], segments: $0["segments"], objects: $0["objects"])
            }
        }
    }

    public func deleteExpiredObjects(before now: Date, limit: Int) async throws -> Int {
        try await write { db in
            try db.cachedStatement(
                sql: "DELETE FROM objects WHERE rowid IN (SELECT rowid FROM objects WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?)"
            ).execute(
                arguments: [now, limit]
            )
            return db.changesCount
        }
    }

    public func deleteZombieObjects(before now: Date, limit: Int) async throws -> Int {
        try await write { db in
            try db.cachedStatement(
                sql: "DELETE FROM objects WHERE rowid IN (SELECT rowid FROM objects WHERE status = 'pending' AND zombie_deadline < ? LIMIT ?)"
            ).execute(
                arguments: [now, limit]
            )
            return db.changesCount
        }
    }
}
