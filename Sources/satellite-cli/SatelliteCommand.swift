import ArgumentParser
import Foundation
import Satellite
import PeerCommandLine
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
        subcommands: [Run.self, Setup.self, ConfigCommand<SatelliteConfiguration>.self, Admin.self, Network.self, Status.self, Restart.self, Stop.self, LogLevel.self, Upgrade.self]
    )
}

extension ConfigOptions {
    /// The satellite's configuration, or the error printed and exit 78 (EX_CONFIG) before anything is touched.
    func load() throws -> SatelliteConfiguration {
        try load(SatelliteConfiguration.schema)
    }
}

extension SatelliteConfiguration: PeerConfiguration {}
