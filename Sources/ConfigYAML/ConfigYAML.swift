import SatelliteConfig
import Yams

/// Reading a configuration file's YAML into ``ConfigEntry`` trees with line numbers, through
/// Yams: every document YAML allows, and every error with its line. Apart from the schema, so
/// that a program can read configuration without linking Yams (and Foundation, which Yams needs).
extension YAMLText {
    /// Parses a document into a mapping of entries; an empty document is an empty mapping.
    /// - Throws: ``ConfigError`` naming `path` and the line of the syntax error.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> [ConfigEntry] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(source: .file(path: path, line: line(of: error, in: text)), key: nil, value: nil, problem: .malformed(problem(of: error)))
        } catch {
            throw ConfigError(source: .file(path: path, line: 1), key: nil, value: nil, problem: .malformed("\(error)"))
        }
        guard let node else { return [] }
        var budget = Budget()
        let top: ConfigValue
        do {
            top = try value(of: node, depth: 0, budget: &budget)
        } catch {
            throw ConfigError(source: .file(path: path, line: error.line), key: nil, value: nil, problem: .malformed(error.problem))
        }
        switch top {
        case .mapping(let entries):
            return entries
        case .scalar(let text) where text.isEmpty:
            return []
        case let other:
            throw ConfigError(
                source: .file(path: path, line: node.mark?.line ?? 1),
                key: nil,
                value: other.shown,
                problem: .malformed("the top of the file must be a mapping of keys to values, not \(other.shapeName)")
            )
        }
    }

    /// A configuration is a few hundred values a few levels deep. These bounds turn a document
    /// that is something else (aliases of aliases that multiply into billions of values, or
    /// nesting thousands deep) into an error instead of exhausting memory or the stack.
    struct Budget {
        static let values = 10_000
        static let depth = 32
        var used = 0
    }

    struct TooLarge: Error {
        let line: Int
        let problem: String
    }

    private static func value(of node: Node, depth: Int, budget: inout Budget) throws(TooLarge) -> ConfigValue {
        let line = node.mark?.line ?? 1
        guard depth <= Budget.depth else { throw TooLarge(line: line, problem: "nested deeper than \(Budget.depth) levels") }
        budget.used += 1
        guard budget.used <= Budget.values else {
            throw TooLarge(line: line, problem: "more than \(Budget.values) values in all (aliases that repeat aliases?)")
        }
        switch node {
        case .scalar(let scalar):
            return .scalar(scalar.tag == Tag(.null) ? "" : scalar.string)
        case .sequence(let sequence):
            var items: [ConfigValue] = []
            for item in sequence { items.append(try value(of: item, depth: depth + 1, budget: &budget)) }
            return .list(items)
        case .mapping(let mapping):
            var entries: [ConfigEntry] = []
            for (key, item) in mapping {
                entries.append(ConfigEntry(key: key.string ?? "\(key)", value: try value(of: item, depth: depth + 1, budget: &budget), line: key.mark?.line ?? 1))
            }
            return .mapping(entries)
        case .alias:
            return .scalar("")
        }
    }

    private static func line(of error: YamlError, in text: String) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        case .duplicatedKeysInMapping(_, let context):
            return context.mark.line
        case .reader(_, let offset?, _, _):
            return text.utf8.prefix(offset).reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
        default:
            return 1
        }
    }

    /// What was wrong, in one line: Yams' own descriptions quote the document over several.
    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            return [context.map(\.text), problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        case .duplicatedKeysInMapping(let duplicates, _):
            return "a key appears twice in one mapping: " + duplicates.map { ConfigError.quote(String($0.prefix(100))) }.joined(separator: ", ")
        case .reader(let problem, _, let value, _):
            return value >= 0 ? "\(problem) (character \(String(value, radix: 16, uppercase: true).leftPadded(to: 2)) hexadecimal)" : problem
        case .dataCouldNotBeDecoded:
            return "the file is not UTF-8 text"
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

extension ConfigSchema {
    /// ``load(file:environment:flags:)`` with the file's text, read here.
    /// - Throws: the first ``ConfigError`` found, layer by layer; a YAML error names its line.
    public func load(
        file: (path: String, text: String)?,
        environment: [String: String] = [:],
        flags: [String] = []
    ) throws(ConfigError) -> Root {
        let entries = try file.map { file throws(ConfigError) in (path: file.path, entries: try YAMLText.parse(file.text, path: file.path)) }
        return try load(file: entries, environment: environment, flags: flags)
    }

    /// Applies a YAML document; keys may be nested (`api:` then `address:`) or dotted (`api.address:`).
    public func apply(file text: String, path: String, to root: inout Root) throws(ConfigError) {
        try apply(entries: YAMLText.parse(text, path: path), path: path, to: &root)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
