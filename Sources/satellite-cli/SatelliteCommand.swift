import ArgumentParser
import Foundation
import Satellite
import SatelliteConfig

/// The `satellite` executable: a thin layer that loads configuration and hands over to the library.
@main
struct SatelliteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "satellite",
        abstract: "A satellite in the manner of Storj's, split into supervised processes.",
        discussion: """
            Configuration comes from, lowest precedence first: built-in defaults, the YAML file of \
            --config, environment variables (SATELLITE_API_ADDRESS sets api.address), and flags \
            (--api.address=127.0.0.1:7777). `satellite config --defaults` lists every key.

            Exit status: 0 success, 1 failure, 64 usage error, 78 configuration error.
            """,
        version: SatelliteVersion.current,
        subcommands: [Run.self, Setup.self, Config.self, Admin.self, Status.self, Restart.self, Stop.self, LogLevel.self]
    )
}

/// The options every subcommand that reads configuration takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var file: String?

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Any configuration key as a flag, as --api.address=127.0.0.1:7777.", valueName: "--key=value")
    )
    var overrides: [String] = []

    /// The first argument if it is a word, not a flag, and the options without it.
    static func firstWord(of options: ConfigOptions) throws -> (String?, ConfigOptions) {
        var options = options
        guard let first = options.overrides.first, !first.hasPrefix("-") else { return (nil, options) }
        options.overrides.removeFirst()
        return (first, options)
    }

    /// Loads the configuration, or prints the error and exits 78 (EX_CONFIG) before anything is touched.
    func load() throws -> SatelliteConfiguration {
        do {
            var fileLayer: (path: String, text: String)?
            if let file {
                do {
                    fileLayer = (file, try String(contentsOfFile: file, encoding: .utf8))
                } catch {
                    throw ConfigError(
                        source: .file(path: file, line: 0), key: nil, value: nil,
                        problem: .unreadable((error as NSError).localizedDescription)
                    )
                }
            }
            let environment = ProcessInfo.processInfo.environment
            for warning in SatelliteConfiguration.schema.unknownVariables(in: environment) {
                FileHandle.standardError.write(Data((warning.description + "\n").utf8))
            }
            return try SatelliteConfiguration.schema.load(file: fileLayer, environment: environment, flags: overrides)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(error.isUsageError ? 64 : 78)
        }
    }
}
