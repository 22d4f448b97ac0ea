import GRDB

/// The schema, as an ordered list of migrations. Each is code, runs once, inside a transaction,
/// and is recorded by its identifier in GRDB's `grdb_migrations` table (the schema version
/// table): running them again applies only the ones missing.
///
/// Append new migrations at the end; never edit or reorder one that has shipped.
enum Migrations {
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
        return migrator
    }

    /// The identifiers this binary knows, in order.
    static var known: [String] { migrator.migrations }
}
