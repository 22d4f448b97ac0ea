/// Writing configuration as YAML (reading it is ``ConfigYAML``'s, which the schema does not need).
public enum YAMLText {
    /// Writes `text` as a YAML scalar: plain when YAML would read it back as the same text,
    /// double-quoted otherwise.
    public static func scalar(_ text: String) -> String {
        let plainSafe = text.unicodeScalars.allSatisfy { scalar in
            (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5A)
                || (scalar.value >= 0x61 && scalar.value <= 0x7A) || "._/:-@+µ".unicodeScalars.contains(scalar)
        }
        let ambiguous = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"].contains(text.lowercased())
        guard text.isEmpty || !plainSafe || ambiguous || !(text.first!.isLetter || text.first!.isNumber || text.first == "/" || text.first == ".")
        else { return text }
        return ConfigError.quote(text)
    }

    /// Writes a list of scalars in flow style, as `[a, "b c"]`.
    public static func flowList(_ items: [String]) -> String {
        "[" + items.map(scalar).joined(separator: ", ") + "]"
    }

    /// Writes dotted keys as nested YAML, in the order given; sections open where their first key
    /// appears. With `help`, each key is preceded by its help as a comment.
    public static func render(_ entries: [(key: String, help: String?, value: String)]) -> String {
        var out = ""
        var open: [String] = []
        for entry in entries {
            let parts = entry.key.split(separator: ".").map(String.init)
            let sections = Array(parts.dropLast())
            var shared = 0
            while shared < min(open.count, sections.count), open[shared] == sections[shared] { shared += 1 }
            if shared == 0, !out.isEmpty, (sections.first != open.first || sections.isEmpty), entry.help != nil {
                out += "\n"
            }
            for depth in shared..<sections.count {
                out += String(repeating: "  ", count: depth) + sections[depth] + ":\n"
            }
            open = sections
            let indent = String(repeating: "  ", count: sections.count)
            if let help = entry.help {
                out += indent + "# " + help + "\n"
            }
            if entry.value.hasPrefix("\n") {
                // A block value (a list of mappings) is written relative to its key's column.
                out += indent + parts.last! + ":\n"
                for line in entry.value.dropFirst().split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                    out += indent + "  " + line + "\n"
                }
            } else {
                out += indent + parts.last! + ": " + entry.value + "\n"
            }
        }
        return out
    }
}
