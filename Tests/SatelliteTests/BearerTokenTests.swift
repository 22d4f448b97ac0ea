@testable import Satellite
import Testing

/// The token of an `Authorization` header, as the API reads it before looking the key up.
struct BearerTokenTests {
    @Test(arguments: [
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("Bearer   abc  ", "abc"), ("Bearer \tabc\t", "abc"),
        ("Bearer a b", "a b"),
    ])
    func theSchemeInAnyCaseAndBlanksAroundTheToken(header: String, token: String) {
        #expect(APIHandlers.bearerToken(header) == token)
    }

    @Test(arguments: ["", "Bearer", "Bearer ", "Bearerabc", "Basic abc", "Bearex abc", "Bëarer abc", "Bearer\tabc"])
    func anythingElseIsNoBearerToken(header: String) {
        let token = APIHandlers.bearerToken(header)
        #expect(token == nil || token == "", "\(header) gave \(token ?? "nil")")
    }
}
