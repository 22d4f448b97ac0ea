import Foundation
import Identity
import NodeProtocol
import Satellite
import SatelliteDB
import StorageNode
import TestPlanet
import Testing
import Uplink

/// Audits against real nodes: a stripe's share from every holder, and the erasure code's error
/// correction naming the ones that lie.
@Suite(.timeLimit(.minutes(2)))
struct AuditTests {
    @Test func oneFlippedByteFailsExactlyThatNodeAndNoOther() async throws {
        try await UplinkTests.withUplink(nodes: 10, redundancy: "4/6/8/10") { planet, uplink in
            try await uplink.createBucket("audit")
            try await uplink.upload(bucket: "audit", key: "doc", data: UplinkTests.bytes(600_000, seed: 71))
            let segment = try await #require(try planet.database.segments(after: nil, limit: 10).first)
            // One byte of stripe 7 of one node's piece.
            let victim = segment.pieces[2]
            let path = try planet.blobPath(of: victim, in: segment)
            var file = try #require(FileManager.default.contents(atPath: path))
            file[PieceHeader.size + 7 * 256 + 100] ^= 0x01
            try file.write(to: URL(fileURLWithPath: path))

            let clean = try await planet.repairer.audit.audit(segment, stripe: 3)
            #expect(clean.fails.isEmpty && clean.successes.count == segment.pieces.count, "\(clean)")
            let report = try await planet.repairer.audit.audit(segment, stripe: 7)
            #expect(report.fails == [victim.node], "\(report)")
            #expect(Set(report.successes) == Set(segment.pieces.map(\.node)).subtracting([victim.node]))
            let standing = try await #require(try planet.database.auditStanding(of: victim.node))
            #expect(standing.count == 2 && standing.successes == 1)
            let honest = try await #require(try planet.database.auditStanding(of: segment.pieces[0].node))
            #expect(honest.count == 2 && honest.successes == 2)
        }
    }

    @Test func aNodeThatLostItsPiecesFailsAndOneThatIsDownIsOfflineNotFailed() async throws {
        try await UplinkTests.withUplink(nodes: 10, redundancy: "4/6/8/10") { planet, uplink in
            try await uplink.createBucket("audit")
            try await uplink.upload(bucket: "audit", key: "doc", data: UplinkTests.bytes(300_000, seed: 72))
            let segment = try await #require(try planet.database.segments(after: nil, limit: 10).first)
            let lost = segment.pieces[0].node, down = segment.pieces[1].node
            try FileManager.default.removeItem(atPath: try planet.blobPath(of: segment.pieces[0], in: segment))
            await planet.stopStorageNode(try #require(planet.storageNodes.firstIndex { $0.identity.id.bytes == down }))
            let report = try await planet.repairer.audit.audit(segment)
            #expect(report.fails == [lost], "\(report)")
            #expect(report.offline == [down], "\(report)")
            #expect(try await planet.database.auditStanding(of: down)?.count == 0, "offline is no verdict on the node")
        }
    }

    @Test func aPassSamplesEveryNodeAndRecordsWhatItFinds() async throws {
        try await UplinkTests.withUplink(nodes: 5) { planet, uplink in
            try await uplink.createBucket("audit")
            for index in 0..<4 { try await uplink.upload(bucket: "audit", key: "doc\(index)", data: UplinkTests.bytes(200_000, seed: UInt64(80 + index))) }
            let pass = try await planet.repairer.audit.pass()
            #expect(pass.audited >= 1 && pass.fails == 0 && pass.successes >= 4, "\(pass)")
            var audited: [Int] = []
            for node in planet.storageNodes { audited.append(try await planet.database.auditStanding(of: node.identity.id.bytes)?.count ?? 0) }
            #expect(audited.reduce(0, +) == pass.successes)
        }
    }
}

extension AuditTests {
    @Test func aNodeThatTimesOutIsContainedAndFailedOnlyAfterThreeTimedOutReverifications() async throws {
        // 3 s, not less: a healthy node on a loaded 2-core machine took over 1 s to answer once, and was contained too.
        try await UplinkTests.withUplink(nodes: 10, redundancy: "4/6/8/10", auditShareTimeout: .seconds(3)) { planet, uplink in
            try await uplink.createBucket("audit")
            try await uplink.upload(bucket: "audit", key: "doc", data: UplinkTests.bytes(300_000, seed: 73))
            let segment = try await #require(try planet.database.segments(after: nil, limit: 10).first)
            let victim = segment.pieces[0].node
            let address = try await #require(try planet.database.addresses(of: [victim])[victim])
            let port = try #require(address.split(separator: ":").last.flatMap { UInt16($0) })
            // The node stops, and something takes its port that accepts connections and never answers.
            await planet.stopStorageNode(try #require(planet.storageNodes.firstIndex { $0.identity.id.bytes == victim }))
            let silent = try #require(SilentListener(port: port))
            defer { silent.close() }

            let report = try await planet.repairer.audit.audit(segment)
            #expect(report.contained.map(\.node) == [victim], "\(report)")
            #expect(!report.fails.contains(victim) && !report.successes.contains(victim))
            #expect(try await planet.database.pendingAudits().map(\.node) == [victim])
            // A contained node is not audited again until it answers for its pending audit.
            #expect(!(try await planet.repairer.audit.audit(segment)).contained.contains { $0.node == victim })
            for attempt in 1...2 {
                let outcomes = try await planet.repairer.audit.reverify()
                #expect(outcomes.map(\.outcome) == ["timed out"], "reverification \(attempt)")
                #expect(try await planet.database.auditStanding(of: victim)?.count == 0, "no verdict yet after \(attempt)")
            }
            #expect(try await planet.repairer.audit.reverify().map(\.outcome) == ["fail"])
            let standing = try await #require(try planet.database.auditStanding(of: victim))
            #expect(standing.count == 1 && standing.successes == 0, "the third timed-out reverification is one failure")
            #expect(try await planet.database.pendingAudits().isEmpty)
        }
    }
}

/// A socket that accepts connections (the kernel completes them) and never reads or answers:
/// a node that hangs.
final class SilentListener: @unchecked Sendable {
    let descriptor: Int32

