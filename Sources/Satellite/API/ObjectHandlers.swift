import Foundation
import Identity
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
            guard (0...10_000).contains(body.segmentCount) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"segment_count\" must be from 0 to 10000"))))
            }
            let now = Date()
            if let expires = body.expiresAt, expires <= now {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "field \"expires_at\" must be in the future"))))
            }
            let scheme = metainfo.scheme
            let pieceSize = (metainfo.maxSegmentSize + Int64(scheme.k) - 1) / Int64(scheme.k)
            // Every segment's nodes in one call: a call per segment (up to 10,000, each a trip to
            // the database threads and, with no selection cache, a read of the nodes table) kept
            // a client waiting for many seconds.
            let streamID = APIKeys.randomBytes(16)
            // The choice and the insert in one trip to the writing thread.
            let begun = try await writing { () throws -> Begun in
                let choices = try overlay.selection.select(segments: min(body.segmentCount, Self.offerBatch), count: scheme.total, minFreeDisk: pieceSize, now: now)
                if let short = Self.shortOffer(choices, total: scheme.total) { return .tooFewNodes(short) }
                do {
                    return .begun(try database.beginObject(
                        project: project.id, bucket: input.path.bucket, key: body.key, streamID: streamID, segmentCount: body.segmentCount,
                        offers: choices.map { $0.map(\.id) }, expiresAt: body.expiresAt, zombieDeadline: now + metainfo.zombieDeadline.timeInterval, at: now
                    ), choices)
                } catch let conflict as ObjectConflict {
                    return .refused(conflict)
                }
            }
            switch begun {
            case .tooFewNodes(let short):
                return .serviceUnavailable(.init(body: .json(short)))
            case .refused(let conflict):
                return .notFound(.init(body: .json(ErrorBody(.notFound, conflict.description))))
            case .begun(let object, let choices):
                return .created(.init(body: .json(.init(
                    streamId: Hex.encode(streamID), version: object.version,
                    redundancy: .init(k: scheme.k, repair: scheme.repair, optimal: scheme.optimal, total: scheme.total),
                    segments: Self.offers(choices, first: 0)
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
            let pieceSize = (metainfo.maxSegmentSize + Int64(scheme.k) - 1) / Int64(scheme.k)
            let now = Date()
            do {
                // A stream that is not there is told so before nodes are chosen for it.
                try await writing { try database.offerSegments(project: project.id, streamID: streamID, first: body.first, offers: [], at: now) }
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
            } catch let conflict as ObjectConflict where !conflict.isBadRequest {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
            let choices = try await blocking { try overlay.selection.select(segments: body.count, count: scheme.total, minFreeDisk: pieceSize, now: now) }
            if let short = Self.shortOffer(choices, total: scheme.total) { return .serviceUnavailable(.init(body: .json(short))) }
            do {
                try await writing { try database.offerSegments(project: project.id, streamID: streamID, first: body.first, offers: choices.map { $0.map(\.id) }, at: now) }
                return .ok(.init(body: .json(.init(segments: Self.offers(choices, first: body.first)))))
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
            } catch let conflict as ObjectConflict where conflict.isBadRequest {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, conflict.description))))
            } catch let conflict as ObjectConflict {
                return .conflict(.init(body: .json(ErrorBody(.conflict, conflict.description))))
            }
        }
    }

    /// The error body when a segment could not be offered `total` nodes.
    /// How beginning an object ended.
    private enum Begun: Sendable {
        case begun(ObjectRecord, [[NodeChoice]])
        case tooFewNodes(ErrorBody)
        case refused(ObjectConflict)
    }

    private static func shortOffer(_ choices: [[NodeChoice]], total: Int) -> ErrorBody? {
        guard let short = choices.first(where: { $0.count < total }) else { return nil }
        return ErrorBody(.notEnoughNodes, "only \(short.count) suitable nodes on distinct networks are online; a segment needs \(total)")
    }

    /// The offers for positions `first`, `first + 1`, ...
    private static func offers(_ choices: [[NodeChoice]], first: Int) -> [Components.Schemas.SegmentOffer] {
        choices.enumerated().map { index, nodes in
            Components.Schemas.SegmentOffer(position: first + index, nodes: nodes.map { .init(nodeId: Hex.encode($0.id), address: $0.address) })
        }
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
            for (index, stored) in body.pieces.enumerated() {
                guard (0..<scheme.total).contains(stored.number) else {
                    return .badRequest(.init(body: .json(ErrorBody(.badRequest, "pieces[\(index)].number must be from 0 to \(scheme.total - 1)"))))
                }
                guard let node = Hex.decode(stored.nodeId, count: 32) else {
                    return .badRequest(.init(body: .json(ErrorBody(.badRequest, "pieces[\(index)].node_id must be 64 lowercase hexadecimal digits"))))
                }
                pieces.append(Piece(number: stored.number, node: node))
            }
            guard Set(pieces.map(\.number)).count == pieces.count, Set(pieces.map(\.node)).count == pieces.count else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "each piece needs its own number and its own node"))))
            }
            guard pieces.count >= scheme.optimal else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "\(pieces.count) pieces were stored; a segment needs at least \(scheme.optimal)"))))
            }
            let stored = pieces
            do {
                try await writing { try database.commitSegment(
                    project: project.id,
                    SegmentRecord(streamID: streamID, position: body.position, redundancy: scheme, encryptedSize: body.encryptedSize, pieces: stored),
                    at: Date()
                ) }
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

    func commitObject(_ input: Operations.CommitObject.Input) async throws -> Operations.CommitObject.Output {
        try await withProject({ .unauthorized(.init(body: .json($0))) }) { project in
            guard let streamID = Hex.decode(input.path.streamId, count: 16) else {
                return .badRequest(.init(body: .json(ErrorBody(.badRequest, "stream id must be 32 lowercase hexadecimal digits"))))
            }
            do {
                let object = try await writing { try database.commitObject(project: project.id, streamID: streamID) }
                return .ok(.init(body: .json(.init(key: object.key, version: object.version, createdAt: object.createdAt, expiresAt: object.expiresAt))))
            } catch ObjectConflict.noSuchStream {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchStream.description))))
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
            let found = try await reading { try $0.object(project: project.id, bucket: input.path.bucket, key: input.query.key) }
            guard let (object, segments, addresses) = found else {
                return .notFound(.init(body: .json(ErrorBody(.notFound, ObjectConflict.noSuchObject(input.query.key).description))))
            }
            let shown = segments.map { segment in
                Components.Schemas.Segment(
                    position: segment.position, encryptedSize: segment.encryptedSize,
                    redundancy: .init(k: segment.redundancy.k, repair: segment.redundancy.repair, optimal: segment.redundancy.optimal, total: segment.redundancy.total),
                    pieces: segment.pieces.map { .init(number: $0.number, nodeId: Hex.encode($0.node), address: addresses[$0.node] ?? "") }
                )
            }
            return .ok(.init(body: .json(.init(key: object.key, version: object.version, createdAt: object.createdAt, expiresAt: object.expiresAt, segments: shown))))
        }
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
            let page = try await reading { try $0.listObjects(project: project.id, bucket: input.path.bucket, prefix: input.query.prefix ?? "", after: input.query.cursor, limit: limit + 1) }
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
            guard try await writing({ try database.deleteObject(project: project.id, bucket: input.path.bucket, key: input.query.key) }) > 0 else {
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
