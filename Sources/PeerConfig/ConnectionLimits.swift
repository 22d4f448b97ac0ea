import SatelliteConfig
#if canImport(Glibc)
import Glibc
#endif

/// What a peer's HTTP server lets a connection take: time to send its request's headers, time
/// idle between requests, and how many connections may be open at once.
///
/// Without them, connections that send nothing were never closed: 20,000 of them took every
/// descriptor of the API, normal requests timed out and its debug port stopped answering.
public struct ConnectionLimits: ConfigSection, Equatable {
    /// A connection that has not sent a whole request head this long after it opened is closed.
    public var headerTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request in flight is closed after this long.
    public var idleTimeout: Duration = .seconds(60)
    /// At most this many connections at once; past it the one idle longest is closed (and a new
    /// one refused if none is idle). 0 chooses a number below the process's descriptor limit.
    public var maxConnections = 0

    /// Descriptors left for everything else a peer opens: its database, logs, pipes.
    public static let reservedDescriptors = 256

    public init() {}

    /// ``maxConnections``, or when it is 0 the soft `RLIMIT_NOFILE` less
    /// ``reservedDescriptors``, with a floor of 16.
    public var effectiveMaxConnections: Int {
        if maxConnections > 0 { return maxConnections }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 10_000 }
        return max(16, Int(min(limit.rlim_cur, 1 << 30)) - Self.reservedDescriptors)
    }
}

extension ConnectionLimits {
    /// The keys, as a server's section takes them (`api.header-timeout`).
    public static let fields: [ConfigField<Self>] = [
        .duration(
            "header-timeout", \.headerTimeout, help: "a connection that has not sent its request's headers this long after it opened is closed",
            range: .milliseconds(100) ... .seconds(3600)
        ),
        .duration(
            "idle-timeout", \.idleTimeout, help: "a keep-alive connection with no request in flight is closed after this long",
            range: .milliseconds(100) ... .seconds(86400)
        ),
        .int(
            "max-connections", \.maxConnections,
            help: "most connections open at once; past it the one idle longest is closed; 0 keeps 256 descriptors below the process's limit",
            range: 0 ... 10_000_000
        ),
    ]
}
