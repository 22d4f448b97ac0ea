/// The storage node software's version, as check-ins report it.
public enum StorageNodeVersion {
    public static let current = "0.1.0"
}
