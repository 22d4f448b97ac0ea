import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NodeProtocol

/// The piece protocol from the client's side, an uplink's or the satellite's repairer's: an
/// upload under a PUT (or PUT_REPAIR) limit, answered by the node's signed hash; a download of a
/// range under a GET (GET_REPAIR, GET_AUDIT) limit.
public struct PieceClient: Sendable {
    let http: HTTPClient
    let timeout: TimeAmount

    /// A client on `http`, each transfer bounded by `timeout`. Give it a client whose connection
    /// pool does not retry refused connections: a node that is down should fail at once.
    public init(http: HTTPClient, timeout: TimeAmount) {
        self.http = http
        self.timeout = timeout
    }

    /// The same connections, each transfer bounded by `timeout` instead.
    public func with(timeout: TimeAmount) -> PieceClient {
        PieceClient(http: http, timeout: timeout)
    }

    /// Stores the piece made of `parts` (its runs, in order) on the node at `address` under
    /// `limit`, signing its hash with the segment's key; returns the node's signed hash as it
    /// answered it. The body is framed as the connection takes it, so the piece is never copied whole.
    /// - Throws: ``PieceTransferError`` with the node's refusal; what
    ///   AsyncHTTPClient throws for the connection; `CancellationError` when cancelled.
    public func upload(_ parts: [ArraySlice<UInt8>], to address: String, limit: OrderLimit, pieceKey: Curve25519.Signing.PrivateKey) async throws -> Data {
        var digest = SHA256()
        for part in parts { part.withUnsafeBytes { digest.update(bufferPointer: $0) } }
        let size = parts.reduce(0) { $0 + $1.count }
        let hash = PieceHash(pieceID: limit.pieceID, hash: Data(digest.finalize()), pieceSize: Int64(size), timestamp: Int64(Date().timeIntervalSince1970))
            .signed { try! pieceKey.signature(for: $0) }
        let frames = UploadFrames(limit: limit.encoded, parts: parts, hash: hash.encoded)
        var request = HTTPClientRequest(url: "http://\(address)/v1/pieces/upload")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(frames, length: .known(Int64(frames.length)))
        let answer = try await send(request, to: address, what: "an upload", atMost: 64 << 10)
        return Data(answer.bytes)
    }

    /// Deletes the piece a DELETE `limit` names from the node at `address` (the node moves it to
    /// its trash).
    public func delete(from address: String, limit: OrderLimit) async throws {
        var request = HTTPClientRequest(url: "http://\(address)/v1/pieces/delete")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(ByteBuffer(bytes: limit.encoded))
        let response = try await http.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 64 << 10)
        guard response.status == .noContent else {
            throw PieceTransferError(address: address, what: "a delete", reason: "answered \(response.status.code): \(String(buffer: body).prefix(200))")
        }
    }

    /// Sends the satellite's signed `request` to the node at `address`; how many pieces the node
    /// trashed and kept.
    public func retain(at address: String, _ request: RetainRequest) async throws -> (trashed: Int, kept: Int) {
        var http = HTTPClientRequest(url: "http://\(address)/v1/pieces/retain")
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/octet-stream")
        http.body = .bytes(ByteBuffer(bytes: request.encoded))
        let answer = try await send(http, to: address, what: "a retain", atMost: 64 << 10)
        let counts = (try? JSONSerialization.jsonObject(with: Data(answer.bytes))) as? [String: Int]
        return (counts?["trashed"] ?? 0, counts?["kept"] ?? 0)
    }

    /// `count` bytes of the piece `limit` names from `offset`, from the node at `address`.
    public func download(from address: String, limit: OrderLimit, offset: Int64, count: Int64) async throws -> [UInt8] {
        try await read(from: address, limit: limit, offset: offset, count: count).bytes
    }

    /// The whole piece `limit` (a GET_REPAIR or GET_AUDIT limit) names, `size` bytes, with what
    /// the node shows it was stored under (nil when the node shows nothing, as for a piece stored
    /// before it kept the uplink's timestamp): the satellite's reads check the bytes against it.
    public func downloadWithProvenance(from address: String, limit: OrderLimit, size: Int64) async throws -> (bytes: [UInt8], provenance: PieceProvenance?) {
        let answer = try await read(from: address, limit: limit, offset: 0, count: size)
        let provenance = PieceProvenance(
            orderLimitField: answer.headers.first(name: PieceProvenance.orderLimitField), uplinkHashField: answer.headers.first(name: PieceProvenance.uplinkHashField)
        )
        return (answer.bytes, provenance)
    }

    private func read(from address: String, limit: OrderLimit, offset: Int64, count: Int64) async throws -> (bytes: [UInt8], headers: HTTPHeaders) {
        var body = ByteBuffer()
        body.writeBytes(limit.encoded)
        body.writeInteger(offset)
        body.writeInteger(count)
        var request = HTTPClientRequest(url: "http://\(address)/v1/pieces/download")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(body)
        let answer = try await send(request, to: address, what: "a download", atMost: Int(count) + 1)
        guard answer.bytes.count == count else {
            throw PieceTransferError(address: address, what: "a download", reason: "it sent \(answer.bytes.count) bytes of \(count)")
        }
        return answer
    }

    private func send(_ request: HTTPClientRequest, to address: String, what: String, atMost limit: Int) async throws -> (bytes: [UInt8], headers: HTTPHeaders) {
        let response = try await http.execute(request, timeout: timeout)
        var body = try await response.body.collect(upTo: max(limit, 64 << 10))
        guard response.status == .ok else {
            let text = body.readString(length: body.readableBytes) ?? ""
            let error = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? [String: Any]
            let reason = error.map { "\($0["code"] ?? "") \($0["message"] ?? "")" } ?? "answered \(response.status.code): \(text.prefix(200))"
            throw PieceTransferError(address: address, what: what, reason: reason)
        }
        return (body.readBytes(length: body.readableBytes) ?? [], response.headers)
    }
}

