import Foundation
import PostgresNIO
import SatelliteDB

extension PostgreSQLDatabase: AccountingDB {
    public func tallyBuckets(at: Date) async throws -> [BucketTally] {
        try await write { connection in
            let tallies = try await connection.rows(
                """
                SELECT b.project_id, b.name,
                COALESCE(SUM(s.encrypted_size), 0)::bigint AS bytes, COUNT(s.position) AS segments,
                COUNT(DISTINCT o.stream_id) AS objects
                FROM buckets b
                LEFT JOIN objects o ON o.project_id = b.project_id AND o.bucket = b.name AND o.status = 'committed'
                LEFT JOIN segments s ON s.stream_id = o.stream_id
                GROUP BY b.project_id, b.name ORDER BY b.project_id, b.name
                """,
                self.logger
            ).map { row in
                let (project, bucket, bytes, segments, objects) = try row.decode((Data, String, Int64, Int, Int).self)
                return BucketTally(project: project, bucket: bucket, bytes: bytes, segments: segments, objects: objects)
            }
            for tally in tallies {
                try await connection.query(
                    """
                    INSERT INTO bucket_tallies (project_id, bucket, interval_start, bytes, segments, objects)
                    VALUES (\(tally.project), \(tally.bucket), \(at), \(tally.bytes), \(tally.segments), \(tally.objects))
                    ON CONFLICT (project_id, bucket, interval_start) DO UPDATE SET
                    bytes = excluded.bytes, segments = excluded.segments, objects = excluded.objects
                    """,
                    logger: self.logger
                )
            }
            return tallies
        }
    }

    public func tallies(at: Date) async throws -> [BucketTally] {
        try await read { connection in
            try await connection.rows(
                "SELECT project_id, bucket, bytes, segments, objects FROM bucket_tallies WHERE interval_start = \(at) ORDER BY project_id, bucket", self.logger
            ).map { row in
                let (project, bucket, bytes, segments, objects) = try row.decode((Data, String, Int64, Int, Int).self)
                return BucketTally(project: project, bucket: bucket, bytes: bytes, segments: segments, objects: objects)
            }
        }
    }

    public func deleteExpiredObjects(before now: Date, limit: Int) async throws -> Int {
        try await write { connection in
            try await connection.changed(
                """
                DELETE FROM objects WHERE stream_id IN
                (SELECT stream_id FROM objects WHERE expires_at IS NOT NULL AND expires_at < \(now) LIMIT \(limit)) RETURNING 1
                """,
                self.logger
            )
        }
    }

    public func deleteZombieObjects(before now: Date, limit: Int) async throws -> Int {
        try await write { connection in
            try await connection.changed(
                """
                DELETE FROM objects WHERE stream_id IN
                (SELECT stream_id FROM objects WHERE status = 'pending' AND zombie_deadline < \(now) LIMIT \(limit)) RETURNING 1
                """,
                self.logger
            )
        }
    }
}
