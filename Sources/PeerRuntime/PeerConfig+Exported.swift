// Call sites that take a peer section (LogConfig, DebugConfig, ConnectionLimits) from the runtime keep
// one import; the sections live apart so that a lean program can read them without NIO.
@_exported import PeerConfig
