import Foundation

/// One bucket's totals at one moment.
public struct BucketTally: Sendable, Equatable {
    public let project: Data
    public let bucket: String
    public let bytes: Int64
    public let segments: Int
    public let objects: Int

    public init(project: Data, bucket: String, bytes: Int64, segments: Int, objects: Int) {
        self.project = project
        self.bucket = bucket
        self.bytes = bytes
        self.segments = segments
        self.objects = objects
    }
}

/// Bucket tallies, and the deletion of objects whose time is up.
public protocol AccountingDB: Sendable {
    /// Totals every bucket's committed objects, segments and bytes and records them at `at`, in
    /// one transaction, so a tally never mixes two moments.
    func tallyBuckets(at: Date) async throws -> [BucketTally]
    func tallies(at: Date) async throws -> [BucketTally]
    /// Deletes up to `limit` objects whose `expires_at` is before `now`; returns how many.
    func deleteExpiredObjects(before now: Date, limit: Int) async throws -> Int
    /// Deletes up to `limit` pending objects whose zombie deadline is before `now`; returns how many.
    func deleteZombieObjects(before now: Date, limit: Int) async throws -> Int
}
