import Foundation

/// How ser renders JSON everywhere: sorted keys, unescaped slashes, numbers
/// rounded where the wire types round them (probabilities and confidences to
/// 4 decimals, times to milliseconds). The shapes themselves are the wire types
/// (`PredictionAnswer`, `LiveEventAnswer`, …), rendered by `WireJSON`.
public enum RecognitionJSON {
    /// Renders a JSON tree with sorted keys and unescaped slashes.
    public static func text(_ object: Any, pretty: Bool = false) -> String {
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: options) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `value` rounded to `digits` decimals.
    public static func rounded(_ value: Double, _ digits: Int) -> Double {
        guard value.isFinite else { return 0 }
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
