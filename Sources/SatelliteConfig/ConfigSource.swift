/// Where a configuration value came from, named as an operator would look for it.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    /// The built-in default.
    case defaults
    /// A line of a YAML file (1-based).
    case file(path: String, line: Int)
    /// An environment variable.
    case environment(variable: String)
    /// A command-line flag, as written (`--api.address`).
    case flag(String)

    public var description: String {
        switch self {
        case .defaults: "built-in defaults"
        case .file(let path, let line): "\(path):\(line)"
        case .environment(let variable): "environment variable \(variable)"
        case .flag(let flag): "flag \(flag)"
        }
    }
}
