import Foundation
import SatelliteDBSQLite
import Identity
import NodeProtocol
import SatelliteDB
import Testing

/// Files through the `uplink` command on networks that `satellite network setup` made and the
/// launcher runs: every size around the segment's edges on the dev code of 10 nodes, the release
/// code on 110, and an upload killed midway, which must leave nothing the satellite serves
/// pointing at a piece no node has.
@Suite(.timeLimit(.minutes(5)))
struct NetworkTransferTests {
    /// Plaintext bytes of a full segment: 64 MiB sealed is 1,024 sealed blocks of 65,520 bytes.
    static let plainPerSegment = 1024 * 65_520

    @Test func filesOfEverySizeGoUpAndComeBackOnTenNodes() async throws {
        let network = try await LaunchedNetwork(nodes: 10)
        #expect(try await network.uplink("mb", "sj://sizes").status == 0)
        let sizes = [0, 1, 4096, (64 << 20) - 1, (64 << 20) + 1, Self.plainPerSegment, 300 << 20]
        for size in sizes {
            let (file, sha256) = try network.randomFile("up", size: size)
            // Odd sizes come through standard input, a stream whose length is known only at its end.
            let piped = size % 2 == 1 || size == Self.plainPerSegment
            let up = try await network.uplink("cp", piped ? "-" : file.path, "sj://sizes/files/\(size).bin", timeout: 180, input: piped ? file : nil)
            #expect(up.status == 0, "\(size) bytes up: \(up.stderr)")
            let back = network.directory.appendingPathComponent("back")
            let down = try await network.uplink("cp", "sj://sizes/files/\(size).bin", back.path, timeout: 180)
            #expect(down.status == 0, "\(size) bytes down: \(down.stderr)")
            #expect(try LaunchedNetwork.sha256(of: back) == sha256, "\(size) bytes came back different")
            try FileManager.default.removeItem(at: file)
            try FileManager.default.removeItem(at: back)
        }
        // The 300 MiB file is five segments, each on eight or more of the ten nodes.
        let segments = try await network.database.segments(after: nil, limit: 100)
        // 0 B: none; 1 B and 4 KiB: one each; 64 MiB ± 1: two each; a full segment: one; 300 MiB: five.
        #expect(segments.count == 12)
        #expect(segments.allSatisfy { $0.pieces.count >= 8 && $0.redundancy.k == 4 && $0.redundancy.total == 10 })

        let (other, _) = try network.randomFile("other", size: 10)
        #expect(try await network.uplink("cp", other.path, "sj://sizes/elsewhere/other.bin").status == 0)
        let listed = try await network.uplink("ls", "sj://sizes/files/")
        let keys = listed.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(keys.sorted() == sizes.map { "sj://sizes/files/\($0).bin" }.sorted(), "\(listed.stdout)")
    }

    @Test func theReleaseCodeStoresOnOneHundredAndTenNodes() async throws {
        let network = try await LaunchedNetwork(nodes: 110)
        #expect(try await network.uplink("mb", "sj://release").status == 0)
        let (file, sha256) = try network.randomFile("up", size: 64 << 20)
        let up = try await network.uplink("cp", file.path, "sj://release/big.bin", timeout: 180)
        #expect(up.status == 0, "\(up.stderr)")
        let back = network.directory.appendingPathComponent("back")
        let down = try await network.uplink("cp", "sj://release/big.bin", back.path, timeout: 180)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(try LaunchedNetwork.sha256(of: back) == sha256)
        let segments = try await network.database.segments(after: nil, limit: 10)
        #expect(segments.count == 2)
        let codes = segments.map { "\($0.redundancy.k)/\($0.redundancy.repair)/\($0.redundancy.optimal)/\($0.redundancy.total)" }
        #expect(codes == ["29/35/80/110", "29/35/80/110"])
        #expect(segments.allSatisfy { $0.pieces.count >= 80 }, "\(segments.map(\.pieces.count))")
    }

