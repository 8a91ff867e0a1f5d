import HTTPTypes
import SERFeatures
import Foundation
import Logging
import SERAudio
import SERNumerics
import SERRecognition
import SERSpeakers
@testable import SERServer
import SERSupport
import SERTestSupport
import Testing

/// The shipped model: the server tests exercise the product as users run it. It
/// reads the speech encoder; where `ser encoder install` has not been run, the
/// handcrafted model beside it answers, as `ser serve` would pick it.
let modelsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models")
let (shippedModelPath, shippedModel): (String, EmotionModel?) = {
    let encoderModel = modelsFolder.appendingPathComponent("default.safetensors").path
    if let model = try? EmotionModel(contentsOf: encoderModel) { return (encoderModel, model) }
    print("server tests: the speech encoder is not installed; using the handcrafted model")
    let handcrafted = modelsFolder.appendingPathComponent("default-handcrafted.safetensors").path
    return (handcrafted, try? EmotionModel(contentsOf: handcrafted))
}()

/// A server on a free loopback port, stopped when the test is done.
final class RunningServer: @unchecked Sendable {
    let port: Int
    let server: EmotionServer
    private let task: Task<Void, any Error>

    static func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> RunningServer {
        guard let model = shippedModel else { throw ClientError("the shipped model \(shippedModelPath) does not load") }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        // Profiles in a database of the test's own, when the model adapts to speakers.
        let profiles = model.usesSpeakerStatistics
            ? try ProfileStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("ser-server-\(UUID().uuidString)/profiles.sqlite").path,
                               features: model.pipeline.featureIdentity, dimension: model.preset.dimension)
            : nil
        let server = EmotionServer(service: PredictionService(model: model, modelPath: shippedModelPath, profiles: profiles),
                                   configuration: configuration)
        var logger = Logger(label: "ser.test")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task {
            try await server.run(logger: logger, handlesSignals: false) { port in continuation.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ClientError("the server did not start") }
        return RunningServer(port: port, server: server, task: task)
    }

    private init(port: Int, server: EmotionServer, task: Task<Void, any Error>) {
        self.port = port
        self.server = server
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// Runs `body` against a fresh server, then stops it.
func withServer(_ configure: (inout ServerConfiguration) -> Void = { _ in },
                _ body: (RunningServer) async throws -> Void) async throws {
    let running = try await RunningServer.start(configure)
    do {
        try await body(running)
    } catch {
        await running.stop()
        throw error
    }
    await running.stop()
}

/// Runs blocking socket work on its own thread, so the test's task (and its
/// expectations) stay where they are and no cooperative thread is blocked.
func offThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// Test audio as file bytes: a voice, silence, or anything else made here.
enum Clips {
    static func wav(_ samples: [Float], rate: Int = 16000) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-server-\(UUID().uuidString).wav").path
        defer { unlink(path) }
        try AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: rate), to: path, format: .wav)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static let voiceSamples = SyntheticSpeech.recording(seconds: 3, rate: 16000, voiceSpans: [(0.3, 2.7)])
    static let voice: [UInt8] = (try? wav(voiceSamples)) ?? []
    static let silence: [UInt8] = (try? wav([Float](repeating: 0, count: 32000))) ?? []
}

@Suite(.serialized) struct HTTPRouteTests {
    @Test func healthAndPageAndModel() async throws {
        try await withServer { server in
            let health = try await HTTP.get(port: server.port, "/healthz")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "ok")
            #expect(health.json["model"] as? String == URL(fileURLWithPath: shippedModelPath).lastPathComponent)

            let page = try await HTTP.get(port: server.port, "/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("<script src=\"/app.js\"></script>"))
            #expect(page.headers["content-security-policy"]?.contains("default-src 'self'") == true)
            let script = try await HTTP.get(port: server.port, "/app.js")
            #expect(script.status == 200 && script.headers["content-type"]?.hasPrefix("text/javascript") == true)
            #expect(script.text.contains("/v1/predict"))
            #expect(try await HTTP.get(port: server.port, "/style.css").headers["content-type"]?.hasPrefix("text/css") == true)

