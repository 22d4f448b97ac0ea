import GRDB

/// The SQLite bodies of ``SchemaSteps/all``, in its order. Each is code, runs once, inside a
/// transaction, and is recorded by its identifier in GRDB's `grdb_migrations` table (the schema
/// version table): running them again applies only the ones missing.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-nodes") { db in
            // The overlay's view of storage nodes (the satellite-work issue reads and writes it).
            try db.create(table: "nodes") { table in
                table.column("id", .blob).primaryKey()
                table.column("address", .text).notNull()
                table.column("last_net", .text).notNull()
                table.column("free_disk", .integer).notNull().defaults(to: 0)
                table.column("version", .text).notNull().defaults(to: "")
                table.column("last_contact_success", .datetime)
                table.column("last_contact_failure", .datetime)
                table.column("disqualified_at", .datetime)
                table.column("exit_initiated_at", .datetime)
                table.column("audit_alpha", .double).notNull().defaults(to: 1)
                table.column("audit_beta", .double).notNull().defaults(to: 0)
                table.column("created_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
            }
            try db.create(index: "nodes_last_net", on: "nodes", columns: ["last_net"])
        }
        migrator.registerMigration("0002-metainfo-repair-accounting") { db in
            try db.create(table: "projects") { table in
                table.column("id", .blob).primaryKey()
                table.column("name", .text).notNull().unique()
                table.column("created_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
            }
            // Only a hash of each key is kept; the key itself is shown once, when it is made.
            try db.create(table: "api_keys") { table in
                table.column("id", .blob).primaryKey()
                table.column("project_id", .blob).notNull().references("projects", onDelete: .cascade)
                table.column("secret_hash", .blob).notNull().unique()
                table.column("name", .text).notNull().defaults(to: "")
                table.column("created_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
            }
            try db.create(table: "buckets") { table in
                table.column("project_id", .blob).notNull().references("projects", onDelete: .cascade)
                table.column("name", .text).notNull()
                table.column("created_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
                table.primaryKey(["project_id", "name"])
            }
            try db.create(table: "objects") { table in
                table.column("project_id", .blob).notNull()
                table.column("bucket", .text).notNull()
                table.column("key", .text).notNull()
                table.column("version", .integer).notNull()
                table.column("stream_id", .blob).notNull().unique()
                table.column("status", .text).notNull().check { ["pending", "committed"].contains($0) }
                table.column("created_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
                table.column("expires_at", .datetime)
                table.column("zombie_deadline", .datetime)
                table.primaryKey(["project_id", "bucket", "key", "version"])
                table.foreignKey(["project_id", "bucket"], references: "buckets", onDelete: .cascade)
            }
            try db.create(index: "objects_expires_at", on: "objects", columns: ["expires_at"])
            try db.create(index: "objects_zombie_deadline", on: "objects", columns: ["zombie_deadline"])
            try db.create(table: "segments") { table in
                table.column("stream_id", .blob).notNull().references("objects", column: "stream_id", onDelete: .cascade)
                table.column("position", .integer).notNull()
                table.column("redundancy_k", .integer).notNull()
                table.column("redundancy_repair", .integer).notNull()
                table.column("redundancy_optimal", .integer).notNull()
                table.column("redundancy_total", .integer).notNull()
                table.column("encrypted_size", .integer).notNull()
                // (piece number, node id) pairs, as a blob of 2-byte numbers and 32-byte ids.
                table.column("pieces", .blob).notNull()
                table.column("created_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
                table.column("repaired_at", .datetime)
                table.primaryKey(["stream_id", "position"])
            }
            try db.create(table: "repair_queue") { table in
                table.column("stream_id", .blob).notNull()
                table.column("position", .integer).notNull()
                table.column("segment_health", .double).notNull()
                table.column("inserted_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
                table.column("updated_at", .datetime).notNull().defaults(sql: "CURRENT_TIMESTAMP")
                table.column("attempted_at", .datetime)
                table.column("attempts", .integer).notNull().defaults(to: 0)
                table.column("last_error", .text)
                table.primaryKey(["stream_id", "position"])
            }
            try db.create(index: "repair_queue_health", on: "repair_queue", columns: ["segment_health", "attempted_at"])
            try db.create(table: "bucket_tallies") { table in
                table.column("project_id", .blob).notNull()
                table.column("bucket", .text).notNull()
                table.column("interval_start", .datetime).notNull()
                table.column("bytes", .integer).notNull()
                table.column("segments", .integer).notNull()
                table.column("objects", .integer).notNull()
                table.primaryKey(["project_id", "bucket", "interval_start"])
            }
        }
        migrator.registerMigration("0003-segment-offers") { db in
            // How many segments an upload declared (NULL for uploads begun before this
            // migration, whose commits are not checked against it).
            try db.alter(table: "objects") { table in
                table.add(column: "segment_count", .integer)
            }
            // The nodes last offered for each position of a pending upload: a committed segment's
            // pieces may only be on them. Gone with the object, and at its commit.
            try db.create(table: "segment_offers") { table in
                table.column("stream_id", .blob).notNull().references("objects", column: "stream_id", onDelete: .cascade)
                table.column("position", .integer).notNull()
                // The offered node ids, 32 bytes each.
                table.column("nodes", .blob).notNull()
                table.column("offered_at", .datetime).notNull()
                table.primaryKey(["stream_id", "position"])
            }
        }
        migrator.registerMigration("0004-node-public-keys") { db in
            // The Ed25519 key each node's id is the hash of, as its signed check-in showed it: the
            // key its signed piece hashes are checked with. NULL for nodes that checked in before.
            try db.alter(table: "nodes") { table in
                table.add(column: "public_key", .blob)
            }
        }
        migrator.registerMigration("0005-orders") { db in
            // Each segment's root piece id, from which every node's piece id is derived (NULL for
            // segments stored before order limits), and the erasure share size it was coded with.
            try db.alter(table: "segment_offers") { table in
                table.add(column: "root_piece_id", .blob)
            }
            try db.alter(table: "segments") { table in
                table.add(column: "root_piece_id", .blob)
                table.add(column: "redundancy_share_size", .integer).notNull().defaults(to: 256)
            }
            // Every serial a node settled, so that none is paid twice; rows go once their limit
            // can no longer be settled.
            try db.create(table: "settled_orders") { table in
                table.column("serial", .blob).primaryKey()
                table.column("node_id", .blob).notNull()
                table.column("action", .text).notNull()
                table.column("amount", .integer).notNull()
                table.column("settled_at", .datetime).notNull()
                table.column("settleable_until", .datetime).notNull()
            }
            try db.create(index: "settled_orders_settleable_until", on: "settled_orders", columns: ["settleable_until"])
            // Settled bandwidth a bucket used, by action and hour.
            try db.create(table: "bucket_bandwidth") { table in
                table.column("project_id", .blob).notNull()
                table.column("bucket", .text).notNull()
                table.column("action", .text).notNull()
                table.column("interval_start", .datetime).notNull()
                table.column("bytes", .integer).notNull()
                table.primaryKey(["project_id", "bucket", "action", "interval_start"])
            }
        }
        migrator.registerMigration("0006-reputation") { db in
            // How many audits a node had and passed. Before its first, its `audit_alpha` and
            // `audit_beta` (columns of 0001) are not read: it starts from the configured values.
            try db.alter(table: "nodes") { table in
                table.add(column: "audit_successes", .integer).notNull().defaults(to: 0)
                table.add(column: "audit_count", .integer).notNull().defaults(to: 0)
            }
            // Nodes that did not send an audited share in time, and the piece asked for again.
            try db.create(table: "audit_containment") { table in
                table.column("node_id", .blob).primaryKey()
                table.column("stream_id", .blob).notNull()
                table.column("position", .integer).notNull()
                table.column("piece_number", .integer).notNull()
                table.column("reverifications", .integer).notNull()
                table.column("contained_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("0007-unknown-audits") { db in
            // Storj's second scale, for audits that ended in an error neither offline nor a
            // failure: NULL until a success or an unknown error first moves it; a node whose
            // score falls to the threshold is suspended (offered for nothing) until it recovers.
            try db.alter(table: "nodes") { table in
                table.add(column: "unknown_alpha", .double)
                table.add(column: "unknown_beta", .double)
                table.add(column: "suspended_at", .datetime)
            }
        }
        return migrator
    }

    /// The steps this backend has bodies for, in order: ``SchemaSteps/all`` (a test holds them
    /// equal).
    static var known: [String] { migrator.migrations }
}
