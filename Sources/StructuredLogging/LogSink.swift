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
    private struct State {
        var descriptor: Int32
        /// Whether a failed write (a full disk) left part of a line behind; the next line ends it
        /// first, so one lost line never spoils the next.
        var lineCut = false
    }

    private let state: Mutex<State>

    /// Writes to `descriptor`, which the sink does not close.
    public init(descriptor: Int32) {
        self.state = Mutex(State(descriptor: descriptor))
    }

    /// Standard error.
    public static let standardError = LogSink(descriptor: 2)

    /// Writes `line`, retrying on interruption and on a short write. Errors are dropped: a
    /// logger has nowhere left to report them.
    public func write(_ line: String) {
        var line = line
        line.withUTF8 { buffer in
            state.withLock { state in
                if state.lineCut {
                    var newline = UInt8(ascii: "\n")
                    guard cs_write_all(state.descriptor, &newline, 1) == 0 else { return }
                    state.lineCut = false
                }
                var written = 0
                while written < buffer.count {
                    let count = Glibc.write(state.descriptor, buffer.baseAddress! + written, buffer.count - written)
                    if count >= 0 {
                        written += count
                    } else if errno != EINTR {
                        state.lineCut = written > 0 && buffer[written - 1] != UInt8(ascii: "\n")
                        return
                    }
                }
            }
        }
    }
}
