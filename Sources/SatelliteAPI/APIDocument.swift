import Foundation

/// The OpenAPI document the API's types and routing are generated from, as served at
/// `GET /openapi.yaml`.
public enum APIDocument {
    /// The document's text, read once from the target's resources.
    public static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { preconditionFailure("openapi.yaml is missing from the SatelliteAPI resources") }
        return text
    }()
}
