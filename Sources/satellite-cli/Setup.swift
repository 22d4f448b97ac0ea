import ArgumentParser
import Foundation
import Satellite
import SatelliteConfig

/// `satellite setup`: a data directory and a config file to start from.
struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data directory and a config file in it; never overwrites either's contents."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let files = FileManager.default
        let configPath = config.dataDir + "/satellite.yaml"
        if files.fileExists(atPath: configPath) {
            FileHandle.standardError.write(Data("setup: \(configPath) already exists; not overwriting it\n".utf8))
            throw ExitCode.failure
        }
        do {
            try files.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
            try files.createDirectory(atPath: config.logDirectory, withIntermediateDirectories: true)
            let text = SatelliteConfiguration.schema.render(config, help: true)
            guard files.createFile(atPath: configPath, contents: Data(text.utf8)) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: configPath])
            }
        } catch let error as NSError {
            FileHandle.standardError.write(Data("setup: \(error.localizedDescription)\n".utf8))
            throw ExitCode.failure
        }
        print("created \(configPath); start with: satellite run --config \(configPath)")
    }
}