            let model = try await HTTP.get(port: server.port, "/v1/model")
            #expect(model.status == 200)
            #expect(model.json["labels"] as? [String] == shippedModel?.labels)
            #expect((model.json["card"] as? String)?.contains("Model card") == true)
        }
    }

    /// Every path and method the OpenAPI document lists is served, and its
    /// documented error statuses are the ones the server gives.
    @Test func openAPIDocumentMatchesTheRoutes() async throws {
        try await withServer { server in
            let document = try await HTTP.get(port: server.port, "/openapi.json").json
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            #expect(Set(paths.keys) == ["/v1/predict", "/v1/predict/batch", "/v1/model", "/healthz", "/readyz", "/openapi.json", "/v1/stream", "/v1/profiles/{id}"])
            // PUT before GET before DELETE, so each finds what the one before made.
            let order = ["put", "post", "get", "delete"]
            for (path, operations) in paths where path != "/v1/stream" {
                let concrete = path.replacingOccurrences(of: "{id}", with: "walker")
                for method in operations.keys.filter(order.contains).sorted(by: { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }) {
                    // A batch is a form of files; every other upload is the recording itself.
                    let form = HTTP.form(files: [(fileName: "walker.wav", bytes: Clips.voice)])
                    let (contentType, body) = path.hasSuffix("/batch") ? (form.contentType, form.body) : ("audio/wav", Clips.voice)
                    let answer = method == "get"
                        ? try await HTTP.get(port: server.port, concrete)
                        : try await HTTP.request(port: server.port, method: method.uppercased(), path: concrete,
                                                 headers: ["Content-Type": contentType], body: method == "delete" ? [] : body)
                    #expect(answer.status == (method == "delete" ? 204 : 200), "\(method.uppercased()) \(path) answered \(answer.status)")
                }
            }
            let predictResponses = try #require((paths["/v1/predict"]?["post"] as? [String: Any])?["responses"] as? [String: Any])
            #expect(Set(predictResponses.keys) == ["200", "400", "404", "408", "409", "413", "415", "422", "429", "503"])
            let port = server.port
            #expect(try await offThread { _ = try WebSocketClient(port: port, path: "/v1/stream"); return true })   // upgrades
        }
    }

    @Test func unknownRoutesAndMethodsAreJSON() async throws {
        try await withServer { server in
            let missing = try await HTTP.get(port: server.port, "/nowhere")
            #expect(missing.status == 404)
            #expect((missing.json["error"] as? String)?.contains("/nowhere") == true)
            let wrongMethod = try await HTTP.get(port: server.port, "/v1/predict")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["allow"] == "POST")
            #expect(wrongMethod.json["error"] is String)
            let deleted = try await HTTP.request(port: server.port, method: "DELETE", path: "/healthz")
            #expect(deleted.status == 405 && deleted.headers["allow"] == "GET")
            // The stream without the WebSocket handshake says how to connect.
            let plain = try await HTTP.get(port: server.port, "/v1/stream")
            #expect(plain.status == 426)
            #expect(plain.headers["upgrade"] == "websocket")
        }
    }
}

@Suite(.serialized) struct PredictEndpointTests {
    /// The server's answer is the library's answer for the same file, in `ser predict`'s JSON shape.
    @Test func rawBodyGivesTheSameAnswerAsTheLibrary() async throws {
        let model = try #require(shippedModel)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-server-direct.wav").path
        try Data(Clips.voice).write(to: URL(fileURLWithPath: path))
        let direct = try EmotionRecognizer(model: model).recognize(path: path)
        try await withServer { server in
            let answer = try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice)
            #expect(answer.status == 200)
            let json = answer.json
            for key in ["path", "duration", "sample_rate", "speech", "emotion", "confidence", "probabilities", "gender"] {
                #expect(json[key] != nil, "missing \(key)")
            }
            #expect(json["speech"] as? Bool == true)
            #expect(json["emotion"] as? String == direct.estimate.emotion)
            let probabilities = try #require(json["probabilities"] as? [String: Double])
            #expect(Set(probabilities.keys) == Set(model.labels))
            #expect(abs(probabilities.values.reduce(0, +) - 1) < 0.01)
            for (label, p) in direct.estimate.probabilities ?? [:] { #expect(abs((probabilities[label] ?? -1) - p) < 1e-3) }
            #expect(abs((json["duration"] as? Double ?? 0) - 3) < 0.01)
            #expect((json["gender"] as? [String: Any])?["label"] as? String == direct.estimate.gender?.label)
        }
    }

