import SatelliteSettings
import Testing

/// `database.url`: what it accepts, and what it refuses without repeating a password.
struct DatabaseURLTests {
    @Test func anEmptyURLIsTheDataDirectorysFile() throws {
        #expect(try DatabaseURL(parsing: "") == .sqlite(path: ""))
        var config = DatabaseConfig()
        #expect(config.sqlitePath(dataDir: "/var/lib/satellite") == "/var/lib/satellite/satellite.db")
        config.url = try DatabaseURL(parsing: "sqlite:///srv/satellite.db")
        #expect(config.sqlitePath(dataDir: "/var/lib/satellite") == "/srv/satellite.db")
        #expect(config.location(dataDir: "/x") == "/srv/satellite.db")
    }

    @Test func postgresURLsWithTheirDefaults() throws {
        #expect(
            try DatabaseURL(parsing: "postgres://satellite@db.example/sat") == .postgres(.init(user: "satellite", host: "db.example", port: 5432, database: "sat", tls: .prefer))
        )
        #expect(
            try DatabaseURL(parsing: "postgresql://u@10.0.0.2:6432/sat?sslmode=disable")
                == .postgres(.init(user: "u", host: "10.0.0.2", port: 6432, database: "sat", tls: .disable))
        )
        let v6 = try DatabaseURL(parsing: "postgres://u@[::1]:5433/sat?sslmode=verify-full")
        #expect(v6 == .postgres(.init(user: "u", host: "::1", port: 5433, database: "sat", tls: .verifyFull)))
        if case .postgres(let address) = v6 { #expect(address.description == "postgres://u@[::1]:5433/sat?sslmode=verify-full") }
        let schema = try DatabaseURL(parsing: "postgres://u@h/sat?schema=satellite_eu&sslmode=require")
        #expect(schema == .postgres(.init(user: "u", host: "h", database: "sat", tls: .require, schema: "satellite_eu")))
    }

    @Test(arguments: [
        ("sqlite://relative.db", "absolute path"),
        ("sqlite:///x.db?mode=ro", "no query"),
        ("mysql://root@h/db", "unknown scheme"),
        ("satellite.db", "not a URL"),
        ("postgres://h/db", "names its user"),
        ("postgres://u@h", "names a database"),
        ("postgres://u@h:0/db", "port must be"),
        ("postgres://u@h:99999/db", "port must be"),
        ("postgres://u@h/db?sslmode=sometimes", "sslmode must be"),
        ("postgres://u@h/db?application_name=x", "unknown parameter"),
        ("postgres://u@/db", "names its host"),
        ("postgres://u@h/db?schema=Public", "schema must be"),
        ("postgres://u@h/db?schema=1st", "schema must be"),
    ])
    func refusals(url: String, reason: String) {
        #expect(throws: DatabaseURL.Refusal.self) { try DatabaseURL(parsing: url) }
        do {
            _ = try DatabaseURL(parsing: url)
        } catch {
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func aPasswordIsRefusedAndNeverRepeated() {
        do {
            _ = try DatabaseURL(parsing: "postgres://satellite:s3cret@db:5432/sat")
            Issue.record("a URL with a password was accepted")
        } catch {
            #expect(error.reason.contains("password"))
            #expect(error.shown == "postgres://satellite:***@db:5432/sat")
            #expect(!error.description.contains("s3cret"))
        }
        #expect(DatabaseURL.redacted("postgres://a:b:c@h/db?x=y") == "postgres://a:***@h/db?x=y")
        #expect(DatabaseURL.redacted("postgres://a@h/db") == "postgres://a@h/db")
    }
}
