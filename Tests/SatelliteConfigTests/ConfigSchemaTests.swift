import ConfigYAML
import SatelliteConfig
import Testing
import Synchronization
import Units

/// A small configuration shaped like the satellite's: a top-level key and two sections.
private struct Sample: ConfigSection {
    enum Format: String, CaseIterable, Sendable { case json, text }
    struct Server: ConfigSection {
        var address = "127.0.0.1:7777"
        var timeout: Duration = .seconds(30)
        var maxBody: Int64 = 1 << 20
        var workers = 4
        var verbose = false
        init() {}
        static let fields: [ConfigField<Self>] = [
            .address("address", \.address, help: "listen address"),
            .duration("timeout", \.timeout, help: "request timeout", range: .milliseconds(1) ... .seconds(3600)),
            .size("max-body", \.maxBody, help: "largest request body", range: 1 ... 1 << 30),
            .int("workers", \.workers, help: "worker count", range: 1...64),
            .bool("verbose", \.verbose, help: "log every request"),
        ]
    }
    var dataDir = "data"
    var format = Format.json
    var api = Server()
    init() {}
    static let fields: [ConfigField<Self>] =
        [.string("data-dir", \.dataDir, help: "data directory"), .choice("format", \.format, help: "output format")]
        + Server.fields(at: \.api, prefix: "api")
}

private let schema = ConfigSchema<Sample>(reservedVariables: ["SATELLITE_NOTIFY_FD"])

private func expectError(
    _ expected: ConfigError,
    file: (path: String, text: String)? = nil,
    environment: [String: String] = [:],
    flags: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = #expect(throws: ConfigError.self, sourceLocation: sourceLocation) {
        _ = try schema.load(file: file, environment: environment, flags: flags)
    }
    #expect(error == expected, sourceLocation: sourceLocation)
}

@Suite struct ConfigSchemaTests {
    @Test func defaultsComeFromTheType() throws {
        let config = try schema.load()
        #expect(config.api.address == "127.0.0.1:7777")
        #expect(config.api.timeout == .seconds(30))
    }

    @Test func precedenceIsDefaultsThenFileThenEnvironmentThenFlags() throws {
        let file = (path: "s.yaml", text: "api:\n  address: 10.0.0.1:1\n  workers: 2\n  timeout: 1m\ndata-dir: /srv\n")
        let environment = ["SATELLITE_API_ADDRESS": "10.0.0.2:2", "SATELLITE_API_WORKERS": "3", "PATH": "/bin"]
        let config = try schema.load(file: file, environment: environment, flags: ["--api.address=10.0.0.3:3"])
        #expect(config.api.address == "10.0.0.3:3")
        #expect(config.api.workers == 3)
        #expect(config.api.timeout == .seconds(60))
        #expect(config.dataDir == "/srv")
        #expect(config.format == .json)
    }

    @Test func dottedKeysInTheFileAndFlagsWithSeparateValues() throws {
        let file = (path: "s.yaml", text: "api.max-body: 64MiB\napi.verbose: true\n")
        let config = try schema.load(file: file, flags: ["--format", "text", "--api.timeout", "500ms"])
        #expect(config.api.maxBody == 64 << 20)
        #expect(config.api.verbose)
        #expect(config.format == .text)
        #expect(config.api.timeout == .milliseconds(500))
        let switched = try schema.load(flags: ["--api.verbose"])
        #expect(switched.api.verbose)
    }

    @Test func unknownKeyInFileNamesFileLineAndNearestKey() {
        let file = (path: "/etc/satellite.yaml", text: "data-dir: x\napi:\n  adress: 1.2.3.4:5\n")
        expectError(
            ConfigError(source: .file(path: "/etc/satellite.yaml", line: 3), key: "api.adress", value: nil, problem: .unknownKey(nearest: "api.address")),
            file: file
        )
        do {
            _ = try schema.load(file: file)
        } catch {
            #expect(error.description == #"config error: /etc/satellite.yaml:3: unknown key "api.adress"; did you mean "api.address"?"#)
        }
    }