    @Test func multipartUploadMatchesRawBody() async throws {
        try await withServer { server in
            let raw = try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice).json
            let form = HTTP.form(field: "file", fileName: "take one.wav", bytes: Clips.voice)
            let uploaded = try await HTTP.post(port: server.port, "/v1/predict", body: form.body, contentType: form.contentType)
            #expect(uploaded.status == 200)
            #expect(uploaded.json["path"] as? String == "take one.wav")
            #expect(uploaded.json["probabilities"] as? [String: Double] == raw["probabilities"] as? [String: Double])
        }
    }

    /// A batch answers each file as /v1/predict does; with same_speaker=true each
    /// answer is adapted to the statistics of all the batch's recordings, as
    /// `ser predict --same-speaker` does. A file that fails is reported by the
    /// name the client gave it, and the others are still answered.
    @Test func batchAnswersEveryFileAndAdaptsToTheSameSpeaker() async throws {
        let voices = try (1...3).map { index in
            try Clips.wav(SyntheticSpeech.recording(seconds: 3, rate: 16000, voiceSpans: [(0.3, 2.7)], seed: UInt64(index), pitch: 110 + 30 * Double(index)))
        }
        let files = voices.enumerated().map { (fileName: "take \($0.offset + 1).wav", bytes: $0.element) } + [(fileName: "broken.wav", bytes: Array("not audio".utf8))]
        let form = HTTP.form(files: files)
        try await withServer { server in
            let alone = try await HTTP.post(port: server.port, "/v1/predict/batch", body: form.body, contentType: form.contentType)
            #expect(alone.status == 200, "\(alone.text)")
            let answers = try #require(alone.json["predictions"] as? [[String: Any]])
            #expect(answers.map { $0["path"] as? String } == files.map(\.fileName))
            let single = try await HTTP.post(port: server.port, "/v1/predict", body: voices[0]).json
            #expect(answers[0]["probabilities"] as? [String: Double] == single["probabilities"] as? [String: Double])
            #expect(answers[0]["adaptation"] == nil)
            let failure = try #require(answers[3]["error"] as? String)
            #expect(failure.contains("broken.wav") && !failure.contains("ser-upload"), "\(failure)")

            let together = try await HTTP.post(port: server.port, "/v1/predict/batch?same_speaker=true", body: form.body, contentType: form.contentType)
            #expect(together.status == 200, "\(together.text)")
            let adapted = try #require(together.json["predictions"] as? [[String: Any]])
            #expect(adapted.count == 4)
            if shippedModel?.usesSpeakerStatistics == true {
                for answer in adapted.prefix(3) {
                    #expect((answer["adaptation"] as? [String: Any])?["utterances"] as? Int == 3, "\(answer)")
                }
            }
            #expect(adapted[3]["error"] is String)
        }
    }

    @Test func batchRefusesWhatItCannotAnswer() async throws {
        let form = HTTP.form(files: [(fileName: "a.wav", bytes: Clips.voice), (fileName: "b.wav", bytes: Clips.voice), (fileName: "c.wav", bytes: Clips.voice)])
        try await withServer({ $0.maxBatchFiles = 2 }) { server in
            #expect(try await HTTP.post(port: server.port, "/v1/predict/batch", body: Clips.voice).status == 415)
            let tooMany = try await HTTP.post(port: server.port, "/v1/predict/batch", body: form.body, contentType: form.contentType)
            #expect(tooMany.status == 400 && tooMany.text.contains("limit of 2"), "\(tooMany.text)")
            #expect(try await HTTP.post(port: server.port, "/v1/predict/batch?learn=true&profile=x", body: form.body, contentType: form.contentType).status == 400)
            let empty = HTTP.form(files: [(fileName: "a.wav", bytes: [])])
            #expect(try await HTTP.post(port: server.port, "/v1/predict/batch", body: empty.body, contentType: empty.contentType).status == 400)
        }
    }

    @Test func silenceIsNoSpeech() async throws {
        try await withServer { server in
            let answer = try await HTTP.post(port: server.port, "/v1/predict", body: Clips.silence)
            #expect(answer.status == 200)
            #expect(answer.json["speech"] as? Bool == false)
            #expect(answer.json["emotion"] is NSNull)
        }
    }

    @Test func segmentsWindowsAndVisuals() async throws {
        try await withServer { server in
            let segmented = try await HTTP.post(port: server.port, "/v1/predict?segments=true", body: Clips.voice).json
            let segments = try #require(segmented["segments"] as? [[String: Any]])
            #expect(!segments.isEmpty)
            #expect(segments.allSatisfy { ($0["start"] as? Double ?? -1) >= 0 && ($0["end"] as? Double ?? 0) <= 3.01 })

            let windowed = try await HTTP.post(port: server.port, "/v1/predict?window=1&hop=0.5", body: Clips.voice).json
            let windows = try #require(windowed["segments"] as? [[String: Any]])
            // 1 s windows every 0.5 s over 3 s start at 0, 0.5, …, 2.5 (the last one shorter).
            #expect(windows.map { $0["start"] as? Double ?? -1 } == [0, 0.5, 1, 1.5, 2, 2.5])

            let drawn = try await HTTP.post(port: server.port, "/v1/predict?visuals=true", body: Clips.voice).json
            let waveform = try #require(drawn["waveform"] as? [String: Any])
            let lows = try #require(waveform["min"] as? [Double]), highs = try #require(waveform["max"] as? [Double])
            #expect(lows.count == highs.count && lows.count > 100)
            #expect(zip(lows, highs).allSatisfy { $0 <= $1 })
            #expect((highs.max() ?? 0) > 0.05, "the voice shows in the envelope")
            let spectrogram = try #require(drawn["spectrogram"] as? [String: Any])
            let values = try #require(spectrogram["values"] as? [[Int]])
            #expect(values.count == 64)
            #expect(values.allSatisfy { $0.count == spectrogram["frames"] as? Int })
            #expect(values.joined().max() == 255 && values.joined().allSatisfy { (0...255).contains($0) })
            // The voice sits below 7 kHz: the lowest bands carry more energy than the top ones.
            let low = values[5..<20].joined().reduce(0, +), high = values[58..<64].joined().reduce(0, +)
            #expect(low > 2 * high)
        }
    }

    @Test func malformedRequestsAre400() async throws {
        try await withServer { server in
            // A hop of one sample would multiply the work thousands of times: the shortest is 0.1 s.
            for query in ["window=abc", "window=0.1", "hop=1", "window=1&hop=0.01", "window=1&hop=2", "segments=maybe", "min_confidence=2"] {
                let answer = try await HTTP.post(port: server.port, "/v1/predict?\(query)", body: Clips.voice)
                #expect(answer.status == 400, "\(query)")
                #expect(answer.json["error"] is String)
            }
            #expect(try await HTTP.post(port: server.port, "/v1/predict", body: []).status == 400)
            let noFile = Array("--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--b--\r\n".utf8)
            let answer = try await HTTP.post(port: server.port, "/v1/predict", body: noFile, contentType: "multipart/form-data; boundary=b")
            #expect(answer.status == 400)
            #expect(try await HTTP.post(port: server.port, "/v1/predict", body: Array("x".utf8), contentType: "multipart/form-data").status == 400)
        }
    }

    @Test func otherMediaIs415AndUndecodableAudioIs422() async throws {
        try await withServer { server in
            let text = try await HTTP.post(port: server.port, "/v1/predict", body: Array("hello".utf8), contentType: "text/plain")
            #expect(text.status == 415)
            #expect((text.json["error"] as? String)?.contains("text/plain") == true)
            let garbage = try await HTTP.post(port: server.port, "/v1/predict", body: Array(repeating: 0x41, count: 5000), contentType: "audio/wav")
            #expect(garbage.status == 422)
            #expect((garbage.json["error"] as? String)?.contains("could not be decoded") == true)
            // A WAV cut in the middle of its header.
            let cut = try await HTTP.post(port: server.port, "/v1/predict", body: Array(Clips.voice.prefix(30)))
            #expect(cut.status == 422)
        }
    }

    /// At the limit the upload is heard; one byte over it is 413, whether the
    /// length is declared or the body is streamed without one.
    @Test func uploadsAtAndOverTheLimit() async throws {
        let limit = Clips.voice.count
        try await withServer({ $0.maxUploadBytes = limit }) { server in
            #expect(try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice).status == 200)
            let over = try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice + [0])
            #expect(over.status == 413)
            #expect((over.json["error"] as? String)?.contains("limit") == true)
            // Chunked, no declared length: refused once the bytes pass the limit.
            let port = server.port
            let raw = try await offThread { () -> [UInt8] in
                let connection = try LoopbackConnection(port: port)
                try connection.send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                for chunk in stride(from: 0, to: limit + 5000, by: 4096) {
                    let size = min(4096, limit + 5000 - chunk)
                    try? connection.send(Array((String(size, radix: 16) + "\r\n").utf8) + [UInt8](repeating: 1, count: size) + Array("\r\n".utf8))
                }
                try? connection.send("0\r\n\r\n")
                return connection.receiveAll()
            }
            let answer = try #require(HTTPAnswer(raw))
            #expect(answer.status == 413)
            #expect(try await HTTP.get(port: server.port, "/healthz").status == 200)
        }
    }

    /// A client that declares more than it sends and hangs up does no harm.
    @Test func truncatedUploadLeavesTheServerServing() async throws {
        try await withServer { server in
            let port = server.port
            let reply = try await offThread { () -> [UInt8] in
                let connection = try LoopbackConnection(port: port, receiveTimeout: 5)
                try connection.send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: \(Clips.voice.count)\r\n\r\n")
                try connection.send(Array(Clips.voice.prefix(Clips.voice.count / 3)))
                connection.shutdownWriting()
                return connection.receiveAll()
            }
            if let answer = HTTPAnswer(reply) { #expect(answer.status == 400) }   // if the server still got to answer
            #expect(try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice).status == 200)
        }
    }

    /// A client that stalls mid-body is disconnected after the idle timeout,
    /// and the server keeps answering others meanwhile.
    @Test func slowClientIsCutOffAfterTheIdleTimeout() async throws {
        try await withServer({ $0.idleTimeout = .seconds(1) }) { server in
            let port = server.port
            let connection = try await offThread { () -> LoopbackConnection in
                let connection = try LoopbackConnection(port: port, receiveTimeout: 10)
                try connection.send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: \(Clips.voice.count)\r\n\r\n")
                try connection.send(Array(Clips.voice.prefix(1000)))
                return connection
            }
            #expect(try await HTTP.get(port: server.port, "/healthz").status == 200)
            let started = Date()
            _ = try await offThread { connection.receiveAll() }   // returns when the server closes the connection
            let waited = Date().timeIntervalSince(started)
            #expect(waited < 8, "closed after \(waited) s")
            #expect(try await HTTP.get(port: server.port, "/healthz").status == 200)
        }
    }

    /// A client that never completes a request head (a partial head, or bytes
    /// that never make one) is disconnected after the head deadline: the idle
    /// timeout only starts once a head has arrived.
    @Test func aConnectionWithoutARequestHeadIsClosedAfterTheDeadline() async throws {
        try await withServer({ $0.requestHeadTimeout = .seconds(1); $0.idleTimeout = .seconds(30) }) { server in
            let port = server.port
            for opening in ["GET /healthz HTTP/1.1\r\nHost: x", "\u{16}\u{03}\u{01}\u{02}\u{00}garbage"] {
                let started = Date()
                let reply = try await offThread { () -> [UInt8] in
                    let connection = try LoopbackConnection(port: port, receiveTimeout: 20)
                    try connection.send(opening)
                    return connection.receiveAll()    // returns when the server closes the connection
                }
                let waited = Date().timeIntervalSince(started)
                #expect(waited < 8, "\(opening.debugDescription): closed after \(waited) s")
                #expect(reply.isEmpty || HTTPAnswer(reply)?.status == 400)
            }
            #expect(try await HTTP.get(port: server.port, "/healthz").status == 200)
        }
    }

    /// A client that trickles its body (never idle long enough for the idle
    /// timeout) gets 408 once the grace period is over and its rate is under the minimum.
    @Test func aTrickledUploadGets408AfterTheGracePeriod() async throws {
        try await withServer({ $0.slowUploadGrace = .seconds(1); $0.minimumUploadBytesPerSecond = 4096 }) { server in
            let port = server.port
            let started = Date()
            let raw = try await offThread { () -> [UInt8] in
                let connection = try LoopbackConnection(port: port, receiveTimeout: 20)
                try connection.send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: \(Clips.voice.count)\r\n\r\n")
                for byte in Clips.voice.prefix(40) {
                    guard (try? connection.send([byte])) != nil else { break }
                    usleep(100_000)
                }
                return connection.receiveResponse()
            }
            let answer = try #require(HTTPAnswer(raw))
            #expect(answer.status == 408)
            #expect((answer.json["error"] as? String)?.contains("bytes per second") == true)
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(try await HTTP.post(port: server.port, "/v1/predict", body: Clips.voice).status == 200)
        }
    }
}

