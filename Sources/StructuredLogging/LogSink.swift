import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor that log lines go to, one `write` per line, one line at a time.
///
/// The lock keeps lines from concurrent tasks whole and in order; a single `write` of the whole
/// line keeps them whole for another process appending to the same file too (O_APPEND).
public final class LogSink: Sendable {
    private let descriptor: Mutex<Int32>

    /// Writes to `descriptor`, which the sink does not close.
    public init(descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    /// Standard error.
    public static let standardError = LogSink(descriptor: 2)

    /// Writes `line`, retrying on interruption and on a short write. Errors are dropped: a
    /// logger has nowhere left to report them.
    public func write(_ line: String) {
        var line = line
        line.withUTF8 { buffer in
            descriptor.withLock { fd in _ = cs_write_all(fd, buffer.baseAddress, buffer.count) }
        }
    }
}
