import ConfigYAML
import Foundation
import PlainYAML
import SatelliteConfig
import SeededRandom
import Testing

/// The plain reader against the full one: what it accepts it reads exactly as Yams does, and what
/// it declines goes to Yams (which then reads it or locates the error).
@Suite struct PlainYAMLTests {
    static func full(_ text: String) -> [ConfigEntry]? {
        try? YAMLText.parse(text, path: "satellite.yaml")
    }

    static let defaultConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/satellite.yaml")

    @Test func readsTheDefaultConfigurationAsTheFullReaderDoes() throws {
        let text = try String(contentsOf: Self.defaultConfig, encoding: .utf8)
        let plain = try #require(PlainYAML.entries(text))
        #expect(plain == Self.full(text))
        #expect(plain.count > 10)
    }

    @Test(arguments: [
        "",
        "# only a comment\n",
        "---\n",
        "---\napi:\n  address: 127.0.0.1:7777\n...\n",
        "api.address: \":7777\"\nlog.level: debug\n",
        "api: {address: 127.0.0.1:7777, max-connections: 100}\nlog:\n  level: 'warn'\n",
        "processes:\n  - {name: core, run: core}\n  - name: api\n    run: api\n    after: [core]\n    env: {A: \"x y\", B: ''}\n",
        "text: |\n  two\n  lines\n\nfolded: >\n  one\n  line\n",
        "empty:\nnothing: ~\nnone: null\nquoted-null: \"null\"\nsingle: ''\n",
        "numbers: [1, 2.5, 0x1F, -3, 1e3]\nbools: [true, no, On, off]\nwhen: 2026-12-03\n",
        "unicode: \"µs — ok\"\nescaped: \"a\\tb\\n\\u00e9\"\nsingle: 'it''s'\n",
        "deep:\n  a:\n    b:\n      c:\n        d: [[1, [2, [3]]], {e: f}]\n",
        "key with spaces: value with colon\n\"quoted key\": 1\n? explicit\n: value\n",
        "list:\n- a\n-\n- - nested\n  - more\n",
    ])
    func readsPlainDocumentsAsTheFullReaderDoes(text: String) throws {
        let plain = try #require(PlainYAML.entries(text), "declined: \(text)")
        #expect(plain == Self.full(text), "\(text)")
    }

    @Test(arguments: [
        "base: &b {x: 1}\nother: *b\n",
        "tagged: !!str 5\n",
        "!!map {a: 1}\n",
        "merged:\n  <<: {a: 1}\n  b: 2\n",
        "a: 1\na: 2\n",
        "a: 1\n---\nb: 2\n",
        "just a scalar\n",
        "- a list\n- at the top\n",
        "a: [unclosed\n",
        "a: b: c\n",
        "\t- tab\n",
        "%YAML 1.1\n---\na: 1\n",
        "~: null key\n",
        "null: a null key\n",
        "[a, b]: complex key\n",
        String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n",
    ])
    func declinesWhatIsNotPlain(text: String) {
        #expect(PlainYAML.entries(text) == nil, "\(text)")
    }

    /// Thousands of documents put together from the pieces configuration files are made of, some
    /// of them broken: the plain reader never disagrees with the full one.
    @Test func neverDisagreesWithTheFullReaderOnGeneratedDocuments() {
        var random = SeededGenerator(seed: 18)
        let keys = ["api", "address", "log.level", "a b", "\"q\"", "'s'", "x-y_z", "μ", "1", "true", "<<", "~", "?", ""]
        let scalars = ["v", "127.0.0.1:7777", "\"a\\\"b\"", "'it''s'", "", "~", "null", "10s", "[1, 2]", "{a: b}", "&a x", "*a", "!!str 1", "|\n  lit", ">\n  fold", "#c", "a # c", "- x", "\"\\u00e9\"", "\"unclosed", "'x", "[", "}", "::", "%", "@x", "`x"]
        var accepted = 0
        for _ in 0..<3000 {
            var lines: [String] = []
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let indent = String(repeating: " ", count: [0, 0, 0, 2, 4, 1][Int.random(in: 0..<6, using: &random)])
                let key = keys.randomElement(using: &random)!
                switch Int.random(in: 0..<4, using: &random) {
                case 0: lines.append("\(indent)\(key): \(scalars.randomElement(using: &random)!)")
                case 1: lines.append("\(indent)\(key):")
                case 2: lines.append("\(indent)- \(scalars.randomElement(using: &random)!)")
                default: lines.append("\(indent)\(key): [\(scalars.randomElement(using: &random)!), \(scalars.randomElement(using: &random)!)]")
                }
            }
            let text = lines.joined(separator: "\n") + "\n"
            guard let plain = PlainYAML.entries(text) else { continue }
            accepted += 1
            #expect(plain == Self.full(text), "\(text)")
        }
        // Enough of them are plain for the comparison to mean something.
        #expect(accepted > 200, "\(accepted)")
    }
}
