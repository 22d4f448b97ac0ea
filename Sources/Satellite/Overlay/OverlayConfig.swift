import SatelliteConfig

/// The `overlay` section: how the satellite judges its storage nodes.
public struct OverlayConfig: ConfigSection, Equatable {
    /// A node is online when its last successful contact is this recent.
    public var onlineWindow: Duration = .seconds(4 * 3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .duration("online-window", \.onlineWindow, help: "a node is online when its last successful check-in is this recent", range: .seconds(1) ... .seconds(86400 * 30)),
    ]
}
