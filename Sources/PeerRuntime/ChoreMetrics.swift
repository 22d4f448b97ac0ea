import Metrics

/// How long each run of a chore took, as `<namespace>_chore_duration_seconds{chore="NAME"}`.
///
/// The namespace is the peer kind's (`satellite`), so that two kinds scraped by one Prometheus
/// keep their series apart.
public struct ChoreMetrics: Sendable {
    public let namespace: String

    public init(namespace: String) {
        self.namespace = namespace
    }

    /// A function that records one run's duration under `chore`.
    public func recorder(_ chore: String, factory: any MetricsFactory) -> @Sendable (Duration) -> Void {
        let timer = Metrics.Timer(label: namespace + "_chore_duration_seconds", dimensions: [("chore", chore)], factory: factory)
        return { elapsed in
            timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
    }
}
