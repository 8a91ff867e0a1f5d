import Foundation
import Testing

/// `ser` without the speech encoder installed: everything still answers, and
/// whatever needs the encoder says how to get it.
@Suite("Without the speech encoder")
struct EncoderCommandTests {
    /// The environment of a user who never ran `ser encoder install`.
    static func environmentWithoutEncoder() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SER_HOME"] = FileManager.default.temporaryDirectory.appendingPathComponent("ser-home-\(UUID().uuidString)").path
        environment["XDG_CACHE_HOME"] = SERRun.testCacheHome
        environment["SER_MODEL"] = nil
        return environment
    }

    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/hello.flac").path

    @Test("predict falls back to the handcrafted model with a one-line notice")
    func predictFallsBack() throws {
        let run = try SERRun(["predict", Self.example, "--format", "json"], environment: Self.environmentWithoutEncoder())
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("speech encoder is not installed"))
        #expect(run.stderr.split(separator: "\n").filter { $0.contains("encoder") }.count == 1)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(answer.first?["speech"] as? Bool == true)
    }

    @Test("info says it is not installed; whisper features say to install it")
    func whisperNeedsTheEncoder() throws {
        let environment = Self.environmentWithoutEncoder()
        let info = try SERRun(["encoder", "info"], environment: environment)
        #expect(info.status == 1)
        #expect(info.stdout.contains("not installed"))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ser-whisper-\(UUID().uuidString).csv").path
        let features = try SERRun(["features", Self.example, "--preset", "whisper", "--out", out], environment: environment)
        #expect(features.status != 0)
        #expect(features.stderr.contains("ser encoder install"), "\(features.stderr)")
        let wrongRate = try SERRun(["features", Self.example, "--preset", "whisper", "--sample-rate", "22050", "--out", out],
                                   environment: environment)
        #expect(wrongRate.status == 2)
        let unknown = try SERRun(["encoder", "install", "whisper-huge"], environment: environment)
        #expect(unknown.status == 2)
    }
}
