import Crypto
import Foundation
import SatelliteDB

/// API keys: 32 random bytes shown once as 64 hexadecimal digits; the satellite keeps only their
/// SHA-256, so a copy of the database lets nobody in.
public struct APIKeys: Sendable {
    private let db: any MetainfoDB

    public init(db: any MetainfoDB) {
        self.db = db
    }

    /// Makes a key for the project named `project` and returns it; it cannot be shown again.
    /// - Throws: ``MetainfoConflict/noSuchProject(_:)``.
    public func create(project: String, name: String = "") throws -> String {
        let secret = Self.randomBytes(32)
        try db.createAPIKey(id: Self.randomBytes(16), projectName: project, secretHash: Self.hash(secret), name: name)
        return Hex.encode(secret)
    }

    /// The project a presented key belongs to, or nil for an unknown or malformed key.
    public func project(forKey key: String) throws -> ProjectRecord? {
        guard let secret = Hex.decode(key, count: 32) else { return nil }
        return try db.project(forSecretHash: Self.hash(secret))
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
    public func create(name: String) throws {
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw ProjectNameError(name: name)
        }
        try db.createProject(id: APIKeys.randomBytes(16), name: name)
    }
}

public struct ProjectNameError: Error, Equatable, CustomStringConvertible {
    public let name: String
    public var description: String { "project name \"\(name)\" must be 1 to 64 letters, digits, '-', '_' or '.'" }
}
