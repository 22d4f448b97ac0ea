import PostgresNIO

/// A statement PostgreSQL refused, as the server said it: its SQLSTATE and message. PSQLError
/// describes itself as a generic line on purpose (its full form holds the statement and its
/// values); the server's message names no value, so it can be logged.
public struct PostgresRefusal: Error, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE ("40001" a serialization failure), or the client's code when
    /// the server said nothing.
    public let sqlState: String
    public let message: String
    /// How many times the call was run; more than one when it met serialization failures or
    /// deadlocks each time.
    public let tries: Int

    init(_ error: PSQLError, tries: Int) {
        sqlState = error.serverInfo?[.sqlState] ?? "client: \(error.code)"
        message = error.serverInfo?[.message] ?? "no message from the server"
        self.tries = tries
    }

    public var description: String {
        let attempts = tries > 1 ? " (\(tries) tries)" : ""
        return "PostgreSQL refused the call\(attempts): \(message) [SQLSTATE \(sqlState)]"
    }
}
