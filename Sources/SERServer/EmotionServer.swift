import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import SERRecognition
import ServiceLifecycle
import Synchronization

/// `ser serve`: the web page and the HTTP/WebSocket API over one model.
///
/// Routes: `GET /` (the page, with `/app.js` and `/style.css`), `POST /v1/predict`,
/// `GET /v1/model`, `GET /healthz` (alive), `GET /readyz` (taking traffic),
/// `GET /openapi.json`, `PUT`/`GET`/`DELETE
/// /v1/profiles/{id}` (speaker profiles, with `--profiles`), and the WebSocket
/// `/v1/stream`. Recognition runs on an ``InferencePool`` so event loops stay
/// free; every error reaches the client as JSON (``APIError``).
public struct EmotionServer: Sendable {
    /// Limits, timeouts and rate limits (`ser serve`'s options).
    public let configuration: ServerConfiguration
    /// The model and how it answers.
    public let service: PredictionService
    /// The slots recognitions run in and the line that waits for them.
    public let pool: InferencePool
    private let started = Date()
    /// Set once shutdown has begun: `/readyz` then answers 503.
    private let draining = DrainingFlag()

    /// A server answering with `service`'s model under `configuration`; `run(logger:)` starts it.
    public init(service: PredictionService, configuration: ServerConfiguration = .init()) {
        self.service = service
        self.configuration = configuration
        pool = InferencePool(slots: configuration.maxConcurrentInferences, maxQueued: configuration.maxQueuedInferences,
                             queueTimeout: configuration.queueTimeout)
    }

    /// Runs until SIGINT/SIGTERM (or until the task is cancelled), then finishes
    /// the requests in flight and stops. `onRunning` gets the bound port.
    ///
    /// On the first signal `/readyz` turns to 503 at once, requests go on being
    /// served for `configuration.drainDelay`, then the listener closes and the
    /// requests in flight finish; a second signal skips what is left of the delay.
    public func run(logger: Logger, handlesSignals: Bool = true, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let application = makeApplication(logger: logger, onRunning: onRunning)
        let group = ServiceGroup(services: [application], logger: logger)
        guard handlesSignals else { try await group.run(); return }
        let draining = draining, delay = configuration.drainDelay
        ShutdownSignals.install([SIGTERM, SIGINT]) { _ in
            let first = draining.begin()
            Task {
                if first && delay > .zero {
                    logger.info("draining: /readyz answers 503; stopping in \(delay)")
                    try? await Task.sleep(for: delay)
                }
                await group.triggerGracefulShutdown()
            }
        }
        try await group.run()
    }

    /// Whether the server has begun to shut down.
    public var isDraining: Bool { draining.isSet }

