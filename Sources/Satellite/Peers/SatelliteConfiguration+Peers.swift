import Launch
import SatelliteSettings
import Supervision

extension SatelliteConfiguration {
    /// A peer's own deadline for a graceful shutdown: four fifths of the launcher's stop timeout,
    /// so that it abandons in-flight work and closes its subsystems before SIGKILL would come.
    public var peerShutdownTimeout: Duration { supervisor.timings.stopTimeout * 0.8 }

    /// The keys the Core peer reads.
    public var core: Core.Config {
        var config = Core.Config()
        config.debug = debug
        config.overlay = overlay
        config.checker = checker
        config.tally = tally
        config.deletion = deletion
        config.shutdownTimeout = peerShutdownTimeout
        return config
    }

    /// The keys the API peer reads.
    public var apiPeer: API.Config {
        var config = API.Config()
        config.debug = debug
        config.api = api
        config.overlay = overlay
        config.contact = contact
        config.metainfo = metainfo
        config.orders = orders
        config.shutdownTimeout = peerShutdownTimeout
        return config
    }

    /// The keys the Repairer peer reads.
    public var repairerPeer: Repairer.Config {
        var config = Repairer.Config()
        config.debug = debug
        config.overlay = overlay
        config.metainfo = metainfo
        config.repairer = repairer
        config.orders = orders
        config.gc = gc
        config.audit = audit
        config.reputation = reputation
        config.shutdownTimeout = peerShutdownTimeout
        return config
    }
}
