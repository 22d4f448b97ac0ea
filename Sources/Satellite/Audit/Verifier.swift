import AsyncHTTPClient
import ErasureCoding
import Foundation
import Identity
import NIOCore
import NodeProtocol
import PeerRuntime
import PieceTransfer
import SatelliteDB

/// What one audit of a segment found, node by node (Storj's verifier outcomes): nodes whose share
/// was right, nodes whose share was wrong or whose piece is gone, nodes that could not be reached
/// (not a failure), and nodes that failed otherwise (timeouts, errors: neither verdict).
public struct AuditReport: Sendable, Equatable {
    public var successes: [Data] = []
    public var fails: [Data] = []
    public var offline: [Data] = []
    public var unknown: [Data] = []
    /// Why the audit gave no verdict at all (too few shares, the segment changed), when it did not.
    public var noVerdict: String?
}

/// Audits one segment (Storj's satellite/audit/verifier.go): one random stripe's share from every
/// node holding a piece, under GET_AUDIT limits the satellite signs, and the erasure code's error
/// correction over the shares that came back to find the nodes whose share is wrong. Needs more than
/// `k` shares: with exactly `k` nothing can be checked.
struct Verifier: Sendable {
    let signer: OrderSigner
    let pieces: PieceClient
    let db: any RepairQueueDB & ObjectsDB
    let threads: BlockingThreads

    func verify(_ segment: SegmentRecord, stripe chosen: Int? = nil, now: Date = Date()) async throws -> AuditReport {
        var report = AuditReport()
        let r = segment.redundancy
        guard let root = segment.rootPieceID.flatMap(PieceID.init(bytes:)) else {
            report.noVerdict = "stored before order limits"
            return report
        }
        let db = self.db
        guard let owner = try await threads.run({ try db.owner(ofStream: segment.streamID) }) else {
            report.noVerdict = "the segment is gone"
            return report
        }
        let pieceSize = r.pieceSize(ofSegment: segment.encryptedSize)
        let stripe = chosen ?? Int.random(in: 0..<max(1, Int(pieceSize) / r.shareSize))
        let addresses = try await threads.run { try db.addresses(of: segment.pieces.map(\.node)) }
        let holders = segment.pieces.compactMap { piece in NodeID(bytes: piece.node).map { (piece, $0) } }
        let limits = signer.repairLimits(
            .getAudit, rootPieceID: root, pieces: holders.map { ($0.0.number, $0.1) }, pieceSize: Int64(r.shareSize), pieceExpiration: nil,
            billedTo: OrderMetadata(project: owner.project, bucket: owner.bucket), now: now
        ).limits
        enum Read { case share(Share), fail, offline, unknown }
        let reads = await withTaskGroup(of: (Data, Read).self) { group in
            for (index, (piece, _)) in holders.enumerated() {
                guard let address = addresses[piece.node] else { continue }
                group.addTask { [pieces] in
                    do {
                        let bytes = try await pieces.download(from: address, limit: limits[index], offset: Int64(stripe * r.shareSize), count: Int64(r.shareSize))
                        return (piece.node, .share(Share(number: piece.number, bytes: bytes)))
                    } catch let error as PieceTransferError where error.reason.hasPrefix("not_found") {
                        return (piece.node, .fail)
                    } catch let error as HTTPClientError where error == .connectTimeout {
                        return (piece.node, .offline)
                    } catch {
                        if Self.isRefused(error) { return (piece.node, .offline) }
                        return (piece.node, .unknown)
                    }
                }
            }
            var reads: [(Data, Read)] = []
            for await read in group { reads.append(read) }
            return reads
        }
        var shares: [Data: Share] = [:]
        for (node, read) in reads {
            switch read {
            case .share(let share): shares[node] = share
            case .fail: report.fails.append(node)
            case .offline: report.offline.append(node)
            case .unknown: report.unknown.append(node)
            }
        }
        guard shares.count > r.k else {
            report.noVerdict = "\(shares.count) shares came back; more than k = \(r.k) are needed to check any"
            return report
        }
        let correction: Correction
        do {
            correction = try ErasureCode(required: r.k, total: r.total).correct(Array(shares.values))
        } catch {
            report.noVerdict = "the shares disagree beyond what the code can correct: \(error)"
            return report
        }
        let wrong = Set(correction.wrongShares)
        for (node, share) in shares {
            if wrong.contains(share.number) { report.fails.append(node) } else { report.successes.append(node) }
        }
        // An audit of a segment that changed meanwhile (repaired, deleted) says nothing.
        let now = try await threads.run { try db.segment(streamID: segment.streamID, position: segment.position) }
        if now?.pieces != segment.pieces {
            return AuditReport(noVerdict: "the segment changed during the audit")
        }
        return report
    }

    /// Whether `error` is a refused connection: the node's address answers, nothing listens.
    private static func isRefused(_ error: any Error) -> Bool {
        "\(error)".localizedCaseInsensitiveContains("connection refused") || (error as? IOError)?.errnoCode == ECONNREFUSED
    }
}
