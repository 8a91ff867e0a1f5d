import Foundation
import SERKernels
import SERNumerics
import Synchronization

/// Short-time Fourier transform settings, with librosa 0.11's defaults.
public struct STFTConfiguration: Equatable, Hashable, Sendable, Codable {
    /// FFT size in samples (`n_fft`).
    public var fftSize: Int = 2048
    /// Samples between frames (`hop_length`).
    public var hopLength: Int = 512
    /// Window length (`win_length`); the Hann window is centred in the FFT frame.
    public var windowLength: Int?
    /// Pad `fftSize / 2` zeros at both ends so frame `t` is centred at `t · hop`.
    public var centered: Bool = true

    public init(fftSize: Int = 2048, hopLength: Int = 512, windowLength: Int? = nil, centered: Bool = true) {
        self.fftSize = fftSize
        self.hopLength = hopLength
        self.windowLength = windowLength
        self.centered = centered
    }

    func validate() throws {
        guard fftSize >= 2 else { throw FeatureError.invalidParameter("n_fft must be at least 2 (got \(fftSize))") }
        guard hopLength >= 1 else { throw FeatureError.invalidParameter("hop_length must be positive (got \(hopLength))") }
        if let windowLength, !(1...fftSize).contains(windowLength) {
            throw FeatureError.invalidParameter("win_length must be between 1 and n_fft (got \(windowLength))")
        }
    }

    /// Frequency bins per frame: `1 + fftSize / 2`.
    public var binCount: Int { fftSize / 2 + 1 }

    /// Frames for a signal of `sampleCount` samples, as librosa counts them.
    public func frameCount(forSamples sampleCount: Int) -> Int {
        let padded = centered ? sampleCount + 2 * (fftSize / 2) : sampleCount
        return padded < fftSize ? 0 : 1 + (padded - fftSize) / hopLength
    }

    /// Centre frequency of each bin in Hz (`librosa.fft_frequencies`).
    public func binFrequencies(sampleRate: Double) -> [Double] {
        let spacing = 1.0 / (Double(fftSize) * (1.0 / sampleRate))  // numpy.fft.rfftfreq's arithmetic
        return (0..<binCount).map { Double($0) * spacing }
    }

    /// The periodic Hann window of `windowLength`, zero-padded to `fftSize` and centred
    /// (`get_window('hann', win_length, fftbins=True)` then `pad_center`), in double
    /// precision as librosa keeps it.
    func window() -> [Double] {
        let length = windowLength ?? fftSize
        let key = SIMD2(fftSize, length)
        if let cached = Self.windows.withLock({ $0[key] }) { return cached }
        var window = [Double](repeating: 0, count: fftSize)
        let offset = (fftSize - length) / 2
        for n in 0..<length {
            window[offset + n] = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(length))
        }
        Self.windows.withLock { $0[key] = window }
        return window
    }

    /// Windows by (FFT size, window length), built once per process.
    private static let windows = Mutex<[SIMD2<Int>: [Double]]>([:])
}

/// The magnitude spectrogram of a signal: the one STFT every spectral feature
/// shares. Stored frame by frame (`frames × bins`) for cache-friendly FFT output;
/// `magnitudes` and `power` give librosa's `bins × frames` layout.
public struct Spectrogram: Sendable {
    public let configuration: STFTConfiguration
    public let sampleRate: Double
    /// Number of frames.
    public let frameCount: Int
    /// Bins per frame.
    public let binCount: Int
    /// |X| for each frame, `frameCount × binCount`, row-major.
    public let frameMajorMagnitudes: [Float]
    /// |X|² for each frame, the same layout (float32 magnitude squared, as
    /// librosa's `np.abs(D)**2`). O(frames × bins): computed from the
    /// magnitudes on each access, so keep the result rather than index it.
    public var frameMajorPower: [Float] { frameMajorMagnitudes.map { $0 * $0 } }
    /// The largest |X| of each frame, found while the frame was computed (so
    /// `piptrack`'s per-frame threshold does not read the whole frame again).
    let frameMaximumMagnitudes: [Float]
    /// The power mel spectrogram the vector kernel computed alongside the STFT
    /// (when asked to), with the configuration it was computed for.
    let fusedMelPower: (configuration: MelConfiguration, power: Matrix)?