    @Test func anUploadKilledMidwayIsDeletedAtItsZombieDeadlineAndLeavesNoPieceMissing() async throws {
        // Pending uploads die 30 s after their begin or their last committed segment; deletion
        // looks every second. (With 10 s, a full run's load once held the first segment of an
        // upload that was still going past its deadline.)
        let network = try await LaunchedNetwork(nodes: 5) { config in
            config.replacingOccurrences(of: "zombie-deadline: 24h0m0s", with: "zombie-deadline: 30s")
                .replacingOccurrences(
                    of: "deletion:\n  # time between deletions of expired objects and abandoned uploads; 0s only when triggered\n  interval: 1h0m0s",
                    with: "deletion:\n  interval: 1s"
                )
        }
        #expect(try await network.uplink("mb", "sj://kill").status == 0)
        let (kept, keptSHA256) = try network.randomFile("kept", size: Self.plainPerSegment + 1000)
        let keptUpload = try await network.uplink("cp", kept.path, "sj://kill/kept.bin", timeout: 120)
        try #require(keptUpload.status == 0, "\(keptUpload.stderr)")
        let keptStreams = await Set(try network.database.segments(after: nil, limit: 100).map(\.streamID))
        #expect(keptStreams.count == 1)

        // 300 MiB is five segments: killed once its first is committed.
        let (doomed, _) = try network.randomFile("doomed", size: 300 << 20)
        let upload = try network.startUplink("cp", doomed.path, "sj://kill/doomed.bin")
        defer { if upload.isRunning { kill(upload.processIdentifier, SIGKILL) }; upload.waitUntilExit() }
        func pendingSegments() async throws -> Int { try await network.database.segments(after: nil, limit: 100).filter { !keptStreams.contains($0.streamID) }.count }
        try await network.launched.until("a segment of the doomed upload committed", timeout: 120) { ((try? await pendingSegments()) ?? 0) >= 1 }
        kill(upload.processIdentifier, SIGKILL)
        upload.waitUntilExit()
        #expect(upload.terminationReason == .uncaughtSignal)
        await #expect(try pendingSegments() >= 1, "the pending upload keeps its committed segments until its deadline")
        let listed = try await network.uplink("ls", "sj://kill/")
        #expect(!listed.stdout.contains("doomed.bin"), "a pending upload is not listed: \(listed.stdout)")

        try await network.launched.until("the deletion chore removed the abandoned upload", timeout: 90) { ((try? await pendingSegments()) ?? 1) == 0 }
        // The line follows the deletion's commit, through the launcher's log pipe.
        try await network.launched.until("the core logs the deletion", timeout: 10) { network.launched.logText("core").contains("\"zombies\":\"1\"") }

        // Every piece of what is committed is on its node, under the piece id derived for it.
        var nodeDirectories: [Data: String] = [:]
        for index in 1...network.nodeCount {
            let directory = network.root + "/node\(index)"
            nodeDirectories[try IdentityFile.load(from: directory + "/identity.key").id.bytes] = directory
        }
        let satellite = try IdentityFile.load(from: network.root + "/satellite/identity.key").id
        for segment in try await network.database.segments(after: nil, limit: 100) {
            let root = try #require(segment.rootPieceID.flatMap(PieceID.init(bytes:)))
            for piece in segment.pieces {
                let directory = try #require(nodeDirectories[piece.node])
                let id = root.derived(forNode: try #require(NodeID(bytes: piece.node)), number: piece.number).hex
                let path = "\(directory)/pieces/blobs/\(satellite.hex)/\(id.prefix(2))/\(id.dropFirst(2))"
                #expect(FileManager.default.fileExists(atPath: path), "piece \(piece.number) of segment \(segment.position) is not on its node")
            }
        }
        let back = network.directory.appendingPathComponent("back")
        #expect(try await network.uplink("cp", "sj://kill/kept.bin", back.path, timeout: 120).status == 0)
        #expect(try LaunchedNetwork.sha256(of: back) == keptSHA256)
    }
}
