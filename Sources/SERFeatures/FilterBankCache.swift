import SERNumerics
import Synchronization

/// Filter banks depend only on their settings, the sample rate and the FFT size;
/// they are built once per process and shared by every thread.
final class FilterBankCache: Sendable {
    static let shared = FilterBankCache()

    private struct MelKey: Hashable { var configuration: MelConfiguration; var sampleRate: Double; var fftSize: Int }
    private struct ChromaKey: Hashable { var chromaCount: Int; var tuning: Double; var sampleRate: Double; var fftSize: Int }

    private struct DCTKey: Hashable { var configuration: MFCCConfiguration; var inputCount: Int }

    private let dctMatrices = Mutex<[DCTKey: Matrix]>([:])
    private let melBanks = Mutex<[MelKey: BandedFilterBank]>([:])
    private let chromaBanks = Mutex<[ChromaKey: Matrix]>([:])

    func mel(_ configuration: MelConfiguration, sampleRate: Double, fftSize: Int) throws -> BandedFilterBank {
        let key = MelKey(configuration: configuration, sampleRate: sampleRate, fftSize: fftSize)
        if let bank = melBanks.withLock({ $0[key] }) { return bank }
        let bank = BandedFilterBank(try configuration.filterBank(sampleRate: sampleRate, fftSize: fftSize))
        melBanks.withLock { $0[key] = bank }
        return bank
    }

    /// Tunings vary per file; only the few most recent distinct ones are kept.
    func chroma(_ configuration: ChromaConfiguration, tuning: Double, sampleRate: Double, fftSize: Int) throws -> Matrix {
        let key = ChromaKey(chromaCount: configuration.chromaCount, tuning: tuning, sampleRate: sampleRate, fftSize: fftSize)
        if let bank = chromaBanks.withLock({ $0[key] }) { return bank }
        let bank = try configuration.filterBank(sampleRate: sampleRate, fftSize: fftSize, tuning: tuning)
        chromaBanks.withLock { banks in
            if banks.count > 256 { banks.removeAll() }
            banks[key] = bank
        }
        return bank
    }

    /// The MFCC's DCT-II matrix for `inputCount` mel bands.
    func dct(_ configuration: MFCCConfiguration, inputCount: Int) throws -> Matrix {
        let key = DCTKey(configuration: configuration, inputCount: inputCount)
        if let matrix = dctMatrices.withLock({ $0[key] }) { return matrix }
        let matrix = try configuration.transform(inputCount: inputCount)
        dctMatrices.withLock { $0[key] = matrix }
        return matrix
    }
}
