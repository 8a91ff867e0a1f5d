import Hummingbird

/// The page `ser serve` serves at `/`: drop, choose or record a recording, or
/// stream the microphone live, and see the probabilities, gender, waveform,
/// mel spectrogram and timeline. Everything is served by the binary itself
/// (no CDN, works offline); the script talks only to this server's API.
enum WebPage {
    static func response(_ text: String, type: String) -> Response {
        Response(status: .ok,
                 headers: [.contentType: type, .cacheControl: "no-cache", .xContentTypeOptions: "nosniff",
                           .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The page, its style sheet and its script, embedded in the binary at build time
    /// from `Resources/` (edit and lint them there as HTML, CSS and JavaScript).
    static let html = String(decoding: PackageResources.page_html, as: UTF8.self)
    static let style = String(decoding: PackageResources.style_css, as: UTF8.self)
    static let script = String(decoding: PackageResources.app_js, as: UTF8.self)
}
