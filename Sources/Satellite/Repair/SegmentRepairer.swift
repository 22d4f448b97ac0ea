import Crypto
import ErasureCoding
import Foundation
import Identity
import NodeProtocol
import PieceTransfer
import SatelliteDB
import Synchronization

/// Rebuilds one segment's lost pieces, as Storj's repairer does: reads `k` of the pieces left under
/// GET_REPAIR limits (the next ones when some fail), rebuilds the segment, encodes the pieces it
/// lacks, stores them on new nodes (none that holds a piece of it, none on a network of one that
/// does) under PUT_REPAIR limits, and swaps the segment's piece list only if it is still the one
/// it read. Every limit is signed with the satellite's own key: the repairer needs no uplink.
final class SegmentRepairer: Sendable {
    /// How a repair of one segment ended.
    enum Result: Sendable, Equatable {
        /// The segment holds `pieces` pieces now, `added` of them new; `notStored` says why each
        /// new piece that a chosen node did not take is missing; `read` and `written` are the
        /// bytes of pieces downloaded and stored.
        case repaired(pieces: Int, added: Int, notStored: [String], read: Int64, written: Int64)
        /// The segment changed (deleted, overwritten, repaired by another) while it was being
        /// repaired; nothing was changed, and the new pieces are left to garbage collection.
        case segmentChanged
        /// Why it could not be repaired this time.
        case failed(String)
    }

    init(signer: OrderSigner, pieces: PieceClient, db: any RepairQueueDB & ObjectsDB, selection: NodeSelectionCache) {
        self.signer = signer
        self.pieces = pieces
        self.db = db
        self.selection = selection
        beforeSwap = Mutex(nil)
    }

    let signer: OrderSigner
    let pieces: PieceClient
    let db: any RepairQueueDB & ObjectsDB
    let selection: NodeSelectionCache
    /// Run after the new pieces are stored and before the piece list is swapped: a test puts a
    /// delete or an overwrite there, to race the repair at its narrowest point.
    let beforeSwap: Mutex<(@Sendable () async throws -> Void)?>

    /// Repairs `segment`, of whose pieces `healthy` can be counted on.
    /// - Throws: database errors; transfer failures are answered as ``Result/failed(_:)``.
    func repair(_ segment: SegmentRecord, healthy: [Piece], usedNetworks: Set<String>, now: Date) async throws -> Result {
        let r = segment.redundancy
        let db = self.db, selection = self.selection
        guard let rootBytes = segment.rootPieceID, let root = PieceID(bytes: rootBytes) else {
            return .failed("the segment was stored before order limits: its pieces' ids are unknown")
        }
        guard let owner = try await db.owner(ofStream: segment.streamID) else { return .segmentChanged }
        let billing = OrderMetadata(project: owner.project, bucket: owner.bucket)
        let pieceSize = r.pieceSize(ofSegment: segment.encryptedSize)
        let addresses = try await db.addresses(of: healthy.map(\.node))

        // Read k of the pieces left, the next when one fails.
        let readable = healthy.compactMap { piece -> (Piece, NodeID, String)? in
            guard let id = NodeID(bytes: piece.node), let address = addresses[piece.node] else { return nil }
            return (piece, id, address)
        }.shuffled()
        let reads = signer.repairLimits(
            .getRepair, rootPieceID: root, pieces: readable.map { ($0.0.number, $0.1) }, pieceSize: pieceSize, pieceExpiration: nil, billedTo: billing, now: now
        )
        let (shares, readFailures) = await read(
            k: r.k, from: readable.map(\.2), numbers: readable.map(\.0.number), limits: reads.limits, count: pieceSize, root: root
        )
        guard shares.count >= r.k else {
            return .failed("read \(shares.count) of the \(r.k) pieces needed from \(readable.count) nodes: " + readFailures.prefix(3).joined(separator: "; "))
        }

        // Rebuild the padded segment and encode every piece of it; keep the ones to store.
        let runs: PieceRuns
        do {
            let code = try ErasureCode(required: r.k, total: r.total)
            let data = try code.rebuildStripes(shares, shareSize: r.shareSize)
            var encoder = SegmentEncoder(code: code, shareSize: r.shareSize)
            runs = encoder.append(data)
        } catch {
            return .failed("the pieces read do not rebuild the segment: \(error)")
        }

        // New pieces on new nodes, up to optimal and 5 % more (Storj's margin), never past total.
        // A piece a chosen node did not take is tried again, up to twice, each time on a node not
        // tried yet: one that died since its last check-in, or one holding an unreferenced piece
        // of that id (an upload's long tail, a killed repair) refuses it.
        let held = Set(healthy.map(\.number))
        var free = (0..<r.total).filter { !held.contains($0) }
        let wanted = min(free.count, Int((Double(r.optimal) * 1.05).rounded(.up)) - healthy.count)
        var tried = Set(segment.pieces.map(\.node))
        var networks = usedNetworks
        var stored: [Piece] = []
        var notStored: [String] = []
        var targetAddresses: [Data: String] = [:]
        for round in 0..<3 where stored.count < wanted {
            let count = wanted - stored.count
            let (excluded, excludedNetworks) = (tried, networks)
            let chosen = try await selection.select(count: count, minFreeDisk: pieceSize, excluded: excluded, excludedNetworks: excludedNetworks, now: now)
            guard round > 0 || healthy.count + chosen.count > r.repair else {
                return .failed("only \(chosen.count) new nodes on new networks are available; \(r.optimal - healthy.count) are needed")
            }
            guard !chosen.isEmpty else { break }
            tried.formUnion(chosen.map(\.id))
            networks.formUnion(chosen.map(\.lastNet))
            let targets = zip(free, chosen).compactMap { number, node in NodeID(bytes: node.id).map { (number, $0, node.address) } }
            for target in targets { targetAddresses[target.1.bytes] = target.2 }
            let writes = signer.repairLimits(
                .putRepair, rootPieceID: root, pieces: targets.map { ($0.0, $0.1) }, pieceSize: pieceSize, pieceExpiration: owner.expiresAt, billedTo: billing, now: now
            )
            let outcome = await store(runs, to: targets.map { ($0.0, $0.2) }, limits: writes.limits, key: writes.piecePrivateKey)
            stored += outcome.stored
            notStored += outcome.notStored
            let taken = Set(outcome.stored.map(\.number))
            free.removeAll { taken.contains($0) }
        }
        guard healthy.count + stored.count > r.repair else {
            return .failed("stored \(stored.count) of \(wanted) new pieces; the segment would still need repair: " + notStored.prefix(3).joined(separator: "; "))
        }
        let list = (healthy + stored).sorted { $0.number < $1.number }
        if let hook = beforeSwap.withLock({ $0 }) { try await hook() }
        guard try await db.replacePieces(streamID: segment.streamID, position: segment.position, expected: segment.pieces, with: list) else {
            // Nothing references the new pieces: take them back now rather than leave them to
            // garbage collection.
            let deletes = signer.repairLimits(
                .delete, rootPieceID: root, pieces: stored.compactMap { piece in NodeID(bytes: piece.node).map { (piece.number, $0) } }, pieceSize: 0,
                pieceExpiration: nil, billedTo: billing, now: now
            )
            await withTaskGroup(of: Void.self) { group in
                for limit in deletes.limits {
                    guard let address = targetAddresses[limit.storageNodeID.bytes] else { continue }
                    group.addTask { [client = self.pieces] in try? await client.delete(from: address, limit: limit) }
                }
            }
            return .segmentChanged
        }
        return .repaired(
            pieces: list.count, added: stored.count, notStored: notStored, read: pieceSize * Int64(shares.count), written: pieceSize * Int64(stored.count)
        )
    }

