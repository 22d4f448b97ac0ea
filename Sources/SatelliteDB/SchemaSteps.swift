/// The schema's history: one list of steps, in order, that every backend applies under the same
/// names, so that a database's version means the same on SQLite and on PostgreSQL.
///
/// Append new steps at the end, with a body in each backend; never edit or reorder one that has
/// shipped. Each backend checks at start-up that it has a body for exactly these steps.
public enum SchemaSteps {
    public static let all = [
        "0001-nodes",
        "0002-metainfo-repair-accounting",
        "0003-segment-offers",
        "0004-node-public-keys",
        "0005-orders",
        "0006-reputation",
        "0007-unknown-audits",
    ]
}
