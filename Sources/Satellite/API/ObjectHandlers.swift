import Crypto
import Foundation
import Identity
import NodeProtocol
import OpenAPIRuntime
import PeerRuntime
import SatelliteAPI
import SatelliteDB

/// The object operations: begin, commit segment, commit, get, list, delete.
extension APIHandlers {
    /// The most segments one answer offers nodes for: with the default 110 nodes a segment, an
    /// answer for all of an object's 10,000 segments was 116 MB, built in memory at once.
    static let offerBatch = 32

    func beginObject(_ input: Operations.BeginObject.Input) async throws -> Operations.BeginObject.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard case .json(let body) = input.body else { return .badRequest(.init(body: .json(ErrorBody(.badRequest, "the body must be JSON")))) }
            guard BucketName.isValid(input.path.bucket) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "bucket name must be \(BucketName.rule)"))))
            }
            if let problem = Self.keyProblem(body.key) { return .badRequest(.init(body: .json(ErrorBody(.badRequest, problem)))) }
            guard body.segmentCount.map({ (0...ObjectLimits.maxSegments).contains($0) }) ?? true else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"segment_count\" must be from 0 to 10000"))))
            }
            let now = Date()
            if let expires = body.expiresAt, expires <= now {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"expires_at\" must be in the future"))))
            }
            let scheme = metainfo.scheme
            let pieceSize = metainfo.maxPieceSize
            // Every segment's nodes in one call: a call per segment (up to 10,000, each a trip to
            // the database threads and, with no selection cache, a read of the nodes table) kept
            // a client waiting for many seconds.
            let streamID = APIKeys.randomBytes(16)
            // A stream of unknown length gets position 0's nodes, and asks for each next.
            let roots = (0..<min(body.segmentCount ?? 1, Self.offerBatch)).map { _ in PieceID.random() }
            let begun = try await { () async throws -> Begun in
                let choices = try await overlay.selection.select(segments: roots.count, count: scheme.total, minFreeDisk: pieceSize, now: now)
                if let short = Self.shortOffer(choices, total: scheme.total) { return .tooFewNodes(short) }
                do {
                    return .begun(try await database.beginObject(
                        project: project.id, bucket: input.path.bucket, key: body.key, streamID: streamID, segmentCount: body.segmentCount,
                        offers: Self.offerRecords(choices, roots: roots), expiresAt: body.expiresAt,
                        zombieDeadline: now + metainfo.zombieDeadline.timeInterval, at: now
                    ), choices)
                } catch let conflict as ObjectConflict {
                    return .refused(conflict)
                }
            }()
            switch begun {
            case .tooFewNodes(let short):
                return .serviceUnavailable(.init(body: .json(short)))
            case .refused(let conflict):
                return .notFound(.init(body: .json(ErrorBody(.notFound, conflict.description))))
            case .begun(let object, let choices):
                let billing = OrderMetadata(project: project.id, bucket: input.path.bucket)
                let answered = try await signed(limits: choices.count * scheme.total) { () -> [Components.Schemas.SegmentOffer] in
                    offers(choices, roots: roots, first: 0, pieceExpiration: body.expiresAt, billing: billing, now: now)
                }
                return .created(.init(body: .json(.init(
                    streamId: Hex.encode(streamID), version: object.version, redundancy: Self.shown(scheme), segments: answered
                ))))
            }
        }
    }

    func offerSegments(_ input: Operations.OfferSegments.Input) async throws -> Operations.OfferSegments.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard case .json(let body) = input.body else { return .badRequest(.init(body: .json(ErrorBody(.badRequest, "the body must be JSON")))) }
            guard let streamID = Hex.decode(input.path.streamId, count: 16) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "stream id must be 32 lowercase hexadecimal digits"))))
            }
            guard (0..<10_000).contains(body.first) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"first\" must be from 0 to 9999"))))
            }
            guard (1...Self.offerBatch).contains(body.count) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"count\" must be from 1 to \(Self.offerBatch)"))))
            }
            let scheme = metainfo.scheme
            let pieceSize = metainfo.maxPieceSize
            let now = Date()
            let upload: PendingUpload
            do {
                // A stream that is not there is told so before nodes are chosen for it.
                try await database.offerSegments(project: project.id, streamID: streamID, first: body.first, offers: [], at: now)
                upload = try await database.pendingUpload(project: project.id, streamID: streamID)
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
            } catch let conflict as ObjectConflict where !conflict.isBadRequest {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
            let choices = try await overlay.selection.select(segments: body.count, count: scheme.total, minFreeDisk: pieceSize, now: now)
            if let short = Self.shortOffer(choices, total: scheme.total) { return .serviceUnavailable(.init(body: .json(short))) }
            let roots = choices.map { _ in PieceID.random() }
            do {
                try await database.offerSegments(project: project.id, streamID: streamID, first: body.first, offers: Self.offerRecords(choices, roots: roots), at: now)
                let billing = OrderMetadata(project: project.id, bucket: upload.bucket)
                let answered = try await signed(limits: choices.count * scheme.total) { () -> [Components.Schemas.SegmentOffer] in
                    offers(choices, roots: roots, first: body.first, pieceExpiration: upload.expiresAt, billing: billing, now: now)
                }
                return .ok(.init(body: .json(.init(segments: answered))))
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
            } catch let conflict as ObjectConflict where conflict.isBadRequest {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, conflict.description))))
            } catch let conflict as ObjectConflict {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
        }
    }

    /// How beginning an object ended.
    private enum Begun: Sendable {
        case begun(ObjectRecord, [[NodeChoice]])
        case tooFewNodes(ErrorBody)
        case refused(ObjectConflict)
    }

    /// The error body when a segment could not be offered `total` nodes.
    private static func shortOffer(_ choices: [[NodeChoice]], total: Int) -> ErrorBody? {
        guard let short = choices.first(where: { $0.count < total }) else { return nil }
        return ErrorBody(
            .notEnoughNodes,
            "only \(short.count) suitable nodes are online (with room, on distinct networks, and vetted but for the share new nodes may have); a segment needs \(total)"
        )
    }

    private static func offerRecords(_ choices: [[NodeChoice]], roots: [PieceID]) -> [SegmentOfferRecord] {
        zip(choices, roots).map { SegmentOfferRecord(nodes: $0.map(\.id), rootPieceID: $1.bytes) }
    }

    /// The offers for positions `first`, `first + 1`, ..., each node with its signed PUT limit.
    private func offers(
        _ choices: [[NodeChoice]], roots: [PieceID], first: Int, pieceExpiration: Date?, billing: OrderMetadata, now: Date
    ) -> [Components.Schemas.SegmentOffer] {
        zip(choices, roots).enumerated().map { index, segment in
            let (nodes, root) = segment
            let signed = signer.putLimits(
                rootPieceID: root, nodes: nodes.map { NodeID(bytes: $0.id)! }, pieceSize: metainfo.maxPieceSize, pieceExpiration: pieceExpiration,
                billedTo: billing, now: now
            )
            return Components.Schemas.SegmentOffer(
                position: first + index,
                nodes: zip(nodes, signed.limits).map { .init(nodeId: Hex.encode($0.id), address: $0.address, orderLimit: .init($1.encoded)) },
                piecePrivateKey: .init(signed.piecePrivateKey.rawRepresentation)
            )
        }
    }

    /// Runs `work`, which signs `limits` order limits, on the request's task when they are few,
    /// and on a blocking thread when they take long (32 segments of 110 are most of a second).
    private func signed<Result: Sendable>(limits: Int, _ work: @escaping @Sendable () -> Result) async throws -> Result {
        limits <= 128 ? work() : try await blocking(work)
    }

    static func shown(_ scheme: Redundancy) -> Components.Schemas.Redundancy {
        .init(k: scheme.k, repair: scheme.repair, optimal: scheme.optimal, total: scheme.total, shareSize: scheme.shareSize)
    }

    func commitSegment(_ input: Operations.CommitSegment.Input) async throws -> Operations.CommitSegment.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard case .json(let body) = input.body else { return .badRequest(.init(body: .json(ErrorBody(.badRequest, "the body must be JSON")))) }
            guard let streamID = Hex.decode(input.path.streamId, count: 16) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "stream id must be 32 lowercase hexadecimal digits"))))
            }
            let scheme = metainfo.scheme
            guard (0..<10_000).contains(body.position) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"position\" must be from 0 to 9999"))))
            }
            guard (0...metainfo.maxSegmentSize).contains(body.encryptedSize) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"encrypted_size\" must be from 0 to \(metainfo.maxSegmentSize)"))))
            }
            guard body.pieces.count <= 600 else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"pieces\" must hold at most 600 pieces"))))
            }
            var pieces: [Piece] = []
            var hashes: [PieceHash] = []
            for (index, stored) in body.pieces.enumerated() {
                guard (0..<scheme.total).contains(stored.number) else {
                    return .badRequest(.init(body: .json(ErrorBody(.badRequest, "pieces[\(index)].number must be from 0 to \(scheme.total - 1)"))))
                }
                guard let node = Hex.decode(stored.nodeId, count: 32) else {
                    return .badRequest(.init(body: .json(ErrorBody(.badRequest, "pieces[\(index)].node_id must be 64 lowercase hexadecimal digits"))))
                }
                guard let hash = PieceHash(decoding: Data(stored.hash.data)) else {
                    return .badRequest(.init(body: .json(ErrorBody(.badRequest, "pieces[\(index)].hash must be a node's piece hash, \(PieceHash.encodedSize) bytes in base64"))))
                }
                pieces.append(Piece(number: stored.number, node: node))
                hashes.append(hash)
            }
            guard Set(pieces.map(\.number)).count == pieces.count, Set(pieces.map(\.node)).count == pieces.count else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "each piece needs its own number and its own node"))))
            }
            guard pieces.count >= scheme.optimal else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "\(pieces.count) pieces were stored; a segment needs at least \(scheme.optimal)"))))
            }
            let stored = pieces
            let signedHashes = hashes
            let expectedSize = scheme.pieceSize(ofSegment: body.encryptedSize)
            do {
                let offered = try await database.offeredSegment(project: project.id, streamID: streamID, position: body.position)
                guard let offer = offered.offer, let root = PieceID(bytes: offer.rootPieceID) else {
                    return .conflict(.init(body: .json(ErrorBody(.conflict, "segment \(body.position) was not offered nodes with order limits; ask for offers again"))))
                }
                let problem = try await signed(limits: stored.count) {
                    Self.hashProblem(stored, signedHashes, offer: offer, root: root, publicKeys: offered.publicKeys, pieceSize: expectedSize, encryptedSize: body.encryptedSize)
                }
                if let problem { return .badRequest(.init(body: .json(ErrorBody(.badRequest, problem)))) }
                try await database.commitSegment(
                    project: project.id,
                    SegmentRecord(
                        streamID: streamID, position: body.position, redundancy: scheme, encryptedSize: body.encryptedSize, pieces: stored,
                        rootPieceID: root.bytes
                    ),
                    zombieDeadline: Date() + metainfo.zombieDeadline.timeInterval, at: Date()
                )
                return .noContent(.init())
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
            } catch let conflict as ObjectConflict where conflict.isBadRequest {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, conflict.description))))
            } catch let conflict as ObjectConflict {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
        }
    }

    /// Why the node-signed hashes do not prove that the pieces were stored, or nil: each is for the
    /// piece id derived for its node and number, signed by that node's key, of the size a piece
    /// of this segment has (Storj's satellite/metainfo/pointerverification).
    static func hashProblem(
        _ pieces: [Piece], _ hashes: [PieceHash], offer: SegmentOfferRecord, root: PieceID, publicKeys: [Data: Data], pieceSize: Int64, encryptedSize: Int64
    ) -> String? {
        let offered = Set(offer.nodes)
        // A node not offered is the database's refusal to give, in its own words.
        guard pieces.allSatisfy({ offered.contains($0.node) }) else { return nil }
        for (index, (piece, hash)) in zip(pieces, hashes).enumerated() {
            guard let node = NodeID(bytes: piece.node) else { continue }
            guard let key = publicKeys[piece.node] else {
                return "pieces[\(index)]: node \(node) has no key on record, so its hash cannot be checked"
            }
            let expected = root.derived(forNode: node, number: piece.number)
            guard hash.pieceID == expected else {
                return "pieces[\(index)].hash is for piece \(hash.pieceID), not piece \(piece.number) of this segment on node \(node) (\(expected))"
            }
            guard hash.isSigned(by: key) else { return "pieces[\(index)].hash is not signed by node \(node)" }
            guard hash.pieceSize == pieceSize else {
                return "pieces[\(index)].hash says \(hash.pieceSize) bytes; a segment of \(encryptedSize) bytes has pieces of \(pieceSize)"
            }
        }
        return nil
    }

    func commitObject(_ input: Operations.CommitObject.Input) async throws -> Operations.CommitObject.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard let streamID = Hex.decode(input.path.streamId, count: 16) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "stream id must be 32 lowercase hexadecimal digits"))))
            }
            let segmentCount: Int? = switch input.body {
            case .json(let body)?: body.segmentCount
            case nil: nil
            }
            guard segmentCount.map({ (0...ObjectLimits.maxSegments).contains($0) }) ?? true else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"segment_count\" must be from 0 to 10000"))))
            }
            do {
                let object = try await database.commitObject(project: project.id, streamID: streamID, segmentCount: segmentCount)
                return .ok(.init(body: .json(.init(key: object.key, version: object.version, createdAt: object.createdAt, expiresAt: object.expiresAt))))
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
            } catch let conflict as ObjectConflict where conflict.isBadRequest {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, conflict.description))))
            } catch let conflict as ObjectConflict {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
        }
    }

    func getObject(_ input: Operations.GetObject.Input) async throws -> Operations.GetObject.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard BucketName.isValid(input.path.bucket) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "bucket name must be \(BucketName.rule)"))))
            }
            if let problem = Self.keyProblem(input.query.key) { return .badRequest(.init(body: .json(ErrorBody(.badRequest, problem)))) }
            let first = input.query.first ?? 0
            let count = input.query.count ?? Self.offerBatch
            guard (0..<10_000).contains(first) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"first\" must be from 0 to 9999"))))
            }
            guard (1...Self.offerBatch).contains(count) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"count\" must be from 1 to \(Self.offerBatch)"))))
            }
            if let version = input.query.version, version < 1 {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"version\" must be 1 or more"))))
            }
            var excluded = Set<Data>()
            for id in (input.query.exclude ?? "").split(separator: ",", omittingEmptySubsequences: false) where input.query.exclude != nil {
                guard let node = Hex.decode(String(id), count: 32), excluded.count < 100 else {
                    return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"exclude\" must be at most 100 node ids of 64 lowercase hexadecimal digits, comma-separated"))))
                }
                excluded.insert(node)
            }
            let found = try await database.object(project: project.id, bucket: input.path.bucket, key: input.query.key, version: input.query.version, positions: first..<(first + count))
            guard let (object, segmentCount, segments, addresses) = found else {
                let missing = ObjectConflict.noSuchObject(input.query.key).description + (input.query.version.map { " at version \($0)" } ?? "")
                return .notFound(.init(body: .json(ErrorBody(.notFound, missing))))
            }
            let billing = OrderMetadata(project: project.id, bucket: input.path.bucket)
            let now = Date()
            let exclusions = excluded
            let shown = try await signed(limits: segments.reduce(0) { $0 + min($1.pieces.count, $1.redundancy.downloadNodes) }) {
                segments.map { downloadable($0, addresses: addresses, excluded: exclusions, billing: billing, now: now) }
            }
            return .ok(.init(body: .json(.init(
                key: object.key, version: object.version, streamId: Hex.encode(object.streamID), segmentCount: segmentCount, createdAt: object.createdAt, expiresAt: object.expiresAt, segments: shown
            ))))
        }
    }

    /// A segment as a download sees it: every piece, and GET limits for `downloadNodes` of them
    /// on nodes with an address and not `excluded`, chosen at random so that downloads spread
    /// over the pieces.
    private func downloadable(
        _ segment: SegmentRecord, addresses: [Data: String], excluded: Set<Data>, billing: OrderMetadata, now: Date
    ) -> Components.Schemas.Segment {
        let r = segment.redundancy
        var limits: [Data: OrderLimit] = [:]
        var key: Data?
        if let root = segment.rootPieceID.flatMap(PieceID.init(bytes:)) {
            let chosen = segment.pieces.filter { !(addresses[$0.node] ?? "").isEmpty && !excluded.contains($0.node) }.shuffled().prefix(r.downloadNodes)
            let pieceSize = r.pieceSize(ofSegment: segment.encryptedSize)
            let signed = signer.getLimits(
                rootPieceID: root, pieces: chosen.map { (number: $0.number, node: NodeID(bytes: $0.node)!) }, pieceSize: pieceSize, billedTo: billing, now: now
            )
            for (piece, limit) in zip(chosen, signed.limits) { limits[piece.node] = limit }
            key = signed.piecePrivateKey.rawRepresentation
        }
        return Components.Schemas.Segment(
            position: segment.position, encryptedSize: segment.encryptedSize, redundancy: Self.shown(r),
            pieces: segment.pieces.map {
                .init(number: $0.number, nodeId: Hex.encode($0.node), address: addresses[$0.node] ?? "", orderLimit: limits[$0.node].map { .init($0.encoded) })
            },
            piecePrivateKey: key.map { .init($0) }
        )
    }

    func listObjects(_ input: Operations.ListObjects.Input) async throws -> Operations.ListObjects.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard BucketName.isValid(input.path.bucket) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "bucket name must be \(BucketName.rule)"))))
            }
            let limit = input.query.limit ?? 100
            guard (1...1000).contains(limit) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"limit\" must be from 1 to 1000"))))
            }
            for (name, value) in [("prefix", input.query.prefix), ("cursor", input.query.cursor)] where (value?.unicodeScalars.count ?? 0) > 1024 {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "query \"\(name)\" must be at most 1024 characters"))))
            }
            let page = try await database.listObjects(project: project.id, bucket: input.path.bucket, prefix: input.query.prefix ?? "", after: input.query.cursor, limit: limit + 1)
            let objects = page.prefix(limit).map { Components.Schemas.ObjectSummary(key: $0.key, version: $0.version, createdAt: $0.createdAt, expiresAt: $0.expiresAt) }
            return .ok(.init(body: .json(.init(objects: Array(objects), nextCursor: page.count > limit ? objects.last?.key : nil))))
        }
    }

    func deleteObject(_ input: Operations.DeleteObject.Input) async throws -> Operations.DeleteObject.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard BucketName.isValid(input.path.bucket) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "bucket name must be \(BucketName.rule)"))))
            }
            if let problem = Self.keyProblem(input.query.key) { return .badRequest(.init(body: .json(ErrorBody(.badRequest, problem)))) }
            guard try await database.deleteObject(project: project.id, bucket: input.path.bucket, key: input.query.key) > 0 else {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchObject(input.query.key).description))))
            }
            return .noContent(.init())
        }
    }

    static func keyProblem(_ key: String) -> String? {
        // Characters (code points), as the document's maxLength counts them.
        guard (1...1024).contains(key.unicodeScalars.count) else { return "the object key must be 1 to 1024 characters" }
        guard !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return "the object key must not hold control characters" }
        return nil
    }
}
