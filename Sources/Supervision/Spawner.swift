import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// The command line and environment of one process, as C strings, built once and used for every
/// spawn of that process so that a restart allocates nothing.
final class SpawnCommand {
    private let arguments: [UnsafeMutablePointer<CChar>?]
    private let environment: [UnsafeMutablePointer<CChar>?]

    private let listenDescriptor: Int32?

    /// The program and its arguments, with the process's environment and the notify protocol's
    /// variables.
    init(spec: ProcessSpec, notifyDescriptor: Int32?) {
        listenDescriptor = spec.listenDescriptor
        arguments = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        var variables = spec.environment
        variables["SATELLITE_PROCESS"] = spec.name
        if let notifyDescriptor {
            variables["SATELLITE_NOTIFY_FD"] = String(notifyDescriptor)
        } else {
            variables.removeValue(forKey: "SATELLITE_NOTIFY_FD")
        }
        if spec.listenDescriptor != nil { variables["SATELLITE_LISTEN_FD"] = "4" }
        environment = variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    }

    deinit {
        for pointer in arguments { free(pointer) }
        for pointer in environment { free(pointer) }
    }

    /// Spawns the process in a new process group, to die with the spawning thread; returns its
    /// pid, or the errno of a spawn that made no process. A program that cannot be executed
    /// still makes one, which says why in its log and exits 127.
    func spawn(output: Int32, notify: Int32?, notifyTarget: Int32) -> Result<Int32, SpawnError> {
        var pid: pid_t = 0
        let result = arguments.withUnsafeBufferPointer { argv in
            environment.withUnsafeBufferPointer { envp in
                cs_fork_exec(&pid, argv[0], argv.baseAddress, envp.baseAddress, output, notify ?? -1, notifyTarget, listenDescriptor ?? -1, 4, SIGKILL)
            }
        }
        return result == 0 ? .success(pid) : .failure(SpawnError(program: String(cString: arguments[0]!), code: result))
    }
}

/// No process could be made for a program (no memory, no process slot).
struct SpawnError: Error, CustomStringConvertible {
    let program: String
    let code: Int32

    var description: String { "cannot spawn \(program): \(String(cString: strerror(code)))" }
}
