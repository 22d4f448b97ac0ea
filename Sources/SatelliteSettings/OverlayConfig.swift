import SatelliteConfig

/// The `overlay` section: how the satellite judges its storage nodes.
public struct OverlayConfig: ConfigSection, Equatable {
    /// A node is online when its last successful contact is this recent.
    public var onlineWindow: Duration = .seconds(4 * 3600)
    /// How old the in-memory list of nodes to choose from may grow before it is read again.
    public var selectionCacheStaleness: Duration = .seconds(30)
    /// Whether a segment's nodes must be on distinct networks (Storj's `overlay.node.distinct-ip`).
    public var distinctNetworks = true
    /// Audits, passed or failed, before a node is vetted (Storj's `reputation.audit-count`).
    public var vettingAudits = 100
    /// The most of a segment's nodes that go to nodes not yet vetted (Storj's
    /// `overlay.node.new-node-fraction`).
    public var newNodeFraction = 0.05

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
        .int(
            "vetting-audits", \.vettingAudits,
            help: "audits, passed or failed, before a node is vetted; 0 vets every node at once (a network on one machine, where nothing audits enough)",
            range: 0 ... 1_000_000
        ),
        .double(
            "new-node-fraction", \.newNodeFraction,
            help: "the most of a segment's nodes (rounded down) offered to nodes not yet vetted; vetted nodes make up for too few new ones, never the other way round",
            range: 0 ... 1
        ),
    ]
}
