import Foundation

/// One order a node settled, as the satellite checked it.
public struct SettledOrder: Sendable, Equatable {
    public let serial: Data
    public let node: Data
    public let project: Data
    public let bucket: String
    /// The limit's action, as `PUT`.
    public let action: String
    public let amount: Int64
    /// After this the serial's row may go: no later settlement of it is accepted anyway.
    public let settleableUntil: Date

    public init(serial: Data, node: Data, project: Data, bucket: String, action: String, amount: Int64, settleableUntil: Date) {
        self.serial = serial
        self.node = node
        self.project = project
        self.bucket = bucket
        self.action = action
        self.amount = amount
        self.settleableUntil = settleableUntil
    }
}

/// One bucket's settled bandwidth for one action in one hour.
public struct BucketBandwidth: Sendable, Equatable {
    public let project: Data
    public let bucket: String
    public let action: String
    public let intervalStart: Date
    public let bytes: Int64

    public init(project: Data, bucket: String, action: String, intervalStart: Date, bytes: Int64) {
        self.project = project
        self.bucket = bucket
        self.action = action
        self.intervalStart = intervalStart
        self.bytes = bytes
    }
}

/// Settled orders and the bandwidth they add to buckets.
public protocol OrdersDB: Sendable {
    /// The public key a node's signed check-in showed, or nil for a node unknown or without one.
    func publicKey(ofNode node: Data) async throws -> Data?
    /// Records each order whose serial was not settled before, adding its amount to its bucket's
    /// bandwidth in the hour of `at`, in one transaction; answers, for each, whether it was new.
    func settle(_ orders: [SettledOrder], at: Date) async throws -> [Bool]
    /// Every bucket's settled bandwidth, by hour.
    func bucketBandwidth(project: Data) async throws -> [BucketBandwidth]
    /// Forgets up to `limit` settled serials that can no longer be settled at `now`; returns how many.
    func deleteSettledSerials(before now: Date, limit: Int) async throws -> Int
}