/// An upload's body as ``PieceFrame``s: the limit, the piece's bytes in data frames of at most
/// ``PieceFrame/maxData``, the signed hash; each frame made when the connection asks for it, from
/// the piece's parts where they lie.
struct UploadFrames: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let limit: Data
    let parts: [ArraySlice<UInt8>]
    let hash: Data

    private var pieceSize: Int { parts.reduce(0) { $0 + $1.count } }
    /// Data frames: one at least, as a node expects even for no bytes.
    private var dataFrames: Int { Swift.max(1, (pieceSize + PieceFrame.maxData - 1) / PieceFrame.maxData) }

    /// The body's bytes.
    var length: Int { 5 + limit.count + 5 * dataFrames + pieceSize + 5 + hash.count }

    func makeAsyncIterator() -> Iterator {
        Iterator(frames: self)
    }

    struct Iterator: AsyncIteratorProtocol {
        private enum Next {
            case limit
            case data(sent: Int)
            case hash
            case end
        }

        let frames: UploadFrames
        private var next = Next.limit
        private var part = 0
        private var offset = 0

        init(frames: UploadFrames) {
            self.frames = frames
        }

        mutating func next() async -> ByteBuffer? {
            switch next {
            case .limit:
                next = .data(sent: 0)
                return Self.frame(UInt8(ascii: "L"), frames.limit)
            case .data(let sent):
                let count = Swift.min(PieceFrame.maxData, frames.pieceSize - sent)
                var buffer = ByteBuffer()
                buffer.reserveCapacity(5 + count)
                buffer.writeInteger(UInt8(ascii: "D"))
                buffer.writeInteger(UInt32(count))
                var left = count
                while left > 0 {
                    let slice = frames.parts[part]
                    let taken = Swift.min(left, slice.count - offset)
                    buffer.writeBytes(slice[(slice.startIndex + offset)..<(slice.startIndex + offset + taken)])
                    offset += taken
                    left -= taken
                    if offset == slice.count {
                        part += 1
                        offset = 0
                    }
                }
                next = sent + count < frames.pieceSize ? .data(sent: sent + count) : .hash
                return buffer
            case .hash:
                next = .end
                return Self.frame(UInt8(ascii: "H"), frames.hash)
            case .end:
                return nil
            }
        }

        private static func frame(_ type: UInt8, _ payload: Data) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(type)
            buffer.writeInteger(UInt32(payload.count))
            buffer.writeBytes(payload)
            return buffer
        }
    }
}
