import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SERServer
import SERSupport
import Testing

/// `ser serve` as a user runs it: starts on a free port, answers, and stops
/// cleanly on SIGTERM.
@Suite struct ServeCommandTests {
    /// Launches `ser serve --port 0 --log-level warning` with `extra`; its standard error is the pipe.
    static func launch(_ extra: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SERRun.binary)
        process.arguments = ["serve", "--port", "0", "--log-level", "warning"] + extra
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    /// Starts `ser serve --port 0` and returns the process and the port it printed.
    static func startServer(_ extra: [String] = []) throws -> (Process, Int) {
        let (process, errors) = try launch(extra)
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

    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/hello.flac")

    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: [String: Any]) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// With --drain-seconds, SIGTERM first turns /readyz to 503 while requests
    /// are still answered (a load balancer takes the replica out); a second
    /// SIGTERM skips what is left of the delay. The delay is long so that a
    /// loaded machine cannot end it before the checks run.
    @Test func drainsBeforeStoppingOnSIGTERM() async throws {
        let (process, port) = try Self.startServer(["--drain-seconds", "600"])
        defer { if process.isRunning { process.terminate() } }
        let ready = try await Self.get(port, "/readyz")
        #expect(ready.status == 200 && ready.body["status"] as? String == "ready")
        kill(process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(500))
        let draining = try await Self.get(port, "/readyz")
        #expect(draining.status == 503 && draining.body["status"] as? String == "draining", "\(draining)")
        let alive = try await Self.get(port, "/healthz")
        #expect(alive.status == 200 && alive.body["draining"] as? Bool == true, "still alive and serving: \(alive)")
        #expect(process.isRunning, "it stopped before its 600 s drain delay")
        kill(process.processIdentifier, SIGTERM)
        let second = Date()
        while process.isRunning && Date().timeIntervalSince(second) < 60 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning && process.terminationStatus == 0, "a second SIGTERM stops it without waiting out the delay")
    }

    /// The drain delay is waited out: the server stops no sooner than it says.
    @Test func waitsOutTheDrainDelay() async throws {
        let (process, _) = try Self.startServer(["--drain-seconds", "3"])
        defer { if process.isRunning { process.terminate() } }
        let signalled = Date()
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning && Date().timeIntervalSince(signalled) < 120 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning && process.terminationStatus == 0)
        #expect(Date().timeIntervalSince(signalled) >= 3, "it waited out the 3 s drain delay")
    }

    /// Two replicas over one profile database: an update through either is seen
    /// by both, concurrent updates through both all count, and a delete through
    /// one is a delete for the other.
    @Test(arguments: ["sqlite", "postgres"])
    func replicasShareOneProfileDatabase(kind: String) async throws {
        var database = FileManager.default.temporaryDirectory.appendingPathComponent("ser-replicas-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: database) }
        if kind == "postgres" {
            // The server CI starts with scripts/start-test-postgres.sh; skipped without it.
            database = ProcessInfo.processInfo.environment["SER_TEST_POSTGRES_URL"] ?? "postgres://ser:ser-test@127.0.0.1:5432/ser_test"
            let url = database
            // Probed from a Dispatch thread: the store blocks its caller, never to be a cooperative thread.
            let reachable = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    let store = PostgresProfileStore.Location(url: url).flatMap { try? PostgresProfileStore(location: $0, features: "probe", dimension: 1) }
                    continuation.resume(returning: store != nil)
                }
            }
            guard reachable else {
                print("ServeCommandTests: no PostgreSQL at \(database) (run scripts/start-test-postgres.sh); the PostgreSQL replica test is skipped")
                return
            }
        }
        let profile = "shared-voice-\(UUID().uuidString.prefix(8))"
        let (first, portA) = try Self.startServer(["--profiles", database])
        defer { if first.isRunning { first.terminate() } }
        let (second, portB) = try Self.startServer(["--profiles", database])
        defer { if second.isRunning { second.terminate() } }
        let audio = try Data(contentsOf: Self.example)

        @Sendable func learn(_ port: Int) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/profiles/\(profile)")!)
            request.httpMethod = "PUT"
            request.setValue("audio/flac", forHTTPHeaderField: "Content-Type")
            let (body, response) = try await URLSession.shared.upload(for: request, from: audio)
            #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
            return (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["utterances"] as? Int ?? -1
        }
        let perUpload = try await learn(portA)
        #expect(perUpload >= 1)
        async let throughA = learn(portA)
        async let throughB = learn(portB)
        _ = try await (throughA, throughB)
        for port in [portA, portB] {
            let summary = try await Self.get(port, "/v1/profiles/\(profile)")
            #expect(summary.status == 200 && summary.body["utterances"] as? Int == 3 * perUpload, "\(kind): \(summary)")
        }
        var delete = URLRequest(url: URL(string: "http://127.0.0.1:\(portB)/v1/profiles/\(profile)")!)
        delete.httpMethod = "DELETE"
        let (_, deleted) = try await URLSession.shared.data(for: delete)
        #expect((deleted as? HTTPURLResponse)?.statusCode == 204)
        #expect(try await Self.get(portA, "/v1/profiles/\(profile)").status == 404)
    }

    /// A server killed with SIGKILL while concurrent requests update one profile
    /// leaves a database the next server reads: every update it acknowledged is
    /// there, no update is half there, and updates go on. The kill lands at a
    /// random moment, `KillAnywhereTests.killPoints` times over one database.
    /// (A real process is killed: forking the multithreaded test process would not be one.)
    @Test func aServerKilledDuringProfileUpdatesLeavesAConsistentDatabase() async throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("ser-kill-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) } }
        let audio = try Data(contentsOf: Self.example)
        @Sendable func learn(_ port: Int) async -> Int? {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/profiles/busy")!, timeoutInterval: 300)
            request.httpMethod = "PUT"
            request.setValue("audio/flac", forHTTPHeaderField: "Content-Type")
            guard let (body, response) = try? await URLSession.shared.upload(for: request, from: audio),
                  (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
            return (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["utterances"] as? Int
        }
        var perUpload = 0, before = 0
        var generator = SplitMix64(seed: KillAnywhereTests.seed)
        for point in 0..<KillAnywhereTests.killPoints {
            let (server, port) = try Self.startServer(["--profiles", database])
            defer { if server.isRunning { server.terminate() } }
            if point == 0 {
                perUpload = try #require(await learn(port))
                #expect(perUpload >= 1)
                before = perUpload
            }
            // Four clients update as fast as the server answers; the server is killed mid-stream.
            let acknowledged = OrderedMaximum()
            let killed = OrderedMaximum()
            let writers = (0..<4).map { _ in
                Task {
                    // Ends once the server is killed; a refusal before that (busy: 503) is retried, so a
                    // loaded machine slows the clients down but does not stop them. (Never cancelled:
                    // cancelling a task inside URLSession's async upload can deadlock swift-corelibs-foundation.)
                    while killed.value == 0 {
                        if let count = await learn(port) { acknowledged.record(count) } else { try? await Task.sleep(for: .milliseconds(50)) }
                    }
                }
            }
            let started = Date()
            let wanted = before + Int(2 + generator.next() % 6) * perUpload
            while acknowledged.value < wanted && Date().timeIntervalSince(started) < 600 { try await Task.sleep(for: .milliseconds(5)) }
            let moment = Int(generator.next() % 150)
            try await Task.sleep(for: .milliseconds(moment))
            killed.record(1)
            kill(server.processIdentifier, SIGKILL)
            while server.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            for writer in writers { await writer.value }
            let seenBeforeTheKill = acknowledged.value
            #expect(seenBeforeTheKill >= wanted, "the clients should have been answered before the kill")

            let (restarted, newPort) = try Self.startServer(["--profiles", database])
            defer { if restarted.isRunning { restarted.terminate() } }
            let summary = try await Self.get(newPort, "/v1/profiles/busy")
            let utterances = summary.body["utterances"] as? Int ?? -1
            #expect(summary.status == 200, "\(summary)")
            #expect(utterances >= seenBeforeTheKill, "kill \(point) (\(moment) ms late): an acknowledged update was lost: \(utterances) < \(seenBeforeTheKill)")
            #expect(utterances % perUpload == 0, "kill \(point): an update is there in part: \(utterances) utterances, \(perUpload) per upload")
            #expect(await learn(newPort) == utterances + perUpload)
            before = utterances + perUpload
            restarted.terminate()
            restarted.waitUntilExit()
        }
    }

    /// The first lines `ser serve ARGUMENTS --port 0` prints, up to the one that says where it serves.
    static func startupLines(_ arguments: [String]) throws -> String {
        let (process, errors) = try launch(arguments)
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var printed = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !printed.contains("serving") {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            printed += String(decoding: data, as: UTF8.self)
        }
        return printed
    }

    @Test func aNetworkAddressIsServedWithAWarningUnlessAllowed() throws {
        let open = try Self.startupLines(["--host", "0.0.0.0"])
        #expect(open.contains("http://0.0.0.0:"), "\(open)")
        #expect(open.contains("warning: --host 0.0.0.0 is not a loopback address") && open.contains("/v1/profiles"), "\(open)")
        let allowed = try Self.startupLines(["--host", "0.0.0.0", "--allow-remote"])
        #expect(allowed.contains("http://0.0.0.0:") && !allowed.contains("warning"), "\(allowed)")
        let loopback = try Self.startupLines(["--host", "127.0.0.1"])
        #expect(loopback.contains("http://127.0.0.1:") && !loopback.contains("warning"), "\(loopback)")
    }

    @Test func badOptionsAreUsageErrors() throws {
        #expect(try SERRun(["serve", "--port", "70000"]).status == 2)
        #expect(try SERRun(["serve", "--max-upload-mb", "0"]).status == 2)
        let missing = try SERRun(["serve", "--model", "/nonexistent/model.safetensors"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/model.safetensors"))
    }
}

/// The largest count any client was answered with, shared between the clients' tasks.
final class OrderedMaximum: @unchecked Sendable {
    private let lock = NSLock()
    private var largest = 0
    func record(_ value: Int) { lock.withLock { largest = max(largest, value) } }
    var value: Int { lock.withLock { largest } }
}