    init?(port: UInt16) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            Glibc.close(descriptor)
            return nil
        }
    }

    func close() {
        Glibc.close(descriptor)
    }
}

extension AuditTests {
    /// A node whose every piece is garbage answers every audit wrongly: the erasure code names it
    /// each time, and the beta model disqualifies it at its 41st failure from a clean start, not
    /// its 40th. It is then offered for nothing, and with a repair threshold of 9 of 10 each of
    /// its segments is queued and repaired onto other nodes.
    @Test func aNodeThatAnswersEveryAuditWronglyIsDisqualifiedAtItsFortyFirstFailureAndRepairedAway() async throws {
        try await UplinkTests.withUplink(nodes: 14, redundancy: "4/9/10/10") { planet, uplink in
            try await uplink.createBucket("audit")
            let data = UplinkTests.bytes(2_500_000, seed: 74)
            try await uplink.upload(bucket: "audit", key: "doc", data: data)
            let segments = try await planet.database.segments(after: nil, limit: 10)
            let liarID = try #require(segments.first?.pieces.first?.node)
            let liar = try #require(planet.storageNodes.first { $0.identity.id.bytes == liarID })
            let blobs = "\(liar.pieces.directory)/blobs/\(planet.satelliteIdentity.id.hex)"
            var rewritten = 0
            for name in FileManager.default.enumerator(atPath: blobs)?.allObjects as? [String] ?? [] where name.count > 2 {
                var file = try #require(FileManager.default.contents(atPath: blobs + "/" + name))
                for index in PieceHeader.size..<file.count { file[index] ^= 0xA5 }
                try file.write(to: URL(fileURLWithPath: blobs + "/" + name))
                rewritten += 1
            }
            let held = segments.filter { $0.pieces.contains { $0.node == liarID } }
            #expect(rewritten == held.count)

            for failure in 1...41 {
                let segment = held[failure % held.count]
                let report = try await planet.repairer.audit.audit(segment)
                #expect(report.fails == [liarID], "audit \(failure): \(report)")
                let standing = try await #require(try planet.database.auditStanding(of: liarID))
                #expect(standing.count == failure && standing.successes == 0)
                #expect((standing.disqualifiedAt != nil) == (failure == 41), "after failure \(failure)")
            }

            let offered = try await planet.api.overlay.selection.select(count: 14, minFreeDisk: 0)
            #expect(offered.count == 13 && !offered.contains { $0.id == liarID }, "a disqualified node is offered for nothing")
            #expect(try await planet.core.checker.pass().queued == held.count)
            let outcomes = try await planet.repairer.worker.claimAndWork()
            #expect(outcomes.count == held.count && outcomes.allSatisfy { if case .repaired = $0 { true } else { false } }, "\(outcomes)")
            for segment in try await planet.database.segments(after: nil, limit: 10) {
                #expect(!segment.pieces.contains { $0.node == liarID }, "segment \(segment.position) still lists the liar")
                #expect(segment.pieces.count == 10)
            }
            #expect(try await uplink.download(bucket: "audit", key: "doc") == data)
        }
    }
}

extension AuditTests {
    /// A node that answers an audit with an error that is neither offline nor a missing piece (its
    /// piece's path is a directory now: the node cannot read it) gets an unknown verdict: its
    /// unknown-error scale falls from Storj's starting alpha of 1 to 0.487, it is suspended and
    /// offered for nothing, and its audit scale and audit count are untouched.
    @Test func anUnknownErrorSuspendsAFreshNodeAndLeavesItsAuditScaleAlone() async throws {
        try await UplinkTests.withUplink(nodes: 10, redundancy: "4/6/8/10") { planet, uplink in
            try await uplink.createBucket("audit")
            try await uplink.upload(bucket: "audit", key: "doc", data: UplinkTests.bytes(300_000, seed: 75))
            let segment = try await #require(try planet.database.segments(after: nil, limit: 10).first)
            let victim = segment.pieces[1]
            let path = try planet.blobPath(of: victim, in: segment)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)

            let report = try await planet.repairer.audit.audit(segment)
            #expect(report.unknown == [victim.node] && report.fails.isEmpty, "\(report)")
            let standing = try await #require(try planet.database.auditStanding(of: victim.node))
            #expect(standing.suspendedAt != nil && standing.disqualifiedAt == nil)
            #expect(standing.count == 0 && standing.alpha == nil, "an unknown error is no audit on the audit scale")
            #expect(standing.unknownAlpha == 0.95 && standing.unknownBeta == 1)
            let offered = try await planet.api.overlay.selection.select(count: 10, minFreeDisk: 0)
            #expect(offered.count == 9 && !offered.contains { $0.id == victim.node }, "a suspended node is offered for nothing")
        }
    }
}
