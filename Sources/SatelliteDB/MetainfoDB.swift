import Foundation

/// A project: the owner of buckets and API keys.
public struct ProjectRecord: Sendable, Equatable {
    public let id: Data
    public let name: String

    public init(id: Data, name: String) {
        self.id = id
        self.name = name
    }
}

/// A bucket of a project.
public struct BucketRecord: Sendable, Equatable {
    public let name: String
    public let createdAt: Date

    public init(name: String, createdAt: Date) {
        self.name = name
        self.createdAt = createdAt
    }
}

/// What a metainfo write can run into besides a broken database.
public enum MetainfoConflict: Error, Equatable, CustomStringConvertible {
    case projectExists(String)
    case noSuchProject(String)
    case bucketExists(String)
    case noSuchBucket(String)
    case bucketNotEmpty(String)

    public var description: String {
        switch self {
        case .projectExists(let name): "a project named \"\(name)\" exists already"
        case .noSuchProject(let name): "no project is named \"\(name)\""
        case .bucketExists(let name): "bucket \"\(name)\" exists already"
        case .noSuchBucket(let name): "no bucket is named \"\(name)\""
        case .bucketNotEmpty(let name): "bucket \"\(name)\" still holds objects"
        }
    }
}

/// Projects, API keys and buckets.
public protocol MetainfoDB: Sendable {
    /// - Throws: ``MetainfoConflict/projectExists(_:)``.
    func createProject(id: Data, name: String) async throws
    func project(named name: String) async throws -> ProjectRecord?
    /// Stores a key's id and the hash of its secret, never the secret.
    /// - Throws: ``MetainfoConflict/noSuchProject(_:)``.
    func createAPIKey(id: Data, projectName: String, secretHash: Data, name: String) async throws
    /// The project whose key has this secret hash.
    func project(forSecretHash hash: Data) async throws -> ProjectRecord?
    /// - Throws: ``MetainfoConflict/bucketExists(_:)``.
    func createBucket(project: Data, name: String, at: Date) async throws -> BucketRecord
    /// Buckets after `cursor` in name order, at most `limit`.
    func listBuckets(project: Data, after cursor: String?, limit: Int) async throws -> [BucketRecord]
    /// - Throws: ``MetainfoConflict/noSuchBucket(_:)`` or ``MetainfoConflict/bucketNotEmpty(_:)``.
    func deleteBucket(project: Data, name: String) async throws
}
