import PeerRuntime
import SatelliteConfig
import StructuredLogging

/// Every key of the storage node. A subsystem adds its section here: a stored property and one
/// line in ``fields``.
public struct StorageNodeConfiguration: ConfigSection {
    public var dataDir: String = "storagenode"
    public var log = LogConfig()
    public var server = PieceServerConfig()
    public var contact = NodeContactConfig()
    public var storage = StorageConfig()
    public var orders = NodeOrdersConfig()
    public var debug = DebugConfig()

    public init() {}

    public static let fields: [ConfigField<Self>] =
        [.string("data-dir", \.dataDir, help: "directory of the node's identity, pieces and logs", validate: { $0.isEmpty ? "a directory path" : nil })]
        + LogConfig.fields(at: \.log, prefix: "log")
        + PieceServerConfig.fields(at: \.server, prefix: "server")
        + NodeContactConfig.fields(at: \.contact, prefix: "contact")
        + StorageConfig.fields(at: \.storage, prefix: "storage")
        + NodeOrdersConfig.fields(at: \.orders, prefix: "orders")
        + DebugConfig.fields(at: \.debug, prefix: "debug")

    /// `STORAGENODE_CONTACT_SATELLITE_URL` sets `contact.satellite-url`. The variables a
    /// satellite's launcher gives its children (this node may be one) are not configuration.
    public static let schema = ConfigSchema<Self>(
        environmentPrefix: "STORAGENODE_",
        reservedVariables: ["SATELLITE_NOTIFY_FD", "SATELLITE_PROCESS", "SATELLITE_LISTEN_FD", LogLevelFile.environmentVariable]
    )

    /// The node's private key (`storagenode setup` makes it); its id is the hash of the public key.
    public var identityPath: String { dataDir + "/identity.key" }

    /// The orders served and not yet settled.
    public var ordersPath: String { dataDir + "/orders" }

    /// The piece store's folders (`blobs`, `temp`, `trash`).
    public var piecesPath: String { dataDir + "/pieces" }
}

/// The `storage` section: what the node offers.
public struct StorageConfig: ConfigSection, Equatable {
    /// The bytes of pieces the node will hold.
    public var allocated: Int64 = 1 << 40
    /// How long a deleted piece stays in the trash.
    public var trashGrace: Duration = .seconds(7 * 86400)
    /// Time between emptyings of the trash.
    public var trashInterval: Duration? = .seconds(86400)
    /// Time between counts of the space the pieces take on disk.
    public var usedSpaceInterval: Duration? = .seconds(3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .size("allocated", \.allocated, help: "space the node offers for pieces", range: 0 ... Int64.max),
        .duration("trash-grace", \.trashGrace, help: "how long a deleted piece stays in the trash before it is gone", range: .zero ... .seconds(365 * 86400)),
        .interval("trash-interval", \.trashInterval, help: "time between emptyings of the trash; 0s empties it only when triggered"),
        .interval(
            "used-space-interval", \.usedSpaceInterval,
            help: "time between counts of the space the pieces take on disk (also counted at start); 0s counts only when triggered"
        ),
    ]
}