    /// Computes the STFT magnitude of `samples` (mono). The FFT runs in double
    /// precision, as librosa's does, unless `precision` is `.single`: about twice
    /// as fast, and the same to float32 round-off except far below the frame's
    /// peak (what spectral contrast's valleys read; see `RealFFT`).
    public init(samples: [Float], sampleRate: Double, configuration: STFTConfiguration = .init(),
                precision: Precision = .double) throws {
        try self.init(samples: samples, sampleRate: sampleRate, configuration: configuration, precision: precision,
                      allowingVectorKernel: true)
    }

    /// As the public initializer; `allowingVectorKernel: false` keeps a
    /// single-precision spectrogram on the portable Swift FFT (tests compare the
    /// two). With `fusedMel`, the vector kernel also applies that mel bank to each
    /// batch of frames while their spectrum is in cache (`melSpectrogram` then
    /// returns it); the other paths ignore it.
    init(samples: [Float], sampleRate: Double, configuration: STFTConfiguration, precision: Precision,
         allowingVectorKernel: Bool, fusedMel: MelConfiguration? = nil) throws {
        try configuration.validate()
        let n = configuration.fftSize
        let frames = configuration.frameCount(forSamples: samples.count)
        guard frames > 0 else {
            throw FeatureError.signalTooShort(frames: samples.count, needed: n, what: "an uncentred STFT with n_fft=\(n)")
        }
        let bins = configuration.binCount
        // Every value is written by the transform.
        var magnitudes = [Float](unsafeUninitializedCapacity: frames * bins) { _, count in count = frames * bins }
        var maxima = [Float](repeating: 0, count: frames)
        var fused: (configuration: MelConfiguration, power: Matrix)?
        switch precision {
        case .double:
            Self.transform(samples, configuration: configuration, window: configuration.window(),
                           magnitudes: &magnitudes, maxima: &maxima)
        case .single:
            let window = configuration.window().map { Float($0) }
            if allowingVectorKernel, let plan = VectorSTFTPlan.forCurrentThread(size: n) {
                let bank = try fusedMel.map { try FilterBankCache.shared.mel($0, sampleRate: sampleRate, fftSize: n) }
                var mel = Matrix(rows: bank?.rows ?? 0, columns: bank == nil ? 0 : frames)
                Self.transform(samples, configuration: configuration, window: window, plan: plan,
                               magnitudes: &magnitudes, maxima: &maxima, bank: bank, bankOutput: &mel.values)
                if let fusedMel, bank != nil { fused = (fusedMel, mel) }
            } else {
                Self.transform(samples, configuration: configuration, window: window,
                               magnitudes: &magnitudes, maxima: &maxima)
            }
        }
        self.configuration = configuration
        self.sampleRate = sampleRate
        self.frameCount = frames
        self.binCount = bins
        self.frameMajorMagnitudes = magnitudes
        self.frameMaximumMagnitudes = maxima
        self.fusedMelPower = fused
    }

    /// The precision of the FFT behind a spectrogram.
    public enum Precision: Sendable {
        /// float64, like numpy's FFT under librosa.
        case double
        /// float32.
        case single
    }

    /// |X| of every frame, like librosa: the complex64 result's float32
    /// magnitude (see `FFTScalar.magnitudes`).
    private static func transform<Scalar: FFTScalar>(_ samples: [Float], configuration: STFTConfiguration, window: [Scalar],
                                                     magnitudes: inout [Float], maxima: inout [Float]) {
        let bins = configuration.binCount
        magnitudes.withUnsafeMutableBufferPointer { out in
            maxima.withUnsafeMutableBufferPointer { frameMaxima in
                forEachSTFTFrame(samples, fftSize: configuration.fftSize, hopLength: configuration.hopLength,
                                 centered: configuration.centered, window: window) { t, re, im in
                    let row = UnsafeMutableRawPointer(out.baseAddress! + t * bins)
                    let reRaw = UnsafeRawPointer(re), imRaw = UnsafeRawPointer(im)
                    let width = MemoryLayout<Scalar>.stride
                    var largest = SIMD4<Float>(repeating: 0)
                    var k = 0
                    while k + 4 <= bins {
                        let magnitude = Scalar.magnitudes(reRaw.loadUnaligned(fromByteOffset: k * width, as: SIMD4<Scalar>.self),
                                                          imRaw.loadUnaligned(fromByteOffset: k * width, as: SIMD4<Scalar>.self))
                        row.storeBytes(of: magnitude, toByteOffset: k * 4, as: SIMD4<Float>.self)
                        largest.replace(with: magnitude, where: magnitude .> largest)
                        k += 4
                    }
                    var frameMaximum = largest.max()
                    while k < bins {
                        let magnitude = Scalar.magnitudes(SIMD4(repeating: re[k]), SIMD4(repeating: im[k]))[0]
                        out[t * bins + k] = magnitude
                        frameMaximum = max(frameMaximum, magnitude)
                        k += 1
                    }
                    frameMaxima[t] = frameMaximum
                }
            }
        }
    }

