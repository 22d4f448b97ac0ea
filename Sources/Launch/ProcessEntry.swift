import SatelliteConfig
import Supervision

/// One entry of the `processes` list: a process the launcher starts and supervises.
public struct ProcessEntry: Sendable, Equatable {
    public enum Program: Sendable, Equatable {
        /// `run: core`: a peer of this executable, as `satellite run core`.
        case peer(String)
        /// `exec: /path/to/program`: another program.
        case exec(String)
    }

    public var name: String
    public var program: Program
    public var arguments: [String] = []
    public var after: [String] = []
    public var oneshot = false
    public var restart = RestartPolicy.always
    /// Whether it speaks the notify protocol; true for peers, false for other programs unless set.
    public var notify: Bool
    public var tags: [String] = []
    public var environment: [String: String] = [:]
    /// How many processes run this entry (`NAME@1` ... `NAME@N` when more than one), each
    /// supervised on its own; `restart NAME` replaces them one at a time.
    public var instances = 1
    /// `supervisor` keys set on this entry alone, already checked.
    public var timingOverrides: [ConfigEntry] = []
    /// The file line the entry starts on, for errors found after loading.
    public var line: Int?

    public init(name: String, program: Program) {
        self.name = name
        self.program = program
        if case .peer = program { notify = true } else { notify = false }
    }

    /// A peer under its own name.
    public static func peer(_ peer: String, oneshot: Bool = false) -> Self {
        var entry = Self(name: peer, program: .peer(peer))
        entry.oneshot = oneshot
        return entry
    }

    /// The timings of this process: the `supervisor` section with this entry's own keys over it.
    public func timings(under supervisor: SupervisorConfig) -> SupervisionTimings {
        var config = supervisor
        for override in timingOverrides {
            try? SupervisorConfig.fieldsByKey[override.key]?.assign(&config, override.value)
        }
        return config.timings
    }
}

extension SupervisorConfig {
    static let fieldsByKey = Dictionary(fields.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
}

// MARK: - Reading and writing the list

extension ProcessEntry {
    /// The most instances an entry may ask for.
    public static let maximumInstances = 64

    static let keys = ["name", "run", "exec", "args", "after", "oneshot", "restart", "notify", "tags", "env", "instances"] + SupervisorConfig.fields.map(\.key)

    /// The `processes` key: a list of mappings, one per process, in start order; `run:` names
    /// one of `peers`.
    public static func field<Root>(_ path: WritableKeyPath<Root, [ProcessEntry]> & Sendable, peers: [String]) -> ConfigField<Root> {
        ConfigField(
            key: "processes",
            help: "what `satellite run` starts, in order: name, run: PEER or exec: PROGRAM; optional args, after, oneshot, restart, notify, tags, env, instances, supervisor keys",
            render: { render($0[keyPath: path]) },
            assign: { (root: inout Root, value: ConfigValue) throws(ConfigRejection) in
                root[keyPath: path] = try read(value, peers: peers)
            }
        )
    }

    static func read(_ value: ConfigValue, peers: [String]) throws(ConfigRejection) -> [ProcessEntry] {
        guard case .list(let items) = value else {
            throw .wrongType("a list of processes, written in the config file")
        }
        var entries: [ProcessEntry] = []
        for (index, item) in items.enumerated() {
            let entry = try read(item, at: "processes[\(index)]", peers: peers)
            if let twin = entries.first(where: { $0.name == entry.name }) {
                throw ConfigRejection(.outOfRange(expected: "a name no other process has (line \(twin.line ?? 0) has it too)"))
                    .at(key: "processes[\(index)].name", line: entry.line, value: entry.name)
            }
            entries.append(entry)
        }
        let names = Set(entries.map(\.name))
        for (index, entry) in entries.enumerated() {
            for dependency in entry.after where !names.contains(dependency) {
                throw ConfigRejection(.outOfRange(expected: "the name of another process: " + entries.map(\.name).joined(separator: ", ")))
                    .at(key: "processes[\(index)].after", line: entry.line, value: dependency)
            }
        }
        return entries
    }

