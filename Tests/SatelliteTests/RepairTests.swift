import Foundation
import Lifecycle

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PeerRuntime
import Satellite
import SatelliteDB
import SatelliteDBSQLite
import TestPlanet
import Testing

/// The repair checker and the repair queue over a TestPlanet (erasure code 2/3/4/5: a segment
/// is queued at 3 healthy pieces or fewer, irreparable below 2).
@Suite(.timeLimit(.minutes(1)))
struct RepairTests {
    /// A planet with `nodes` nodes, a project, a bucket, and `objects` one-segment objects stored
    /// on four nodes each; returns the pieces' holders per object.
    func withStoredObjects(
        nodes count: Int = 8, objects: [String],
        _ body: @escaping @Sendable (TestPlanet, MetainfoClient, [SimulatedNode], [String: [SimulatedNode]]) async throws -> Void
    ) async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.contact.checkInInterval = .zero }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let nodes = try await planet.startNodes(count)
            let client = await MetainfoClient(planet: planet, key: try planet.makeProject("project"))
            #expect(try await client.call("POST", "/v1/buckets", ["name": "bucket"]).status == 201)
            var holders: [String: [SimulatedNode]] = [:]
            for key in objects {
                let begun = try await client.begin(key, segments: 1)
                let answers = try await client.commitAll(begun)
                #expect(answers.map(\.status) == [204, 200])
                let object = try await client.call("GET", "/v1/buckets/bucket/object?key=\(key)")
                let ids = ((object.json?["segments"] as? [[String: Any]])?.first?["pieces"] as? [[String: Any]] ?? []).compactMap { $0["node_id"] as? String }
                holders[key] = ids.compactMap { id in nodes.first { $0.id == id } }
            }
            try await body(planet, client, nodes, holders)
        }
    }

    @Test func theCheckerQueuesExactlyTheSegmentsAtOrBelowTheThresholdMostUrgentFirst() async throws {
        try await withStoredObjects(objects: ["healthy", "one-down", "two-down", "three-down"]) { planet, _, _, holders in
            try await planet.takeOffline(holders["one-down"]![0])
            // two-down and three-down share no node with one-down by chance only; take theirs explicitly.
            for node in holders["two-down"]!.prefix(2) { try await planet.takeOffline(node) }
            for node in holders["three-down"]!.prefix(3) { try await planet.takeOffline(node) }
            let pass = try await planet.core.checker.pass()
            let queue = try await planet.database.repairQueue()
            // Offline nodes may hold pieces of several objects; count what each segment has left.
            var report: [String: Int] = [:]
            for key in ["healthy", "one-down", "two-down", "three-down"] { report[key] = try await planet.healthyPieces(of: key, holders: holders) }
            let expected = report.filter { $0.value <= 3 }.keys.sorted()
            #expect(pass.queued == expected.count, "\(report)")
            #expect(queue.count == expected.count)
            #expect(queue.map(\.health) == queue.map(\.health).sorted(), "most urgent first")
            #expect(pass.irreparable == report.values.filter { $0 < 2 }.count)
            #expect(report["three-down"]! <= 1 && report["two-down"]! <= 2)
        }
    }

    @Test func nodesComingBackAndDeletedObjectsClearTheQueue() async throws {
        try await withStoredObjects(objects: ["photo", "video"]) { planet, client, _, holders in
            let photoHolders = holders["photo"]!
            for node in photoHolders.prefix(2) { try await planet.takeOffline(node) }
            for node in holders["video"]!.prefix(2) { try await planet.takeOffline(node) }
            await planet.core.checker.cycle.triggerWait()
            await #expect(try planet.database.repairQueue().count == 2)

            // The photo's nodes come back; the video is deleted.
            // Every node taken offline checks in again (a node may hold pieces of both objects).
            var returning = Array(photoHolders.prefix(2))
            for node in holders["video"]!.prefix(2) where !returning.contains(node) { returning.append(node) }
            for node in returning { #expect(try await planet.checkIn(node).status == 200) }
            #expect(try await client.call("DELETE", "/v1/buckets/bucket/object?key=video").status == 204)
            await planet.core.checker.cycle.triggerWait()
            await #expect(try planet.database.repairQueue().isEmpty)
        }
    }

    @Test func piecesOnOneNetworkCountOnce() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.contact.checkInInterval = .zero }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            // Five nodes on distinct networks to upload to...
            let nodes = try await planet.startNodes(5)
            let client = await MetainfoClient(planet: planet, key: try planet.makeProject("p"))
            #expect(try await client.call("POST", "/v1/buckets", ["name": "bucket"]).status == 201)
            let begun = try await client.begin("file", segments: 1)
            #expect(try await client.commitAll(begun).map(\.status) == [204, 200])
            await #expect(try planet.core.checker.pass().queued == 0)
            // ...then two of them move onto one network: four pieces, three networks.
            let object = try await client.call("GET", "/v1/buckets/bucket/object?key=file")
            let ids = ((object.json?["segments"] as? [[String: Any]])?.first?["pieces"] as? [[String: Any]] ?? []).compactMap { $0["node_id"] as? String }
            let holders = ids.compactMap { id in nodes.first { $0.id == id } }
            for var node in holders.prefix(2) {
                node.address = "192.0.2.\(Int.random(in: 1...200)):28967"
                #expect(try await planet.checkIn(node).status == 200)
            }
            await #expect(try planet.core.checker.pass().queued == 1)
        }
    }

    @Test func twoRepairersNeverClaimOneEntryAndAClaimExpiresAfterItsLease() async throws {
        try await withStoredObjects(nodes: 8, objects: (0..<6).map { "object-\($0)" }) { planet, _, _, holders in
            for pieces in holders.values { for node in pieces.prefix(1) { try await planet.takeOffline(node) } }
            for pieces in holders.values { for node in pieces.dropFirst().prefix(1) { try await planet.takeOffline(node) } }
            _ = try await planet.core.checker.pass()
            let queued = try await planet.database.repairQueue().count
            #expect(queued == 6)

            // A second connection pool to the same file stands in for a second Repairer process.
            let second = try SQLiteDatabase(path: planet.sqlite.path, busyTimeout: .seconds(5))
            defer { try? second.closeBlocking() }
            let now = Date()
            async let first = Task.detached { try await planet.database.claimRepairs(limit: 4, leaseCutoff: now - 1800, at: now) }.value
            async let other = Task.detached { try await second.claimRepairs(limit: 4, leaseCutoff: now - 1800, at: now) }.value
            let (a, b) = try await (first, other)
            #expect(a.count + b.count == 6)
            let keys = (a + b).map { "\($0.streamID.base64EncodedString())/\($0.position)" }
            #expect(Set(keys).count == keys.count, "an entry was claimed twice")
            await #expect(try planet.database.claimRepairs(limit: 10, leaseCutoff: now - 1800, at: now).isEmpty)

            // After the lease, a claim of a repairer that died may be taken again.
            let later = now + 3600
            let reclaimed = try await second.claimRepairs(limit: 10, leaseCutoff: later - 1800, at: later)
            #expect(reclaimed.count == 6)
            #expect(reclaimed.allSatisfy { $0.attempts == 2 })
        }
    }

    @Test func theRepairerRecordsWhyItCouldNotRepairAndReleasesTheClaim() async throws {
        // Simulated nodes hold no pieces and serve none: the repair cannot read k of them.
        try await withStoredObjects(nodes: 9, objects: ["doc"]) { planet, client, _, holders in
            for node in holders["doc"]!.prefix(2) { try await planet.takeOffline(node) }
            _ = try await planet.core.checker.pass()
            let outcomes = try await planet.repairer.worker.claimAndWork()
            #expect(outcomes.count == 1)
            if case .failed(let reason)? = outcomes.first {
                #expect(reason.contains("pieces needed"), "\(reason)")
            } else {
                Issue.record("unexpected outcome \(outcomes)")
            }
            // Released: claimable again at once, with the attempt counted.
            let entry = try #require(try await planet.database.repairQueue().first)
            #expect(entry.attempts == 1)
            await #expect(try planet.database.claimRepairs(limit: 5, leaseCutoff: Date() - 1800, at: Date()).count == 1)
            _ = client
        }
    }
}

