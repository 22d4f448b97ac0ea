import Crypto
import Foundation
import NodeProtocol
import SystemPackage

/// A stored piece, open for reading: its header and ranges of its bytes. Closed when released.
public final class PieceReader: Sendable {
    public let piece: PieceID
    public let header: PieceHeader
    /// The piece's bytes, without the header.
    public let size: Int64
    private let path: String
    private let descriptor: FileDescriptor

    init(piece: PieceID, path: String, descriptor: FileDescriptor) throws(PieceStoreError) {
        self.piece = piece
        self.path = path
        self.descriptor = descriptor
        var head = [UInt8](repeating: 0, count: PieceHeader.size)
        let read: Int
        let end: Int64
        do {
            read = try head.withUnsafeMutableBytes { try descriptor.read(fromAbsoluteOffset: 0, into: $0) }
            end = try descriptor.seek(offset: 0, from: .end)
        } catch {
            try? descriptor.close()
            throw .io("reading", path: path, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        guard read == PieceHeader.size, let header = PieceHeader(decoding: Data(head)) else {
            try? descriptor.close()
            throw .corrupted(piece, "its header is unreadable")
        }
        self.header = header
        size = end - Int64(PieceHeader.size)
    }

    deinit {
        try? descriptor.close()
    }

    /// `count` bytes from `offset` of the piece.
    /// - Throws: ``PieceStoreError/outOfRange(_:offset:count:size:)`` past the end.
    public func read(offset: Int64, count: Int) throws(PieceStoreError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset + Int64(count) <= size else {
            throw .outOfRange(piece, offset: offset, count: Int64(count), size: size)
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let read: Int
            do {
                read = try bytes[done...].withUnsafeMutableBytes {
                    try descriptor.read(fromAbsoluteOffset: Int64(PieceHeader.size) + offset + Int64(done), into: $0)
                }
            } catch {
                throw .io("reading", path: path, errno: (error as? Errno)?.rawValue ?? EIO)
            }
            guard read > 0 else { throw .corrupted(piece, "it ended at \(offset + Int64(done)) of \(size) bytes") }
            done += read
        }
        return bytes
    }

    /// Reads the whole piece in chunks and checks that it hashes to its header's hash.
    /// - Throws: ``PieceStoreError/corrupted(_:_:)`` when it does not.
    public func verify(chunk: Int = 1 << 20) throws(PieceStoreError) {
        var hasher = SHA256()
        var offset: Int64 = 0
        while offset < size {
            let bytes = try read(offset: offset, count: Int(min(Int64(chunk), size - offset)))
            hasher.update(data: bytes)
            offset += Int64(bytes.count)
        }
        guard Data(hasher.finalize()) == header.hash else { throw .corrupted(piece, "its bytes do not hash to the hash it was stored with") }
    }
}
