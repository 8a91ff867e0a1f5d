import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `ser serve` as a user runs it: starts on a free port, answers, and stops
/// cleanly on SIGTERM.
@Suite struct ServeCommandTests {
    /// Starts `ser serve --port 0` and returns the process and the port it printed.
    static func startServer(_ extra: [String] = []) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SERRun.binary)
        process.arguments = ["serve", "--port", "0", "--log-level", "warning"] + extra
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var printed = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            printed += String(decoding: data, as: UTF8.self)
            if let range = printed.range(of: #"http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression) {
                let port = Int(printed[range].dropFirst("http://127.0.0.1:".count).dropLast()) ?? 0
                return (process, port)
            }
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "ser serve printed no address: \(printed)"])
    }

    @Test func servesAndStopsGracefullyOnSIGTERM() async throws {
        let (process, port) = try Self.startServer()
        defer { if process.isRunning { process.terminate() } }
        let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("\"status\":\"ok\""))

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/predict?segments=false")!)
        request.httpMethod = "POST"
        request.setValue("audio/flac", forHTTPHeaderField: "Content-Type")
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/hello.flac")
        let (answer, predictResponse) = try await URLSession.shared.upload(for: request, from: try Data(contentsOf: example))
        #expect((predictResponse as? HTTPURLResponse)?.statusCode == 200)
        let json = try JSONSerialization.jsonObject(with: answer) as? [String: Any]
        #expect(json?["speech"] as? Bool == true)

        kill(process.processIdentifier, SIGTERM)
        let stopped = Date()
        while process.isRunning && Date().timeIntervalSince(stopped) < 20 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "still running 20 s after SIGTERM")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }

    @Test func badOptionsAreUsageErrors() throws {
        #expect(try SERRun(["serve", "--port", "70000"]).status == 2)
        #expect(try SERRun(["serve", "--max-upload-mb", "0"]).status == 2)
        let missing = try SERRun(["serve", "--model", "/nonexistent/model.safetensors"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/model.safetensors"))
    }
}