/// Speaker profiles over HTTP: learnt from audio, adapted answers, concurrent learning, deletion.
@Suite(.serialized) struct ProfileEndpointTests {
    @Test func profilesAreLearntReadAndDeleted() async throws {
        try await withServer { server in
            let port = server.port
            let missing = try await HTTP.get(port: port, "/v1/profiles/nobody")
            #expect(missing.status == 404 && missing.json["error"] is String)
            let notLearnt = try await HTTP.post(port: port, "/v1/predict?profile=nobody", body: Clips.voice)
            #expect(notLearnt.status == 404 && (notLearnt.json["error"] as? String)?.contains("PUT /v1/profiles/nobody") == true)
            let learnt = try await HTTP.request(port: port, method: "PUT", path: "/v1/profiles/ann", headers: ["Content-Type": "audio/wav"], body: Clips.voice)
            #expect(learnt.status == 200, "\(learnt.json)")
            #expect(learnt.json["utterances"] as? Int == 1 && learnt.json["added"] as? Int == 1)
            let read = try await HTTP.get(port: port, "/v1/profiles/ann").json
            #expect(read["utterances"] as? Int == 1 && read["created"] is String && read["updated"] is String)
            #expect(read["sum"] == nil && read["statistics"] == nil, "GET never returns the statistics")
            let adapted = try await HTTP.post(port: port, "/v1/predict?profile=ann", body: Clips.voice).json
            #expect((adapted["adaptation"] as? [String: Any])?["utterances"] as? Int == 1)
            #expect((adapted["adaptation"] as? [String: Any])?["speaker"] as? String == "ann")
            let silence = try await HTTP.request(port: port, method: "PUT", path: "/v1/profiles/ann", headers: ["Content-Type": "audio/wav"], body: Clips.silence)
            #expect(silence.status == 422)
            let badID = try await HTTP.get(port: port, "/v1/profiles/a%20b")
            #expect(badID.status == 400)
            let deleted = try await HTTP.request(port: port, method: "DELETE", path: "/v1/profiles/ann")
            #expect(deleted.status == 204)
            #expect(try await HTTP.get(port: port, "/v1/profiles/ann").status == 404)
            #expect(try await HTTP.request(port: port, method: "DELETE", path: "/v1/profiles/ann").status == 404)
        }
    }

