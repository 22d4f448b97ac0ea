import CSupport

/// The version this build reports with `--version`: the field every binary of the build carries
/// (`cs_version`), which a release stamps; the launcher reports the same one.
public enum SatelliteVersion {
    public static let current = String(cString: cs_version())
}
