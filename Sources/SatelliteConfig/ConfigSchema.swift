/// Loads a ``ConfigSection`` root from its layers, lowest precedence first: the built-in defaults,
/// a YAML file, the environment, command-line flags; and writes it back as YAML.
public struct ConfigSchema<Root: ConfigSection>: Sendable {
    /// The prefix of environment variables that set keys: `SATELLITE_API_ADDRESS` sets `api.address`.
    public let environmentPrefix: String
    /// Environment variables with the prefix that are not keys (process protocol variables).
    public let reservedVariables: Set<String>

    private let groups: [ConfigFieldGroup<Root>]

    public init(environmentPrefix: String = "SATELLITE_", reservedVariables: Set<String> = []) {
        self.environmentPrefix = environmentPrefix
        self.reservedVariables = reservedVariables
        self.groups = Root.fieldGroups
    }

    /// Every field, in declaration order (this makes every group).
    private var fields: [ConfigField<Root>] { groups.flatMap(\.fields) }

    /// Every key, in declaration order.
    public var keys: [String] { fields.map(\.key) }

    /// The groups that may hold a key beginning with `first`, in declaration order.
    private func groups(holding first: Substring) -> some Sequence<ConfigFieldGroup<Root>> {
        groups.lazy.filter { $0.mayHold(firstWord: first) }
    }

    private func firstWord(_ key: String) -> Substring {
        key[..<(key.firstIndex(of: ".") ?? key.endIndex)]
    }

    /// The field of `key`; the first declared wins, should two share a key.
    private func field(_ key: String) -> ConfigField<Root>? {
        for group in groups(holding: firstWord(key)) {
            if let field = group.field(key) { return field }
        }
        return nil
    }

    /// The key that `variable` sets, if any; the first declared wins, should two keys share a variable.
    private func key(forVariable variable: String) -> String? {
        guard variable.hasPrefix(environmentPrefix) else { return nil }
        let rest = variable.utf8.dropFirst(environmentPrefix.utf8.count)
        for group in groups {
            if let word = group.word {
                let spelled = Self.environmentVariable(for: word, prefix: "").utf8
                guard rest.starts(with: spelled), rest.count == spelled.count || rest.dropFirst(spelled.count).first == UInt8(ascii: "_") else { continue }
            }
            if let field = group.fields.first(where: { Self.environmentVariable(for: $0.key, prefix: environmentPrefix) == variable }) {
                return field.key
            }
        }
        return nil
    }

    /// The environment variable that sets `key`.
    public func environmentVariable(for key: String) -> String {
        Self.environmentVariable(for: key, prefix: environmentPrefix)
    }

