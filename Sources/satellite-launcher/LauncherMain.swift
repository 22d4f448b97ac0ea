import CSupport
import SatelliteSettings
import StructuredLogging
import Supervision

#if canImport(Glibc)
import Glibc
#endif

/// `satellite`, the program operators run, and the launcher that stays up for the satellite's
/// whole life.
///
/// It links neither Foundation nor the peers' libraries, so that it starts in a few
/// milliseconds and stays small: `satellite run` with no peer reads and checks the whole
/// configuration here (``LeanRun``) and supervises in this process. Every other command, a peer
/// (`satellite run api`), and any configuration the plain reader declines or the schema refuses
/// go to `satellite-cli` beside it, executed in this process's place with the same arguments, so
/// that they behave, and their errors read, exactly as the full CLI has them.
///
/// The launcher's own entries: `--plan-fd N` (a plan the full CLI wrote into a memfd), and for
/// an in-place upgrade `--probe-fd N` as the running launcher's child, to show that it can read
/// the running launcher's ``Handover`` (it answers `ready VERSION`), then `--resume-fd N` in the
/// running launcher's own process, where it takes the children over.
@main
struct LauncherMain {
    static func main() {
        let arguments = CommandLine.arguments
        let version = String(cString: cs_version())
        switch arguments.count > 1 ? arguments[1] : "" {
        case "--plan-fd", "--resume-fd", "--probe-fd":
            launcherEntry(arguments, version: version)
        case "--version" where arguments.count == 2:
            print(version)
            exit(0)
        case "run":
            if let lean = LeanRun(arguments: Array(arguments.dropFirst(2)), environment: currentEnvironment()) {
                Supervise.plan(lean.start(peerProgram: besideSelf("satellite-cli")), version: version)
            }
            forwardToFullCLI(arguments)
        default:
            forwardToFullCLI(arguments)
        }
    }

    static let usage = "usage: satellite --plan-fd N | --resume-fd N | --probe-fd N (the launcher's own entries, used by `satellite run` and `satellite upgrade`)"

    /// `--plan-fd`, `--resume-fd` and `--probe-fd`.
    static func launcherEntry(_ arguments: [String], version: String) -> Never {
        guard arguments.count == 3, let fd = Int32(arguments[2]) else { fail(usage, status: 64) }
        let bytes = readAll(fd)
        close(fd)
        do {
            switch arguments[1] {
            case "--plan-fd":
                Supervise.plan(try LaunchPlan(decoding: bytes), version: version)
            case "--resume-fd":
                Supervise.handover(try Handover(decoding: bytes), version: version)
            default:
                _ = try Handover(decoding: bytes)
                let guardProgram = SupervisorOptions.guardProgramBesideExecutable()
                guard access(guardProgram, X_OK) == 0 else { fail("satellite: the process-group guard \(guardProgram) is missing or not executable", status: 1) }
                print("ready \(version)")
                exit(0)
            }
        } catch {
            fail("satellite: \(error)", status: 1)
        }
    }

    /// Executes `satellite-cli` beside this program in its place, with the same arguments (the
    /// first one too, so that `ps` and the help still say `satellite`) and environment.
    static func forwardToFullCLI(_ arguments: [String]) -> Never {
        let program = besideSelf("satellite-cli")
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv(program, argv)
        fail("satellite: cannot execute \(program): \(String(cString: strerror(errno))) (satellite-cli is installed beside satellite)", status: 1)
    }

    /// This program's path as it starts, so that an upgrade executes whatever file is there then
    /// (an exec of /proc/self/exe would run this one again).
    static func ownPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        var path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path
    }

    /// A program installed beside this one.
    static func besideSelf(_ name: String) -> String {
        let path = ownPath()
        guard let slash = path.lastIndex(of: "/") else { return name }
        return String(path[...slash]) + name
    }

    /// The environment, as the configuration's loader and the children take it.
    static func currentEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            // Bytes, not Characters: the split needs no grapheme breaking, which made this a
            // quarter of a millisecond of every start.
            let bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)).bindMemory(to: UInt8.self)
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: bytes[..<equals], as: UTF8.self)
                // getenv takes the first of two entries with one name.
                if environment[name] == nil { environment[name] = String(decoding: bytes[(equals + 1)...], as: UTF8.self) }
            }
            entry += 1
        }
        return environment
    }

    static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        LogSink.standardError.write(message + "\n")
        exit(status)
    }
}
