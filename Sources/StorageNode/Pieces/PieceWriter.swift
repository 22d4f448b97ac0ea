import Crypto
import Foundation
import Identity
import NodeProtocol
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One upload in progress: bytes appended to a temp file and hashed as they come, then committed
/// under the piece's path or cancelled. Not for use from two threads at once.
public final class PieceWriter: @unchecked Sendable {
    public let piece: PieceID
    public let satellite: NodeID
    private let store: PieceStore
    private let temp: String
    private let descriptor: FileDescriptor
    private var hasher = SHA256()
    private var state = State.writing

    private enum State {
        case writing
        case committed
        case cancelled
    }

    /// The piece's bytes written so far.
    public private(set) var size: Int64 = 0

    init(store: PieceStore, piece: PieceID, satellite: NodeID, temp: String, descriptor: FileDescriptor) {
        self.store = store
        self.piece = piece
        self.satellite = satellite
        self.temp = temp
        self.descriptor = descriptor
    }

    deinit {
        if case .writing = state {
            try? descriptor.close()
            unlink(temp)
            store.release(reserved: size, stored: 0)
        }
    }

    /// Appends `bytes` to the piece.
    /// - Throws: ``PieceStoreError/full(allocated:used:wanted:)`` when they do not fit the
    ///   allocation (nothing is written then), or an I/O error.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(PieceStoreError) {
        precondition(state == .writing, "PieceWriter.write after commit or cancel")
        guard !bytes.isEmpty else { return }
        try store.reserve(Int64(bytes.count))
        do {
            _ = try descriptor.writeAll(toAbsoluteOffset: Int64(PieceHeader.size) + size, bytes)
        } catch {
            store.release(reserved: Int64(bytes.count), stored: 0)
            throw .io("writing", path: temp, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        hasher.update(bufferPointer: bytes)
        size += Int64(bytes.count)
    }

    public func write(_ bytes: some ContiguousBytes) throws(PieceStoreError) {
        let outcome = bytes.withUnsafeBytes { buffer -> Result<Void, PieceStoreError> in
            do throws(PieceStoreError) { try write(buffer); return .success(()) } catch { return .failure(error) }
        }
        try outcome.get()
    }

    /// The SHA-256 of the bytes written so far.
    public var hash: Data { Data(hasher.finalize()) }

    /// Writes `header` (its hash is set to the content's), fsyncs, and puts the piece under its
    /// path; the temp file goes either way.
    /// - Throws: ``PieceStoreError/alreadyStored(_:)`` if a piece of that id arrived meanwhile.
    public func commit(header: PieceHeader) throws(PieceStoreError) {
        precondition(state == .writing, "PieceWriter.commit after commit or cancel")
        state = .cancelled  // until it is in place: every way out below leaves nothing behind
        defer { unlink(temp) }
        var header = header
        header.hash = hash
        let reserved = size
        do {
            let encoded = try header.encoded()
            _ = try encoded.withUnsafeBytes { try descriptor.writeAll(toAbsoluteOffset: 0, $0) }
            guard fsync(descriptor.rawValue) == 0 else { throw Errno(rawValue: errno) }
            try descriptor.close()
        } catch let error as PieceStoreError {
            try? descriptor.close()
            store.release(reserved: reserved, stored: 0)
            throw error
        } catch {
            try? descriptor.close()
            store.release(reserved: reserved, stored: 0)
            throw .io("writing", path: temp, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        let final = store.path(of: piece, satellite: satellite)
        let folder = (final as NSString).deletingLastPathComponent
        do {
            try PieceStore.makeDirectory(folder)
        } catch {
            store.release(reserved: reserved, stored: 0)
            throw error
        }
        // link, unlike rename, fails when the final path exists: a piece is never overwritten.
        guard link(temp, final) == 0 else {
            let code = errno
            store.release(reserved: reserved, stored: 0)
            throw code == EEXIST ? .alreadyStored(piece) : .io("storing", path: final, errno: code)
        }
        let directory = open(folder, O_RDONLY | O_DIRECTORY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
        store.release(reserved: reserved, stored: reserved + Int64(PieceHeader.size))
        state = .committed
    }

    /// Abandons the upload: the temp file and the space it held go.
    public func cancel() {
        guard state == .writing else { return }
        state = .cancelled
        try? descriptor.close()
        unlink(temp)
        store.release(reserved: size, stored: 0)
    }
}
