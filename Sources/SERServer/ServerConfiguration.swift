import Foundation

/// How `ser serve` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    /// Address to bind (127.0.0.1 keeps the server on this machine; 0.0.0.0 opens it to the network).
    public var host = "127.0.0.1"
    /// Port to bind; 0 asks the system for a free one (the bound port is reported on start).
    public var port = 8080
    /// A new connection must send a whole request head within this long (and 64 KB),
    /// or it is closed: the idle timeout only starts once a head has arrived.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// Largest request body accepted, in bytes; larger uploads get 413.
    public var maxUploadBytes = 50 * 1024 * 1024
    /// Most recordings one `POST /v1/predict/batch` may hold (their bytes
    /// together stay under `maxUploadBytes`).
    public var maxBatchFiles = 64
    /// Recognitions run at once; more requests wait in line (default: one per core).
    public var maxConcurrentInferences = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Requests allowed to wait for a free slot; beyond this the server answers 503 at once.
    public var maxQueuedInferences = 256
    /// Longest a request may wait for a free slot before it gets 503.
    public var queueTimeout: Duration = .seconds(60)
    /// A connection that sends nothing for this long is closed (slow or stalled clients).
    public var idleTimeout: Duration = .seconds(30)
    /// An upload still arriving after this long must average at least
    /// `minimumUploadBytesPerSecond`, or it gets 408: a client trickling a body
    /// byte by byte cannot hold a connection and its buffer for ever.
    public var slowUploadGrace: Duration = .seconds(30)
    /// The slowest average upload rate (bytes per second) accepted after `slowUploadGrace`.
    public var minimumUploadBytesPerSecond = 8_192
    /// Largest WebSocket message accepted, in bytes.
    public var maxStreamMessageBytes = 1 << 20
    /// Requests allowed per client address (every route and WebSocket upgrade);
    /// over it a client gets 429 with `Retry-After`. Nil: no limit. `ser serve`
    /// sets none on a loopback address and 10 per second (bursts of 20) on any other.
    public var rateLimit: RateLimit?
    /// Recordings longer than this get no waveform or spectrogram in `visuals` answers.
    public var maxVisualSeconds = 600.0

    /// On SIGTERM/SIGINT, how long `/readyz` answers 503 while requests are still
    /// served, before the server stops accepting: long enough for a load balancer's
    /// readiness probe to take the replica out of rotation (zero stops at once).
    public var drainDelay: Duration = .zero

    /// The defaults `ser serve` starts from.
    public init() {}

    /// Whether `host` keeps the server on this machine: an address in 127.0.0.0/8, `::1`, or `localhost`.
    public static func isLoopback(host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" || bare == "0:0:0:0:0:0:0:1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { part in UInt8(part).map { _ in true } ?? false }
    }

    /// The rate limit for `host`: `requested` requests per second when given (0: none),
    /// else none on a loopback address and 10 per second on any other.
    public static func defaultRateLimit(host: String, requested: Double?) -> RateLimit? {
        if let requested { return requested > 0 ? RateLimit(perSecond: requested) : nil }
        return isLoopback(host: host) ? nil : RateLimit(perSecond: 10)
    }

    /// What a server on a non-loopback `host` exposes, as the warning `ser serve` prints without `--allow-remote`.
    public static func exposureWarning(host: String) -> String {
        "--host \(host) is not a loopback address: every machine that can reach this one can send recordings to "
            + "/v1/predict and /v1/stream, and read, overwrite and delete speaker profiles (/v1/profiles), with no "
            + "authentication. Serve behind a proxy that authenticates, or pass --allow-remote to say this is meant."
    }
}
