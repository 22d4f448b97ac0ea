import Foundation
import PostgresNIO
import SatelliteDB

extension PostgreSQLDatabase: MetainfoDB {
    public func createProject(id: Data, name: String) async throws {
        try await write { connection in
            guard try await connection.rows("SELECT 1 FROM projects WHERE name = \(name)", self.logger).isEmpty else {
                throw MetainfoConflict.projectExists(name)
            }
            try await connection.query("INSERT INTO projects (id, name) VALUES (\(id), \(name))", logger: self.logger)
        }
    }

    public func project(named name: String) async throws -> ProjectRecord? {
        try await read { connection in
            try await connection.rows("SELECT id, name FROM projects WHERE name = \(name)", self.logger).first.map { row in
                let (id, name) = try row.decode((Data, String).self)
                return ProjectRecord(id: id, name: name)
            }
        }
    }

    public func createAPIKey(id: Data, projectName: String, secretHash: Data, name: String) async throws {
        try await write { connection in
            guard let project = try await connection.rows("SELECT id FROM projects WHERE name = \(projectName)", self.logger).first?.decode(Data.self) else {
                throw MetainfoConflict.noSuchProject(projectName)
            }
            try await connection.query(
                "INSERT INTO api_keys (id, project_id, secret_hash, name) VALUES (\(id), \(project), \(secretHash), \(name))", logger: self.logger
            )
        }
    }

    public func project(forSecretHash hash: Data) async throws -> ProjectRecord? {
        try await read { connection in
            try await connection.rows(
                "SELECT projects.id, projects.name FROM api_keys JOIN projects ON projects.id = api_keys.project_id WHERE secret_hash = \(hash)", self.logger
            ).first.map { row in
                let (id, name) = try row.decode((Data, String).self)
                return ProjectRecord(id: id, name: name)
            }
        }
    }

    public func createBucket(project: Data, name: String, at: Date) async throws -> BucketRecord {
        try await write { connection in
            guard try await connection.rows("SELECT 1 FROM buckets WHERE project_id = \(project) AND name = \(name)", self.logger).isEmpty else {
                throw MetainfoConflict.bucketExists(name)
            }
            try await connection.query("INSERT INTO buckets (project_id, name, created_at) VALUES (\(project), \(name), \(at))", logger: self.logger)
            return BucketRecord(name: name, createdAt: at)
        }
    }

    public func listBuckets(project: Data, after cursor: String?, limit: Int) async throws -> [BucketRecord] {
        try await read { connection in
            try await connection.rows(
                "SELECT name, created_at FROM buckets WHERE project_id = \(project) AND name > \(cursor ?? "") ORDER BY name LIMIT \(limit)", self.logger
            ).map { row in
                let (name, created) = try row.decode((String, Date).self)
                return BucketRecord(name: name, createdAt: created)
            }
        }
    }

    public func deleteBucket(project: Data, name: String) async throws {
        // The bucket's row locked FOR UPDATE waits for every upload beginning in it (they hold it
        // FOR SHARE), and the check for objects after it sees what they committed.
        try await write(.lockingRows) { connection in
            guard try await !connection.rows("SELECT 1 FROM buckets WHERE project_id = \(project) AND name = \(name) FOR UPDATE", self.logger).isEmpty else {
                throw MetainfoConflict.noSuchBucket(name)
            }
            guard try await connection.rows("SELECT 1 FROM objects WHERE project_id = \(project) AND bucket = \(name) LIMIT 1", self.logger).isEmpty else {
                throw MetainfoConflict.bucketNotEmpty(name)
            }
            try await connection.query("DELETE FROM buckets WHERE project_id = \(project) AND name = \(name)", logger: self.logger)
        }
    }
}