    /// `k` whole pieces, from the first nodes to serve them, each checked against the limit it was
    /// stored under and its uplink's signed hash; a node that fails or serves what its uplink did
    /// not store is replaced by the next, so that no more than `k` are read at once.
    private func read(k: Int, from addresses: [String], numbers: [Int], limits: [OrderLimit], count: Int64, root: PieceID) async -> ([Share], [String]) {
        let satellite = signer.identity.id
        return await withTaskGroup(of: (Int, Swift.Result<[UInt8], any Error>).self) { group in
            var next = 0
            func start() {
                guard next < limits.count else { return }
                let index = next
                next += 1
                group.addTask { [pieces] in
                    do {
                        let limit = limits[index]
                        let (bytes, provenance) = try await pieces.downloadWithProvenance(from: addresses[index], limit: limit, size: count)
                        guard let provenance else {
                            throw PieceTransferError(address: addresses[index], what: "a repair read", reason: "it did not show what the piece was stored under")
                        }
                        let pieceID = root.derived(forNode: limit.storageNodeID, number: numbers[index])
                        if let problem = provenance.problem(with: bytes, node: limit.storageNodeID, pieceID: pieceID, satellite: satellite) {
                            throw PieceTransferError(address: addresses[index], what: "a repair read", reason: problem)
                        }
                        return (index, .success(bytes))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            for _ in 0..<k { start() }
            var shares: [Share] = []
            var failures: [String] = []
            for await (index, outcome) in group {
                switch outcome {
                case .success(let bytes): shares.append(Share(number: numbers[index], bytes: bytes))
                case .failure(let error): failures.append("\(error)"); start()
                }
                if shares.count == k {
                    group.cancelAll()
                    break
                }
            }
            return (shares, failures)
        }
    }

    /// Stores piece `number` on each target under its limit; the pieces the nodes took, and why
    /// each of the others is not stored.
    private func store(
        _ runs: PieceRuns, to targets: [(number: Int, address: String)], limits: [OrderLimit], key: Curve25519.Signing.PrivateKey
    ) async -> (stored: [Piece], notStored: [String]) {
        await withTaskGroup(of: Swift.Result<Piece, any Error>.self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { [pieces] in
                    let limit = limits[index]
                    do {
                        _ = try await pieces.upload([runs[target.number]], to: target.address, limit: limit, pieceKey: key)
                        return .success(Piece(number: target.number, node: limit.storageNodeID.bytes))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var stored: [Piece] = []
            var notStored: [String] = []
            for await outcome in group {
                switch outcome {
                case .success(let piece): stored.append(piece)
                case .failure(let error): notStored.append("\(error)")
                }
            }
            return (stored, notStored)
        }
    }
}
