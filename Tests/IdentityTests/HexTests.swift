import Foundation
import Testing

import Identity

/// Node ids, stream ids and keys travel as lowercase hexadecimal.
@Suite struct HexTests {
    @Test func everyByteEncodesAsTwoLowercaseDigitsAndDecodesBack() {
        let all = Data(0...255)
        let text = Hex.encode(all)
        #expect(text.count == 512)
        #expect(text.hasPrefix("000102030405060708090a0b0c0d0e0f10"))
        #expect(text.hasSuffix("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"))
        #expect(Hex.decode(text, count: 256) == all)
        #expect(Hex.encode(Data()) == "")
    }

    @Test(arguments: ["0G", "0A", "abc", "", " 0"])
    func anythingButTwoLowercaseDigitsPerByteIsRefused(text: String) {
        #expect(Hex.decode(text, count: 1) == nil)
    }
}
