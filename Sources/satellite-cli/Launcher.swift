import ArgumentParser
import Foundation
import Launch
import PeerCommandLine
import SatelliteSettings
import StructuredLogging
import Supervision

/// `satellite run` with no peer when the lean `satellite` handed it here (a configuration its
/// plain reader declines, or an error to word): the plan ``SatelliteLaunch`` builds, written
/// into a memfd for `satellite --plan-fd N`, which takes this process's place and supervises.
enum Launcher {
    static func run(config: SatelliteConfiguration, options: ConfigOptions) async throws {
        let launch: (plan: LaunchPlan, warnings: [String])
        do throws(SatelliteLaunch.Failure) {
            launch = try SatelliteLaunch.plan(
                config, configFile: options.file, overrides: options.overrides, peerProgram: selfExecutable(),
                environment: ProcessInfo.processInfo.environment
            )
        } catch {
            throw failure(error.description, status: error.exitStatus)
        }
        for warning in launch.warnings { LogSink.standardError.write(warning + "\n") }
        do throws(LaunchError) {
            try Launch.handOver(launch.plan, to: besideSelf("satellite"))
        } catch {
            throw failure("run: \(error)", status: 1)
        }
    }

    /// Says once, before a peer started by hand starts, that other users can read the database.
    static func warnIfDatabaseIsReadableByOthers(_ config: SatelliteConfiguration) {
        for warning in SatelliteLaunch.databaseWarnings(config) { LogSink.standardError.write(warning + "\n") }
    }

    /// Prints `message` and gives the exit status of a launch that could not start.
    private static func failure(_ message: String, status: Int32) -> ExitCode {
        LogSink.standardError.write(message + "\n")
        return ExitCode(status)
    }

    /// This executable's path, so that a peer runs the same build as its launcher.
    static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// A program built beside this executable.
    static func besideSelf(_ name: String) -> String {
        URL(fileURLWithPath: selfExecutable()).deletingLastPathComponent().appendingPathComponent(name).path
    }
}
