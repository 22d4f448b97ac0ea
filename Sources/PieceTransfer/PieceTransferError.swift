/// A node refused or failed a piece transfer: which node, which transfer, and why, in the node's
/// words when it answered.
public struct PieceTransferError: Error, Equatable, Sendable, CustomStringConvertible {
    public let address: String
    /// "an upload" or "a download".
    public let what: String
    public let reason: String

    public init(address: String, what: String, reason: String) {
        self.address = address
        self.what = what
        self.reason = reason
    }

    public var description: String { "node \(address) failed \(what): \(reason)" }
}
