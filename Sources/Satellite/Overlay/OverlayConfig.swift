import SatelliteConfig

/// The `overlay` section: how the satellite judges its storage nodes.
public struct OverlayConfig: ConfigSection, Equatable {
    /// A node is online when its last successful contact is this recent.
    public var onlineWindow: Duration = .seconds(4 * 3600)
    /// How old the in-memory list of nodes to choose from may grow before it is read again.
    public var selectionCacheStaleness: Duration = .seconds(30)
    /// Whether a segment's nodes must be on distinct networks (Storj's `overlay.node.distinct-ip`).
    public var distinctNetworks = true

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .duration("online-window", \.onlineWindow, help: "a node is online when its last successful check-in is this recent", range: .seconds(1) ... .seconds(86400 * 30)),
        .duration(
            "selection-cache-staleness", \.selectionCacheStaleness,
            help: "how old the in-memory list of nodes offered for uploads and repairs may grow before it is read again (a new node waits this long to be offered); 0s reads the nodes table for every choice",
            range: .zero ... .seconds(3600)
        ),
        .bool(
            "distinct-networks", \.distinctNetworks,
            help: "offer a segment at most one node a network (/24 of IPv4, /64 of IPv6), so one operator or outage cannot hold many of its pieces; off only for a network on one machine"
        ),
    ]
}
