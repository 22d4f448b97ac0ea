import AsyncHTTPClient
import ErasureCoding
import Foundation
import Identity
import NIOCore
import NodeProtocol
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
    /// Nodes that did not send their share in time: contained, their piece asked for again.
    public var contained: [PendingAudit] = []
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

    /// Audits `segment` at `stripe` (random when nil), skipping the nodes in `skipping` (contained
    /// nodes answer for their pending audit first, as in Storj).
    func verify(_ segment: SegmentRecord, stripe chosen: Int? = nil, skipping: Set<Data> = [], now: Date = Date()) async throws -> AuditReport {
        var report = AuditReport()
        let r = segment.redundancy
        guard let root = segment.rootPieceID.flatMap(PieceID.init(bytes:)) else {
            report.noVerdict = "stored before order limits"
            return report
        }
        let db = self.db
        guard let owner = try await db.owner(ofStream: segment.streamID) else {
            report.noVerdict = "the segment is gone"
            return report
        }
        let pieceSize = r.pieceSize(ofSegment: segment.encryptedSize)
        let stripe = chosen ?? Int.random(in: 0..<max(1, Int(pieceSize) / r.shareSize))
        let addresses = try await db.addresses(of: segment.pieces.map(\.node))
        let holders = segment.pieces.filter { !skipping.contains($0.node) }.compactMap { piece in NodeID(bytes: piece.node).map { (piece, $0) } }
        let limits = signer.repairLimits(
            .getAudit, rootPieceID: root, pieces: holders.map { ($0.0.number, $0.1) }, pieceSize: Int64(r.shareSize), pieceExpiration: nil,
            billedTo: OrderMetadata(project: owner.project, bucket: owner.bucket), now: now
        ).limits
        enum Read { case share(Share), fail, offline, timedOut(Int), unknown }
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
                    } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                        return (piece.node, .timedOut(piece.number))
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
            case .timedOut(let number):
                report.contained.append(PendingAudit(node: node, streamID: segment.streamID, position: segment.position, pieceNumber: number))
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
        let now = try await db.segment(streamID: segment.streamID, position: segment.position)
        if now?.pieces != segment.pieces {
            return AuditReport(noVerdict: "the segment changed during the audit")
        }
        return report
    }

    /// How a contained node answered for its pending audit.
    enum Reverification: Sendable, Equatable {
        case success, fail(String), offline, timedOut, gone
    }

    /// Asks the contained node for the whole piece of its pending audit and checks it against what
    /// it was stored under (``PieceProvenance``).
    func reverify(_ pending: PendingAudit, now: Date = Date()) async throws -> Reverification {
        let db = self.db
        guard let segment = try await db.segment(streamID: pending.streamID, position: pending.position),
            segment.pieces.contains(Piece(number: pending.pieceNumber, node: pending.node)),
            let root = segment.rootPieceID.flatMap(PieceID.init(bytes:)), let node = NodeID(bytes: pending.node),
            let owner = try await db.owner(ofStream: pending.streamID),
            let address = try await db.addresses(of: [pending.node])[pending.node]
        else { return .gone }
        let size = segment.redundancy.pieceSize(ofSegment: segment.encryptedSize)
        guard let limit = signer.repairLimits(
            .getAudit, rootPieceID: root, pieces: [(pending.pieceNumber, node)], pieceSize: size, pieceExpiration: nil,
            billedTo: OrderMetadata(project: owner.project, bucket: owner.bucket), now: now
        ).limits.first else { return .gone }
        do {
            let (bytes, provenance) = try await pieces.downloadWithProvenance(from: address, limit: limit, size: size)
            guard let provenance else { return .fail("it did not show what the piece was stored under") }
            let pieceID = root.derived(forNode: node, number: pending.pieceNumber)
            if let problem = provenance.problem(with: bytes, node: node, pieceID: pieceID, satellite: signer.identity.id) { return .fail(problem) }
            return .success
        } catch let error as PieceTransferError where error.reason.hasPrefix("not_found") || error.reason.hasPrefix("corrupted") {
            return .fail(error.reason)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .timedOut
        } catch {
            return Self.isRefused(error) || (error as? HTTPClientError) == .connectTimeout ? .offline : .timedOut
        }
    }

    /// Whether `error` is a refused connection: the node's address answers, nothing listens.
    private static func isRefused(_ error: any Error) -> Bool {
        "\(error)".localizedCaseInsensitiveContains("connection refused") || (error as? IOError)?.errnoCode == ECONNREFUSED
    }
}
