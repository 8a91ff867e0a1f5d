import Foundation
import SERNumerics

/// MFCC settings (`librosa.feature.mfcc` arguments beyond the mel spectrogram's).
public struct MFCCConfiguration: Equatable, Hashable, Sendable, Codable {
    public var coefficientCount: Int = 20
    /// Cepstral liftering `1 + (L/2)·sin(π·k/L)`; 0 disables it.
    public var lifter: Double = 0

    public init(coefficientCount: Int = 20, lifter: Double = 0) {
        self.coefficientCount = coefficientCount
        self.lifter = lifter
    }

    /// The orthonormal DCT-II rows `0..<coefficientCount` for `inputCount` inputs,
    /// with liftering folded in.
    func transform(inputCount n: Int) throws -> Matrix {
        guard (1...n).contains(coefficientCount) else {
            throw FeatureError.invalidParameter("n_mfcc must be between 1 and n_mels=\(n) (got \(coefficientCount))")
        }
        guard lifter >= 0 else { throw FeatureError.invalidParameter("lifter must be ≥ 0 (got \(lifter))") }
        var matrix = Matrix(rows: coefficientCount, columns: n)
        for k in 0..<coefficientCount {
            let scale = k == 0 ? (1 / Double(n)).squareRoot() : (2 / Double(n)).squareRoot()
            let lift = lifter > 0 ? 1 + (lifter / 2) * sin(Double.pi * Double(k + 1) / lifter) : 1
            for i in 0..<n {
                matrix[k, i] = Float(scale * lift * cos(Double.pi * Double(k) * Double(2 * i + 1) / Double(2 * n)))
            }
        }
        return matrix
    }

    /// MFCCs of a mel power spectrogram (`melCount × frames`): its dB values through the DCT.
    public func coefficients(ofMelPower mel: Matrix, decibels: DecibelScaling = .init()) throws -> Matrix {
        let logMel = decibels.powerToDecibels(mel)
        return multiply(try FilterBankCache.shared.dct(self, inputCount: logMel.rows), logMel)
    }
}
