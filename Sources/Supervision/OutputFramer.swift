/// Cuts a child's output into whole lines before they reach its log file.
///
/// Complete lines pass through at once; an unfinished last line waits for its end, so that a
/// line written in two pieces lands as one. A line longer than `limit` is let through in pieces
/// rather than held without bound, and ``flush()`` ends the last line when the child is gone, so
/// what it printed just before dying is kept.
public struct OutputFramer: Sendable {
    public let limit: Int
    /// A line begun and not yet ended; an in-place upgrade carries it over.
    var pending: [UInt8] = []

    public init(limit: Int = 64 * 1024) {
        self.limit = limit
    }

    /// Whether an unfinished line is held.
    public var hasPending: Bool { !pending.isEmpty }

    /// Consumes `bytes`; returns what can be written now (nothing, or whole lines).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        guard let lastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")) else {
            pending.append(contentsOf: bytes)
            if pending.count >= limit {
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            return []
        }
        var out = pending
        out.append(contentsOf: bytes[...lastNewline])
        pending.removeAll(keepingCapacity: true)
        pending.append(contentsOf: bytes[(lastNewline + 1)...])
        return out
    }

    /// Returns the unfinished line with a newline added, and forgets it.
    public mutating func flush() -> [UInt8] {
        guard !pending.isEmpty else { return [] }
        defer { pending.removeAll(keepingCapacity: false) }
        return pending + [UInt8(ascii: "\n")]
    }
}
