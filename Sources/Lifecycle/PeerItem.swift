/// One named part of a peer: what runs, and what releases its resources.
///
/// Either may be absent: an endpoint often only closes, a chore often only runs.
public struct PeerItem: Sendable {
    /// The item's name in logs and errors, as `repair:checker`.
    public let name: String
    /// Runs until cancelled, shut down gracefully, or failed. Cancellation and graceful
    /// shutdown should make it return promptly.
    public let run: (@Sendable () async throws -> Void)?
    /// Releases the item's resources; called once, after run has returned (or never started).
    public let close: (@Sendable () async throws -> Void)?

    public init(
        name: String,
        run: (@Sendable () async throws -> Void)? = nil,
        close: (@Sendable () async throws -> Void)? = nil
    ) {
        self.name = name
        self.run = run
        self.close = close
    }
}

/// An error of one named item of a ``PeerGroup``: its run failed, its close failed, or its
/// creation failed.
public struct PeerItemFailure: Error, CustomStringConvertible {
    /// The item's name.
    public let item: String
    /// What the item threw.
    public let underlying: any Error

    public init(item: String, underlying: any Error) {
        self.item = item
        self.underlying = underlying
    }

    public var description: String { "\(item): \(underlying)" }
}

/// What ``PeerGroup/close()`` did: the items it closed and the ones whose close threw, both in
/// the order it closed them.
public struct PeerCloseReport: Sendable, CustomStringConvertible {
    /// Items whose close returned normally.
    public var closed: [String] = []
    /// Items whose close threw.
    public var failures: [PeerItemFailure] = []

    public init() {}

    public var description: String {
        var parts = ["closed [\(closed.joined(separator: ", "))]"]
        if !failures.isEmpty {
            parts.append("close failed: " + failures.map(\.description).joined(separator: "; "))
        }
        return parts.joined(separator: "; ")
    }
}

extension PeerItemFailure: @unchecked Sendable {}