    @Test func unknownVariableIsAWarningNamingTheNearestKeyNeverAFailure() throws {
        let environment = ["SATELLITE_API_ADRESS": "x", "SATELLITE_NOTIFY_FD": "3", "SATELLITE_BIN": "/usr/local/bin/satellite", "HOME": "/root"]
        let loaded = try schema.load(environment: environment)
        #expect(loaded.api.address == "127.0.0.1:7777")
        let warnings = schema.unknownVariables(in: environment)
        #expect(warnings == [
            ConfigWarning(variable: "SATELLITE_API_ADRESS", nearest: "SATELLITE_API_ADDRESS"),
            ConfigWarning(variable: "SATELLITE_BIN", nearest: nil),
        ])
        #expect(warnings[0].description == "config warning: environment variable SATELLITE_API_ADRESS names no configuration key; ignored; did you mean SATELLITE_API_ADDRESS?")
    }

    @Test func unknownKeyFromFlag() {
        expectError(
            ConfigError(source: .flag("--api.adress"), key: "api.adress", value: "x", problem: .unknownKey(nearest: "--api.address")),
            flags: ["--api.adress=x"]
        )
        expectError(
            ConfigError(source: .flag("--zzzzzzzz"), key: "zzzzzzzz", value: "1", problem: .unknownKey(nearest: nil)),
            flags: ["--zzzzzzzz=1"]
        )
    }

    @Test func wrongTypeNamesSourceKeyValueAndExpectation() {
        expectError(
            ConfigError(source: .file(path: "s.yaml", line: 2), key: "api.workers", value: "many", problem: .wrongType(expected: "a whole number from 1 to 64")),
            file: (path: "s.yaml", text: "api:\n  workers: many\n")
        )
        expectError(
            ConfigError(source: .file(path: "s.yaml", line: 1), key: "api.timeout", value: "[1, 2]", problem: .wrongType(expected: "a duration like 30s, 1h0m0s or 500ms")),
            file: (path: "s.yaml", text: "api.timeout: [1, 2]\n")
        )
        expectError(
            ConfigError(source: .environment(variable: "SATELLITE_API_VERBOSE"), key: "api.verbose", value: "maybe", problem: .wrongType(expected: "true or false")),
            environment: ["SATELLITE_API_VERBOSE": "maybe"]
        )
        expectError(
            ConfigError(source: .flag("--api.max-body"), key: "api.max-body", value: "lots", problem: .wrongType(expected: "a size like 64MiB, 1GB or 4096")),
            flags: ["--api.max-body=lots"]
        )
        expectError(
            ConfigError(source: .flag("--api.timeout"), key: "api.timeout", value: nil, problem: .wrongType(expected: "a value after the flag")),
            flags: ["--api.timeout"]
        )
    }

    @Test func argumentThatIsNotAFlagIsAUsageError() {
        let error = #expect(throws: ConfigError.self) { _ = try schema.load(flags: ["--format=text", "stray"]) }
        #expect(error?.problem == .notAFlag)
        #expect(error?.isUsageError == true)
        #expect(error?.description.contains(#"unexpected argument "stray""#) == true)
    }

    @Test func outOfRangeNamesTheRange() {
        expectError(
            ConfigError(source: .flag("--api.workers"), key: "api.workers", value: "65", problem: .outOfRange(expected: "a whole number from 1 to 64")),
            flags: ["--api.workers=65"]
        )
        expectError(
            ConfigError(source: .file(path: "s.yaml", line: 1), key: "api.timeout", value: "2h", problem: .outOfRange(expected: "a duration from 1ms to 1h0m0s")),
            file: (path: "s.yaml", text: "api.timeout: 2h\n")
        )
        expectError(
            ConfigError(source: .environment(variable: "SATELLITE_API_ADDRESS"), key: "api.address", value: "localhost:99999", problem: .outOfRange(expected: "host:port, like 127.0.0.1:7777")),
            environment: ["SATELLITE_API_ADDRESS": "localhost:99999"]
        )
        expectError(
            ConfigError(source: .flag("--format"), key: "format", value: "xml", problem: .outOfRange(expected: "one of json, text")),
            flags: ["--format=xml"]
        )
    }

    @Test func malformedYAMLNamesTheLine() {
        let error = #expect(throws: ConfigError.self) {
            _ = try schema.load(file: (path: "bad.yaml", text: "api:\n  address: [\n  workers: 2\n"))
        }
        guard case .file(let path, let line)? = error?.source, case .malformed? = error?.problem else {
            Issue.record("expected a malformed-file error, got \(String(describing: error))")
            return
        }
        #expect(path == "bad.yaml")
        #expect(line >= 2)
        expectError(
            ConfigError(source: .file(path: "list.yaml", line: 1), key: nil, value: "[a, b]", problem: .malformed("the top of the file must be a mapping of keys to values, not a list")),
            file: (path: "list.yaml", text: "- a\n- b\n")
        )
    }

    @Test func emptyFileMeansDefaults() throws {
        let config = try schema.load(file: (path: "empty.yaml", text: "# nothing\n"))
        #expect(config.api.workers == 4)
    }

    @Test func renderedConfigurationReadsBackToTheSameValues() throws {
        var changed = Sample()
        changed.dataDir = "dir with: colon"
        changed.api.timeout = .milliseconds(1500)
        changed.api.maxBody = 3 << 20
        changed.format = .text
        let text = schema.render(changed, help: true)
        #expect(text.contains("# listen address\n  address: 127.0.0.1:7777\n"))
        let back = try schema.load(file: (path: "rendered.yaml", text: text))
        #expect(back.dataDir == "dir with: colon")
        #expect(back.api.timeout == .milliseconds(1500))
        #expect(back.api.maxBody == 3 << 20)
        #expect(back.format == .text)
        #expect(schema.render(back, help: false) == schema.render(changed, help: false))
    }

    @Test func environmentVariableNames() {
        #expect(schema.environmentVariable(for: "api.max-body") == "SATELLITE_API_MAX_BODY")
        #expect(schema.environmentVariable(for: "data-dir") == "SATELLITE_DATA_DIR")
    }
}

