/// Connections to one of the launcher's small servers (the control socket, `/metrics`) whose
/// request has not fully arrived: the bytes so far and the time by which the rest must come.
///
/// Bounded both ways, so that clients which connect and send nothing cost their own connections
/// only: past `limit`, the connection waiting longest makes room for the new one (a real client
/// sends its request at once, so silent ones are the ones to go; and no connection is left in
/// the listener's backlog, which would keep the listener readable and the loop spinning), and
/// one past its deadline is answered and closed.
struct PendingClients {
    let limit: Int
    let timeout: Duration
    private var requests: [Int32: [UInt8]] = [:]
    private var deadlines: [Int32: ContinuousClock.Instant] = [:]

    init(limit: Int, timeout: Duration) {
        self.limit = limit
        self.timeout = timeout
    }

    var isFull: Bool { requests.count >= limit }
    var descriptors: Dictionary<Int32, [UInt8]>.Keys { requests.keys }

    mutating func add(_ fd: Int32, at now: ContinuousClock.Instant) {
        requests[fd] = []
        deadlines[fd] = now + timeout
    }

    /// Appends what arrived; returns everything the client sent so far.
    mutating func append(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> [UInt8] {
        requests[fd, default: []] += bytes
        return requests[fd]!
    }

    func received(_ fd: Int32) -> [UInt8] { requests[fd] ?? [] }

    mutating func remove(_ fd: Int32) {
        requests.removeValue(forKey: fd)
        deadlines.removeValue(forKey: fd)
    }

    /// The connection that has waited longest.
    var oldest: Int32? { deadlines.min { $0.value < $1.value }?.key }

    /// The earliest deadline, for the loop's wait.
    var nextDeadline: ContinuousClock.Instant? { deadlines.values.min() }

    func expired(at now: ContinuousClock.Instant) -> [Int32] {
        deadlines.filter { $0.value <= now }.map(\.key)
    }
}