extension RepairTests {
    @Test func anIrreparableSegmentIsCountedAndStaysQueuedAndAGoneOneLeaves() async throws {
        try await withStoredObjects(nodes: 8, objects: ["lost", "deleted"]) { planet, client, _, holders in
            for node in holders["lost"]!.prefix(3) { try await planet.takeOffline(node) }
            for node in holders["deleted"]!.prefix(2) { try await planet.takeOffline(node) }
            let pass = try await planet.core.checker.pass()
            #expect(pass.irreparable >= 1)
            // The object goes before the repairer gets to it.
            #expect(try await client.call("DELETE", "/v1/buckets/bucket/object?key=deleted").status == 204)
            let outcomes = try await planet.repairer.worker.claimAndWork()
            #expect(outcomes.contains(.gone))
            #expect(outcomes.contains { if case .irreparable = $0 { true } else { false } })
            let left = try await planet.database.repairQueue()
            #expect(left.count == 1, "the irreparable segment stays queued in case its nodes return")
            let metrics = try #require(await planet.repairer.debug?.listeningPort())
            let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metrics)/metrics")!)
            #expect(String(decoding: body, as: UTF8.self).contains("satellite_repair_irreparable_total 1"))
        }
    }
}

extension TestPlanet {
    /// Healthy pieces of the one segment of `key`, counted as the checker counts them.
    func healthyPieces(of key: String, holders: [String: [SimulatedNode]]) async throws -> Int {
        let online = Date(timeIntervalSinceNow: -Double(core.checker.onlineWindowSeconds))
        var count = 0
        var networks: Set<String> = []
        for node in holders[key] ?? [] {
            guard let record = try await database.node(id: TestPlanet.bytes(node.id)!), let contact = record.lastContactSuccess, contact >= online,
                networks.insert(record.lastNet).inserted else { continue }
            count += 1
        }
        return count
    }
}
