/// A configuration that cannot be used, with everything an operator needs to fix it.
///
/// Its description is one line: the source (file and line, variable or flag), the key, the
/// value, and what was expected or the nearest valid key.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// No such key; `nearest` is the closest valid key, if any is close.
        case unknownKey(nearest: String?)
        /// The value has the wrong shape for the key (text for a number, a list for a duration...).
        case wrongType(expected: String)
        /// The value has the right type but lies outside what the key accepts.
        case outOfRange(expected: String)
        /// The file is not valid YAML, or not a mapping at its top.
        case malformed(String)
        /// The file cannot be read.
        case unreadable(String)
        /// Two keys that are each valid cannot be used together.
        case conflict(String)
        /// A command-line argument that is not a `--key=value` flag: a usage error, not a value.
        case notAFlag
    }

    public let source: ConfigSource
    public let key: String?
    public let value: String?
    public let problem: Problem

    public init(source: ConfigSource, key: String?, value: String?, problem: Problem) {
        self.source = source
        self.key = key
        self.value = value
        self.problem = problem
    }

    /// Whether this is a usage error (exit 64) rather than a configuration error (exit 78).
    public var isUsageError: Bool { problem == .notAFlag }

    public var description: String {
        let shown = value.map { Self.quote(Self.clipped($0)) } ?? ""
        let key = key.map { Self.quote(Self.clipped($0)) } ?? ""
        let what: String
        switch problem {
        case .unknownKey(let nearest):
            what = "unknown key \(key)" + (nearest.map { "; did you mean \(Self.quote($0))?" } ?? "")
        case .wrongType(let expected), .outOfRange(let expected):
            what = "invalid value \(shown) for \(key); expected \(expected)"
        case .malformed(let detail):
            what = "not valid YAML: \(detail)"
        case .unreadable(let detail):
            what = "cannot read config file: \(detail)"
        case .conflict(let detail):
            what = "\(key): \(detail)"
        case .notAFlag:
            what = "unexpected argument \(shown); configuration flags are written --key=value, as --api.address=127.0.0.1:7777"
        }
        return "config error: \(source): \(what)"
    }

    /// At most 200 characters of `text`, with how long it was when longer: an error line stays
    /// readable whatever was written.
    static func clipped(_ text: String) -> String {
        text.count <= 200 ? text : "\(text.prefix(200))… (\(text.count) characters)"
    }

    /// `text` in double quotes with `"`, `\\`, newline and tab escaped: valid as YAML and as JSON.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
