import Launch

/// The satellite's peers, as `satellite run NAME` and a `run:` entry of `processes` name them.
public enum PeerName: String, Sendable, CaseIterable {
    case migration, core, api, repairer
}

extension ProcessEntry {
    /// A satellite peer under its own name.
    public static func peer(_ peer: PeerName, oneshot: Bool = false) -> Self {
        .peer(peer.rawValue, oneshot: oneshot)
    }

    /// The satellite's default `processes`: the migration first, then Core, API and Repairer.
    public static let satelliteDefaults: [Self] = [.peer(.migration, oneshot: true), .peer(.core), .peer(.api), .peer(.repairer)]
}
