import Foundation

/// The frames of an upload's request body (`POST /v1/pieces/upload`): the order limit first, then
/// the piece's bytes in data frames, then the uplink's signed ``PieceHash``. A frame is a type
/// byte, its payload's length as a big-endian UInt32, and the payload.
public enum PieceFrame: Sendable, Equatable {
    case limit(Data)
    case data(Data)
    case hash(Data)

    /// The most bytes a data frame carries.
    public static let maxData = 1 << 20

    private var type: UInt8 {
        switch self {
        case .limit: UInt8(ascii: "L")
        case .data: UInt8(ascii: "D")
        case .hash: UInt8(ascii: "H")
        }
    }

    private var payload: Data {
        switch self {
        case .limit(let data), .data(let data), .hash(let data): data
        }
    }

    public var encoded: Data {
        var data = Data([type])
        withUnsafeBytes(of: UInt32(payload.count).bigEndian) { data += $0 }
        return data + payload
    }
}

/// Cuts a byte stream into ``PieceFrame``s as it arrives, holding at most one frame.
public struct PieceFrameDecoder: Sendable {
    private var buffer = Data()

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// Whether bytes of an unfinished frame are held.
    public var hasPartialFrame: Bool { !buffer.isEmpty }

    /// The next whole frame, or nil until more bytes come.
    /// - Throws: ``OrderLimitRefusal/malformed(_:)`` for an unknown type or an oversized frame.
    public mutating func next() throws(OrderLimitRefusal) -> PieceFrame? {
        guard buffer.count >= 5 else { return nil }
        let start = buffer.startIndex
        let type = buffer[start]
        let length = Int(buffer[(start + 1)..<(start + 5)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length <= PieceFrame.maxData else { throw .malformed("a frame of \(length) bytes; at most \(PieceFrame.maxData)") }
        guard buffer.count >= 5 + length else { return nil }
        let payload = Data(buffer[(start + 5)..<(start + 5 + length)])
        buffer = Data(buffer[(start + 5 + length)...])
        switch type {
        case UInt8(ascii: "L"): return .limit(payload)
        case UInt8(ascii: "D"): return .data(payload)
        case UInt8(ascii: "H"): return .hash(payload)
        default: throw .malformed("frame type \(type) is none of L, D, H")
        }
    }
}