@Suite struct NotationTests {
    @Test(arguments: [
        ("1h0m0s", Duration.seconds(3600)), ("30s", .seconds(30)), ("500ms", .milliseconds(500)),
        ("1.5s", .milliseconds(1500)), ("1h30m", .seconds(5400)), ("0", .zero), ("250us", .microseconds(250)),
        ("2m3.5s", .milliseconds(123_500)),
    ])
    func parsesGoDurations(text: String, duration: Duration) {
        #expect(GoDuration.parse(text) == duration)
    }

    @Test(arguments: ["", "10", "1x", "s", "1h-5m", "abc", "1.2.3s"])
    func refusesWhatIsNotADuration(text: String) {
        #expect(GoDuration.parse(text) == nil)
    }

    @Test func formatsDurationsAsGoDoes() {
        #expect(GoDuration.format(.seconds(3600)) == "1h0m0s")
        #expect(GoDuration.format(.seconds(30)) == "30s")
        #expect(GoDuration.format(.milliseconds(500)) == "500ms")
        #expect(GoDuration.format(.milliseconds(1500)) == "1.5s")
        #expect(GoDuration.format(.seconds(90)) == "1m30s")
        #expect(GoDuration.format(.zero) == "0s")
        #expect(GoDuration.format(.microseconds(1500)) == "1.5ms")
    }

    @Test func sizes() {
        #expect(ByteSize.parse("64MiB") == 64 << 20)
        #expect(ByteSize.parse("1GB") == 1_000_000_000)
        #expect(ByteSize.parse("4096") == 4096)
        #expect(ByteSize.parse("1.5KiB") == 1536)
        #expect(ByteSize.parse("1.5B") == nil)
        #expect(ByteSize.parse("12 parsecs") == nil)
        #expect(ByteSize.format(64 << 20) == "64MiB")
        #expect(ByteSize.format(1536) == "1536B")
        #expect(ByteSize.format(3 << 30) == "3GiB")
        #expect(ByteSize.format(100) == "100B")
    }

