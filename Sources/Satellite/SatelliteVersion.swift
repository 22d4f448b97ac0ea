/// The version this build reports with `--version`.
public enum SatelliteVersion {
    public static let current = "0.1.0-dev"
}
