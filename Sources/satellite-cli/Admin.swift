import ArgumentParser
import Foundation
import PeerCommandLine
import Satellite
import SatelliteConfig
import SatelliteDB
import SatelliteDatabases

/// `satellite admin`: the operator's hand on projects and API keys.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage projects and API keys in the satellite's database.",
        subcommands: [CreateProject.self, CreateAPIKey.self]
    )

    /// Runs `body` on the configured, migrated database, or explains why it cannot (exit 1).
    static func withDatabase(_ config: SatelliteConfiguration, _ body: (any SatelliteDatabase) async throws -> Void) async throws {
        if let path = config.sqlitePath, !FileManager.default.fileExists(atPath: path) {
            FileHandle.standardError.write(Data("admin: there is no database at \(path); create it with `satellite setup` or `satellite run migration`\n".utf8))
            throw ExitCode.failure
        }
        do {
            try await SatelliteDatabases.with(config.database, dataDir: config.dataDir) { database in
                try await PeerSetupError.checkSchema(of: database)
                try await body(database)
            }
        } catch {
            FileHandle.standardError.write(Data("admin: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    struct CreateProject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-project", abstract: "Create a project.")

        @Argument(help: "The project's name: letters, digits, '-', '_' or '.'.") var name: String
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            try await Admin.withDatabase(config) { database in try await Projects(db: database).create(name: name) }
            print("created project \(name); make a key with: satellite admin create-api-key \(name)")
        }
    }

    struct CreateAPIKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-api-key",
            abstract: "Create an API key for a project and print it; it is shown only this once."
        )

        @Argument(help: "The project the key opens.") var project: String
        @Option(help: "A label for the key.") var label: String = ""
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            var key = ""
            try await Admin.withDatabase(config) { database in key = try await APIKeys(db: database).create(project: project, name: label) }
            print(key)
            FileHandle.standardError.write(Data("admin: the key above opens project \(project); it is not stored and cannot be shown again\n".utf8))
        }
    }
}
