import Foundation
import GRDB

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
    func createProject(id: Data, name: String) throws
    func project(named name: String) throws -> ProjectRecord?
    /// Stores a key's id and the hash of its secret, never the secret.
    /// - Throws: ``MetainfoConflict/noSuchProject(_:)``.
    func createAPIKey(id: Data, projectName: String, secretHash: Data, name: String) throws
    /// The project whose key has this secret hash.
    func project(forSecretHash hash: Data) throws -> ProjectRecord?
    /// - Throws: ``MetainfoConflict/bucketExists(_:)``.
    func createBucket(project: Data, name: String, at: Date) throws -> BucketRecord
    /// Buckets after `cursor` in name order, at most `limit`.
    func listBuckets(project: Data, after cursor: String?, limit: Int) throws -> [BucketRecord]
    /// - Throws: ``MetainfoConflict/noSuchBucket(_:)`` or ``MetainfoConflict/bucketNotEmpty(_:)``.
    func deleteBucket(project: Data, name: String) throws
}

extension SatelliteDatabase: MetainfoDB {
    public func createProject(id: Data, name: String) throws {
        try pool.write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM projects WHERE name = ?"), arguments: [name]) == nil else {
                throw MetainfoConflict.projectExists(name)
            }
            try db.cachedStatement(sql: "INSERT INTO projects (id, name) VALUES (?, ?)").execute(arguments: [id, name])
        }
    }

    public func project(named name: String) throws -> ProjectRecord? {
        try readOneStatement { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT id, name FROM projects WHERE name = ?"), arguments: [name]).map { ProjectRecord(id: $0["id"], name: $0["name"]) }
        }
    }

    public func createAPIKey(id: Data, projectName: String, secretHash: Data, name: String) throws {
        try pool.write { db in
            guard let project = try Data.fetchOne(db.cachedStatement(sql: "SELECT id FROM projects WHERE name = ?"), arguments: [projectName]) else {
                throw MetainfoConflict.noSuchProject(projectName)
            }
            try db.cachedStatement(
                sql: "INSERT INTO api_keys (id, project_id, secret_hash, name) VALUES (?, ?, ?, ?)"
            ).execute(
                arguments: [id, project, secretHash, name]
            )
        }
    }

    public func project(forSecretHash hash: Data) throws -> ProjectRecord? {
        try readOneStatement { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT projects.id, projects.name FROM api_keys JOIN projects ON projects.id = api_keys.project_id WHERE secret_hash = ?"),
                arguments: [hash]
            ).map { ProjectRecord(id: $0["id"], name: $0["name"]) }
        }
    }

    public func createBucket(project: Data, name: String, at: Date) throws -> BucketRecord {
        try pool.write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM buckets WHERE project_id = ? AND name = ?"), arguments: [project, name]) == nil else {
                throw MetainfoConflict.bucketExists(name)
            }
            try db.cachedStatement(sql: "INSERT INTO buckets (project_id, name, created_at) VALUES (?, ?, ?)").execute(arguments: [project, name, at])
            return BucketRecord(name: name, createdAt: at)
        }
    }

    public func listBuckets(project: Data, after cursor: String?, limit: Int) throws -> [BucketRecord] {
        try readOneStatement { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT name, created_at FROM buckets WHERE project_id = ? AND name > ? ORDER BY name LIMIT ?"),
                arguments: [project, cursor ?? "", limit]
            ).map { BucketRecord(name: $0["name"], createdAt: $0["created_at"]) }
        }
    }

    public func deleteBucket(project: Data, name: String) throws {
        try pool.write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM buckets WHERE project_id = ? AND name = ?"), arguments: [project, name]) != nil else {
                throw MetainfoConflict.noSuchBucket(name)
            }
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM objects WHERE project_id = ? AND bucket = ? LIMIT 1"), arguments: [project, name]) == nil else {
                throw MetainfoConflict.bucketNotEmpty(name)
            }
            try db.cachedStatement(sql: "DELETE FROM buckets WHERE project_id = ? AND name = ?").execute(arguments: [project, name])
        }
    }
}
