import ArgumentParser
import SatelliteConfig

/// A kind of peer's configuration root, with the schema its executable loads it through.
public protocol PeerConfiguration: ConfigSection {
    static var schema: ConfigSchema<Self> { get }
}

/// `<executable> config`: what the peer would run with, or every key's default.
public struct ConfigCommand<Root: PeerConfiguration>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "config",
            abstract: "Print the effective configuration as YAML.",
            discussion: "With --defaults, print every key's built-in default with its help as a comment."
        )
    }

    @Flag(help: "Print the built-in defaults, each key with its help.")
    var defaults = false

    @OptionGroup var options: ConfigOptions

    public init() {}

    public func run() async throws {
        let schema = Root.schema
        print(schema.render(defaults ? Root() : try options.load(schema), help: defaults), terminator: "")
    }
}
