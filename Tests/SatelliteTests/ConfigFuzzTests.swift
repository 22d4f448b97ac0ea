import ConfigYAML
import Foundation
import Satellite
import SatelliteConfig
import Testing

/// Bad input at scale on the configuration loader: the default file mutated byte by byte, every
/// key given values of the wrong kind, YAML that is deeply nested, huge, aliased or not YAML at
/// all, and the same values through environment variables and flags. Every input either loads or
/// fails with one line that names where the problem is; none crashes.
@Suite(.timeLimit(.minutes(2)))
struct ConfigFuzzTests {
    static let seed = ProcessInfo.processInfo.environment["SATELLITE_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
    static let schema = SatelliteConfiguration.schema
    static let defaults = schema.render(SatelliteConfiguration(), help: true)
    static let keys = defaults.split(separator: "\n").compactMap { line -> String? in
        let trimmed = line.drop { $0 == " " }
        guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix("-"), let colon = trimmed.firstIndex(of: ":") else { return nil }
        return String(trimmed[..<colon])
    }
    static let values = [
        "", "~", "-1", "0", "1e400", "99999999999999999999999", "-9223372036854775809", "0x10", "1h1h", "-5s", "5", "5 s", "yes", "off",
        "[1, 2]", "{a: b}", "[", "{", "'", "\"", "*alias", "&anchor x", "!!binary aGk=", "!!float 1", "∞", "💥", "\u{0}", "\t",
        "127.0.0.1:99999", ":7777", "[::1]:7777", "host:port", "29/35/80/110", "0/0/0/0", "110/80/35/29", "1/2/3", "64MiB", "-64MiB", "1PB",
        String(repeating: "a", count: 5000), "debug", "trace", "file", "journal", "NaN", "true", "null", "- a\n- b",
    ]

    /// One mutated configuration file.
    static func file(_ generator: inout APIPropertyTests.SplitMix) -> String {
        switch Int.random(in: 0..<8, using: &generator) {
        case 0:
            // The defaults with random bytes changed, dropped or inserted.
            var bytes = Array(defaults.utf8)
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        case 1:
            // The defaults cut short anywhere.
            return String(defaults.prefix(Int.random(in: 0...defaults.count, using: &generator)))
        case 2:
            // Keys, known and unknown, with values of every kind, nested or dotted.
            return (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                let key = Bool.random(using: &generator) ? keys.randomElement(using: &generator)! : "\(keys.randomElement(using: &generator)!)x"
                return "\(key): \(values.randomElement(using: &generator)!)"
            }.joined(separator: "\n")
        case 3:
            // Deep nesting, in flow style and in block style.
            let depth = Int.random(in: 33...5000, using: &generator)
            return Bool.random(using: &generator)
                ? "api: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                : (0..<min(depth, 300)).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        case 4:
            // Aliases that would multiply: a billion laughs.
            var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            for level in 1..<9 { text += "l\(level): &l\(level) [" + Array(repeating: level == 1 ? "*a" : "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
            return text + "api:\n  address: *l8\n"
        case 5:
            // Huge: a megabyte of one scalar, or of many keys.
            return Bool.random(using: &generator)
                ? "data-dir: " + String(repeating: "x", count: 1 << 20)
                : (0..<5000).map { "key\($0): \($0)" }.joined(separator: "\n")
        case 6:
            // Not YAML at all.
            return String(decoding: (0..<Int.random(in: 1...2000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self)
        default:
            // A process list with entries of the wrong shape.
            let entry = ["{name: x}", "{}", "[]", "x", "{name: api, exec: [1]}", "{name: a, after: [a]}", "{name: '', exec: /bin/true}", "{name: b, restart: sometimes}"]
            return "processes:\n" + (0..<Int.random(in: 1...5, using: &generator)).map { _ in "  - " + entry.randomElement(using: &generator)! }.joined(separator: "\n")
        }
    }

    /// Runs on a thread of its own: seconds of parsing on the shared pool would stall other tests.
    @Test func everyInputLoadsOrFailsWithOneLineNamingWhere() async throws {
        let failures: [String] = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: Self.fuzz(rounds: 600)) }.start()
        }
        for failure in failures { Issue.record(Comment(rawValue: failure)) }
    }

    /// What went wrong, one line per input.
    static func fuzz(rounds: Int) -> [String] {
        var failures: [String] = []
        var generator = APIPropertyTests.SplitMix(state: Self.seed)
        for round in 0..<rounds {
            let text = Self.file(&generator)
            let key = Self.keys.randomElement(using: &generator)!
            let value = Self.values.randomElement(using: &generator)!
            let layer = Int.random(in: 0..<3, using: &generator)
            let environment = layer == 1 ? [Self.schema.environmentVariable(for: key): value] : [:]
            let flags = layer == 2 ? (Bool.random(using: &generator) ? ["--\(key)=\(value)"] : ["--\(key)", value, "--", "-x"]) : []
            do {
                _ = try Self.schema.load(file: (path: "fuzz.yaml", text: text), environment: environment, flags: flags)
            } catch {
                let message = error.description
                let context = "seed \(Self.seed) round \(round): \(message.prefix(300).debugDescription)"
                if message.isEmpty || message.contains("\n") { failures.append("not one line: \(context)") }
                if message.count > 1000 { failures.append("the message is \(message.count) characters: \(context)") }
                if !["config error: fuzz.yaml:", "config error: environment variable ", "config error: flag "].contains(where: message.hasPrefix) {
                    failures.append("it names no source: \(context)")
                }
            }
        }
        return failures
    }
}