    private static func read(_ item: ConfigValue, at place: String, peers: [String]) throws(ConfigRejection) -> ProcessEntry {
        guard case .mapping(let fields) = item else {
            throw ConfigRejection(.wrongType(expected: "a mapping with name and run or exec")).at(key: place, line: nil, value: item.shown)
        }
        let line = fields.first?.line
        func text(_ key: String) throws(ConfigRejection) -> String? {
            guard let field = fields.first(where: { $0.key == key }) else { return nil }
            guard case .scalar(let value) = field.value, !value.isEmpty else {
                throw ConfigRejection(.wrongType(expected: "text")).at(key: "\(place).\(key)", line: field.line, value: field.value.shown)
            }
            return value
        }
        for field in fields where !keys.contains(field.key) {
            let nearest = keys.map { ($0, ConfigSchema<SupervisorConfig>.editDistance(field.key, $0)) }.min { $0.1 < $1.1 }
            let suggestion = nearest.flatMap { $0.1 <= max(2, field.key.count / 3) ? "\(place).\($0.0)" : nil }
            throw ConfigRejection(.unknownKey(nearest: suggestion)).at(key: "\(place).\(field.key)", line: field.line, value: nil)
        }
        guard let name = try text("name") else {
            throw ConfigRejection(.wrongType(expected: "a name: key")).at(key: place, line: line, value: item.shown)
        }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }), name.first?.isLetter == true else {
            throw ConfigRejection(.outOfRange(expected: "a name of letters, digits, - and _ that starts with a letter (it names the log file)"))
                .at(key: "\(place).name", line: line, value: name)
        }
        let program: Program
        switch (try text("run"), try text("exec")) {
        case (let peer?, nil):
            guard peers.contains(peer) else {
                throw ConfigRejection(.outOfRange(expected: "one of " + peers.joined(separator: ", ")))
                    .at(key: "\(place).run", line: line, value: peer)
            }
            program = .peer(peer)
        case (nil, let path?):
            program = .exec(path)
        case (nil, nil):
            throw ConfigRejection(.wrongType(expected: "run: PEER or exec: PROGRAM")).at(key: place, line: line, value: name)
        case (_?, _?):
            throw ConfigRejection(.conflict("an entry runs either a peer (run:) or a program (exec:), not both")).at(key: place, line: line, value: name)
        }
        var entry = ProcessEntry(name: name, program: program)
        entry.line = line
        var scratch = SupervisorConfig()
        for field in fields {
            let key = "\(place).\(field.key)"
            do throws(ConfigRejection) {
                switch field.key {
                case "name", "run", "exec":
                    break
                case "args":
                    entry.arguments = try list(field.value)
                    if case .peer = program { throw ConfigRejection(.conflict("args belong to exec: entries; a peer takes its configuration from the file")) }
                case "after":
                    entry.after = try list(field.value)
                case "tags":
                    entry.tags = try list(field.value)
                case "oneshot":
                    entry.oneshot = try bool(field.value)
                case "notify":
                    entry.notify = try bool(field.value)
                case "restart":
                    guard case .scalar(let text) = field.value, let policy = RestartPolicy(rawValue: text) else {
                        throw .outOfRange("one of " + RestartPolicy.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    entry.restart = policy
                case "env":
                    entry.environment = try environment(field.value)
                case "instances":
                    guard case .scalar(let text) = field.value, let count = Int(text), (1...maximumInstances).contains(count) else {
                        throw .outOfRange("a whole number from 1 to \(maximumInstances)")
                    }
                    entry.instances = count
                default:
                    try SupervisorConfig.fieldsByKey[field.key]!.assign(&scratch, field.value)
                    entry.timingOverrides.append(field)
                }
            } catch {
                throw error.at(key: key, line: field.line, value: field.value.shown)
            }
        }
        if entry.oneshot, entry.instances > 1, let field = fields.first(where: { $0.key == "instances" }) {
            throw ConfigRejection(.conflict("a one-shot process runs once; instances is for processes that keep running"))
                .at(key: "\(place).instances", line: field.line, value: field.value.shown)
        }
        return entry
    }

    private static func list(_ value: ConfigValue) throws(ConfigRejection) -> [String] {
        switch value {
        case .scalar(let text) where !text.isEmpty:
            return [text]
        case .list(let items):
            var texts: [String] = []
            for item in items {
                guard case .scalar(let text) = item else { throw .wrongType("a list of words, as [a, b]") }
                texts.append(text)
            }
            return texts
        default:
            throw .wrongType("a list of words, as [a, b]")
        }
    }

    private static func bool(_ value: ConfigValue) throws(ConfigRejection) -> Bool {
        guard case .scalar(let text) = value else { throw .wrongType("true or false") }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw .wrongType("true or false")
        }
    }

    private static func environment(_ value: ConfigValue) throws(ConfigRejection) -> [String: String] {
        guard case .mapping(let entries) = value else { throw .wrongType("a mapping of variable names to values") }
        var variables: [String: String] = [:]
        for entry in entries {
            guard case .scalar(let text) = entry.value else { throw .wrongType("a mapping of variable names to values") }
            guard !entry.key.isEmpty, !entry.key.contains("=") else { throw .outOfRange("variable names without =") }
            variables[entry.key] = text
        }
        return variables
    }

    static func render(_ entries: [ProcessEntry]) -> String {
        guard !entries.isEmpty else { return "[]" }
        var out = ""
        for entry in entries {
            var lines = ["name: " + YAMLText.scalar(entry.name)]
            switch entry.program {
            case .peer(let peer): lines.append("run: " + peer)
            case .exec(let path): lines.append("exec: " + YAMLText.scalar(path))
            }
            if !entry.arguments.isEmpty { lines.append("args: " + YAMLText.flowList(entry.arguments)) }
            if !entry.after.isEmpty { lines.append("after: " + YAMLText.flowList(entry.after)) }
            if entry.oneshot { lines.append("oneshot: true") }
            if entry.restart != .always { lines.append("restart: " + entry.restart.rawValue) }
            if entry.notify != ProcessEntry(name: entry.name, program: entry.program).notify { lines.append("notify: \(entry.notify)") }
            if !entry.tags.isEmpty { lines.append("tags: " + YAMLText.flowList(entry.tags)) }
            if entry.instances != 1 { lines.append("instances: \(entry.instances)") }
            if !entry.environment.isEmpty {
                let pairs = entry.environment.sorted { $0.key < $1.key }.map { YAMLText.scalar($0.key) + ": " + YAMLText.scalar($0.value) }
                lines.append("env: {" + pairs.joined(separator: ", ") + "}")
            }
            for override in entry.timingOverrides {
                if case .scalar(let text) = override.value { lines.append(override.key + ": " + YAMLText.scalar(text)) }
            }
            out += "\n- " + lines.joined(separator: "\n  ")
        }
        return out
    }
}
