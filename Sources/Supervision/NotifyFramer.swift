/// Splits the bytes read from a notify pipe into messages, holding at most `limit` bytes of an
/// unfinished line: a child that floods the pipe, or writes a line that never ends, costs the
/// supervisor that much memory and no more.
public struct NotifyFramer: Sendable {
    public enum Item: Sendable, Equatable {
        case message(NotifyMessage)
        /// A line that is not a message, or one longer than the limit; `sample` is its start.
        case malformed(sample: String)
    }

    public let limit: Int
    /// A line begun and not yet ended; an in-place upgrade carries it over.
    var pending: [UInt8] = []
    /// Set while skipping the rest of a line that outgrew the limit.
    var discarding = false

    public init(limit: Int = 4096) {
        self.limit = limit
    }

    /// Consumes `bytes` and returns the complete lines they finish, in order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Item] {
        var items: [Item] = []
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let piece = bytes[start..<newline]
            start = bytes.index(after: newline)
            if discarding {
                discarding = false
                pending.removeAll(keepingCapacity: true)
                continue
            }
            if pending.isEmpty {
                items.append(Self.item(piece))
            } else {
                pending.append(contentsOf: piece)
                items.append(Self.item(pending))
                pending.removeAll(keepingCapacity: true)
            }
        }
        let rest = bytes[start...]
        if discarding { return items }
        if pending.count + rest.count > limit {
            pending.append(contentsOf: rest.prefix(max(0, 64 - pending.count)))
            items.append(.malformed(sample: Self.sample(pending) + "... (longer than \(limit) bytes)"))
            pending.removeAll(keepingCapacity: false)
            discarding = true
        } else {
            pending.append(contentsOf: rest)
        }
        return items
    }

    /// Forgets a partial line, as when the process that wrote it is gone.
    public mutating func reset() {
        pending.removeAll(keepingCapacity: false)
        discarding = false
    }

    private static func item(_ line: some Collection<UInt8>) -> Item {
        if let message = NotifyMessage(line: line) { return .message(message) }
        return .malformed(sample: sample(line))
    }

    private static func sample(_ line: some Collection<UInt8>) -> String {
        String(decoding: line.prefix(64), as: UTF8.self)
    }
}
