import SatelliteDBSQLite
import TestPlanet

extension TestPlanet {
    /// The planet's database as the SQLite file it is, for the tests of SQLite's own behaviour
    /// (locks, read-only connections, integrity checks).
    var sqlite: SQLiteDatabase {
        // A planet's database is SQLite unless a test asked for another backend.
        database as! SQLiteDatabase
    }
}