    /// The single-precision spectrogram by the vector kernel, `SER_STFT_BATCH`
    /// frames per call. Frames that reach into the centring pad are copied,
    /// zero-filled, into scratch rows; the others are read in place. With a
    /// `bank`, its `rows × frames` product with |X|² goes to `bankOutput`.
    private static func transform(_ samples: [Float], configuration: STFTConfiguration, window: [Float], plan: VectorSTFTPlan,
                                  magnitudes: inout [Float], maxima: inout [Float],
                                  bank: BandedFilterBank?, bankOutput: inout [Float]) {
        let n = configuration.fftSize, hop = configuration.hopLength, bins = configuration.binCount
        let pad = configuration.centered ? n / 2 : 0
        let frames = configuration.frameCount(forSamples: samples.count)
        let batch = Int(SER_STFT_BATCH)
        var scratch = [Float](repeating: 0, count: batch * n)
        func run(_ kernelBank: UnsafePointer<ser_banded_bank>?) {
          samples.withUnsafeBufferPointer { signal in
            scratch.withUnsafeMutableBufferPointer { scratch in
              window.withUnsafeBufferPointer { window in
                magnitudes.withUnsafeMutableBufferPointer { out in
                  maxima.withUnsafeMutableBufferPointer { frameMaxima in
                    bankOutput.withUnsafeMutableBufferPointer { bankOut in
                      withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: batch) { starts in
                        var t = 0
                        while t < frames {
                            let count = min(batch, frames - t)
                            for i in 0..<count {
                                let start = (t + i) * hop - pad
                                if start >= 0 && start + n <= signal.count, let base = signal.baseAddress {
                                    starts[i] = base + start
                                } else {
                                    let row = scratch.baseAddress! + i * n
                                    for j in 0..<n {
                                        let index = start + j
                                        row[j] = index >= 0 && index < signal.count ? signal[index] : 0
                                    }
                                    starts[i] = UnsafePointer(row)
                                }
                            }
                            ser_stft_magnitudes(plan.plan, UnsafePointer(starts.baseAddress!), Int32(count), window.baseAddress!,
                                                out.baseAddress! + t * bins, bins, frameMaxima.baseAddress! + t,
                                                kernelBank, bankOut.baseAddress.map { $0 + t }, frames)
                            t += count
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
        if let bank {
            precondition(bankOutput.count == bank.rows * frames, "the bank's output holds \(bank.rows) rows of \(frames) frames")
            bank.withKernelBank { run($0) }
        } else {
            run(nil)
        }
    }

    /// Frame-major values (`frames × bins`), the layout the FFT produces.
    public struct FrameMajor: Sendable {
        public let frameCount: Int
        public let binCount: Int
        public let values: [Float]
        /// Each frame's largest value, found by the STFT.
        let maxima: [Float]

        init(frameCount: Int, binCount: Int, values: [Float], maxima: [Float]) {
            self.frameCount = frameCount
            self.binCount = binCount
            self.values = values
            self.maxima = maxima
        }
    }

    /// |X|, frame-major.
    public var magnitudeFrames: FrameMajor {
        FrameMajor(frameCount: frameCount, binCount: binCount, values: frameMajorMagnitudes, maxima: frameMaximumMagnitudes)
    }

    /// |X|², frame-major (|X|² is monotonic in |X|, so the largest is the largest |X| squared).
    public var powerFrames: FrameMajor {
        FrameMajor(frameCount: frameCount, binCount: binCount, values: frameMajorPower,
                   maxima: frameMaximumMagnitudes.map { $0 * $0 })
    }

    /// |X| as `bins × frames` (librosa's `np.abs(stft(y))`).
    public var magnitudes: Matrix {
        Matrix(rows: frameCount, columns: binCount, values: frameMajorMagnitudes).transposed()
    }

    /// |X|² as `bins × frames` (librosa's `np.abs(stft(y))**2`).
    public var power: Matrix {
        Matrix(rows: frameCount, columns: binCount, values: frameMajorPower).transposed()
    }

    /// Bin centre frequencies in Hz.
    public var binFrequencies: [Double] { configuration.binFrequencies(sampleRate: sampleRate) }
}

/// Calls `body(t, re, im)` with the spectrum (`fftSize/2 + 1` bins, double
/// or single precision) of every frame of `samples`: frame `t` starts at `t·hop`
/// (minus `fftSize/2` when centred, zero-padded outside the signal) and is
/// multiplied by `window` (`fftSize` values) before the FFT.
func forEachSTFTFrame<Scalar: FFTScalar>(_ samples: [Float], fftSize n: Int, hopLength hop: Int, centered: Bool,
                                         window: [Scalar],
                                         _ body: (_ frame: Int, _ re: UnsafePointer<Scalar>, _ im: UnsafePointer<Scalar>) -> Void) {
    let pad = centered ? n / 2 : 0
    let padded = samples.count + 2 * pad
    let frames = padded < n ? 0 : 1 + (padded - n) / hop
    let fft = RealFFT<Scalar>.forCurrentThread(size: n)
    var frame = [Scalar](repeating: 0, count: n)
    var spectrumRe = [Scalar](repeating: 0, count: n / 2 + 1)
    var spectrumIm = [Scalar](repeating: 0, count: n / 2 + 1)
    samples.withUnsafeBufferPointer { signal in
        window.withUnsafeBufferPointer { window in
            frame.withUnsafeMutableBufferPointer { frame in
                spectrumRe.withUnsafeMutableBufferPointer { re in
                    spectrumIm.withUnsafeMutableBufferPointer { im in
                        for t in 0..<frames {
                            let start = t * hop - pad
                            if start >= 0 && start + n <= signal.count {
                                fft.transform(windowing: signal.baseAddress! + start, by: window.baseAddress!,
                                              real: re.baseAddress!, imaginary: im.baseAddress!)
                            } else {
                                for i in 0..<n {
                                    let index = start + i
                                    let sample = (index >= 0 && index < signal.count) ? Scalar(signal[index]) : 0
                                    frame[i] = sample * window[i]
                                }
                                fft.transform(frame.baseAddress!, real: re.baseAddress!, imaginary: im.baseAddress!)
                            }
                            body(t, re.baseAddress!, im.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}

/// The calling thread's plan for the batched AVX2 STFT kernel (`SERKernels`).
final class VectorSTFTPlan {
    /// Whether single-precision spectrograms use the vector kernel where the CPU
    /// runs it (default: yes, unless `SER_PORTABLE_FFT=1` is set). Tests turn it
    /// off to hold the kernel to the portable Swift path.
    static let isEnabled = Atomic<Bool>(ProcessInfo.processInfo.environment["SER_PORTABLE_FFT"] != "1")

    /// Whether this CPU runs the kernels at all.
    static let isSupported = ser_kernels_available() != 0

    /// The plan for `size`, or nil when the kernel is off, the CPU lacks AVX2/FMA,
    /// or `size` is not a power of two of at least 16.
    static func forCurrentThread(size: Int) -> VectorSTFTPlan? {
        guard isSupported, isEnabled.load(ordering: .relaxed) else { return nil }
        return threadCached("ser.VectorSTFTPlan.\(size)") {
            ser_stft_plan_create(Int32(size)).map(VectorSTFTPlan.init(plan:))
        }
    }

    let plan: OpaquePointer

    private init(plan: OpaquePointer) { self.plan = plan }

    deinit { ser_stft_plan_destroy(plan) }
}
