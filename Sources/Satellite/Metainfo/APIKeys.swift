import Crypto
import Foundation
import Identity
import SatelliteDB

/// API keys: 32 random bytes shown once as 64 hexadecimal digits; the satellite keeps only their
/// SHA-256, so a copy of the database lets nobody in.
public struct APIKeys: Sendable {
    private let db: any MetainfoDB
    private let cache: APIKeyCache

    /// Keys on `db`; a key that opened its project is believed for `cacheExpiration` without
    /// asking the database again (`.zero` asks every time), for at most `cacheCapacity` keys.
    public init(db: any MetainfoDB, cacheExpiration: Duration = .zero, cacheCapacity: Int = 0) {
        self.db = db
        self.cache = APIKeyCache(expiration: cacheExpiration, capacity: cacheCapacity)
    }

    /// What a presented key is known to open without a database call.
    public enum Presented: Sendable, Equatable {
        /// Not 64 hexadecimal digits: no key at all.
        case malformed
        /// A key the cache holds, and its project.
        case known(ProjectRecord)
        /// A well-formed key the cache does not hold: ``project(forSecretHash:)`` asks the database.
        case unknown(secretHash: Data)
    }

    /// Looks `key` up in memory only; never blocks.
    public func presented(_ key: String) -> Presented {
        guard let secret = Hex.decode(key, count: 32) else { return .malformed }
        let hash = Self.hash(secret)
        return cache.project(forSecretHash: hash).map(Presented.known) ?? .unknown(secretHash: hash)
    }

    /// The project of the key whose SHA-256 is `hash`, from the database, and remembered for the
    /// cache's expiration; nil for a key nobody made.
    public func project(forSecretHash hash: Data) async throws -> ProjectRecord? {
        guard let project = try await db.project(forSecretHash: hash) else { return nil }
        cache.remember(project, forSecretHash: hash)
        return project
    }

    /// Makes a key for the project named `project` and returns it; it cannot be shown again.
    /// - Throws: ``MetainfoConflict/noSuchProject(_:)``.
    public func create(project: String, name: String = "") async throws -> String {
        let secret = Self.randomBytes(32)
        try await db.createAPIKey(id: Self.randomBytes(16), projectName: project, secretHash: Self.hash(secret), name: name)
        return Hex.encode(secret)
    }

    static func hash(_ secret: Data) -> Data { Data(SHA256.hash(data: secret)) }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Projects, made by the operator with `satellite admin create-project`.
public struct Projects: Sendable {
    private let db: any MetainfoDB

    public init(db: any MetainfoDB) {
        self.db = db
    }

    /// - Throws: ``MetainfoConflict/projectExists(_:)``, or ``ProjectNameError`` for a bad name.
    public func create(name: String) async throws {
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw ProjectNameError(name: name)
        }
        try await db.createProject(id: APIKeys.randomBytes(16), name: name)
    }
}

public struct ProjectNameError: Error, Equatable, CustomStringConvertible {
    public let name: String
    public var description: String { "project name \"\(name)\" must be 1 to 64 letters, digits, '-', '_' or '.'" }
}