    @Test func concurrentLearningKeepsEveryUpdate() async throws {
        try await withServer { server in
            let port = server.port, requests = 6
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<requests {
                    group.addTask { try await HTTP.post(port: port, "/v1/predict?profile=crowd&learn=true", body: Clips.voice).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: requests))
            let profile = try await HTTP.get(port: port, "/v1/profiles/crowd").json
            #expect(profile["utterances"] as? Int == requests)
            let learn = try await HTTP.post(port: port, "/v1/predict?learn=true", body: Clips.voice)
            #expect(learn.status == 400, "learn needs a profile")
        }
    }
}

@Suite struct InferencePoolTests {
    /// With every slot taken and no room to wait, a request is refused with 503 at once.
    @Test func fullPoolRefusesWith503() async throws {
        let pool = InferencePool(slots: 1, maxQueued: 0, queueTimeout: .seconds(5))
        let gate = DispatchSemaphore(value: 0)
        let first = Task { try await pool.run { gate.wait(); return 1 } }
        while await pool.load.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        do {
            _ = try await pool.run { 2 }
            Issue.record("a full pool ran more work")
        } catch let error as APIError {
            #expect(error.status.code == 503)
            #expect(error.headers[.retryAfter] != nil)
        }
        gate.signal()
        #expect(try await first.value == 1)
        #expect(try await pool.run { 3 } == 3)
    }

