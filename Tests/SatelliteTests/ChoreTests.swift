import Foundation
import Satellite
import SatelliteDB
import TestPlanet
import Testing

/// The Core peer's accounting tally and deletion chore, run by hand on a TestPlanet.
@Suite(.timeLimit(.minutes(1)))
struct ChoreTests {
    func withPlanet(_ body: @escaping @Sendable (TestPlanet, MetainfoClient) async throws -> Void) async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.contact.checkInInterval = .zero }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            _ = try await planet.startNodes(6)
            let client = await MetainfoClient(planet: planet, key: try planet.makeProject("project"))
            for bucket in ["full", "empty"] {
                #expect(try await client.call("POST", "/v1/buckets", ["name": bucket]).status == 201)
            }
            try await body(planet, client)
        }
    }

    @Test func theTallyCountsCommittedObjectsPerBucket() async throws {
        try await withPlanet { planet, client in
            for key in ["a", "b"] {
                #expect(try await client.commitAll(try await client.begin(key, segments: 2, bucket: "full")).map(\.status) == [204, 204, 200])
            }
            // Pending: not counted.
            #expect(try await client.begin("c", segments: 1, bucket: "full").status == 201)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let tallies = try await planet.core.tally.tally(at: now)
            let byBucket = Dictionary(uniqueKeysWithValues: tallies.map { ($0.bucket, $0) })
            #expect(byBucket["full"].map { [$0.bytes, Int64($0.segments), Int64($0.objects)] } == [4000, 4, 2])
            #expect(byBucket["empty"].map { [$0.bytes, Int64($0.segments), Int64($0.objects)] } == [0, 0, 0])
            #expect(try await planet.database.tallies(at: now) == tallies)
        }
    }

    @Test func expiredObjectsAndAbandonedUploadsAreDeleted() async throws {
        try await withPlanet { planet, client in
            let now = Date()
            let expires = ISO8601DateFormatter().string(from: now + 2)
            let begun = try await client.call("POST", "/v1/buckets/full/objects", ["key": "short-lived", "segment_count": 1, "expires_at": expires])
            #expect(begun.status == 201, "\(begun.text)")
            #expect(try await client.commitAll(begun).last?.status == 200)
            #expect(try await client.commitAll(try await client.begin("kept", segments: 1, bucket: "full")).last?.status == 200)
            #expect(try await client.begin("abandoned", segments: 1, bucket: "full").status == 201)

            #expect(try await planet.core.deletion.pass(at: now) == ExpiredDeletion.Pass(expired: 0, zombies: 0))
            #expect(try await planet.core.deletion.pass(at: now + 3) == ExpiredDeletion.Pass(expired: 1, zombies: 0))
            #expect(try await client.call("GET", "/v1/buckets/full/object?key=short-lived").status == 404)
            #expect(try await planet.core.deletion.pass(at: now + 25 * 3600) == ExpiredDeletion.Pass(expired: 0, zombies: 1))
            #expect(try await client.call("GET", "/v1/buckets/full/object?key=kept").status == 200)
            // The abandoned upload's stream is gone: committing it now finds nothing.
            let stream = try await client.begin("abandoned-2", segments: 0, bucket: "full").json?["stream_id"] as? String ?? ""
            _ = try await planet.core.deletion.pass(at: now + 25 * 3600)
            #expect(try await client.call("POST", "/v1/streams/\(stream)/commit").status == 404)
        }
    }
}
