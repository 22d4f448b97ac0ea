import Metrics

/// How long each run of a chore took, as `satellite_chore_duration_seconds{chore="NAME"}`.
enum ChoreMetrics {
    static func recorder(_ chore: String, factory: any MetricsFactory) -> @Sendable (Duration) -> Void {
        let timer = Metrics.Timer(label: "satellite_chore_duration_seconds", dimensions: [("chore", chore)], factory: factory)
        return { elapsed in
            timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
    }
}
