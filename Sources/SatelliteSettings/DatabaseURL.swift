/// Where the satellite's database is, as `database.url` names it.
///
/// - `sqlite:///absolute/path`: one SQLite file (the embedded default; an empty URL is the data
///   directory's `satellite.db`);
/// - `postgres://user@host:port/database?sslmode=...&schema=...` (or `postgresql://`): a
///   PostgreSQL server, and optionally the schema the tables are in (several satellites, or
///   tests, can share one database). The URL never carries a password: it comes from
///   `database.password-file` or `PGPASSWORD`.
public enum DatabaseURL: Sendable, Equatable {
    /// An SQLite file; an empty path is the data directory's `satellite.db`.
    case sqlite(path: String)
    case postgres(PostgresAddress)

    /// A PostgreSQL server and database, without a password.
    public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
        public enum TLS: String, Sendable, CaseIterable {
            case disable, prefer, require
            case verifyFull = "verify-full"
        }

        public var user: String
        /// A host name or address; an IPv6 address without its brackets.
        public var host: String
        public var port: Int
        public var database: String
        public var tls: TLS
        /// The schema the tables are in; nil is the server's default (`public`).
        public var schema: String?

        public init(user: String, host: String, port: Int = 5432, database: String, tls: TLS = .prefer, schema: String? = nil) {
            self.user = user
            self.host = host
            self.port = port
            self.database = database
            self.tls = tls
            self.schema = schema
        }

        /// The URL again; it has no secret to hide.
        public var description: String {
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)" + (schema.map { "&schema=\($0)" } ?? "")
        }
    }

    /// What the key accepts, in an error's words.
    public static let expected = "sqlite:///absolute/path, or postgres://user@host:port/database?sslmode=disable|prefer|require|verify-full&schema=name (no password in the URL: use database.password-file or PGPASSWORD)"

    /// Why a URL is refused.
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let reason: String
        /// The URL as written, with any password in it replaced by `***`: fit to show.
        public let shown: String

        public var description: String { "\(reason): \(shown)" }
    }

    /// Reads `text`.
    /// - Throws: ``Refusal`` saying what is wrong, with the URL fit to show (a password in it
    ///   is never repeated).
    public init(parsing text: String) throws(Refusal) {
        if text.isEmpty {
            self = .sqlite(path: "")
            return
        }
        let shown = Self.redacted(text)
        func refuse(_ reason: String) -> Refusal { Refusal(reason: reason, shown: shown) }
        guard let schemeEnd = Self.schemeSeparator(in: text) else { throw refuse("not a URL (no scheme://)") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        let rest = String(text[schemeEnd.upperBound...])
        switch scheme {
        case "sqlite":
            guard rest.hasPrefix("/"), rest.count > 1 else { throw refuse("an SQLite URL names an absolute path, as sqlite:///var/lib/satellite/satellite.db") }
            guard !rest.contains("?"), !rest.contains("#") else { throw refuse("an SQLite URL takes no query or fragment") }
            self = .sqlite(path: rest)
        case "postgres", "postgresql":
            self = .postgres(try Self.postgres(rest, refuse: refuse))
        default:
            throw refuse("unknown scheme \"\(scheme)\" (sqlite or postgres)")
        }
    }

    private static func postgres(_ rest: String, refuse: (String) -> Refusal) throws(Refusal) -> PostgresAddress {
        let (beforeQuery, query) = split(rest, at: "?")
        guard let slash = beforeQuery.firstIndex(of: "/") else { throw refuse("a PostgreSQL URL names a database, as postgres://satellite@db.example:5432/satellite") }
        let authority = String(beforeQuery[..<slash])
        let database = String(beforeQuery[beforeQuery.index(after: slash)...])
        guard !database.isEmpty, !database.contains("/") else { throw refuse("a PostgreSQL URL names one database after the host") }
        guard let at = authority.lastIndex(of: "@") else { throw refuse("a PostgreSQL URL names its user, as postgres://satellite@host/database") }
        let userInfo = String(authority[..<at])
        guard !userInfo.contains(":") else {
            throw refuse("the URL carries a password; put it in the file database.password-file names, or in PGPASSWORD")
        }
        guard !userInfo.isEmpty else { throw refuse("a PostgreSQL URL names its user before @") }
        let hostPort = String(authority[authority.index(after: at)...])
        var host: String
        var portText: String?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw refuse("an IPv6 host is closed by ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("a port follows the host after :") }
                portText = String(after.dropFirst())
            }
        } else {
            let (name, port) = split(hostPort, at: ":")
            host = name
            portText = port
        }
        guard !host.isEmpty else { throw refuse("a PostgreSQL URL names its host") }
        var port = 5432
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else { throw refuse("the port must be from 1 to 65535") }
            port = number
        }
        var tls = PostgresAddress.TLS.prefer
        var schema: String?
        for pair in (query ?? "").split(separator: "&") {
            let (name, value) = split(String(pair), at: "=")
            switch name {
            case "sslmode":
                guard let mode = value.flatMap(PostgresAddress.TLS.init(rawValue:)) else {
                    throw refuse("sslmode must be one of \(PostgresAddress.TLS.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
            case "schema":
                guard let value, let first = value.first, first.isASCII, first.isLetter || first == "_", value.count <= 63,
                    value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
                else { throw refuse("schema must be 1 to 63 lower-case letters, digits or _, not starting with a digit") }
                schema = value
            default:
                throw refuse("unknown parameter \"\(name)\" (sslmode or schema)")
            }
        }
        return PostgresAddress(user: userInfo, host: host, port: port, database: database, tls: tls, schema: schema)
    }

    /// Where the first `://` of `text` is (Foundation's `range(of:)`, which this module does without).
    private static func schemeSeparator(in text: String) -> Range<String.Index>? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("://") { return index..<text.index(index, offsetBy: 3) }
            index = text.index(after: index)
        }
        return nil
    }

    private static func split(_ text: String, at separator: Character) -> (String, String?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (String(text[..<index]), String(text[text.index(after: index)...]))
    }

    /// `text` with the password of a `scheme://user:password@` replaced by `***`.
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = schemeSeparator(in: text) else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<rest.index(after: colon)]) + "***" + String(text[at...])
    }
}
