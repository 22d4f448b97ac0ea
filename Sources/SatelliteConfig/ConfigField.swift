/// Why a value was refused, before the loader adds where it came from.
public struct ConfigRejection: Error, Sendable {
    public let problem: ConfigError.Problem
    /// The part of a structured value that was refused, as `processes[2].restart`; nil means the
    /// key itself.
    public var key: String?
    /// The file line of that part, when it has one of its own.
    public var line: Int?
    /// The refused part as written, when it is not the whole value.
    public var value: String?

    public init(_ problem: ConfigError.Problem) {
        self.problem = problem
    }

    /// The same refusal, placed at a part of a structured value.
    public func at(key: String, line: Int?, value: String?) -> Self {
        var placed = self
        placed.key = self.key ?? key
        placed.line = self.line ?? line
        placed.value = self.value ?? value
        return placed
    }

    public static func outOfRange(_ expected: String) -> Self { Self(.outOfRange(expected: expected)) }
    public static func wrongType(_ expected: String) -> Self { Self(.wrongType(expected: expected)) }
}

/// One configuration key of a `Root` type: its name, its help, how to read and show its value.
///
/// The default is whatever `Root()` holds, so a key's default lives in one place, the type.
public struct ConfigField<Root>: Sendable {
    /// The dotted key, as `api.address`.
    public let key: String
    /// One line of help, shown as a YAML comment by `satellite config --defaults`.
    public let help: String
    /// Whether the key takes a flag with no value (`--key` alone means true).
    public let isSwitch: Bool
    /// Renders the key's current value as YAML.
    public let render: @Sendable (Root) -> String
    /// Reads a value into the key, or refuses it.
    public let assign: @Sendable (inout Root, ConfigValue) throws(ConfigRejection) -> Void

    public init(
        key: String,
        help: String,
        isSwitch: Bool = false,
        render: @escaping @Sendable (Root) -> String,
        assign: @escaping @Sendable (inout Root, ConfigValue) throws(ConfigRejection) -> Void
    ) {
        self.key = key
        self.help = help
        self.isSwitch = isSwitch
        self.render = render
        self.assign = assign
    }

    /// The same key seen from a type that holds `Root` at `path`, under `prefix`.
    public func nested<Parent>(in path: WritableKeyPath<Parent, Root> & Sendable, prefix: String) -> ConfigField<Parent> {
        let render = self.render
        let assign = self.assign
        return ConfigField<Parent>(
            key: prefix.isEmpty ? key : prefix + "." + key,
            help: help,
            isSwitch: isSwitch,
            render: { render($0[keyPath: path]) },
            assign: { (parent: inout Parent, value: ConfigValue) throws(ConfigRejection) in
                try assign(&parent[keyPath: path], value)
            }
        )
    }

    /// A key whose value is one scalar that `parse` reads and `format` writes back; `expected` is
    /// worded only for a refusal, since the launcher builds every field at each start.
    public static func scalar<Value>(
        _ key: String,
        _ path: WritableKeyPath<Root, Value> & Sendable,
        help: String,
        expected: @autoclosure @escaping @Sendable () -> String,
        isSwitch: Bool = false,
        format: @escaping @Sendable (Value) -> String,
        parse: @escaping @Sendable (String) throws(ConfigRejection) -> Value
    ) -> Self {
        Self(
            key: key,
            help: help,
            isSwitch: isSwitch,
            render: { YAMLText.scalar(format($0[keyPath: path])) },
            assign: { (root: inout Root, value: ConfigValue) throws(ConfigRejection) in
                guard case .scalar(let text) = value else { throw .wrongType(expected()) }
                root[keyPath: path] = try parse(text)
            }
        )
    }
}

extension Array {
    /// The fields of a section, seen from the type that holds the section at `path`.
    public func nested<Section, Parent>(
        in path: WritableKeyPath<Parent, Section> & Sendable,
        prefix: String
    ) -> [ConfigField<Parent>] where Element == ConfigField<Section> {
        map { $0.nested(in: path, prefix: prefix) }
    }
}

/// A type whose values are read from configuration: every key has a default (the value of
/// `init()`) and a help line.
public protocol ConfigSection: Sendable {
    init()
    static var fields: [ConfigField<Self>] { get }
    /// The same fields in groups by their first word, each made on first use (a root with many
    /// sections lists them here, so that a load makes only the sections it meets); by default
    /// one group of every field.
    static var fieldGroups: [ConfigFieldGroup<Self>] { get }
}

extension ConfigSection {
    public static var fieldGroups: [ConfigFieldGroup<Self>] { [ConfigFieldGroup(nil) { fields }] }
}

extension ConfigSection {
    /// This section's fields under `prefix`, for the type that holds it at `path`.
    public static func fields<Parent>(
        at path: WritableKeyPath<Parent, Self> & Sendable,
        prefix: String
    ) -> [ConfigField<Parent>] {
        fields.nested(in: path, prefix: prefix)
    }
}
