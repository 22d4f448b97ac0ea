import Foundation
import PostgresNIO
import SatelliteDB

/// The PostgreSQL bodies of ``SchemaSteps/all``, in its order, recorded by identifier in
/// `satellite_migrations`: running them again applies only the ones missing.
///
/// The tables are SQLite's, in PostgreSQL's types: `bytea` for ids and blobs, `timestamptz` for
/// times, `bigint` for counts and sizes. Names that are listed in order (bucket names, object
/// keys) compare byte by byte (`COLLATE "C"`) as they do in SQLite, whatever the server's locale.
enum PostgresMigrations {
    static let steps: [(identifier: String, statements: [String])] = [
        (
            "0001-nodes",
            [
                """
                CREATE TABLE nodes (
                    id bytea PRIMARY KEY, address text NOT NULL, last_net text NOT NULL, free_disk bigint NOT NULL DEFAULT 0,
                    version text NOT NULL DEFAULT '', last_contact_success timestamptz, last_contact_failure timestamptz,
                    disqualified_at timestamptz, exit_initiated_at timestamptz, audit_alpha double precision NOT NULL DEFAULT 1,
                    audit_beta double precision NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX nodes_last_net ON nodes (last_net)",
            ]
        ),
        (
            "0002-metainfo-repair-accounting",
            [
                "CREATE TABLE projects (id bytea PRIMARY KEY, name text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now())",
                """
                CREATE TABLE api_keys (
                    id bytea PRIMARY KEY, project_id bytea NOT NULL REFERENCES projects ON DELETE CASCADE, secret_hash bytea NOT NULL UNIQUE,
                    name text NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE buckets (
                    project_id bytea NOT NULL REFERENCES projects ON DELETE CASCADE, name text COLLATE "C" NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project_id, name)
                )
                """,
                """
                CREATE TABLE objects (
                    project_id bytea NOT NULL, bucket text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, version bigint NOT NULL,
                    stream_id bytea NOT NULL UNIQUE, status text NOT NULL CHECK (status IN ('pending', 'committed')),
                    created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz, zombie_deadline timestamptz,
                    PRIMARY KEY (project_id, bucket, key, version),
                    FOREIGN KEY (project_id, bucket) REFERENCES buckets ON DELETE CASCADE
                )
                """,
                "CREATE INDEX objects_expires_at ON objects (expires_at)",
                "CREATE INDEX objects_zombie_deadline ON objects (zombie_deadline)",
                """
                CREATE TABLE segments (
                    stream_id bytea NOT NULL REFERENCES objects (stream_id) ON DELETE CASCADE, position bigint NOT NULL,
                    redundancy_k bigint NOT NULL, redundancy_repair bigint NOT NULL, redundancy_optimal bigint NOT NULL,
                    redundancy_total bigint NOT NULL, encrypted_size bigint NOT NULL, pieces bytea NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(), repaired_at timestamptz, PRIMARY KEY (stream_id, position)
                )
                """,
                """
                CREATE TABLE repair_queue (
                    stream_id bytea NOT NULL, position bigint NOT NULL, segment_health double precision NOT NULL,
                    inserted_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), attempted_at timestamptz,
                    attempts bigint NOT NULL DEFAULT 0, last_error text, PRIMARY KEY (stream_id, position)
                )
                """,
                "CREATE INDEX repair_queue_health ON repair_queue (segment_health, attempted_at)",
                """
                CREATE TABLE bucket_tallies (
                    project_id bytea NOT NULL, bucket text COLLATE "C" NOT NULL, interval_start timestamptz NOT NULL, bytes bigint NOT NULL,
                    segments bigint NOT NULL, objects bigint NOT NULL, PRIMARY KEY (project_id, bucket, interval_start)
                )
                """,
            ]
        ),
        (
            "0003-segment-offers",
            [
                "ALTER TABLE objects ADD COLUMN segment_count bigint",
                """
                CREATE TABLE segment_offers (
                    stream_id bytea NOT NULL REFERENCES objects (stream_id) ON DELETE CASCADE, position bigint NOT NULL, nodes bytea NOT NULL,
                    offered_at timestamptz NOT NULL, PRIMARY KEY (stream_id, position)
                )
                """,
            ]
        ),
        ("0004-node-public-keys", ["ALTER TABLE nodes ADD COLUMN public_key bytea"]),
        (
            "0005-orders",
            [
                "ALTER TABLE segment_offers ADD COLUMN root_piece_id bytea",
                "ALTER TABLE segments ADD COLUMN root_piece_id bytea",
                "ALTER TABLE segments ADD COLUMN redundancy_share_size bigint NOT NULL DEFAULT 256",
                """
                CREATE TABLE settled_orders (
                    serial bytea PRIMARY KEY, node_id bytea NOT NULL, action text NOT NULL, amount bigint NOT NULL,
                    settled_at timestamptz NOT NULL, settleable_until timestamptz NOT NULL
                )
                """,
                "CREATE INDEX settled_orders_settleable_until ON settled_orders (settleable_until)",
                """
                CREATE TABLE bucket_bandwidth (
                    project_id bytea NOT NULL, bucket text COLLATE "C" NOT NULL, action text NOT NULL, interval_start timestamptz NOT NULL,
                    bytes bigint NOT NULL, PRIMARY KEY (project_id, bucket, action, interval_start)
                )
                """,
            ]
        ),
        (
            "0006-reputation",
            [
                "ALTER TABLE nodes ADD COLUMN audit_successes bigint NOT NULL DEFAULT 0",
                "ALTER TABLE nodes ADD COLUMN audit_count bigint NOT NULL DEFAULT 0",
                """
                CREATE TABLE audit_containment (
                    node_id bytea PRIMARY KEY, stream_id bytea NOT NULL, position bigint NOT NULL, piece_number bigint NOT NULL,
                    reverifications bigint NOT NULL, contained_at timestamptz NOT NULL
                )
                """,
            ]
        ),
        (
            "0007-unknown-audits",
            [
                "ALTER TABLE nodes ADD COLUMN unknown_alpha double precision",
                "ALTER TABLE nodes ADD COLUMN unknown_beta double precision",
                "ALTER TABLE nodes ADD COLUMN suspended_at timestamptz",
            ]
        ),
    ]

    /// Any number 64 bits wide, the same in every satellite binary: the advisory lock that keeps
    /// two migrations from running at once.
    private static let lock: Int64 = 0x5341_5445_4C4C_4954

    /// Applies the missing steps, each in a transaction of its own under an advisory lock.
    /// - Returns: the steps applied, in order.
    static func migrate(_ database: PostgreSQLDatabase) async throws -> [String] {
        let logger = database.logger
        if let schema = database.schema {
            _ = try await database.read { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quoted(schema))"), logger: logger)
            }
        }
        _ = try await database.read { connection in
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS satellite_migrations (identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            )
        }
        var applied: [String] = []
        for step in steps {
            let ran = try await database.read { connection in
                try await connection.transaction("BEGIN", logger) {
                    try await connection.query("SELECT pg_advisory_xact_lock(\(lock))", logger: logger)
                    let done = try await connection.query("SELECT 1 FROM satellite_migrations WHERE identifier = \(step.identifier)", logger: logger).collect()
                    if done.isEmpty {
                        for statement in step.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                        try await connection.query("INSERT INTO satellite_migrations (identifier) VALUES (\(step.identifier))", logger: logger)
                    }
                    return done.isEmpty
                }
            }
            if ran { applied.append(step.identifier) }
        }
        return applied
    }

    /// `name` as an SQL identifier.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
