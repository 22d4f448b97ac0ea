import Crypto
import Foundation
import Identity
import NodeProtocol
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The node's pieces on disk, one file each:
///
///     blobs/<satellite id>/<first 2 hex digits of the piece id>/<the other 62>
///     temp/<random>.partial        uploads in progress
///     trash/<satellite id>/<2>/<62> deleted pieces, emptied after a grace period
///
/// A piece file is a 512-byte ``PieceHeader`` and the piece's bytes. An upload writes to `temp/`,
/// is fsynced, linked to its final path (which fails if a piece of that id is there: nothing is
/// ever overwritten) and its directory fsynced; so a SIGKILL mid-upload leaves only a temp file,
/// which the next start deletes, and never a final path with part of a piece. Used space is the
/// sum of the piece files' sizes, counted at start-up and kept as pieces come and go; an upload
/// that would take it past the allocation is refused as it writes.
///
/// Every call blocks on the disk: run them on blocking threads.
public final class PieceStore: Sendable {
    public let directory: String
    public let allocated: Int64
    private let space: Mutex<Space>

    private struct Space {
        /// Bytes of piece files in `blobs/`.
        var used: Int64
        /// Bytes written by uploads not yet committed.
        var reserved: Int64
    }

    /// Opens the store in `directory`, creating its folders, deleting what uploads left in
    /// `temp/`, and counting the space the pieces take.
    /// - Throws: ``PieceStoreError/io(_:path:errno:)`` when the folders cannot be made or read.
    public init(directory: String, allocated: Int64) throws(PieceStoreError) {
        self.directory = directory
        self.allocated = allocated
        for folder in ["blobs", "temp", "trash"] { try Self.makeDirectory(directory + "/" + folder) }
        for leftover in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/temp")) ?? [] {
            unlink(directory + "/temp/" + leftover)
        }
        space = Mutex(Space(used: Self.sizeOfFiles(under: directory + "/blobs"), reserved: 0))
    }

    /// Bytes the stored pieces take (headers included).
    public var usedSpace: Int64 { space.withLock { $0.used } }

    /// Bytes still free for pieces: the allocation less what is used and what uploads in flight hold.
    public var freeSpace: Int64 { space.withLock { max(0, allocated - $0.used - $0.reserved) } }

    /// Counts the pieces' bytes on disk again and takes that as the space used, so that a count
    /// that drifted (a file removed by hand, a failure between a write and its count) is put
    /// right. What was stored or deleted while the walk ran is added on top; a piece stored
    /// behind the walk's back and also seen by it counts twice until the next rescan, which errs
    /// towards refusing an upload, never towards filling the disk.
    /// - Returns: the space used before and after.
    @discardableResult
    public func rescan() -> (before: Int64, after: Int64) {
        let atStart = usedSpace
        let scanned = Self.sizeOfFiles(under: directory + "/blobs")
        return space.withLock { space in
            let before = space.used
            space.used = scanned + (space.used - atStart)
            return (before, space.used)
        }
    }

    func path(of piece: PieceID, satellite: NodeID, in folder: String = "blobs") -> String {
        let hex = piece.hex
        return "\(directory)/\(folder)/\(satellite.hex)/\(hex.prefix(2))/\(hex.dropFirst(2))"
    }

    /// Starts storing a piece: its bytes go to a temp file until ``PieceWriter/commit(header:)``.
    public func writer(for piece: PieceID, satellite: NodeID) throws(PieceStoreError) -> PieceWriter {
        guard !exists(piece, satellite: satellite) else { throw .alreadyStored(piece) }
        let temp = "\(directory)/temp/\(piece.hex)-\(UInt64.random(in: 0...UInt64.max)).partial"
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(temp, .readWrite, options: [.create, .exclusiveCreate], permissions: [.ownerReadWrite])
        } catch {
            throw .io("creating", path: temp, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        return PieceWriter(store: self, piece: piece, satellite: satellite, temp: temp, descriptor: descriptor)
    }

    /// Whether the piece is stored.
    public func exists(_ piece: PieceID, satellite: NodeID) -> Bool {
        access(path(of: piece, satellite: satellite), F_OK) == 0
    }

    /// Opens a stored piece for reading.
    /// - Throws: ``PieceStoreError/notFound(_:)``, or ``PieceStoreError/corrupted(_:_:)`` when its
    ///   header cannot be read.
    public func reader(for piece: PieceID, satellite: NodeID) throws(PieceStoreError) -> PieceReader {
        let path = path(of: piece, satellite: satellite)
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly)
        } catch let error as Errno where error == .noSuchFileOrDirectory {
            throw .notFound(piece)
        } catch {
            throw .io("opening", path: path, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        return try PieceReader(piece: piece, path: path, descriptor: descriptor)
    }

    /// Moves a stored piece to the trash, where ``emptyTrash(olderThan:)`` deletes it later.
    /// - Throws: ``PieceStoreError/notFound(_:)`` when there is no such piece.
    public func delete(_ piece: PieceID, satellite: NodeID) throws(PieceStoreError) {
        let from = path(of: piece, satellite: satellite)
        let to = path(of: piece, satellite: satellite, in: "trash")
        var status = stat()
        guard stat(from, &status) == 0 else { throw errno == ENOENT ? .notFound(piece) : .io("looking at", path: from, errno: errno) }
        try Self.makeDirectory((to as NSString).deletingLastPathComponent)
        guard rename(from, to) == 0 else { throw .io("moving to the trash", path: from, errno: errno) }
        // The time it went to the trash, which the grace period counts from.
        utimes(to, nil)
        space.withLock { $0.used -= Int64(status.st_size) }
    }

    /// Moves to the trash every piece of `satellite` stored before `createdBefore` (seconds since
    /// 1970) that is certainly not in `filter` (Storj's retain); returns how many it trashed and
    /// how many it kept. A piece newer than the filter is kept: the satellite may not have seen
    /// its segment committed when it made the filter.
    public func retain(satellite: NodeID, filter: BloomFilter, createdBefore: Int64) -> (trashed: Int, kept: Int) {
        var trashed = 0, kept = 0
        let root = directory + "/blobs/" + satellite.hex
        guard let prefixes = try? FileManager.default.contentsOfDirectory(atPath: root) else { return (0, 0) }
        for prefix in prefixes {
            for rest in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix)) ?? [] {
                var status = stat()
                guard let piece = PieceID(hex: prefix + rest), stat(root + "/" + prefix + "/" + rest, &status) == 0 else { continue }
                if Int64(status.st_mtim.tv_sec) < createdBefore, !filter.mayContain(piece), (try? delete(piece, satellite: satellite)) != nil {
                    trashed += 1
                } else {
                    kept += 1
                }
            }
        }
        return (trashed, kept)
    }

    /// Deletes the trashed pieces that went to the trash before `date`; returns how many.
    @discardableResult
    public func emptyTrash(olderThan date: Date) -> Int {
        var removed = 0
        let trash = directory + "/trash"
        guard let walker = FileManager.default.enumerator(atPath: trash) else { return 0 }
        for case let relative as String in walker {
            let path = trash + "/" + relative
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            if Double(status.st_mtim.tv_sec) < date.timeIntervalSince1970, unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: For the writer

    /// Holds `count` more bytes for an upload, or refuses.
    func reserve(_ count: Int64) throws(PieceStoreError) {
        try space.withLock { (space) throws(PieceStoreError) in
            guard space.used + space.reserved + count <= allocated else {
                throw .full(allocated: allocated, used: space.used + space.reserved, wanted: count)
            }
            space.reserved += count
        }
    }

    func release(reserved count: Int64, stored: Int64) {
        space.withLock {
            $0.reserved -= count
            $0.used += stored
        }
    }

    static func makeDirectory(_ path: String) throws(PieceStoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("creating the folder", path: path, errno: EIO)
        }
    }

    private static func sizeOfFiles(under root: String) -> Int64 {
        var total: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: root) else { return 0 }
        for case let relative as String in walker {
            var status = stat()
            if stat(root + "/" + relative, &status) == 0, status.st_mode & S_IFMT == S_IFREG { total += Int64(status.st_size) }
        }
        return total
    }
}