    func makeApplication(logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router(context: ServerRequestContext.self)
        router.middlewares.add(LogRequestsMiddleware(.info))
        router.middlewares.add(JSONErrorMiddleware())
        let limiter = configuration.rateLimit.map { ClientRateLimiter($0) }
        if let limiter { router.middlewares.add(RateLimitMiddleware(limiter: limiter)) }
        addRoutes(to: router)

        let service = service, pool = pool, configuration = configuration
        let idleMilliseconds = Int64(configuration.idleTimeout.components.seconds * 1000
                                     + configuration.idleTimeout.components.attoseconds / 1_000_000_000_000_000)
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                RequestHeadDeadlineChannel(
                    base: HTTP1WebSocketUpgradeChannel(
                        responder: responder,
                        configuration: .init(http1: .init(idleTimeout: .milliseconds(idleMilliseconds)),
                                             ws: .init(maxFrameSize: configuration.maxStreamMessageBytes, autoPing: .enabled(timePeriod: .seconds(300))))
                    ) { head, channel, logger in
                        guard head.path?.split(separator: "?").first == "/v1/stream" else { return .dontUpgrade }
                        // A client over its rate limit is not upgraded; the router then answers it 429.
                        if let limiter, limiter.admit(channel.remoteAddress?.ipAddress ?? "unknown") != nil { return .dontUpgrade }
                        return .upgrade([:]) { inbound, outbound, _ in
                            try await StreamSession.run(inbound: inbound, outbound: outbound, service: service, pool: pool,
                                                        maxMessageBytes: configuration.maxStreamMessageBytes, logger: logger)
                        }
                    },
                    deadline: TimeAmount(configuration.requestHeadTimeout),
                    maximumHeadBytes: 64 * 1024)
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ser"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    private func addRoutes(to router: Router<ServerRequestContext>) {
        let service = service, pool = pool, configuration = configuration, started = started, draining = draining
        router.get("/") { _, _ in WebPage.response(WebPage.html, type: "text/html; charset=utf-8") }
        router.get("/index.html") { _, _ in WebPage.response(WebPage.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in WebPage.response(WebPage.script, type: "text/javascript; charset=utf-8") }
        router.get("/style.css") { _, _ in WebPage.response(WebPage.style, type: "text/css; charset=utf-8") }
        router.get("/healthz") { _, _ in
            let load = await pool.load
            return JSONBody.response(["status": "ok", "draining": draining.isSet, "model": service.modelName, "uptime_seconds": Int(Date().timeIntervalSince(started)),
                                      "inference": ["running": load.running, "queued": load.queued, "slots": pool.slots]])
        }
        router.get("/readyz") { _, _ -> Response in
            if draining.isSet {
                return JSONBody.response(["status": "draining"], status: .serviceUnavailable)
            }
            return JSONBody.response(["status": "ready", "model": service.modelName])
        }
        router.get("/v1/model") { _, _ in JSONBody.response(text: service.modelDocument) }
        router.get("/openapi.json") { _, _ in JSONBody.response(text: OpenAPIDocument.text(maxUploadBytes: configuration.maxUploadBytes)) }
        router.get("/v1/stream") { _, _ -> Response in
            throw APIError(.upgradeRequired, "/v1/stream is a WebSocket: connect with the Upgrade: websocket handshake (see /openapi.json)",
                           headers: [.upgrade: "websocket"])
        }
        router.post("/v1/predict") { request, context -> Response in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let options = try PredictionRequest(query: query)
            let upload = try await Upload.read(request, context: context, configuration: configuration)
            let path = try upload.spool()
            defer { unlink(path) }
            let name = upload.fileName ?? "upload"
            let answer = try await pool.run { try service.predict(path: path, name: name, request: options) }
            return JSONBody.response(text: answer)
        }
        router.post("/v1/predict/batch") { request, context -> Response in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let options = try PredictionRequest(query: query)
            let uploads = try await Upload.readFiles(request, context: context, configuration: configuration, maximum: configuration.maxBatchFiles)
            var files: [(path: String, name: String)] = []
            defer { for file in files { unlink(file.path) } }
            for upload in uploads { files.append((try upload.spool(), upload.fileName ?? "upload")) }
            let batch = files
            let answer = try await pool.run { try service.predictBatch(files: batch, request: options) }
            return JSONBody.response(text: answer)
        }
        router.put("/v1/profiles/:id") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let upload = try await Upload.read(request, context: context, configuration: configuration)
            let path = try upload.spool()
            defer { unlink(path) }
            let name = upload.fileName ?? "upload"
            let answer = try await pool.run { try service.learn(path: path, name: name, into: id) }
            return JSONBody.response(text: answer)
        }
        router.get("/v1/profiles/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            // Off the event loop: a database store blocks until it answers.
            return JSONBody.response(text: try await pool.run { try service.profileSummary(id) })
        }
        router.delete("/v1/profiles/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            try await pool.run { try service.deleteProfile(id) }
            return Response(status: .noContent)
        }
    }
}

/// Turns every error into a JSON answer: ours pass through, the router's
/// (404, 405) get a message, and anything unexpected is logged and answered
/// with a generic 500, never a trace.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The server's paths and the methods each takes, for 405's `Allow`.
    static var routes: [String: String] {
        ["/": "GET", "/index.html": "GET", "/app.js": "GET", "/style.css": "GET", "/healthz": "GET", "/readyz": "GET", "/v1/model": "GET",
         "/openapi.json": "GET", "/v1/predict": "POST", "/v1/predict/batch": "POST", "/v1/stream": "GET"]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound:
                let path = request.uri.path
                if let allowed = Self.routes[path] ?? (path.hasPrefix("/v1/profiles/") && path.count > 13 ? "GET, PUT, DELETE" : nil) {
                    throw APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allowed)",
                                   headers: [.allow: allowed])
                }
                message = "no such route: \(request.method) \(request.uri.path); see /openapi.json"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path); see /openapi.json"
            case .contentTooLarge: message = "the request body is too large"
            default: message = error.body ?? error.status.reasonPhrase
            }
            throw APIError(error.status, message)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "internal error while handling the request; the server logged it")
        }
    }
}

/// A flag set once, read from any thread.
final class DrainingFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    /// Sets the flag; true for the call that set it.
    func begin() -> Bool { value.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
}
