import Foundation
import Satellite
import SatelliteDB
import SatelliteDBSQLite
import Testing

/// The node selection cache over a real, migrated database.
@Suite(.timeLimit(.minutes(1)))
struct NodeSelectionTests {
    /// A migrated database in a directory of its own, removed afterwards.
    static func withDatabase(_ body: (any SatelliteDatabase) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("selection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteDatabase(path: directory.appendingPathComponent("satellite.db").path, busyTimeout: .seconds(5))
        defer { try? database.closeBlocking() }
        try await database.migrate()
        try await body(database)
    }

    static func checkIn(_ database: SatelliteDatabase, _ index: Int, network: Int, freeDisk: Int64 = 1 << 40, at: Date = Date()) async throws {
        var id = Data(repeating: 0, count: 32)
        id[31] = UInt8(index)
        try await database.recordCheckIn(NodeCheckIn(id: id, address: "10.0.\(network).\(index):1", lastNet: "10.0.\(network).0/24", freeDisk: freeDisk, version: "1"), at: at)
    }

    @Test func choicesAreOnePerNetworkOnlineWithSpaceAndNeverExcluded() async throws {
        try await Self.withDatabase { database in
            // Twenty nodes on ten networks; one network's nodes are full, one's were last seen
            // two days ago.
            for index in 0..<20 {
                let network = index / 2
                try await Self.checkIn(database, index, network: network, freeDisk: network == 3 ? 10 : 1 << 40, at: network == 4 ? Date() - 2 * 86400 : Date())
            }
            let cache = NodeSelectionCache(staleness: .seconds(3600), onlineWindow: .seconds(4 * 3600), db: database)
            for _ in 0..<200 {
                let chosen = try await cache.select(count: 10, minFreeDisk: 1 << 20, excludedNetworks: ["10.0.7.0/24"])
                let networks = chosen.map(\.lastNet)
                #expect(chosen.count == 7, "ten networks, less the full one, the offline one and the excluded one")
                #expect(Set(networks).count == networks.count)
                #expect(!networks.contains("10.0.3.0/24") && !networks.contains("10.0.4.0/24") && !networks.contains("10.0.7.0/24"))
            }
            let first = try await cache.select(count: 3, minFreeDisk: 0)
            let excluded = Set(first.map(\.id))
            await #expect(try cache.select(count: 20, minFreeDisk: 0, excluded: excluded).allSatisfy { !excluded.contains($0.id) })
            // Both nodes of a network are chosen over many draws: the order is random.
            var seen = Set<Data>()
            for _ in 0..<200 { seen.formUnion(try await cache.select(count: 10, minFreeDisk: 0).map(\.id)) }
            #expect(seen.count == 18, "every node of the nine networks online (no space asked for)")
        }
    }

    @Test func aNewNodeIsOfferedOnceTheSnapshotIsStaleAndAtOnceWithNoCache() async throws {
        try await Self.withDatabase { database in
            try await Self.checkIn(database, 1, network: 1)
            let cached = NodeSelectionCache(staleness: .seconds(3600), onlineWindow: .seconds(3600), db: database)
            let uncached = NodeSelectionCache(staleness: .zero, onlineWindow: .seconds(3600), db: database)
            await #expect(try cached.select(count: 5, minFreeDisk: 0).count == 1)
            try await Self.checkIn(database, 2, network: 2)
            await #expect(try cached.select(count: 5, minFreeDisk: 0).count == 1, "the snapshot is an hour from stale")
            await #expect(try uncached.select(count: 5, minFreeDisk: 0).count == 2)
            // A node that leaves the online window is left out at the next choice, stale snapshot or not.
            let later = Date() + 7200
            await #expect(try cached.select(count: 5, minFreeDisk: 0, now: later).isEmpty)
        }
    }

    /// The nodes table, counting how often the eligible nodes are read.
    final class CountingOverlay: OverlayDB, @unchecked Sendable {
        let database: SatelliteDatabase
        private let lock = NSLock()
        private var reads = 0
        init(_ database: SatelliteDatabase) { self.database = database }
        var eligibleReads: Int { lock.withLock { reads } }
        func recordCheckIn(_ checkIn: NodeCheckIn, at: Date) async throws { try await database.recordCheckIn(checkIn, at: at) }
        func node(id: Data) async throws -> NodeRecord? { try await database.node(id: id) }
        func nodeCount() async throws -> Int { try await database.nodeCount() }
        func recordContactSuccess(id: Data, at: Date) async throws { try await database.recordContactSuccess(id: id, at: at) }
        func eligibleNodes(onlineSince: Date) async throws -> [EligibleNode] {
            lock.withLock { reads += 1 }
            return try await database.eligibleNodes(onlineSince: onlineSince)
        }
        func keepingNodes(onlineSince: Date) async throws -> [NodeChoice] { try await database.keepingNodes(onlineSince: onlineSince) }
    }

    @Test func manySegmentsAreChosenFromOneReadEachAnewAndOnePerNetwork() async throws {
        try await Self.withDatabase { database in
            for index in 0..<12 { try await Self.checkIn(database, index, network: index / 2) }
            let overlay = CountingOverlay(database)
            let uncached = NodeSelectionCache(staleness: .zero, onlineWindow: .seconds(3600), db: overlay)
            let choices = try await uncached.select(segments: 500, count: 5, minFreeDisk: 0)
            #expect(overlay.eligibleReads == 1, "one read for all 500 segments, even with no cache")
            #expect(choices.count == 500)
            for choice in choices {
                #expect(choice.count == 5 && Set(choice.map(\.lastNet)).count == 5)
            }
            #expect(Set(choices.flatMap { $0.map(\.id) }).count == 12, "each segment is drawn anew")
            #expect(Set(choices.map { $0.map(\.id) }).count > 1)
            await #expect(try uncached.select(segments: 0, count: 5, minFreeDisk: 0).isEmpty)
            #expect(overlay.eligibleReads == 1, "no segments, no read")
        }
    }
}
