import CLibYAML
import SatelliteConfig

/// Reads the plain YAML a configuration file is written in — mappings, lists and scalars, block
/// or flow, with comments — into the same entries ``ConfigYAML``'s reader gives, through libyaml
/// and without Foundation, for a `run` that must start in milliseconds.
///
/// It declines (nil) everything else: anchors, aliases, tags, merge keys, a key that appears twice,
/// several documents, a top that is not a mapping, more than ``maximumDepth`` levels or
/// ``maximumValues`` values, and any syntax error. A declined file goes to the full reader, which
/// accepts what YAML allows and locates every error; so what this one accepts, it reads exactly
/// as the full one does, and it never has to word an error.
public enum PlainYAML {
    public static let maximumDepth = 32
    public static let maximumValues = 10_000

    /// The file's entries; an empty file has none. Nil when the file is not plain YAML.
    public static func entries(_ text: String) -> [ConfigEntry]? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else { return nil }
        defer { yaml_parser_delete(parser) }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer -> [ConfigEntry]? in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var reader = EventReader(parser: parser)
            return reader.document()
        }
    }
}

/// Pulls libyaml's events and builds values; nil anywhere means declined.
private struct EventReader {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    var values = 0

    /// What one node of a list or mapping turned out to be.
    enum Element {
        case value(ConfigValue)
        /// The end of the list being read.
        case listEnd
    }

    /// Runs `body` on the next event, deleted after; nil on a syntax error.
    mutating func withNext<T>(_ body: (inout EventReader, yaml_event_t) -> T?) -> T? {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { return nil }
        defer { yaml_event_delete(&event) }
        return body(&self, event)
    }

    func type(_ wanted: yaml_event_type_t) -> (inout EventReader, yaml_event_t) -> Bool? {
        { _, event in event.type == wanted ? true : nil }
    }

    mutating func document() -> [ConfigEntry]? {
        guard withNext(type(YAML_STREAM_START_EVENT)) != nil else { return nil }
        let entries: [ConfigEntry]?? = withNext { reader, event in
            if event.type == YAML_STREAM_END_EVENT { return .some([]) }
            let start = event.data.document_start
            guard event.type == YAML_DOCUMENT_START_EVENT, start.version_directive == nil, start.tag_directives.start == start.tag_directives.end else {
                return nil
            }
            return .some(reader.top())
        }
        guard let entries, let entries else { return nil }
        return entries
    }

    /// The document's top, then its end and the stream's.
    mutating func top() -> [ConfigEntry]? {
        let entries: [ConfigEntry]? = withNext { reader, event in
            switch event.type {
            case YAML_MAPPING_START_EVENT:
                guard event.data.mapping_start.anchor == nil, event.data.mapping_start.tag == nil else { return nil }
                return reader.mapping(depth: 0)
            case YAML_SCALAR_EVENT:
                // A document of nothing (`---` alone) is an empty configuration.
                return Self.isNull(event) && event.data.scalar.anchor == nil && event.data.scalar.tag == nil ? [] : nil
            default:
                return nil
            }
        }
        guard let entries, withNext(type(YAML_DOCUMENT_END_EVENT)) != nil, withNext(type(YAML_STREAM_END_EVENT)) != nil else { return nil }
        return entries
    }

    /// The entries of a mapping whose start was just read, through its end.
    mutating func mapping(depth: Int) -> [ConfigEntry]? {
        guard depth <= PlainYAML.maximumDepth, count() else { return nil }
        var entries: [ConfigEntry] = []
        var keys: Set<String> = []
        while true {
            // The key (nil: declined), or the mapping's end (.some(nil)).
            let key: (name: String, line: Int)?? = withNext { _, event in
                if event.type == YAML_MAPPING_END_EVENT { return .some(nil) }
                guard event.type == YAML_SCALAR_EVENT, event.data.scalar.anchor == nil, event.data.scalar.tag == nil, !Self.isNull(event),
                    !["~", "null", "Null", "NULL"].contains(Self.text(event))
                else { return nil }
                return .some((Self.text(event), Int(event.start_mark.line) + 1))
            }
            guard let key else { return nil }
            guard let key else { return entries }
            guard key.name != "<<", keys.insert(key.name).inserted else { return nil }
            guard case .value(let value)? = element(depth: depth + 1) else { return nil }
            entries.append(ConfigEntry(key: key.name, value: value, line: key.line))
        }
    }

    /// The next node: a value, or the end of the list being read; nil declined.
    mutating func element(depth: Int) -> Element? {
        guard depth <= PlainYAML.maximumDepth else { return nil }
        return withNext { reader, event in
            switch event.type {
            case YAML_SEQUENCE_END_EVENT:
                return .listEnd
            case YAML_SCALAR_EVENT:
                guard event.data.scalar.anchor == nil, event.data.scalar.tag == nil, reader.count() else { return nil }
                return .value(.scalar(Self.isNull(event) ? "" : Self.text(event)))
            case YAML_SEQUENCE_START_EVENT:
                guard event.data.sequence_start.anchor == nil, event.data.sequence_start.tag == nil, reader.count() else { return nil }
                var items: [ConfigValue] = []
                while true {
                    switch reader.element(depth: depth + 1) {
                    case .value(let item)?: items.append(item)
                    case .listEnd?: return .value(.list(items))
                    case nil: return nil
                    }
                }
            case YAML_MAPPING_START_EVENT:
                guard event.data.mapping_start.anchor == nil, event.data.mapping_start.tag == nil else { return nil }
                return reader.mapping(depth: depth).map { .value(.mapping($0)) }
            default:
                return nil
            }
        }
    }

    /// Counts one value; false past the bound.
    mutating func count() -> Bool {
        values += 1
        return values <= PlainYAML.maximumValues
    }

    static func text(_ event: yaml_event_t) -> String {
        let scalar = event.data.scalar
        return String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
    }

    /// A plain scalar with nothing in it (`key:` alone), which the full reader reads as empty text;
    /// `~` and `null` it keeps as written.
    static func isNull(_ event: yaml_event_t) -> Bool {
        event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && event.data.scalar.length == 0
    }
}
