import Crypto
import Foundation
import Identity
import Lifecycle
import NodeProtocol
import PeerRuntime
import Supervision
import Satellite
import SatelliteDB
import StorageNode
import TestPlanet
import Testing
import Uplink

/// The uplink against a planet with real storage nodes: files in and out, encrypted and
/// erasure-coded across the nodes. The planet's code is 2/3/4/5 with 1 MiB segments.
@Suite(.timeLimit(.minutes(2)))
struct UplinkTests {
    static func withUplink(
        nodes: Int = 5, redundancy: String? = nil, auditShareTimeout: Duration? = nil, _ body: @escaping @Sendable (TestPlanet, Uplink) async throws -> Void
    ) async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.storageNodeCount = nodes
        reconfigure.api = { config in
            // Every node of a planet is on loopback, one network.
            config.overlay.distinctNetworks = false
            if let redundancy { config.metainfo.redundancy = redundancy }
        }
        reconfigure.core = { $0.overlay.distinctNetworks = false }
        reconfigure.repairer = { config in
            config.overlay.distinctNetworks = false
            if let auditShareTimeout { config.audit.shareTimeout = auditShareTimeout }
        }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let apiKey = try await planet.makeProject("project")
            let access = try Access.derive(
                satelliteURL: try await planet.apiURL().absoluteString, satelliteID: planet.satelliteIdentity.id, apiKey: apiKey, passphrase: "test passphrase"
            )
            var config = UplinkConfig()
            config.maxSegmentSize = 1 << 20
            let uplink = try Uplink(access: access, config: config)
            do {
                try await body(planet, uplink)
            } catch {
                try? await uplink.close()
                throw error
            }
            try await uplink.close()
        }
    }

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test func filesOfEverySizeComeBackByteForByte() async throws {
        try await Self.withUplink { _, uplink in
            try await uplink.createBucket("files")
            // Around the block (65,520), the 1 MiB segment's plaintext (16 blocks) and several segments.
            let perSegment = 16 * 65_520
            for (index, size) in [0, 1, 4096, 65_520, 65_521, perSegment - 1, perSegment, perSegment + 1, 3 * perSegment + 12_345].enumerated() {
                let data = Self.bytes(size, seed: UInt64(index))
                try await uplink.upload(bucket: "files", key: "sizes/\(size)", data: data)
                let back = try await uplink.download(bucket: "files", key: "sizes/\(size)")
                #expect(back.count == size)
                #expect(Data(SHA256.hash(data: back)) == Data(SHA256.hash(data: data)), "\(size) bytes")
            }
            #expect(try await uplink.listObjects(bucket: "files", prefix: "sizes/").count == 9)
        }
    }

    @Test func streamsOfUnknownLengthComeBackByteForByte() async throws {
        try await Self.withUplink { planet, uplink in
            try await uplink.createBucket("streams")
            let perSegment = 16 * 65_520
            for (index, size) in [0, 1, 65_521, perSegment, perSegment + 1, 2 * perSegment, 2 * perSegment + 7].enumerated() {
                let data = Self.bytes(size, seed: UInt64(100 + index))
                var offset = 0
                // A pipe's reads: whatever is asked, fewer only at the end.
                try await uplink.upload(bucket: "streams", key: "s/\(size)", size: nil) { count in
                    defer { offset = min(offset + count, size) }
                    return Array(data[offset..<min(offset + count, size)])
                }
                #expect(try await uplink.download(bucket: "streams", key: "s/\(size)") == data, "\(size) bytes")
            }
            let counts = try await planet.database.segments(after: nil, limit: 100).reduce(into: [:]) { $0[$1.streamID, default: 0] += 1 }
            #expect(counts.values.sorted() == [1, 1, 1, 2, 2, 3], "no empty segment at a segment's edge: \(counts.values.sorted())")
        }
    }

    @Test func keysListByPrefixAndNeitherKeysNorContentReachTheSatellite() async throws {
        try await Self.withUplink { planet, uplink in
            try await uplink.createBucket("photos")
            let marker = "a-secret-content-marker-" + String(repeating: "x", count: 40)
            for key in ["2026/cats/tom.jpg", "2026/cats/felix.jpg", "2026/dogs/rex.jpg", "2025/cats/tom.jpg", "readme-secretname.txt"] {
                try await uplink.upload(bucket: "photos", key: key, data: Array((marker + key).utf8))
            }
            #expect(try await uplink.listObjects(bucket: "photos", prefix: "2026/cats/").map(\.key) == ["2026/cats/felix.jpg", "2026/cats/tom.jpg"])
            #expect(try await uplink.listObjects(bucket: "photos", prefix: "2026/").count == 3)
            #expect(try await uplink.listObjects(bucket: "photos", prefix: "2026/c").map(\.key) == ["2026/cats/felix.jpg", "2026/cats/tom.jpg"])
            #expect(try await uplink.listObjects(bucket: "photos").count == 5)
            #expect(try await uplink.download(bucket: "photos", key: "2026/dogs/rex.jpg") == Array((marker + "2026/dogs/rex.jpg").utf8))
            // What the satellite holds: its database and everything beside it.
            for file in try FileManager.default.contentsOfDirectory(atPath: planet.directory.path) where file.hasPrefix("satellite.db") {
                let bytes = try Data(contentsOf: planet.directory.appendingPathComponent(file))
                for secret in ["secretname", "felix", "a-secret-content-marker"] {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds \(secret)")
                }
            }
            try await uplink.deleteObject(bucket: "photos", key: "2026/cats/tom.jpg")
            #expect(try await uplink.listObjects(bucket: "photos", prefix: "2026/cats/").map(\.key) == ["2026/cats/felix.jpg"])
        }
    }

    @Test func aNodeDownStillStoresAndServesAndTooManyDownIsAClearError() async throws {
        try await Self.withUplink { planet, uplink in
            try await uplink.createBucket("down")
            let data = Self.bytes(300_000, seed: 7)
            try await uplink.upload(bucket: "down", key: "before", data: data)
            // One of five down: optimal is 4, k is 2.
            await planet.stopStorageNode(0)
            try await uplink.upload(bucket: "down", key: "after", data: data)
            #expect(try await uplink.download(bucket: "down", key: "after") == data)
            #expect(try await uplink.download(bucket: "down", key: "before") == data)
            // Two of five down: the offer still holds them (they checked in), but only three store.
            await planet.stopStorageNode(1)
            do {
                try await uplink.upload(bucket: "down", key: "refused", data: data)
                Issue.record("an upload to 3 live nodes of 5 offered succeeded with optimal 4")
            } catch let error as UplinkError {
                guard case .notEnoughStored(_, _, let segment, let stored, let needed, let offered, let failures) = error else { throw error }
                #expect((segment, stored, needed, offered) == (0, 3, 4, 5))
                #expect(failures.count == 2)
                #expect(error.description.contains("stored on 3 of the 5 nodes offered; 4 are needed"), "\(error)")
            }
            #expect(try await uplink.download(bucket: "down", key: "before") == data, "k = 2 of the 3 left")
        }
    }

    @Test func onTheDevCodeTwoOfTenNodesDownStillStoreAndServeAndFiveDownIsAClearError() async throws {
        try await Self.withUplink(nodes: 10, redundancy: "4/6/8/10") { planet, uplink in
            try await uplink.createBucket("dev")
            let data = Self.bytes(2_500_000, seed: 11)
            try await uplink.upload(bucket: "dev", key: "before", data: data)
            await planet.stopStorageNode(3)
            await planet.stopStorageNode(7)
            try await uplink.upload(bucket: "dev", key: "after", data: data)
            #expect(try await uplink.download(bucket: "dev", key: "after") == data)
            #expect(try await uplink.download(bucket: "dev", key: "before") == data)
            for node in [0, 1, 2] { await planet.stopStorageNode(node) }
            do {
                try await uplink.upload(bucket: "dev", key: "refused", data: data)
                Issue.record("an upload to 5 live nodes of 10 offered succeeded with optimal 8")
            } catch let error as UplinkError {
                guard case .notEnoughStored(_, _, let segment, let stored, let needed, let offered, let failures) = error else { throw error }
                #expect((segment, stored, needed, offered) == (0, 5, 8, 10))
                #expect(failures.count == 5)
                #expect(error.description.contains("stored on 5 of the 10 nodes offered; 8 are needed"), "\(error)")
            }
            #expect(try await uplink.listObjects(bucket: "dev").map(\.key) == ["after", "before"], "the refused upload is not listed")
            // k = 4 of the 5 left still read what was stored before.
            #expect(try await uplink.download(bucket: "dev", key: "after") == data)
        }
    }

    @Test func aRangeReadsOnlyTheStripesUnderItsBlocks() async throws {
        try await Self.withUplink { planet, uplink in
            try await uplink.createBucket("ranges")
            let perSegment = 16 * 65_520
            let data = Self.bytes(3 * perSegment + 5_000, seed: 3)
            try await uplink.upload(bucket: "ranges", key: "big", data: data)
            let ranges = [
                0..<1, 100..<200, 65_000..<70_000, perSegment - 10..<perSegment + 10, 2 * perSegment..<3 * perSegment, data.count - 7..<data.count,
                data.count - 5..<data.count + 100, 0..<data.count, data.count..<data.count + 5, 10..<10,
            ]
            for range in ranges {
                let back = try await uplink.download(bucket: "ranges", key: "big", range: range)
                #expect(back == Array(data[range.clamped(to: 0..<data.count)]), "\(range)")
            }

            // What the nodes served, as they settle it: 100 bytes inside one 64 KiB block cost that
            // block's 128 stripes, 32 KiB of a piece, from each node asked (k = 2 of 3 limits),
            // where the whole segment is 512 KiB a piece.
            let project = try await #require(try planet.database.project(named: "project"))
            func served() async throws -> Int64 {
                for node in planet.storageNodes { await node.settlement.cycle.triggerWait() }
                return try await planet.database.bucketBandwidth(project: project.id).filter { $0.action == "GET" }.map(\.bytes).reduce(0, +)
            }
            let before = try await served()
            #expect(try await uplink.download(bucket: "ranges", key: "big", range: perSegment + 300..<perSegment + 400) == Array(data[perSegment + 300..<perSegment + 400]))
            let cost = try await served() - before
            #expect(cost > 0 && cost <= 3 * 32 * 1024, "a 100-byte range cost \(cost) bytes from the nodes")
        }
    }
}

extension TestPlanet {
    /// The file that holds `piece` of `segment` on its node, under the piece id derived for it.
    func blobPath(of piece: Piece, in segment: SegmentRecord) throws -> String {
        let root = try #require(segment.rootPieceID.flatMap(PieceID.init(bytes:)), "segment \(segment.position) has a root piece id")
        let node = try #require(storageNodes.first { $0.identity.id.bytes == piece.node }, "piece \(piece.number) is on a node of the planet")
        let id = root.derived(forNode: node.identity.id, number: piece.number).hex
        return "\(node.pieces.directory)/blobs/\(satelliteIdentity.id.hex)/\(id.prefix(2))/\(id.dropFirst(2))"
    }
}
