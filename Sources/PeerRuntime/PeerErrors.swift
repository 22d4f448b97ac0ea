import Lifecycle

/// A peer's initializer failed: which subsystem, why, and what it closed before giving up.
public struct PeerInitError: Error, CustomStringConvertible {
    public let peer: String
    public let failure: PeerItemFailure
    public let closeReport: PeerCloseReport

    /// Closes what `group` holds, in reverse, and describes the failure `error` of `peer`.
    static func closing(peer: String, group: PeerGroup, after error: any Error) async -> Self {
        let failure = error as? PeerItemFailure ?? PeerItemFailure(item: "?", underlying: error)
        return Self(peer: peer, failure: failure, closeReport: await group.close())
    }

    public var description: String {
        "\(peer): creating \(failure.item) failed: \(failure.underlying); \(closeReport)"
    }
}

/// Closing a peer left errors behind.
public struct PeerCloseError: Error, CustomStringConvertible {
    public let peer: String
    public let report: PeerCloseReport

    public var description: String { "\(peer): \(report)" }
}
