import Foundation

/// What a storage node says when it checks in, after the API checked it.
public struct NodeCheckIn: Sendable, Equatable {
    /// 32 bytes.
    public let id: Data
    public let address: String
    public let lastNet: String
    public let freeDisk: Int64
    public let version: String
    /// The node's Ed25519 public key (32 bytes) that its id is the hash of.
    public let publicKey: Data?

    public init(id: Data, address: String, lastNet: String, freeDisk: Int64, version: String, publicKey: Data? = nil) {
        self.id = id
        self.address = address
        self.lastNet = lastNet
        self.freeDisk = freeDisk
        self.version = version
        self.publicKey = publicKey
    }
}

/// A storage node as the overlay knows it.
public struct NodeRecord: Sendable, Equatable {
    public let id: Data
    public let address: String
    public let lastNet: String
    public let freeDisk: Int64
    public let version: String
    public let lastContactSuccess: Date?
    public let lastContactFailure: Date?
    public let disqualifiedAt: Date?
    public let exitInitiatedAt: Date?
    public let createdAt: Date
    /// The Ed25519 key the node's id is the hash of; nil if it never checked in with one.
    public let publicKey: Data?

    public init(
        id: Data, address: String, lastNet: String, freeDisk: Int64, version: String, lastContactSuccess: Date?, lastContactFailure: Date?,
        disqualifiedAt: Date?, exitInitiatedAt: Date?, createdAt: Date, publicKey: Data?
    ) {
        self.id = id
        self.address = address
        self.lastNet = lastNet
        self.freeDisk = freeDisk
        self.version = version
        self.lastContactSuccess = lastContactSuccess
        self.lastContactFailure = lastContactFailure
        self.disqualifiedAt = disqualifiedAt
        self.exitInitiatedAt = exitInitiatedAt
        self.createdAt = createdAt
        self.publicKey = publicKey
    }
}


/// A node that may be offered for uploads and repairs, as the selection cache keeps it.
public struct EligibleNode: Sendable, Equatable {
    public let choice: NodeChoice
    public let freeDisk: Int64
    public let lastContactSuccess: Date
    /// The audits the node has had, passed or failed: what vetting counts.
    public let audits: Int

    public init(choice: NodeChoice, freeDisk: Int64, lastContactSuccess: Date, audits: Int = 0) {
        self.choice = choice
        self.freeDisk = freeDisk
        self.lastContactSuccess = lastContactSuccess
        self.audits = audits
    }
}

/// The overlay's storage: the nodes table.
public protocol OverlayDB: Sendable {
    /// Creates the node or updates its address, network, free disk and version, and records a
    /// successful contact at `at`, in one transaction.
    func recordCheckIn(_ checkIn: NodeCheckIn, at: Date) async throws
    /// The node, if the overlay knows it.
    func node(id: Data) async throws -> NodeRecord?
    /// How many nodes the overlay knows.
    func nodeCount() async throws -> Int
    /// Sets when the node was last contacted successfully (as an audit or a ping would).
    func recordContactSuccess(id: Data, at: Date) async throws
    /// Every node contacted successfully since `onlineSince`, neither disqualified, suspended nor
    /// exiting.
    func eligibleNodes(onlineSince: Date) async throws -> [EligibleNode]
    /// Every node contacted successfully since `onlineSince` and not disqualified, suspended and
    /// exiting ones too: the nodes that keep pieces for the satellite.
    func keepingNodes(onlineSince: Date) async throws -> [NodeChoice]
}
