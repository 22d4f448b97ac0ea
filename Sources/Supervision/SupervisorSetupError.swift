#if canImport(Glibc)
import Glibc
#endif

/// Why a supervisor could not set itself up; nothing was started.
public enum SupervisorSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    case system(String, errno: Int32)
    case logFile(process: String, path: String, errno: Int32)
    case invalid(String)

    public var description: String {
        switch self {
        case .system(let call, let code):
            "supervisor: \(call) failed: \(String(cString: strerror(code)))"
        case .logFile(let process, let path, let code):
            "supervisor: cannot open the log file of process \"\(process)\" at \(path): \(String(cString: strerror(code)))"
        case .invalid(let detail):
            "supervisor: \(detail)"
        }
    }
}
