import NodeProtocol

/// What the piece store refused or could not do, with the piece and the path.
public enum PieceStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Storing the bytes would take the node past its allocated space.
    case full(allocated: Int64, used: Int64, wanted: Int64)
    case notFound(PieceID)
    case alreadyStored(PieceID)
    /// The header's fields do not fit its 512 bytes.
    case headerTooLarge(Int)
    /// The file's header is unreadable, or its content does not hash to the header's hash.
    case corrupted(PieceID, String)
    /// A read past the piece's end.
    case outOfRange(PieceID, offset: Int64, count: Int64, size: Int64)
    /// A system call failed.
    case io(String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .full(let allocated, let used, let wanted):
            "not enough space: \(used) of \(allocated) bytes allocated are used; \(wanted) more were asked for"
        case .notFound(let piece): "piece \(piece) is not stored here"
        case .alreadyStored(let piece): "piece \(piece) is already stored"
        case .headerTooLarge(let size): "a piece header of \(size) bytes does not fit in \(PieceHeader.size)"
        case .corrupted(let piece, let why): "piece \(piece) is corrupted: \(why)"
        case .outOfRange(let piece, let offset, let count, let size):
            "bytes \(offset)..<\(offset + count) are past the end of piece \(piece) (\(size) bytes)"
        case .io(let what, let path, let code): "\(what) \(path): \(String(cString: strerror(code)))"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
