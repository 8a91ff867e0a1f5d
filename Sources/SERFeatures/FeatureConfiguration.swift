import Dispatch
import Foundation
import SERAudio

/// Everything that decides a feature's numbers. Two equal configurations give
/// equal features, which is what a feature cache keys on.
public struct FeatureConfiguration: Equatable, Hashable, Sendable, Codable {
    /// Audio is resampled to this rate first (librosa's default 22050; the models use 16000).
    public var sampleRate: Int = 22050
    public var stft = STFTConfiguration()
    public var mel = MelConfiguration()
    public var mfcc = MFCCConfiguration()
    public var chroma = ChromaConfiguration()
    /// f0 range and framing for `yin`/`pyin`; a nil hop follows `stft.hopLength` so pitch frames line up with the STFT's.
    public var pitch = PitchConfiguration()

    public init(sampleRate: Int = 22050, stft: STFTConfiguration = .init(), mel: MelConfiguration = .init(),
                mfcc: MFCCConfiguration = .init(), chroma: ChromaConfiguration = .init(),
                pitch: PitchConfiguration = .init()) {
        self.sampleRate = sampleRate
        self.stft = stft
        self.mel = mel
        self.mfcc = mfcc
        self.chroma = chroma
        self.pitch = pitch
    }

    /// The pitch settings with the STFT's hop when none is given.
    var alignedPitch: PitchConfiguration {
        var aligned = pitch
        if aligned.hopLength == nil { aligned.hopLength = stft.hopLength }
        return aligned
    }
}
