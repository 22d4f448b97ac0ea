import PlainYAML
import SatelliteConfig
import SatelliteSettings
import StructuredLogging
import Supervision

#if canImport(Glibc)
import Glibc
#endif

/// `satellite run [--config FILE] [--key=value ...]` read without Foundation: the file through
/// ``PlainYAML`` and the whole satellite schema, as the full CLI reads it.
///
/// It takes only what it is sure of and declines (nil) the rest, which the full CLI then reads
/// and words as it always has: a peer's name, help, an argument shape of its own parser's
/// (`--`, short options), an unreadable file, YAML the plain reader does not take (anchors,
/// tags, errors), and any configuration error. Nothing is printed or touched before it accepts.
struct LeanRun {
    let file: String?
    let overrides: [String]
    let environment: [String: String]
    let config: SatelliteConfiguration

    init?(arguments: [String], environment: [String: String]) {
        var file: String?
        var overrides: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--config" || argument.hasPrefix("--config=") {
                guard file == nil else { return nil }
                if argument == "--config" {
                    guard index < arguments.count else { return nil }
                    file = arguments[index]
                    index += 1
                } else {
                    file = String(argument.dropFirst("--config=".count))
                }
                continue
            }
            if ["--", "--help", "help", "--version", "--generate-completion-script", "--experimental-dump-help"].contains(argument) { return nil }
            if argument.hasPrefix("-"), !argument.hasPrefix("--") { return nil }
            overrides.append(argument)
        }
        // A first word that is not a flag names a peer (or is a mistake the full CLI words).
        if let first = overrides.first, !first.hasPrefix("-") { return nil }
        var layer: (path: String, entries: [ConfigEntry])?
        if let file {
            guard let text = Self.contents(of: file), let entries = PlainYAML.entries(text) else { return nil }
            layer = (file, entries)
        }
        do throws(ConfigError) {
            config = try SatelliteConfiguration.schema.load(file: layer, environment: environment, flags: overrides)
        } catch {
            return nil
        }
        self.file = file
        self.overrides = overrides
        self.environment = environment
    }

    /// The launch plan, after the warnings the full CLI would print; or the error printed and
    /// the process ended with its status, nothing started.
    func start(peerProgram: String) -> LaunchPlan {
        for warning in SatelliteConfiguration.schema.unknownVariables(in: environment) {
            LogSink.standardError.write(warning.description + "\n")
        }
        do throws(SatelliteLaunch.Failure) {
            let launch = try SatelliteLaunch.plan(config, configFile: file, overrides: overrides, peerProgram: peerProgram, environment: environment)
            for warning in launch.warnings { LogSink.standardError.write(warning + "\n") }
            return launch.plan
        } catch {
            LauncherMain.fail(error.description, status: error.exitStatus)
        }
    }

    /// The file as UTF-8 text; nil when it cannot be read or is not UTF-8.
    static func contents(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return String(validating: LauncherMain.readAll(fd), as: UTF8.self)
    }
}
