import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Logging
import NIOCore
import NodeProtocol
import PeerRuntime

/// The piece protocol over HTTP (Storj's piecestore Upload, Download and Delete, on Hummingbird):
///
/// - `POST /v1/pieces/upload`: the body is ``PieceFrame``s, the order limit, the data, the
///   uplink's signed hash; the answer is the node's signed ``PieceHash`` (144 bytes).
/// - `POST /v1/pieces/download`: the body is an order limit and the range, offset and count as
///   big-endian Int64s; the answer streams the bytes. A GET_REPAIR or GET_AUDIT read of a whole
///   piece also carries the limit it was stored under and the uplink's signed hash
///   (``PieceProvenance``'s header fields).
/// - `POST /v1/pieces/delete`: the body is a DELETE order limit; 204.
/// - `POST /v1/pieces/retain`: the body is a trusted satellite's signed ``RetainRequest``; the
///   pieces of that satellite older than it and not in its filter go to the trash; the answer is
///   `{"trashed": n, "kept": m}`.
///
/// Bodies are read and answers written as they stream: a piece is never whole in memory. A refusal
/// is `{"error": {"code": ..., "message": ...}}` (the codes of ``OrderLimitRefusal``, and
/// `not_found`, `already_stored`, `out_of_range`, and `corrupted` for a whole piece whose bytes no
/// longer hash to what was stored).
public struct PieceEndpoint: Sendable {
    let store: PieceStore
    /// Where the orders served are kept until they are settled.
    let orders: OrderStore
    let verifier: OrderLimitVerifier
    let identity: PeerIdentity
    let threads: BlockingThreads
    let log: Logger

    public init(store: PieceStore, orders: OrderStore, verifier: OrderLimitVerifier, identity: PeerIdentity, threads: BlockingThreads, log: Logger) {
        self.store = store
        self.orders = orders
        self.verifier = verifier
        self.identity = identity
        self.threads = threads
        self.log = log
    }

    /// The routes, for the node's HTTP listener.
    public func router() -> Router<PeerRequestContext> {
        let router = Router(context: PeerRequestContext.self)
        router.post("/v1/pieces/upload") { request, _ in await self.answer { try await self.upload(request) } }
        router.post("/v1/pieces/download") { request, _ in await self.answer { try await self.download(request) } }
        router.post("/v1/pieces/delete") { request, _ in await self.answer { try await self.delete(request) } }
        router.post("/v1/pieces/retain") { request, _ in await self.answer { try await self.retain(request) } }
        return router
    }

    // MARK: Upload

