import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SERSupport
import Synchronization

/// How many requests one client address may make: `perSecond` on average, in
/// bursts of up to `burst` (a token bucket per address).
public struct RateLimit: Sendable, Equatable {
    /// Requests per second one address may make on average.
    public var perSecond: Double
    /// How many requests an idle address may make at once.
    public var burst: Int

    /// A limit of `perSecond` requests per second, with bursts of `burst` (default: twice the rate, at least 1).
    public init(perSecond: Double, burst: Int? = nil) {
        self.perSecond = perSecond
        self.burst = max(1, burst ?? Int((2 * perSecond).rounded(.up)))
    }
}

/// Admits or refuses each client address's requests by its `RateLimit`. The
/// table of addresses is bounded: buckets that have refilled are forgotten
/// when it grows past `maximumClients`, so a flood of addresses cannot grow memory.
final class ClientRateLimiter: Sendable {
    let limit: RateLimit
    let maximumClients: Int
    private struct Bucket { var tokens: Double; var updated: ContinuousClock.Instant }
    private let buckets = Mutex<[String: Bucket]>([:])

    init(_ limit: RateLimit, maximumClients: Int = 10_000) {
        self.limit = limit
        self.maximumClients = maximumClients
    }

    /// Addresses the table holds now.
    var clientCount: Int { buckets.withLock { $0.count } }

    /// Nil when `client` may make a request now (and it is counted); otherwise how long until it may.
    func admit(_ client: String, now: ContinuousClock.Instant = .now) -> Duration? {
        let rate = limit.perSecond, capacity = Double(limit.burst)
        return buckets.withLock { table in
            var bucket = table[client] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, bucket.updated.duration(to: now).seconds) * rate)
            bucket.updated = now
            defer {
                table[client] = bucket
                if table.count > maximumClients { Self.forgetRefilled(&table, now: now, rate: rate, capacity: capacity, maximum: maximumClients) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .milliseconds(Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
        }
    }

    /// Drops the buckets that would be full by now (their clients lose nothing), then, if still
    /// over `maximum`, the longest idle down to three quarters of it.
    private static func forgetRefilled(_ table: inout [String: Bucket], now: ContinuousClock.Instant, rate: Double,
                                       capacity: Double, maximum: Int) {
        table = table.filter { $0.value.tokens + $0.value.updated.duration(to: now).seconds * rate < capacity }
        guard table.count > maximum else { return }
        let excess = table.count - maximum * 3 / 4
        for key in table.sorted(by: { $0.value.updated < $1.value.updated }).prefix(excess).map(\.key) { table[key] = nil }
    }
}


/// Answers 429 (with `Retry-After`) to a client address over its rate limit.
struct RateLimitMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let limiter: ClientRateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        if let wait = limiter.admit(client) {
            let seconds = max(1, Int(wait.seconds.rounded(.up)))
            throw APIError(.tooManyRequests,
                           "more than \(limiter.limit.perSecond) requests per second from \(client); retry after \(seconds) s",
                           headers: [.retryAfter: String(seconds)])
        }
        return try await next(request, context)
    }
}
