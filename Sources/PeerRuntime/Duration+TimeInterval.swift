import Foundation

/// Durations as the seconds Foundation's `Date` arithmetic takes.
extension Duration {
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
