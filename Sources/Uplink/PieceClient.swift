import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NodeProtocol

/// The piece protocol from the uplink's side: an upload under a PUT limit, answered by the node's
/// signed hash; a download of a range under a GET limit.
struct PieceClient: Sendable {
    let http: HTTPClient
    let timeout: TimeAmount

    /// Stores `piece` on the node at `address` under `limit`, signing its hash with the segment's
    /// key; returns the node's signed hash as it answered it.
    /// - Throws: ``UplinkError/node(address:what:reason:)`` with the node's refusal; what
    ///   AsyncHTTPClient throws for the connection; `CancellationError` when cancelled.
    func upload(_ piece: ArraySlice<UInt8>, to address: String, limit: OrderLimit, pieceKey: Curve25519.Signing.PrivateKey) async throws -> Data {
        let hash = PieceHash(pieceID: limit.pieceID, hash: Data(SHA256.hash(data: piece)), pieceSize: Int64(piece.count), timestamp: Int64(Date().timeIntervalSince1970))
            .signed { try! pieceKey.signature(for: $0) }
        var body = ByteBuffer()
        body.writeBytes(PieceFrame.limit(limit.encoded).encoded)
        var start = piece.startIndex
        repeat {
            let end = min(start + PieceFrame.maxData, piece.endIndex)
            body.writeBytes(PieceFrame.data(Data(piece[start..<end])).encoded)
            start = end
        } while start < piece.endIndex
        body.writeBytes(PieceFrame.hash(hash.encoded).encoded)
        var request = HTTPClientRequest(url: "http://\(address)/v1/pieces/upload")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(body)
        let answer = try await send(request, to: address, what: "an upload", atMost: 64 << 10)
        return Data(answer)
    }

    /// `count` bytes of the piece `limit` names from `offset`, from the node at `address`.
    func download(from address: String, limit: OrderLimit, offset: Int64, count: Int64) async throws -> [UInt8] {
        var body = ByteBuffer()
        body.writeBytes(limit.encoded)
        body.writeInteger(offset)
        body.writeInteger(count)
        var request = HTTPClientRequest(url: "http://\(address)/v1/pieces/download")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(body)
        let bytes = try await send(request, to: address, what: "a download", atMost: Int(count) + 1)
        guard bytes.count == count else { throw UplinkError.node(address: address, what: "a download", reason: "it sent \(bytes.count) bytes of \(count)") }
        return bytes
    }

    private func send(_ request: HTTPClientRequest, to address: String, what: String, atMost limit: Int) async throws -> [UInt8] {
        let response = try await http.execute(request, timeout: timeout)
        var body = try await response.body.collect(upTo: max(limit, 64 << 10))
        guard response.status == .ok else {
            let text = body.readString(length: body.readableBytes) ?? ""
            let error = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? [String: Any]
            let reason = error.map { "\($0["code"] ?? "") \($0["message"] ?? "")" } ?? "answered \(response.status.code): \(text.prefix(200))"
            throw UplinkError.node(address: address, what: what, reason: reason)
        }
        return body.readBytes(length: body.readableBytes) ?? []
    }
}
