import Foundation
import ArgumentParser
import Dispatch
import Logging
import SEREncoder
import SERFeatures
import SERRecognition
import SERServer
import SERSpeakers
import SERSupport

/// `ser serve`: the web page and the HTTP/WebSocket API.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the web page and the HTTP/WebSocket API.",
        discussion: """
        Opens a page where anyone can drop, choose or record a recording (or stream the \
        microphone live) and see the emotion probabilities, gender, waveform, mel \
        spectrogram and, for long files, the timeline. The same answers are an API:

          POST /v1/predict      audio as the body (any format ser reads) or a multipart
                                form field "file"; ?segments=, ?window=&hop=,
                                ?min_confidence=, ?visuals=true. Returns ser predict's JSON.
          GET  /v1/model        labels, features, training data, metrics, model card
          GET  /healthz         alive: status, inference load (200 while the process runs)
          GET  /readyz          ready for traffic: 200, or 503 once shutdown has begun
          GET  /openapi.json    the OpenAPI 3.1 description
          WS   /v1/stream       PCM in (format in the first message), ser listen's events out;
                                {"type": "reset"} forgets the voice it adapted to
          PUT  /v1/profiles/ID  audio as the body: learn it into speaker profile ID
          GET  /v1/profiles/ID  the profile's utterance count and times (never its statistics)
          DELETE /v1/profiles/ID
                                ?profile=ID on /v1/predict adapts the answer to the profile,
                                &learn=true also adds the recording to it

        Errors are JSON {"error", "status"}: 400 malformed, 413 over --max-upload-mb, \
        415 not audio, 422 undecodable, 503 busy (with Retry-After). At most \
        --max-concurrent recognitions run at once; others wait in line. Logs go to \
        standard error (--log-level). SIGINT or SIGTERM finish the requests in flight \
        and stop; behind a load balancer give --drain-seconds, so /readyz fails while \
        requests are still served and the balancer stops sending new ones first.

        Several replicas: the server keeps no state in memory that another replica \
        needs (streams adapt within their own connection). Point every replica at one \
        profile database with --profiles: a SQLite file on a local disk for replicas of \
        one host, a postgres:// URL for replicas on many; then spread requests freely.

        Examples:
          ser serve                                  http://127.0.0.1:8080
          ser serve --host 0.0.0.0 --port 9000 --allow-remote   open to the network
          curl --data-binary @take.wav http://127.0.0.1:8080/v1/predict
          curl -F file=@interview.mp4 'http://127.0.0.1:8080/v1/predict?segments=true'
        """
    )

    @Option(help: "Address to listen on (0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Flag(help: "Confirm that a non-loopback --host is meant. Without it, ser serve warns what such an address exposes (the API and speaker profiles, unauthenticated).")
    var allowRemote = false
    @Option(help: "Port to listen on (0 picks a free one and prints it).") var port = 8080
    @Option(help: ArgumentHelp("The model to serve (default: the shipped model).", valueName: "model")) var model: String?
    @Option(help: "Largest upload accepted, in megabytes.") var maxUploadMb: Double = 50
    @Option(help: "Recognitions run at once (default: one per core).") var maxConcurrent: Int?
    @Option(help: "Seconds a request may wait for a free slot before it gets 503.") var queueTimeout: Double = 60
    @Option(help: "Seconds of silence from a client before its connection is closed.") var idleTimeout: Double = 30
    @Option(help: ArgumentHelp("Requests per second allowed from one client address, in bursts of twice that; more get 429 with Retry-After. 0 turns the limit off. Default: off on a loopback --host, 10 on any other.", valueName: "n"))
    var rateLimit: Double?
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"
    @Option(help: ArgumentHelp("Where speaker profiles live (PUT/GET/DELETE /v1/profiles/{id}, ?profile= on predictions): a SQLite file, shared by the replicas of one host, or postgres://USER:PASSWORD@HOST:PORT/DATABASE for replicas on many hosts. Default: profiles.sqlite in ser's data directory ($SER_HOME, else ~/.local/share/ser).", valueName: "file|postgres://…"))
    var profiles: String?
    @Option(help: ArgumentHelp("On SIGTERM/SIGINT, keep serving this long with /readyz answering 503 before closing the listener. Behind a load balancer or in Kubernetes set it above the readiness probe's period, so no request meets a closed port.", valueName: "seconds"))
    var drainSeconds: Double = 0

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535.") }
        if !(maxUploadMb > 0 && maxUploadMb <= 4096) { throw ValidationError("--max-upload-mb must be between 0 and 4096.") }
        if let maxConcurrent, !(1...256).contains(maxConcurrent) { throw ValidationError("--max-concurrent must be between 1 and 256.") }
        if !(queueTimeout > 0 && idleTimeout > 0) { throw ValidationError("timeouts must be positive.") }
        if let rateLimit, !(0...100_000).contains(rateLimit) { throw ValidationError("--rate-limit must be between 0 (off) and 100000 requests per second.") }
        if !(0...3600).contains(drainSeconds) { throw ValidationError("--drain-seconds must be between 0 and 3600.") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.") }
    }

    func run() throws {
        if !allowRemote && !ServerConfiguration.isLoopback(host: host) {
            Terminal.printError("ser: warning: " + ServerConfiguration.exposureWarning(host: host))
        }
        let modelPath = try model ?? DefaultModel.path()
        let emotionModel = try EmotionModel(contentsOf: modelPath)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxUploadBytes = Int(maxUploadMb * 1_048_576)
        if let maxConcurrent { configuration.maxConcurrentInferences = maxConcurrent }
        configuration.queueTimeout = .milliseconds(Int(queueTimeout * 1000))
        configuration.idleTimeout = .milliseconds(Int(idleTimeout * 1000))
        configuration.drainDelay = .milliseconds(Int(drainSeconds * 1000))
        configuration.rateLimit = ServerConfiguration.defaultRateLimit(host: host, requested: rateLimit)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ser.serve")
        // Profiles need a model that adapts to speakers; the store is opened for its features.
        var store: (any SpeakerProfileStore)?
        if emotionModel.usesSpeakerStatistics {
            let features = emotionModel.pipeline.featureIdentity, dimension = emotionModel.preset.dimension
            if let profiles, profiles.hasPrefix("postgres://") || profiles.hasPrefix("postgresql://") {
                guard let location = PostgresProfileStore.Location(url: profiles) else {
                    throw ValidationError("--profiles: \(profiles) is not postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.")
                }
                do { store = try PostgresProfileStore(location: location, features: features, dimension: dimension, logger: logger) } catch {
                    throw CommandFailure("\(error)")
                }
            } else {
                store = try ProfileStore(path: profiles ?? DataDirectory.path + "/profiles.sqlite", features: features, dimension: dimension)
            }
        }
        let server = EmotionServer(service: PredictionService(model: emotionModel, modelPath: modelPath, profiles: store),
                                   configuration: configuration)
        let host = host
        let outcome = ServeOutcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run(logger: logger) { boundPort in
                    Terminal.printError("ser: serving \(URL(fileURLWithPath: modelPath).lastPathComponent) at http://\(host):\(boundPort)/ (Ctrl-C stops)")
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            throw CommandFailure("the server stopped: \(error)")
        }
    }
}

/// How the server task ended, handed back to the waiting command.
private final class ServeOutcome: @unchecked Sendable {
    var error: (any Error)?
}
