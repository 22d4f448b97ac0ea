/// A configuration value before it is read into its key's type: the shape YAML gives it.
///
/// Environment variables and flags always give a scalar.
public indirect enum ConfigValue: Sendable, Equatable {
    case scalar(String)
    case list([ConfigValue])
    case mapping([ConfigEntry])

    /// A word for the shape, for error messages.
    public var shapeName: String {
        switch self {
        case .scalar: "a single value"
        case .list: "a list"
        case .mapping: "a mapping"
        }
    }

    /// The text a person wrote for this value, for error messages.
    public var shown: String {
        switch self {
        case .scalar(let text): text
        case .list(let items): "[" + items.map(\.shown).joined(separator: ", ") + "]"
        case .mapping(let entries): "{" + entries.map { "\($0.key): \($0.value.shown)" }.joined(separator: ", ") + "}"
        }
    }
}

/// One key and its value inside a mapping, with the line it was written on.
public struct ConfigEntry: Sendable, Equatable {
    public let key: String
    public let value: ConfigValue
    public let line: Int

    public init(key: String, value: ConfigValue, line: Int) {
        self.key = key
        self.value = value
        self.line = line
    }
}
