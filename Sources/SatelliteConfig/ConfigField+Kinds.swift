import Units

/// The kinds of value a key can hold, each with the words an error uses for what it expects.
extension ConfigField {
    /// Free text, optionally checked by `validate` (which returns what was expected, on refusal).
    public static func string(
        _ key: String,
        _ path: WritableKeyPath<Root, String> & Sendable,
        help: String,
        validate: (@Sendable (String) -> String?)? = nil
    ) -> Self {
        scalar(key, path, help: help, expected: "text", format: { $0 }) { (text: String) throws(ConfigRejection) in
            if let expected = validate?(text) { throw .outOfRange(expected) }
            return text
        }
    }

    /// A whole number within `range`.
    public static func int(
        _ key: String,
        _ path: WritableKeyPath<Root, Int> & Sendable,
        help: String,
        range: ClosedRange<Int>
    ) -> Self {
        let expected: @Sendable () -> String = { "a whole number from \(range.lowerBound) to \(range.upperBound)" }
        return scalar(key, path, help: help, expected: expected(), format: { String($0) }) { (text: String) throws(ConfigRejection) in
            guard let number = Int(text.replacingUnderscores) else { throw .wrongType(expected()) }
            guard range.contains(number) else { throw .outOfRange(expected()) }
            return number
        }
    }

    /// A decimal number within `range` (`0.96`, `1000`).
    public static func double(
        _ key: String,
        _ path: WritableKeyPath<Root, Double> & Sendable,
        help: String,
        range: ClosedRange<Double>
    ) -> Self {
        let expected: @Sendable () -> String = { "a number from \(range.lowerBound) to \(range.upperBound)" }
        return scalar(key, path, help: help, expected: expected(), format: { String($0) }) { (text: String) throws(ConfigRejection) in
            guard let number = Double(text.replacingUnderscores), number.isFinite else { throw .wrongType(expected()) }
            guard range.contains(number) else { throw .outOfRange(expected()) }
            return number
        }
    }

    /// `true` or `false`.
    public static func bool(_ key: String, _ path: WritableKeyPath<Root, Bool> & Sendable, help: String) -> Self {
        scalar(key, path, help: help, expected: "true or false", isSwitch: true, format: { $0 ? "true" : "false" }) {
            (text: String) throws(ConfigRejection) in
            switch text.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw .wrongType("true or false")
            }
        }
    }

    /// A duration written as Go writes them (`1h0m0s`, `30s`, `500ms`), within `range`.
    public static func duration(
        _ key: String,
        _ path: WritableKeyPath<Root, Duration> & Sendable,
        help: String,
        range: ClosedRange<Duration> = .zero ... .seconds(Int64.max / 2)
    ) -> Self {
        let kind = "a duration like 30s, 1h0m0s or 500ms"
        let bounds: @Sendable () -> String = {
            "a duration from \(GoDuration.format(range.lowerBound))"
                + (range.upperBound < .seconds(Int64.max / 2) ? " to \(GoDuration.format(range.upperBound))" : " up")
        }
        return scalar(key, path, help: help, expected: kind, format: GoDuration.format) { (text: String) throws(ConfigRejection) in
            guard let duration = GoDuration.parse(text) else { throw .wrongType(kind) }
            guard range.contains(duration) else { throw .outOfRange(bounds()) }
            return duration
        }
    }

    /// The time between runs of a chore; `0s` means none: the chore runs only when triggered.
    public static func interval(_ key: String, _ path: WritableKeyPath<Root, Duration?> & Sendable, help: String) -> Self {
        let kind = "a duration like 30s, 1h0m0s or 500ms, or 0s to run only when triggered"
        return scalar(key, path, help: help, expected: kind, format: { GoDuration.format($0 ?? .zero) }) { (text: String) throws(ConfigRejection) in
            guard let duration = GoDuration.parse(text) else { throw .wrongType(kind) }
            guard duration >= .zero else { throw .outOfRange(kind) }
            return duration == .zero ? nil : duration
        }
    }

    /// A size in bytes written with a unit (`64MiB`, `1GB`, `512KiB`, `4096`), within `range`.
    public static func size(
        _ key: String,
        _ path: WritableKeyPath<Root, Int64> & Sendable,
        help: String,
        range: ClosedRange<Int64> = 0 ... Int64.max
    ) -> Self {
        let kind = "a size like 64MiB, 1GB or 4096"
        let bounds: @Sendable () -> String = { "a size from \(ByteSize.format(range.lowerBound)) to \(ByteSize.format(range.upperBound))" }
        return scalar(key, path, help: help, expected: kind, format: ByteSize.format) { (text: String) throws(ConfigRejection) in
            guard let size = ByteSize.parse(text) else { throw .wrongType(kind) }
            guard range.contains(size) else { throw .outOfRange(bounds()) }
            return size
        }
    }

    /// One of a fixed set of words.
    public static func choice<Value: RawRepresentable & CaseIterable & Sendable>(
        _ key: String,
        _ path: WritableKeyPath<Root, Value> & Sendable,
        help: String
    ) -> Self where Value.RawValue == String {
        let expected: @Sendable () -> String = { "one of " + Value.allCases.map(\.rawValue).joined(separator: ", ") }
        return scalar(key, path, help: help, expected: expected(), format: \.rawValue) { (text: String) throws(ConfigRejection) in
            guard let value = Value(rawValue: text) else { throw .outOfRange(expected()) }
            return value
        }
    }

    /// A TCP address `host:port` (port 0 picks a free one); empty turns the listener off when
    /// `optional`.
    public static func address(
        _ key: String,
        _ path: WritableKeyPath<Root, String> & Sendable,
        help: String,
        optional: Bool = false
    ) -> Self {
        let expected = "host:port, like 127.0.0.1:7777" + (optional ? ", or empty to turn it off" : "")
        return scalar(key, path, help: help, expected: expected, format: { $0 }) { (text: String) throws(ConfigRejection) in
            if text.isEmpty, optional { return text }
            guard HostPort(text) != nil else { throw .outOfRange(expected) }
            return text
        }
    }
}

/// A `host:port` pair; IPv6 hosts are written in brackets.
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" "), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension String {
    fileprivate var replacingUnderscores: String { replacing("_", with: "") }
}