    /// A request that waits past the queue timeout gets 503.
    @Test func waitingTooLongIs503() async throws {
        let pool = InferencePool(slots: 1, maxQueued: 4, queueTimeout: .milliseconds(200))
        let gate = DispatchSemaphore(value: 0)
        let holder = Task { try await pool.run { gate.wait(); return 0 } }
        while await pool.load.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: APIError.self) { _ = try await pool.run { 1 } }
        gate.signal()
        #expect(try await holder.value == 0)
    }

    /// A recognition that starts alone may use every slot's core for its encoder;
    /// one that starts beside another keeps one.
    @Test func aLoneRequestGetsEveryCore() async throws {
        let pool = InferencePool(slots: 2, maxQueued: 4, queueTimeout: .seconds(60))
        let cores = min(2, ProcessInfo.processInfo.activeProcessorCount)
        #expect(try await pool.run { workThreadCount() } == cores)
        let gate = DispatchSemaphore(value: 0)
        let first = Task { try await pool.run { () -> Int in let budget = workThreadCount(); gate.wait(); return budget } }
        while await pool.load.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let second = try await pool.run { workThreadCount() }
        gate.signal()
        #expect(try await first.value == cores)
        #expect(second == 1)
        #expect(try await InferencePool(slots: 1, maxQueued: 0, queueTimeout: .seconds(5)).run { workThreadCount() } == 1)
    }

    /// Waiters run in arrival order as the slot frees up.
    @Test func waitersRunInTurn() async throws {
        let pool = InferencePool(slots: 1, maxQueued: 4, queueTimeout: .seconds(60))
        let gate = DispatchSemaphore(value: 0)
        let order = OrderLog()
        let holder = Task { try await pool.run { gate.wait(); order.append(0) } }
        while await pool.load.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        var waiters: [Task<Void, any Error>] = []
        for index in 1...3 {
            waiters.append(Task { try await pool.run { order.append(index) } })
            while await pool.load.queued < index { try await Task.sleep(for: .milliseconds(5)) }
        }
        gate.signal()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(order.values == [0, 1, 2, 3])
        let load = await pool.load
        #expect(load.running == 0 && load.queued == 0)
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ value: Int) { lock.withLock { items.append(value) } }
    var values: [Int] { lock.withLock { items } }
}