    func upload(_ request: Request) async throws -> Response {
        var frames = FrameSource(body: request.body)
        guard case .limit(let encoded) = try await frames.next() else { throw OrderLimitRefusal.malformed("the first frame must be the order limit") }
        let limit = try OrderLimit(decoding: encoded)
        if let refusal = verifier.verify(limit, for: OrderLimit.Action.uploads) { throw refusal }
        let free = store.freeSpace
        guard free >= limit.limit else { throw OrderLimitRefusal.notEnoughSpace(free: free, limit: limit.limit) }
        let store = self.store
        let writer = try await threads.run { try store.writer(for: limit.pieceID, satellite: limit.satelliteID) }
        do {
            while true {
                switch try await frames.next() {
                case .data(let bytes):
                    guard writer.size + Int64(bytes.count) <= limit.limit else {
                        throw OrderLimitRefusal.beyondLimit(limit: limit.limit, sent: writer.size + Int64(bytes.count))
                    }
                    try await threads.run { try writer.write(bytes) }
                case .hash(let encodedHash):
                    guard let uplinkHash = PieceHash(decoding: encodedHash) else { throw OrderLimitRefusal.malformed("the uplink's hash is not a piece hash") }
                    guard try await frames.next() == nil else { throw OrderLimitRefusal.malformed("frames after the uplink's hash") }
                    guard uplinkHash.isSigned(by: limit.uplinkPublicKey), uplinkHash.pieceID == limit.pieceID else { throw OrderLimitRefusal.uplinkSignatureInvalid }
                    guard uplinkHash.pieceSize == writer.size else { throw OrderLimitRefusal.sizeMismatch(signed: uplinkHash.pieceSize, received: writer.size) }
                    let hash = writer.hash
                    guard uplinkHash.hash == hash else { throw OrderLimitRefusal.hashMismatch }
                    let now = Int64(Date().timeIntervalSince1970)
                    let header = PieceHeader(
                        hash: hash, storedAt: now, orderLimit: limit.encoded, uplinkSignature: uplinkHash.signature, uplinkTimestamp: uplinkHash.timestamp
                    )
                    try await threads.run {
                        try writer.commit(header: header)
                        record(ServedOrder(limit: limit, amount: writer.size))
                    }
                    let stored = PieceHash(pieceID: limit.pieceID, hash: hash, pieceSize: writer.size, timestamp: now).signed(with: identity.sign)
                    log.debug("stored", metadata: ["piece": "\(limit.pieceID)", "bytes": "\(writer.size)"])
                    return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: stored.encoded)))
                case .limit:
                    throw OrderLimitRefusal.malformed("a second order limit")
                case nil:
                    throw OrderLimitRefusal.malformed("the body ended before the uplink's hash")
                }
            }
        } catch {
            writer.cancel()
            throw error
        }
    }

    // MARK: Download

    func download(_ request: Request) async throws -> Response {
        let body = try await Self.collect(request.body, atMost: OrderLimit.encodedSize + 16)
        guard body.count == OrderLimit.encodedSize + 16 else {
            throw OrderLimitRefusal.malformed("a download is an order limit and an offset and a count, \(OrderLimit.encodedSize + 16) bytes")
        }
        let limit = try OrderLimit(decoding: body.prefix(OrderLimit.encodedSize))
        let range = [UInt8](body.suffix(16))
        let offset = range[0..<8].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let count = range[8..<16].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        if let refusal = verifier.verify(limit, for: OrderLimit.Action.downloads) { throw refusal }
        guard count <= limit.limit else { throw OrderLimitRefusal.beyondLimit(limit: limit.limit, sent: count) }
        let store = self.store
        let reader = try await threads.run { try store.reader(for: limit.pieceID, satellite: limit.satelliteID) }
        guard offset >= 0, count >= 0, offset + count <= reader.size else {
            throw PieceStoreError.outOfRange(limit.pieceID, offset: offset, count: count, size: reader.size)
        }
        // A whole piece is checked against the hash it was stored with before a byte goes out, so
        // a rotten file is reported instead of served (a range cannot be checked alone: an audit
        // finds a bad share through the erasure code).
        if offset == 0, count == reader.size { try await threads.run { try reader.verify() } }
        var headers: HTTPFields = [.contentType: "application/octet-stream", .contentLength: "\(count)"]
        // The satellite's own reads of a whole piece get what the piece was stored under, so that
        // they can check it against the uplink's signature rather than take the node's word.
        if limit.action == .getRepair || limit.action == .getAudit, offset == 0, count == reader.size, reader.header.uplinkTimestamp != 0,
            let original = try? OrderLimit(decoding: reader.header.orderLimit)
        {
            let uplinkHash = PieceHash(
                pieceID: original.pieceID, hash: reader.header.hash, pieceSize: reader.size, timestamp: reader.header.uplinkTimestamp,
                signature: reader.header.uplinkSignature
            )
            headers[HTTPField.Name(PieceProvenance.orderLimitField)!] = reader.header.orderLimit.base64EncodedString()
            headers[HTTPField.Name(PieceProvenance.uplinkHashField)!] = uplinkHash.encoded.base64EncodedString()
        }
        let threads = self.threads
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var sent: Int64 = 0
            do {
                while sent < count {
                    let chunk = Int(min(Int64(256 << 10), count - sent))
                    let at = offset + sent
                    let bytes = try await threads.run { try reader.read(offset: at, count: chunk) }
                    try await writer.write(ByteBuffer(bytes: bytes))
                    sent += Int64(chunk)
                }
            } catch {
                // What went out is served, also when the client went away before the end.
                let served = ServedOrder(limit: limit, amount: sent)
                try? await threads.run { record(served) }
                throw error
            }
            let served = ServedOrder(limit: limit, amount: sent)
            // Kept on the piece store's threads, as the upload's is: it appends to a file.
            try await threads.run { record(served) }
            try await writer.finish(nil)
        })
    }

    // MARK: Retain

    /// The most bytes a retain request may have: a filter for some 25 million pieces at 10 %.
    static let maxRetainRequest = 16 << 20

    func retain(_ request: Request) async throws -> Response {
        let body = try await Self.collect(request.body, atMost: Self.maxRetainRequest)
        guard let retain = RetainRequest(decoding: body) else { throw OrderLimitRefusal.malformed("the body is not a retain request") }
        guard verifier.trustedSatellites.contains(retain.satelliteID) else { throw OrderLimitRefusal.untrustedSatellite(retain.satelliteID) }
        guard retain.isSignedBySatellite else { throw OrderLimitRefusal.badSignature }
        let store = self.store
        let (trashed, kept) = try await threads.run { store.retain(satellite: retain.satelliteID, filter: retain.filter, createdBefore: retain.createdBefore) }
        log.info("retained", metadata: ["trashed": "\(trashed)", "kept": "\(kept)"])
        let answer = try JSONSerialization.data(withJSONObject: ["trashed": trashed, "kept": kept])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer)))
    }

    // MARK: Delete

    func delete(_ request: Request) async throws -> Response {
        let body = try await Self.collect(request.body, atMost: OrderLimit.encodedSize)
        let limit = try OrderLimit(decoding: body)
        if let refusal = verifier.verify(limit, for: [.delete]) { throw refusal }
        let store = self.store
        try await threads.run { try store.delete(limit.pieceID, satellite: limit.satelliteID) }
        return Response(status: .noContent)
    }

    /// Keeps an order for settlement. A node that cannot keep one loses its pay for it, not the
    /// piece or the answer, so it is logged and the request goes on.
    private func record(_ order: ServedOrder) {
        do {
            try orders.record(order)
        } catch {
            log.error("an order served could not be kept for settlement", metadata: ["error": "\(error)", "serial": "\(Hex.encode(order.limit.serial))"])
        }
    }

    // MARK: Answers

    /// Runs a handler and turns what it throws into the error answer.
    private func answer(_ handler: () async throws -> Response) async -> Response {
        do {
            return try await handler()
        } catch let refusal as OrderLimitRefusal {
            let status: HTTPResponse.Status = switch refusal {
            case .malformed: .badRequest
            case .beyondLimit: .contentTooLarge
            case .notEnoughSpace: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
            case .hashMismatch, .sizeMismatch, .uplinkSignatureInvalid: .unprocessableContent
            default: .forbidden
            }
            return Self.error(status, refusal.code, refusal.description)
        } catch let error as PieceStoreError {
            switch error {
            case .notFound: return Self.error(.notFound, "not_found", error.description)
            case .alreadyStored: return Self.error(.conflict, "already_stored", error.description)
            case .full: return Self.error(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "not_enough_space", error.description)
            case .outOfRange: return Self.error(.rangeNotSatisfiable, "out_of_range", error.description)
            case .corrupted:
                log.error("a stored piece is corrupted", metadata: ["error": "\(error)"])
                return Self.error(.internalServerError, "corrupted", error.description)
            default:
                log.error("piece store failed", metadata: ["error": "\(error)"])
                return Self.error(.internalServerError, "internal", error.description)
            }
        } catch {
            log.error("piece request failed", metadata: ["error": "\(error)"])
            return Self.error(.internalServerError, "internal", "\(error)")
        }
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        let body = try! JSONSerialization.data(withJSONObject: ["error": ["code": code, "message": message]])
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The whole body, refused past `atMost` bytes.
    static func collect(_ body: RequestBody, atMost: Int) async throws -> Data {
        var data = Data()
        for try await buffer in body {
            data += buffer.readableBytesView
            guard data.count <= atMost else { throw OrderLimitRefusal.malformed("the body is longer than \(atMost) bytes") }
        }
        return data
    }
}

/// The frames of a request body, as its buffers arrive.
struct FrameSource {
    private var iterator: RequestBody.AsyncIterator
    private var decoder = PieceFrameDecoder()

    init(body: RequestBody) {
        iterator = body.makeAsyncIterator()
    }

    mutating func next() async throws -> PieceFrame? {
        while true {
            if let frame = try decoder.next() { return frame }
            guard let buffer = try await iterator.next() else {
                if decoder.hasPartialFrame { throw OrderLimitRefusal.malformed("the body ended inside a frame") }
                return nil
            }
            decoder.append(buffer.readableBytesView)
        }
    }
}
