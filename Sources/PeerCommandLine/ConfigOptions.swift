import ConfigYAML
import ArgumentParser
import Foundation
import SatelliteConfig

/// The options every subcommand that reads configuration takes.
public struct ConfigOptions: ParsableArguments {
    public init() {}

    @Option(name: .customLong("config"), help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    public var file: String?

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Any configuration key as a flag, as --api.address=127.0.0.1:7777.", valueName: "--key=value")
    )
    public var overrides: [String] = []

    /// The first argument if it is a word, not a flag, and the options without it.
    public static func firstWord(of options: ConfigOptions) throws -> (String?, ConfigOptions) {
        var options = options
        guard let first = options.overrides.first, !first.hasPrefix("-") else { return (nil, options) }
        options.overrides.removeFirst()
        return (first, options)
    }

    /// Loads the configuration of `schema`, or prints the error and exits 78 (EX_CONFIG), or 64
    /// for a usage error, before anything is touched.
    public func load<Root: ConfigSection>(_ schema: ConfigSchema<Root>) throws -> Root {
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
            for warning in schema.unknownVariables(in: environment) {
                FileHandle.standardError.write(Data((warning.description + "\n").utf8))
            }
            return try schema.load(file: fileLayer, environment: environment, flags: overrides)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(error.isUsageError ? 64 : 78)
        }
    }
}