@Suite(.serialized) struct StreamEndpointTests {
    func pcm16(_ samples: [Float]) -> [UInt8] {
        samples.flatMap { sample -> [UInt8] in
            let value = Int16(max(-1, min(1, sample)) * 32767)
            return [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
        }
    }

    struct Transcript: @unchecked Sendable {
        var ready: [String: Any] = [:]
        var events: [[String: Any]] = []
        var last: [String: Any] = [:]
    }

    func events(port: Int, start: String, audio: [UInt8], chunk: Int = 3200) async throws -> Transcript {
        try await offThread {
            let socket = try WebSocketClient(port: port, path: "/v1/stream")
            try socket.send(text: start)
            var transcript = Transcript()
            transcript.ready = try socket.receiveText().flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
            for offset in stride(from: 0, to: audio.count, by: chunk) {
                try socket.send(binary: Array(audio[offset..<min(audio.count, offset + chunk)]))
            }
            try socket.send(text: "{\"type\": \"end\"}")
            while let text = try socket.receiveText() {
                let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
                if object["type"] as? String == "event" { transcript.events.append(object) } else { transcript.last = object }
                if object["type"] as? String == "end" { break }
            }
            return transcript
        }
    }

    @Test func voiceStreamGivesAnEventPerHop() async throws {
        try await withServer { server in
            let transcript = try await events(port: server.port, start: "{\"encoding\": \"s16le\", \"sample_rate\": 16000, \"channels\": 1}",
                                                   audio: pcm16(Clips.voiceSamples))
            let events = transcript.events
            #expect(transcript.ready["type"] as? String == "ready")
            #expect(transcript.ready["labels"] as? [String] == shippedModel?.labels)
            // 3 s of audio, a 2 s window every 0.5 s: events at 2.0, 2.5 and 3.0 s.
            #expect(events.map { $0["t"] as? Double ?? 0 } == [2.0, 2.5, 3.0])
            #expect(events.allSatisfy { $0["speech"] as? Bool == true && $0["probabilities"] is [String: Double] })
            #expect(transcript.last["type"] as? String == "end")
        }
    }

    /// Stereo float PCM at 48 kHz is converted; silence gives events without speech.
    @Test func silentStereoFloatStreamHasNoSpeech() async throws {
        try await withServer { server in
            let frames = 48000 * 5 / 2   // 2.5 s
            let audio = [UInt8](repeating: 0, count: frames * 2 * 4)
            let events = try await events(port: server.port,
                                            start: "{\"encoding\": \"f32le\", \"sample_rate\": 48000, \"channels\": 2, \"window\": 2, \"hop\": 0.5}",
                                            audio: audio, chunk: 19200).events
            #expect(events.count == 2)
            #expect(events.allSatisfy { $0["speech"] as? Bool == false && $0["emotion"] is NSNull })
        }
    }

    /// The stream learns the voice as it hears speech; {"type": "reset"} forgets it.
    @Test func streamAdaptsAndResets() async throws {
        try await withServer { server in
            let port = server.port
            let audio = pcm16(Clips.voiceSamples)
            let result = try await offThread { () -> (before: [Int], reset: String?, after: [Int]) in
                let socket = try WebSocketClient(port: port, path: "/v1/stream")
                try socket.send(text: "{\"encoding\": \"s16le\", \"sample_rate\": 16000}")
                _ = try socket.receiveText()
                func utterances(until count: Int) throws -> [Int] {
                    var seen: [Int] = []
                    while seen.count < count, let text = try socket.receiveText() {
                        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
                        guard object["type"] as? String == "event" else { continue }
                        seen.append((object["adaptation"] as? [String: Any])?["utterances"] as? Int ?? -1)
                    }
                    return seen
                }
                // 3 s then 3 s more of speech: events at 2, 2.5, 3 s, then 3.5 … 6 s.
                try socket.send(binary: audio)
                let before = try utterances(until: 3)
                try socket.send(binary: audio)
                _ = try utterances(until: 6)
                try socket.send(text: "{\"type\": \"reset\"}")
                var reset: String?
                while let text = try socket.receiveText() {
                    if text.contains("\"reset\"") { reset = text; break }
                }
                try socket.send(binary: audio)
                let after = try utterances(until: 6)
                return (before, reset, after)
            }
            // The first answer is heard alone; later ones use what the stream has learnt.
            #expect(result.before.first == 0, "\(result.before)")
            #expect((result.before.last ?? 0) >= 1, "\(result.before)")
            #expect(result.reset != nil)
            #expect(result.after.first == 0, "after a reset the voice is new: \(result.after)")
        }
    }

    @Test func badStartMessagesAreRefused() async throws {
        try await withServer { server in
            let port = server.port
            for start in ["hello", "{\"encoding\": \"mp3\", \"sample_rate\": 16000}", "{\"sample_rate\": 5}"] {
                let reply = try await offThread { () -> String? in
                    let socket = try WebSocketClient(port: port, path: "/v1/stream")
                    try socket.send(text: start)
                    return try socket.receiveText()
                }
                let text = try #require(reply)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                #expect(object["type"] as? String == "error", "\(start)")
                #expect(object["error"] is String)
            }
            let reply = try await offThread { () -> String? in
                let early = try WebSocketClient(port: port, path: "/v1/stream")
                try early.send(binary: [1, 2, 3, 4])
                return try early.receiveText()
            }
            #expect(reply?.contains("format message first") == true)
        }
    }
}

@Suite struct MultipartFormTests {
    /// The file part comes back byte for byte, even when it holds CR, LF and dashes.
    @Test func filePartIsExtractedExactly() throws {
        let payload: [UInt8] = [0, 13, 10, 45, 45, 1, 2, 255, 13, 10]
        let form = HTTP.form(field: "audio", fileName: "a.wav", bytes: payload)
        let boundary = try #require(MultipartForm.boundary(in: form.contentType))
        #expect(boundary == "ser-test-boundary-7MA4YWxk")
        let part = try #require(MultipartForm.filePart(of: form.body, boundary: boundary))
        #expect(part.bytes == payload)
        #expect(part.fileName == "a.wav" && part.name == "audio")
        #expect(MultipartForm.parts(of: form.body, boundary: boundary)?.count == 2)
    }

    @Test func brokenFormsAreNil() {
        #expect(MultipartForm.boundary(in: "multipart/form-data") == nil)
        #expect(MultipartForm.boundary(in: "multipart/form-data; boundary=\"q\"") == "q")
        #expect(MultipartForm.parts(of: Array("no delimiters".utf8), boundary: "b") == nil)
        // A part whose headers never end.
        #expect(MultipartForm.parts(of: Array("--b\r\nContent-Disposition: form-data\r\n--b--".utf8), boundary: "b") == nil)
    }
}
