/// An environment variable that looks like configuration but names no key: ignored, and said
/// once, since a wrapper script's own `SATELLITE_BIN` must not stop the satellite while a typo
/// of a real key should still be noticed.
public struct ConfigWarning: Sendable, Equatable, CustomStringConvertible {
    public let variable: String
    /// The variable of the nearest key, when one is close.
    public let nearest: String?

    public init(variable: String, nearest: String?) {
        self.variable = variable
        self.nearest = nearest
    }

    public var description: String {
        "config warning: environment variable \(variable) names no configuration key; ignored"
            + (nearest.map { "; did you mean \($0)?" } ?? " (satellite config --defaults lists every key)")
    }
}
