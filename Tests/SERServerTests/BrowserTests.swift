import Foundation
import SERAudio
import SERRecognition
import Testing

/// The page in a real browser: headless Chromium driven through chromedriver's
/// WebDriver API (Debian's chromium and chromium-driver packages). Loads the
/// page, uploads a recording through the file input, waits for the answer and
/// checks the rendered emotion and bars against the API's own answer, then
/// saves a screenshot. Skipped, with the reason printed, when either program
/// is missing.
@Suite(.serialized) struct BrowserTests {
    static func find(_ program: String) -> String? {
        ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"].map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What the fake microphone plays, on a loop: the synthetic voice, 16-bit WAV.
    static let liveVoicePath = FileManager.default.temporaryDirectory.appendingPathComponent("ser-browser-live-voice.wav").path

    /// A WebDriver session over chromedriver.
    final class Driver: @unchecked Sendable {
        let port: Int
        let process: Process
        var session = ""

        init(chromedriver: String, chromium: String) async throws {
            port = Int.random(in: 20000...40000)
            process = Process()
            process.executableURL = URL(fileURLWithPath: chromedriver)
            process.arguments = ["--port=\(port)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await HTTP.request(port: port, path: "/status", timeout: 2))?.status == 200
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard ready else { process.terminate(); throw ClientError("chromedriver did not start") }
            let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": ["binary": chromium,
                                       "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,2000",
                                                // A synthetic microphone (a beep), granted without a prompt, for live mode.
                                                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                                                "--use-file-for-fake-audio-capture=\(BrowserTests.liveVoicePath)",
                                                "--autoplay-policy=no-user-gesture-required"]],
            ]]]
            let created = try await command("POST", "/session", capabilities)
            guard let id = (created["value"] as? [String: Any])?["sessionId"] as? String else {
                process.terminate()
                throw ClientError("no WebDriver session: \(created)")
            }
            session = id
        }

        @discardableResult
        func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
            let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
            let answer = try await HTTP.request(port: port, method: method, path: path,
                                                headers: body == nil ? [:] : ["Content-Type": "application/json"], body: bytes, timeout: 60)
            return answer.json
        }

        @discardableResult
        func value(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
            try await command(method, "/session/\(session)" + path, body)["value"]
        }

        func script(_ source: String) async throws -> Any? {
            try await value("POST", "/execute/sync", ["script": source, "args": []])
        }

        func quit() async {
            if !session.isEmpty { _ = try? await command("DELETE", "/session/\(session)") }
            process.terminate()
        }
    }

    @Test func pageUploadsAFileAndShowsTheAnswer() async throws {
        guard let chromedriver = Self.find("chromedriver"), let chromium = Self.find("chromium") else {
            print("BrowserTests skipped: chromium and chromedriver are not installed (apt install chromium chromium-driver)")
            return
        }
        let clip = FileManager.default.temporaryDirectory.appendingPathComponent("ser-browser-voice.wav").path
        try Data(Clips.voice).write(to: URL(fileURLWithPath: clip))
        try AudioFileWriter.write(AudioSignal(samples: Clips.voiceSamples, sampleRate: 16000), to: Self.liveVoicePath, format: .wav, encoding: .pcm16)
        defer { unlink(clip); unlink(Self.liveVoicePath) }
        try await withServer { server in
            let expected = try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice).json
            let driver = try await Driver(chromedriver: chromedriver, chromium: chromium)
            do {
                try await driver.value("POST", "/url", ["url": "http://127.0.0.1:\(server.port)/"])
                // The bars are built from /v1/model's labels.
                var barCount = 0
                for _ in 0..<100 where barCount == 0 {
                    barCount = try await driver.script("return document.querySelectorAll('#bars li').length;") as? Int ?? 0
                    if barCount == 0 { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(barCount == shippedModel?.labels.count)

                let input = try await driver.value("POST", "/element", ["using": "css selector", "value": "#file-input"]) as? [String: Any]
                let element = try #require(input?.values.first as? String)
                try await driver.value("POST", "/element/\(element)/value", ["text": clip])
                var state = ""
                for _ in 0..<600 where state != "answered" {
                    state = try await driver.script("return document.body.dataset.state || '';") as? String ?? ""
                    if state != "answered" { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(state == "answered", "the page showed no answer within 60 s")

                let shown = try await driver.script("""
                    return {emotion: document.getElementById('emotion').textContent,
                            gender: document.getElementById('gender').textContent,
                            signal: !document.getElementById('signal-card').hidden,
                            bars: [...document.querySelectorAll('#bars li')].map(li => [li.dataset.label,
                                   li.querySelector('.value').textContent, li.querySelector('.fill').style.width, li.classList.contains('top')])};
                    """) as? [String: Any]
                let emotion = shown?["emotion"] as? String
                #expect(emotion == expected["emotion"] as? String)
                #expect((shown?["gender"] as? String)?.contains(((expected["gender"] as? [String: Any])?["label"] as? String) ?? "?") == true)
                #expect(shown?["signal"] as? Bool == true, "waveform and spectrogram are shown")
                let bars = try #require(shown?["bars"] as? [[Any]])
                let probabilities = try #require(expected["probabilities"] as? [String: Double])
                for bar in bars {
                    let label = bar[0] as? String ?? ""
                    let shownPercent = Double((bar[1] as? String ?? "").dropLast()) ?? -1
                    #expect(abs(shownPercent - 100 * (probabilities[label] ?? 0)) <= 0.5001, "\(label): \(bar[1])")
                    let width = Double((bar[2] as? String ?? "").dropLast()) ?? -1
                    #expect(abs(width - 100 * (probabilities[label] ?? 0)) < 0.1, "\(label) bar width \(bar[2])")
                    #expect((bar[3] as? Bool ?? false) == (label == emotion))
                }

                let screenshot = try #require(try await driver.value("GET", "/screenshot") as? String)
                let png = try #require(Data(base64Encoded: screenshot))
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                let saved = FileManager.default.temporaryDirectory.appendingPathComponent("ser-page-screenshot.png")
                try png.write(to: saved)
                print("BrowserTests: page screenshot saved to \(saved.path) (\(png.count) bytes), emotion shown: \(emotion ?? "none")")

                // Live mode: the (fake) microphone streams over /v1/stream and events update the page.
                let live = try await driver.value("POST", "/element", ["using": "css selector", "value": "#live-button"]) as? [String: Any]
                let liveButton = try #require(live?.values.first as? String)
                try await driver.value("POST", "/element/\(liveButton)/click", [:])
                // The fake microphone plays the voice on a loop: wait for an event that heard speech.
                var status = ""
                var heardSpeech = false
                for _ in 0..<300 where !heardSpeech {
                    status = try await driver.script("return document.getElementById('status').textContent;") as? String ?? ""
                    heardSpeech = status.hasPrefix("Live ·") && !status.contains("no speech")
                    if !heardSpeech { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(heardSpeech, "no live event with speech reached the page: \(status)")
                let liveBars = try await driver.script("return [...document.querySelectorAll('#bars .value')].map(v => v.textContent);") as? [String] ?? []
                #expect(!liveBars.isEmpty && liveBars.allSatisfy { $0.hasSuffix("%") }, "\(liveBars)")
                print("BrowserTests: live mode with Chromium's fake microphone shows: \(status)")
                #expect(try await driver.script("return document.getElementById('live-button').getAttribute('aria-pressed');") as? String == "true")
                try await driver.value("POST", "/element/\(liveButton)/click", [:])
                let stopped = try await driver.script("return document.getElementById('status').textContent;") as? String
                #expect(stopped == "Live mode stopped.")

            } catch {
                await driver.quit()
                throw error
            }
            await driver.quit()
        }
    }
}
