import Foundation
import GRDB
import SatelliteDB

extension SQLiteDatabase: MetainfoDB {
    public func createProject(id: Data, name: String) async throws {
        try await write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM projects WHERE name = ?"), arguments: [name]) == nil else {
                throw MetainfoConflict.projectExists(name)
            }
            try db.cachedStatement(sql: "INSERT INTO projects (id, name) VALUES (?, ?)").execute(arguments: [id, name])
        }
    }

    public func project(named name: String) async throws -> ProjectRecord? {
        try await readOneStatement { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT id, name FROM projects WHERE name = ?"), arguments: [name]).map { ProjectRecord(id: $0["id"], name: $0["name"]) }
        }
    }

    public func createAPIKey(id: Data, projectName: String, secretHash: Data, name: String) async throws {
        try await write { db in
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

    public func project(forSecretHash hash: Data) async throws -> ProjectRecord? {
        try await readOneStatement { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT projects.id, projects.name FROM api_keys JOIN projects ON projects.id = api_keys.project_id WHERE secret_hash = ?"),
                arguments: [hash]
            ).map { ProjectRecord(id: $0["id"], name: $0["name"]) }
        }
    }

    public func createBucket(project: Data, name: String, at: Date) async throws -> BucketRecord {
        try await write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM buckets WHERE project_id = ? AND name = ?"), arguments: [project, name]) == nil else {
                throw MetainfoConflict.bucketExists(name)
            }
            try db.cachedStatement(sql: "INSERT INTO buckets (project_id, name, created_at) VALUES (?, ?, ?)").execute(arguments: [project, name, at])
            return BucketRecord(name: name, createdAt: at)
        }
    }

    public func listBuckets(project: Data, after cursor: String?, limit: Int) async throws -> [BucketRecord] {
        try await readOneStatement { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT name, created_at FROM buckets WHERE project_id = ? AND name > ? ORDER BY name LIMIT ?"),
                arguments: [project, cursor ?? "", limit]
            ).map { BucketRecord(name: $0["name"], createdAt: $0["created_at"]) }
        }
    }

    public func deleteBucket(project: Data, name: String) async throws {
        try await write { db in
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
