import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Where a supervised process finds the log level it is asked to change to: the launcher writes
/// one level name into `<directory>/<process>.log-level` (whole, by rename) and then sends the
/// process SIGUSR2, which reads it. The process learns the path from its environment.
public struct LogLevelFile: Sendable, Equatable {
    /// The variable that hands a child its file's path.
    public static let environmentVariable = "SATELLITE_LOG_LEVEL_FILE"

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The file of `process` in `directory`.
    public init(directory: String, process: String) {
        self.path = directory + "/" + process + ".log-level"
    }

    /// This process's file, from its environment; nil when it was not started with one.
    public static func fromEnvironment() -> LogLevelFile? {
        guard let value = getenv(environmentVariable), value.pointee != 0 else { return nil }
        return LogLevelFile(path: String(cString: value))
    }

    /// Replaces the file's content with `level`, in one rename so a reader never sees half.
    /// - Returns: nil, or what went wrong, naming the path.
    public func write(_ level: Logger.Level) -> String? {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot write \(temporary): \(String(cString: strerror(errno)))" }
        var line = level.rawValue + "\n"
        let written = line.withUTF8 { Glibc.write(fd, $0.baseAddress, $0.count) }
        let failure = errno
        close(fd)
        guard written == line.utf8.count else { return "cannot write \(temporary): \(String(cString: strerror(failure)))" }
        guard rename(temporary, path) == 0 else { return "cannot write \(path): \(String(cString: strerror(errno)))" }
        return nil
    }

    /// The level the file names; nil when it cannot be read or names none.
    public func read() -> Logger.Level? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: [" ", "\n", "\t", "\r"])
        return Logger.Level(rawValue: text)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop(while: set.contains).reversed().drop(while: set.contains).reversed())
    }
}