    /// `prefix` and `key` in capitals, with `_` for `.` and `-` (keys are ASCII).
    private static func environmentVariable(for key: String, prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + key.utf8.count)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "-"): bytes.append(UInt8(ascii: "_"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(byte - 32)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads every layer into a root that starts from the defaults.
    /// - Parameters:
    ///   - file: the configuration file's path and its parsed entries, if one was given.
    ///   - environment: the process environment; only variables with the prefix are read.
    ///   - flags: `--key=value`, `--key value`, or `--key` alone for a true/false key.
    /// - Throws: the first ``ConfigError`` found, layer by layer.
    public func load(
        file: (path: String, entries: [ConfigEntry])? = nil,
        environment: [String: String] = [:],
        flags: [String] = []
    ) throws(ConfigError) -> Root {
        var root = Root()
        if let file { try apply(entries: file.entries, path: file.path, to: &root) }
        try apply(environment: environment, to: &root)
        try apply(flags: flags, to: &root)
        return root
    }

    /// Applies a file's entries; keys may be nested (`api:` then `address:`) or dotted (`api.address:`).
    public func apply(entries: [ConfigEntry], path: String, to root: inout Root) throws(ConfigError) {
        try apply(entries: entries, prefix: "", path: path, to: &root)
    }

    private func apply(entries: [ConfigEntry], prefix: String, path: String, to root: inout Root) throws(ConfigError) {
        for entry in entries {
            let key = prefix + entry.key
            let source = ConfigSource.file(path: path, line: entry.line)
            if self.field(key) != nil {
                try assign(key, entry.value, from: source, to: &root)
            } else if case .mapping(let nested) = entry.value, isSection(key) {
                try apply(entries: nested, prefix: key + ".", path: path, to: &root)
            } else {
                throw ConfigError(source: source, key: key, value: nil, problem: .unknownKey(nearest: nearest(to: key)))
            }
        }
    }

    /// Applies every environment variable that names a key. A variable that merely starts with
    /// the prefix (`SATELLITE_BIN` in a wrapper script) is not configuration and is skipped;
    /// ``unknownVariables(in:)`` names them for a warning.
    /// - Throws: ``ConfigError`` for a variable that names a key with a bad value.
    public func apply(environment: [String: String], to root: inout Root) throws(ConfigError) {
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where isConfiguration(variable) {
            guard let key = key(forVariable: variable) else { continue }
            try assign(key, .scalar(value), from: .environment(variable: variable), to: &root)
        }
    }

    /// The variables with the prefix that name no key (and are not reserved), each with the
    /// nearest variable that does, in name order.
    public func unknownVariables(in environment: [String: String]) -> [ConfigWarning] {
        let unknown = environment.keys.sorted().filter { isConfiguration($0) && key(forVariable: $0) == nil }
        guard !unknown.isEmpty else { return [] }
        let variables = Set(keys.map(environmentVariable(for:))).sorted()
        return unknown.map { ConfigWarning(variable: $0, nearest: Self.nearest(to: $0, among: variables)) }
    }

    private func isConfiguration(_ variable: String) -> Bool {
        variable.hasPrefix(environmentPrefix) && !reservedVariables.contains(variable)
    }

    /// Applies command-line flags, in order; a later flag for the same key wins.
    public func apply(flags: [String], to root: inout Root) throws(ConfigError) {
        var index = 0
        while index < flags.count {
            let argument = flags[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigError(source: .flag(argument), key: nil, value: argument, problem: .notAFlag)
            }
            let body = argument.dropFirst(2)
            let key: String
            var value: String?
            if let equals = body.firstIndex(of: "=") {
                key = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                key = String(body)
            }
            let source = ConfigSource.flag("--" + key)
            guard let field = self.field(key) else {
                throw ConfigError(source: source, key: key, value: value, problem: .unknownKey(nearest: nearest(to: key).map { "--" + $0 }))
            }
            if value == nil {
                if index < flags.count, !flags[index].hasPrefix("--") {
                    value = flags[index]
                    index += 1
                } else if field.isSwitch {
                    value = "true"
                } else {
                    throw ConfigError(source: source, key: key, value: nil, problem: .wrongType(expected: "a value after the flag"))
                }
            }
            try assign(key, .scalar(value!), from: source, to: &root)
        }
    }

    private func assign(_ key: String, _ value: ConfigValue, from source: ConfigSource, to root: inout Root) throws(ConfigError) {
        do {
            try self.field(key)!.assign(&root, value)
        } catch {
            var place = source
            if let line = error.line, case .file(let path, _) = source { place = .file(path: path, line: line) }
            throw ConfigError(source: place, key: error.key ?? key, value: error.value ?? value.shown, problem: error.problem)
        }
    }

    private func isSection(_ key: String) -> Bool {
        groups(holding: firstWord(key)).contains { $0.isSection(key) }
    }

    /// The valid key or section closest to `key` in edit distance, if it is close enough to be a typo.
    public func nearest(to key: String) -> String? {
        Self.nearest(to: key, among: keys + Set(groups.flatMap { $0.contents.sections }).sorted())
    }

    static func nearest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(2, word.count / 3) ? best.0 : nil
    }

    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The configuration as YAML; with `help`, every key is preceded by its help as a comment.
    public func render(_ root: Root, help: Bool) -> String {
        YAMLText.render(fields.map { ($0.key, help ? $0.help : nil, $0.render(root)) })
    }
}
