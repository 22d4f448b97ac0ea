import ArgumentParser
import PeerCommandLine
import Satellite
import SatelliteConfig

/// `satellite config`: what the satellite would run with.
struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the effective configuration as YAML.",
        discussion: "With --defaults, print every key's built-in default with its help as a comment."
    )

    @Flag(help: "Print the built-in defaults, each key with its help.")
    var defaults = false

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let schema = SatelliteConfiguration.schema
        if defaults {
            print(schema.render(SatelliteConfiguration(), help: true), terminator: "")
        } else {
            print(schema.render(try options.load(), help: false), terminator: "")
        }
    }
}
