import Synchronization

/// The keys of a root that begin with one word (`api` for `api.address` and `api.connection.max`),
/// made the first time a load, a lookup or a render needs them.
///
/// Making a field costs run-time type metadata for its key path and closures; a launch reads
/// the few sections its file, environment and flags name, so the rest are never made.
public final class ConfigFieldGroup<Root>: Sendable {
    /// The first word of every key in the group; nil for a group whose keys may begin with any word.
    public let word: String?
    private let make: @Sendable () -> [ConfigField<Root>]
    private let made = Mutex<Made?>(nil)

    /// The fields and what lookups need of them, made once.
    struct Made: Sendable {
        let fields: [ConfigField<Root>]
        let byKey: [String: ConfigField<Root>]
        /// Every dotted prefix of a key (`api`, `api.connection`), which a file may write as a mapping.
        let sections: Set<String>
    }

    /// A group of the keys `make` returns, each of which must begin with `word` (as a whole
    /// word: `word` itself, or `word.` then more).
    public init(_ word: String?, _ make: @escaping @Sendable () -> [ConfigField<Root>]) {
        self.word = word
        self.make = make
    }

    /// The group's fields in declaration order; the first call makes them.
    public var fields: [ConfigField<Root>] { contents.fields }

    /// The field of `key`, if the group holds it.
    func field(_ key: String) -> ConfigField<Root>? { contents.byKey[key] }

    /// Whether `key` is a dotted prefix of one of the group's keys.
    func isSection(_ key: String) -> Bool { contents.sections.contains(key) }

    /// Whether a key beginning with `first` can be in this group.
    func mayHold(firstWord first: Substring) -> Bool { word.map { $0 == first } ?? true }

    var contents: Made {
        made.withLock { made in
            if let made { return made }
            let fields = make()
            if let word {
                for field in fields where field.key != word && !field.key.hasPrefix(word + ".") {
                    preconditionFailure("the key \(field.key) is in the group of \(word)")
                }
            }
            let built = Made(
                fields: fields,
                byKey: Dictionary(fields.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first }),
                sections: Set(fields.flatMap { field in
                    let parts = field.key.split(separator: ".")
                    return (1..<max(parts.count, 1)).map { parts.prefix($0).joined(separator: ".") }
                })
            )
            made = built
            return built
        }
    }
}
