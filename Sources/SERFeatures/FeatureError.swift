/// Why a feature could not be computed.
public enum FeatureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A parameter is out of its valid range.
    case invalidParameter(String)
    /// The signal is too short for the requested analysis.
    case signalTooShort(frames: Int, needed: Int, what: String)
    /// The preset reads a pretrained encoder and none was given.
    case encoderRequired(preset: String)

    public var description: String {
        switch self {
        case .invalidParameter(let reason):
            return reason
        case .signalTooShort(let frames, let needed, let what):
            return "the recording is too short for \(what): \(frames) frames, at least \(needed) needed"
        case .encoderRequired(let preset):
            return "the \(preset) features need the speech encoder; install it with 'ser encoder install'"
        }
    }
}
