import Crypto
import Foundation
import NodeProtocol

/// Where the bytes of one upload go: a new piece (``PieceWriter``), or a piece already stored
/// under that id (``StoredPieceComparison``). Not for use from two threads at once.
public protocol PieceDestination: AnyObject, Sendable {
    /// The bytes taken so far.
    var size: Int64 { get }
    /// The SHA-256 of the bytes taken so far.
    var hash: Data { get }
    /// Takes the next bytes of the piece.
    func write(_ bytes: some ContiguousBytes) throws(PieceStoreError)
    /// Ends the upload: the piece is stored under `header` from then on.
    func commit(header: PieceHeader) throws(PieceStoreError)
    /// Abandons the upload.
    func cancel()
}

extension PieceWriter: PieceDestination {}

/// The bytes of a piece sent again, hashed and held against the piece stored under that id. A
/// piece id names one piece's bytes (its segment's root id, the node and the piece number), so the
/// same bytes sent again are the piece the node already keeps, and the upload is answered as
/// stored: a repairer killed after it stored a piece and the next one that sends that piece again
/// agree. Other bytes under a stored id are refused, and nothing on disk changes either way.
public final class StoredPieceComparison: PieceDestination, @unchecked Sendable {
    public let piece: PieceID
    /// The hash the stored piece was stored with.
    private let stored: Data
    private var hasher = SHA256()
    public private(set) var size: Int64 = 0

    public init(piece: PieceID, storedHash: Data) {
        self.piece = piece
        self.stored = storedHash
    }

    public var hash: Data { Data(hasher.finalize()) }

    public func write(_ bytes: some ContiguousBytes) throws(PieceStoreError) {
        bytes.withUnsafeBytes { buffer in
            hasher.update(bufferPointer: buffer)
            size += Int64(buffer.count)
        }
    }

    /// - Throws: ``PieceStoreError/alreadyStored(_:)`` when the bytes are not the stored piece's.
    public func commit(header: PieceHeader) throws(PieceStoreError) {
        guard hash == stored else { throw .alreadyStored(piece) }
    }

    public func cancel() {}
}