    /// Regressions from fuzzing the loader: each was a crash, a runaway or an error of several lines.
    @Test func documentsThatAreNoConfigurationFailOnOneLineAtTheirLine() {
        func message(_ text: String) -> String {
            do {
                _ = try schema.load(file: (path: "s.yaml", text: text))
                return ""
            } catch {
                return error.description
            }
        }
        // Aliases of aliases: a billion values once expanded (this took all memory).
        var laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<9 { laughs += "l\(level): &l\(level) [" + Array(repeating: level == 1 ? "*a" : "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect(message(laughs).hasPrefix("config error: s.yaml:") && message(laughs).contains("more than 10000 values"))
        // Nesting thousands deep.
        #expect(message("api: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500)).contains("nested deeper than 32 levels"))
        // Yams' own descriptions of these quote the document over several lines, at line 1.
        #expect(message("format: json\napi:\n  workers: 2\n  workers: 3\n") == "config error: s.yaml:3: not valid YAML: a key appears twice in one mapping: \"workers\"")
        #expect(message("format: json\ndata-dir: a\u{1F}b\n") == "config error: s.yaml:2: not valid YAML: control characters are not allowed (character 1F hexadecimal)")
        // A value of any length is shown clipped.
        let long = message("api:\n  workers: " + String(repeating: "9", count: 5000) + "\n")
        #expect(!long.contains("\n") && long.count < 400 && long.contains("(5000 characters)"), "\(long.prefix(500))")
    }
}

/// `Sample`'s keys declared in groups, each noting when it is made.
private struct GroupedSample: ConfigSection {
    var sample = Sample()
    init() {}
    static let made = Mutex<[String]>([])
    static var fields: [ConfigField<Self>] { fieldGroups.flatMap(\.fields) }
    static let fieldGroups: [ConfigFieldGroup<Self>] = ["data-dir", "format", "api"].map { word in
        ConfigFieldGroup(word) {
            made.withLock { $0.append(word) }
            return Sample.fields(at: \.sample, prefix: "").filter { $0.key == word || $0.key.hasPrefix(word + ".") }
        }
    }
}

@Suite(.serialized) struct ConfigFieldGroupTests {
    @Test func aLoadMakesOnlyTheGroupsItMeetsAndReadsAsOneListWould() throws {
        let grouped = ConfigSchema<GroupedSample>(reservedVariables: ["SATELLITE_NOTIFY_FD"])
        GroupedSample.made.withLock { $0 = [] }
        let file = (path: "s.yaml", text: "api:\n  address: 10.0.0.1:1\n  timeout: 1m\n")
        let environment = ["SATELLITE_API_WORKERS": "3", "SATELLITE_NOTIFY_FD": "3", "PATH": "/bin"]
        let config = try grouped.load(file: file, environment: environment, flags: ["--api.verbose"])
        #expect(GroupedSample.made.withLock { $0 } == ["api"])
        #expect(config.sample.api.address == "10.0.0.1:1" && config.sample.api.workers == 3 && config.sample.api.verbose)
        #expect(config.sample.api.timeout == .seconds(60))
        #expect(grouped.unknownVariables(in: environment).isEmpty)
        #expect(GroupedSample.made.withLock { $0 } == ["api"])

        // A variable of another group makes that group, and only once.
        let directory = try grouped.load(environment: ["SATELLITE_DATA_DIR": "/srv"], flags: ["--data-dir", "/srv2"])
        #expect(directory.sample.dataDir == "/srv2")
        #expect(GroupedSample.made.withLock { $0 } == ["api", "data-dir"])

        // Refusals read as they do from one list, naming the nearest key in any group.
        for (file, flags, environment) in [
            ((path: "s.yaml", text: "api:\n  adress: 1.2.3.4:5\n"), [String](), [String: String]()),
            ((path: "s.yaml", text: "formt: json\n"), [], [:]),
            ((path: "s.yaml", text: "api:\n  workers: 99\n"), [], [:]),
            ((path: "s.yaml", text: ""), ["--api.verbos"], [:]),
            ((path: "s.yaml", text: ""), [], ["SATELLITE_API_TIMEOUT": "soon"]),
        ] {
            let one = #expect(throws: ConfigError.self) { _ = try schema.load(file: file, environment: environment, flags: flags) }
            let other = #expect(throws: ConfigError.self) { _ = try grouped.load(file: file, environment: environment, flags: flags) }
            #expect(one?.description == other?.description)
        }
        let typo = ["SATELLITE_API_ADRESS": "x", "SATELLITE_BIN": "/bin/satellite"]
        #expect(grouped.unknownVariables(in: typo) == schema.unknownVariables(in: typo))

        // Rendering shows every key, in declaration order.
        #expect(grouped.keys == schema.keys)
        var changed = GroupedSample()
        changed.sample.format = .text
        changed.sample.api.workers = 7
        #expect(grouped.render(changed, help: true) == schema.render(changed.sample, help: true))
        #expect(Set(GroupedSample.made.withLock { $0 }) == ["api", "data-dir", "format"])
    }
}
