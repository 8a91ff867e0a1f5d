import Foundation
import SERNumerics
import SERTestSupport
import Testing
@testable import SERFeatures

@Suite struct RealFFTTests {
    /// The DFT by its definition, in double precision.
    func directDFT(_ x: [Double]) -> (re: [Double], im: [Double]) {
        let n = x.count
        var re = [Double](repeating: 0, count: n / 2 + 1), im = re
        for k in 0...(n / 2) {
            for t in 0..<n {
                let angle = -2 * Double.pi * Double(k * t % n) / Double(n)
                re[k] += x[t] * cos(angle)
                im[k] += x[t] * sin(angle)
            }
        }
        return (re, im)
    }

    @Test(arguments: [2, 4, 8, 64, 512, 2048, 3, 5, 12, 100, 400, 441, 1000])
    func matchesTheDirectDFT(size: Int) {
        var state: UInt64 = UInt64(size) &* 2654435761
        let x: [Double] = (0..<size).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) - 0.5
        }
        let fft = RealFFT<Double>(size: size)
        var re = [Double](repeating: 0, count: fft.binCount), im = re
        x.withUnsafeBufferPointer { input in
            re.withUnsafeMutableBufferPointer { r in
                im.withUnsafeMutableBufferPointer { i in fft.transform(input.baseAddress!, real: r.baseAddress!, imaginary: i.baseAddress!) }
            }
        }
        let expected = directDFT(x)
        let worst = (0..<fft.binCount).map { max(abs(re[$0] - expected.re[$0]), abs(im[$0] - expected.im[$0])) }.max()!
        #expect(worst < 1e-10 * Double(size), "size \(size): worst error \(worst)")
    }

    @Test func sineLandsInItsBin() {
        let n = 1024
        let x = (0..<n).map { cos(2 * Double.pi * 37 * Double($0) / Double(n)) }
        let fft = RealFFT<Double>(size: n)
        var re = [Double](repeating: 0, count: fft.binCount), im = re
        x.withUnsafeBufferPointer { input in
            re.withUnsafeMutableBufferPointer { r in
                im.withUnsafeMutableBufferPointer { i in fft.transform(input.baseAddress!, real: r.baseAddress!, imaginary: i.baseAddress!) }
            }
        }
        #expect(abs(re[37] - Double(n) / 2) < 1e-9)
        let leakage = (0..<fft.binCount).filter { $0 != 37 }.map { hypot(re[$0], im[$0]) }.max()!
        #expect(leakage < 1e-9)
    }
}

@Suite struct FeatureBehaviourTests {
    @Test func frameCountsFollowLibrosa() {
        let stft = STFTConfiguration()
        #expect(stft.frameCount(forSamples: 22050) == 44)   // 1 + 22050 // 512
        #expect(stft.frameCount(forSamples: 1) == 1)
        #expect(STFTConfiguration(centered: false).frameCount(forSamples: 2047) == 0)
        #expect(STFTConfiguration(centered: false).frameCount(forSamples: 2048 + 511) == 1)
    }

    @Test func toneEnergyIsInTheRightMelBandAndChromaClass() throws {
        // A4 = 440 Hz: chroma class A (index 9 with C first); 1 kHz is mel 15 of 40 (Slaney, 0–11025 Hz).
        let spectrogram = try Spectrogram(samples: TestSignals.tone(440, sampleRate: 22050, seconds: 1), sampleRate: 22050)
        let (chroma, tuning) = try spectrogram.chroma()
        #expect(abs(tuning) <= 0.03, "a 440 Hz tone is in tune to within the 0.01-bin histogram and interpolation bias")
        let middle = chroma.columns / 2
        let strongest = (0..<12).max { chroma[$0, middle] < chroma[$1, middle] }
        #expect(strongest == 9)
        #expect(chroma[9, middle] == 1, "∞-normalised per frame")

        let mel = try Spectrogram(samples: TestSignals.tone(1000, sampleRate: 22050, seconds: 1), sampleRate: 22050).melSpectrogram(MelConfiguration(melCount: 40))
        let band = (0..<40).max { mel[$0, 20] < mel[$1, 20] }!
        let edges = MelScale.slaney.frequencies(count: 42, minimum: 0, maximum: 11025)
        #expect(edges[band] < 1000 && 1000 < edges[band + 2])
    }

    @Test func melScalesRoundTripAndMatchKnownValues() {
        for scale in [MelScale.slaney, .htk] {
            for hz in [0.0, 100, 999, 1000, 4000, 11025] {
                #expect(abs(scale.hertz(fromMel: scale.mel(fromHertz: hz)) - hz) < 1e-9)
            }
        }
        #expect(abs(MelScale.slaney.mel(fromHertz: 1000) - 15) < 1e-12)
        #expect(abs(MelScale.htk.mel(fromHertz: 700) - 2595 * log10(2)) < 1e-9)
    }

    @Test func decibelsFloorAtTheDynamicRange() {
        let power = Matrix(rows: 1, columns: 4, values: [1, 1e-3, 1e-12, 0])
        let db = DecibelScaling().powerToDecibels(power)
        #expect(db.values[0] == 0 && abs(db.values[1] + 30) < 1e-4)
        #expect(db.values[2] == -80 && db.values[3] == -80)
        let unfloored = DecibelScaling(dynamicRange: nil).powerToDecibels(power)
        #expect(abs(unfloored.values[2] + 100) < 1e-3 && abs(unfloored.values[3] + 100) < 1e-3)
        // An infinite value (declined by the vector kernel) takes the portable path to the same kind of answer.
        let infinite = DecibelScaling(dynamicRange: nil)
            .powerToDecibels(Matrix(rows: 1, columns: 9, values: [1, 10, 100, .infinity, 1, 1, 1, 1, 1e-3]))
        #expect(infinite.values[3] == .infinity && abs(infinite.values[1] - 10) < 1e-4 && abs(infinite.values[8] + 30) < 1e-4)
    }

    /// The eight-at-a-time logarithm against double-precision log10, over every
    /// binade a spectrogram can hold, with a zero floor (the one-at-a-time path)
    /// and NaN mixed in.
    @Test func decibelsMatchTheLogarithmOverTheWholeRange() {
        var state: UInt64 = 12345
        let values: [Float] = (0..<4096).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let mantissa = 1 + Float(state >> 41) / Float(1 << 23)
            let exponent = Int((state >> 8) % 230) - 110   // 2^-110 … 2^119: all above the floor
            return mantissa * Float(pow(2.0, Double(exponent)))
        }
        let scaling = DecibelScaling(minimum: 1e-36, dynamicRange: nil)
        let db = scaling.powerToDecibels(Matrix(rows: 1, columns: values.count, values: values))
        // Within about an ulp of the answer (3e-5 dB at 350 dB) plus a hair.
        let worst = zip(values, db.values).map { value, ours in
            let exact = 10 * log10(Double(value))
            return abs(Double(ours) - exact) / (2e-6 + 3e-7 * abs(exact))
        }.max()!
        #expect(worst <= 1, "worst \(worst) of the tolerance")

        // A zero among the values: that block and the rest go one at a time, to the same answer.
        var withZero = values
        withZero[13] = 0
        let floored = DecibelScaling(minimum: 0, dynamicRange: nil)
            .powerToDecibels(Matrix(rows: 1, columns: withZero.count, values: withZero))
        #expect(floored.values[13] == -.infinity)
        #expect(zip(floored.values.dropFirst(14), db.values.dropFirst(14)).allSatisfy { abs($0 - $1) <= 2e-6 + 3e-7 * abs($1) })
    }

    @Test func deltaOfALinearRampIsItsSlope() throws {
        let ramp = Matrix(rows: 2, columns: 20, values: (0..<40).map { Float($0 % 20) * ($0 < 20 ? 0.5 : -2) })
        let first = try delta(ramp)
        #expect(first.row(0).allSatisfy { abs($0 - 0.5) < 1e-5 })
        #expect(first.row(1).allSatisfy { abs($0 + 2) < 1e-5 })
        let second = try delta(ramp, order: 2)
        #expect(second.values.allSatisfy { abs($0) < 1e-4 })
        #expect(throws: FeatureError.self) { try delta(Matrix(rows: 1, columns: 5), width: 9) }
        #expect(throws: FeatureError.self) { try delta(ramp, width: 4) }
    }

    @Test func zeroCrossingRateOfASineIsTwiceItsFrequency() throws {
        let zcr = try WaveformFeatures.zeroCrossingRate(TestSignals.tone(1000, sampleRate: 22050, seconds: 1), frameLength: 2048, hopLength: 512)
        let middle = zcr.values[10...30]
        #expect(middle.allSatisfy { abs($0 - Float(2 * 1000.0 / 22050)) < 2.0 / 2048 })
        let rms = try WaveformFeatures.rms(TestSignals.tone(1000, sampleRate: 22050, seconds: 1, amplitude: 0.5))
        #expect(rms.values[10...30].allSatisfy { abs($0 - 0.5 / Float(2).squareRoot()) < 1e-3 })
    }

    @Test func invalidSettingsAreTypedErrors() {
        #expect(throws: FeatureError.self) { try Spectrogram(samples: [0, 0], sampleRate: 8000, configuration: STFTConfiguration(hopLength: 0)) }
        #expect(throws: FeatureError.self) { try Spectrogram(samples: [0, 0], sampleRate: 8000, configuration: STFTConfiguration(fftSize: 512, windowLength: 1024)) }
        #expect(throws: FeatureError.self) { try Spectrogram(samples: [0], sampleRate: 8000, configuration: STFTConfiguration(centered: false)) }
        #expect(throws: FeatureError.self) { try MelConfiguration(melCount: 0).filterBank(sampleRate: 16000, fftSize: 512) }
        #expect(throws: FeatureError.self) { try MelConfiguration(minimumFrequency: 9000, maximumFrequency: 8000).filterBank(sampleRate: 16000, fftSize: 512) }
        let spectrogram = try? Spectrogram(samples: TestSignals.tone(300, sampleRate: 8000, seconds: 1), sampleRate: 8000)
        #expect(throws: FeatureError.self) { try spectrogram?.spectralContrast(bandCount: 6, minimumFrequency: 200) }
        #expect(throws: FeatureError.self) { try spectrogram?.mfcc(MFCCConfiguration(coefficientCount: 200)) }
    }
}

@Suite struct SlidingMedianTests {
    /// Reference: sort the reflected window at every position.
    func sortedMedians(_ x: [Float], size: Int) -> [Float] {
        let n = x.count, half = size / 2
        func reflect(_ i: Int) -> Int { let p = 2 * n; var j = i % p; if j < 0 { j += p }; return j < n ? j : p - 1 - j }
        return (0..<n).map { i in (0..<size).map { x[reflect(i + $0 - half)] }.sorted()[half] }
    }

    @Test(arguments: [1, 2, 5, 31, 40, 200])
    func matchesSortingEveryWindow(count: Int) {
        var state: UInt64 = 99
        // Few distinct values, so ties and equal entering/leaving values are exercised.
        let x: [Float] = (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 33) % 7)
        }
        for size in [1, 3, 31] {
            var out = [Float](repeating: 0, count: count)
            SlidingMedian(size: size).apply(x, count: count, into: &out)
            #expect(out == sortedMedians(x, size: size), "count \(count), size \(size)")
        }
    }
}

@Suite struct MedianTests {
    @Test(arguments: [1, 2, 3, 10, 101, 1000])
    func selectionMatchesSorting(count: Int) {
        var state: UInt64 = UInt64(count) * 7919
        let values: [Float] = (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 40) % 50) / 7   // many ties
        }
        let sorted = values.sorted()
        let expected = count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2
        #expect(median(values) == expected)
    }
}

@Suite struct LogMelImageTests {
    /// The band (of 64 Slaney mel bands up to 8 kHz) whose centre is nearest `hertz`.
    static func nearestBand(_ hertz: Double, bands: Int = 64) -> Int {
        let centres = MelScale.slaney.frequencies(count: bands + 2, minimum: 0, maximum: 8000).dropFirst().dropLast()
        return centres.enumerated().min { abs($0.element - hertz) < abs($1.element - hertz) }!.offset
    }

    @Test func shortToneIsCentredAndPaddedWithTheFloor() throws {
        let preset = FeaturePreset.logmel
        let (frames, bands) = try #require(preset.imageShape)
        #expect(frames == 192 && bands == 64 && preset.dimension == frames * bands && preset.columnNames(sampleRate: 16000).count == preset.dimension)
        let image = try preset.vector(samples: TestSignals.tone(1000, sampleRate: 16000, seconds: 1), sampleRate: 16000)
        #expect(image.count == frames * bands)
        // 1 s at hop 256 gives 63 frames, centred: 64 floor frames before, 65 after.
        let frameLevels = (0..<frames).map { t in image[(t * bands)..<((t + 1) * bands)].max()! }
        #expect(frameLevels[0..<64].allSatisfy { $0 == -80 } && frameLevels[127..<192].allSatisfy { $0 == -80 })
        #expect(frameLevels[64..<127].allSatisfy { $0 > -10 })
        #expect(image.max() == 0 && image.min() == -80)
        let middle = Array(image[(96 * bands)..<(97 * bands)])
        #expect(middle.firstIndex(of: middle.max()!)! == Self.nearestBand(1000))
    }

    @Test func longSignalsAreCentreCroppedAndLevelDoesNotMatter() throws {
        // 5 s: a 500 Hz tone for 1 s, then 3.07 s of 2 kHz, then 500 Hz again; the crop keeps the 2 kHz middle.
        let samples = TestSignals.tone(500, sampleRate: 16000, seconds: 0.965) + TestSignals.tone(2000, sampleRate: 16000, seconds: 3.07) + TestSignals.tone(500, sampleRate: 16000, seconds: 0.965)
        let image = try FeaturePreset.logmel.vector(samples: samples, sampleRate: 16000)
        let quieter = try FeaturePreset.logmel.vector(samples: samples.map { $0 * 0.01 }, sampleRate: 16000)
        for t in [10, 96, 180] {
            let frame = Array(image[(t * 64)..<((t + 1) * 64)])
            #expect(frame.firstIndex(of: frame.max()!)! == Self.nearestBand(2000), "frame \(t)")
        }
        #expect(zip(image, quieter).allSatisfy { abs($0 - $1) < 0.05 }, "dB below the recording's own peak")
    }

    @Test func richPlusLogMelIsTheVectorThenTheImage() throws {
        let samples = TestSignals.tone(220, sampleRate: 16000, seconds: 1.2).enumerated().map { $1 * Float(1 + $0 % 7) / 7 }
        let fused = try FeaturePreset.richLogmel.vector(samples: samples, sampleRate: 16000)
        let rich = try FeaturePreset.rich.vector(samples: samples, sampleRate: 16000)
        let image = try FeaturePreset.logmel.vector(samples: samples, sampleRate: 16000)
        #expect(FeaturePreset.richLogmel.imageOffset == rich.count && FeaturePreset.richLogmel.dimension == rich.count + image.count)
        #expect(fused.count == FeaturePreset.richLogmel.dimension && FeaturePreset.richLogmel.columnNames().count == fused.count)
        #expect(Array(fused[..<rich.count]) == rich && Array(fused[rich.count...]) == image)
        #expect(FeaturePreset(rawValue: "rich+logmel") == .richLogmel)
    }

    /// richmel is the rich vector, then each mel band's mean power in dB, the
    /// band means computed here from the plain mel spectrogram.
    @Test func richMelIsRichThenBandMeansInDecibels() throws {
        let samples = TestSignals.tone(440, sampleRate: 16000, seconds: 1.2).enumerated().map { $1 * Float(1 + $0 % 5) / 5 }
        let vector = try FeaturePreset.richmel.vector(samples: samples, sampleRate: 16000)
        let rich = try FeaturePreset.rich.vector(samples: samples, sampleRate: 16000)
        #expect(FeaturePreset.richmel.dimension == 280 && vector.count == 280)
        #expect(Array(vector[..<rich.count]) == rich)
        let configuration = FeaturePreset.richmel.configuration(sampleRate: 16000)
        let spectrogram = try Spectrogram(samples: samples, sampleRate: 16000, configuration: configuration.stft, precision: .double)
        let mel = try spectrogram.melSpectrogram(configuration.mel)
        #expect(mel.rows == 128)
        for band in [0, 20, 37, 90, 127] {
            let mean = (0..<mel.columns).map { Double(mel[band, $0]) }.reduce(0, +) / Double(mel.columns)
            let expected = 10 * log10(max(mean, 1e-10))
            #expect(abs(Double(vector[rich.count + band]) - expected) < 0.01, "band \(band)")
        }
        // The tone's band stands far above the empty top of the spectrum.
        #expect(vector[rich.count + 127] < vector[rich.count + Self.nearestBand(440, bands: 128)] - 40)
        let names = FeaturePreset.richmel.columnNames(sampleRate: 16000)
        #expect(names.count == 280 && names[152] == "melspectrogram_0_mean_db" && names[279] == "melspectrogram_127_mean_db")
    }

    @Test func silenceAndEmptyInputGiveTheFloor() throws {
        #expect(try FeaturePreset.logmel.vector(samples: [], sampleRate: 16000).allSatisfy { $0 == -80 })
        let silent = try FeaturePreset.logmel.vector(samples: [Float](repeating: 0, count: 16000), sampleRate: 16000)
        #expect(silent.count == 192 * 64 && silent.allSatisfy { $0 <= 0 && $0 >= -80 })
    }
}

/// `count` values of reproducible white noise in [−0.5, 0.5) (a 64-bit LCG from `seed`).
func seededNoise(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 2654435761 &+ 1
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Double(state >> 11) / Double(1 << 53) - 0.5)
    }
}

/// The batched AVX2 STFT kernel against the portable Swift FFT and against the
/// DFT by its definition.
@Suite struct VectorSTFTKernelTests {
    func noise(_ count: Int, seed: UInt64) -> [Float] { seededNoise(count, seed: seed) }

    /// Sizes from the smallest the kernel takes to beyond librosa's default; sample
    /// counts that leave partial batches, frames in the centring pad, and a signal
    /// shorter than one frame.
    @Test(arguments: [(16, 4, 100), (32, 8, 333), (64, 16, 1000), (256, 64, 4001), (512, 128, 7777),
                      (1024, 256, 2500), (2048, 512, 22050), (2048, 512, 700), (4096, 1024, 40000)])
    func kernelMatchesThePortablePath(fftSize: Int, hop: Int, samples count: Int) throws {
        guard VectorSTFTPlan.isSupported else {
            print("skipped: this CPU lacks AVX2/FMA, so the vector STFT kernel never runs here")
            return
        }
        for centered in [true, false] where centered || count >= fftSize {
            let configuration = STFTConfiguration(fftSize: fftSize, hopLength: hop, centered: centered)
            let signal = noise(count, seed: UInt64(fftSize + count))
            let fast = try Spectrogram(samples: signal, sampleRate: 16000, configuration: configuration, precision: .single,
                                       allowingVectorKernel: true)
            let portable = try Spectrogram(samples: signal, sampleRate: 16000, configuration: configuration,
                                           precision: .single, allowingVectorKernel: false)
            #expect(fast.frameCount == portable.frameCount && fast.frameCount > 0)
            let peak = portable.frameMajorMagnitudes.max() ?? 0
            let fastPower = fast.frameMajorPower, portablePower = portable.frameMajorPower
            var worst: Float = 0
            for i in portable.frameMajorMagnitudes.indices {
                worst = max(worst, abs(fast.frameMajorMagnitudes[i] - portable.frameMajorMagnitudes[i]))
                let powerError = abs(fastPower[i] - portablePower[i])
                #expect(powerError <= 1e-5 * peak * peak, "power bin \(i)")
            }
            #expect(worst <= 1e-5 * peak, "n_fft \(fftSize), centered \(centered): worst |X| difference \(worst) (peak \(peak))")
            for t in 0..<portable.frameCount {
                #expect(abs(fast.frameMaximumMagnitudes[t] - portable.frameMaximumMagnitudes[t]) <= 1e-5 * peak)
            }
        }
    }

    /// One frame by the kernel against a double-precision DFT of the windowed frame.
    @Test func kernelMatchesTheDefinition() throws {
        guard VectorSTFTPlan.isSupported else {
            print("skipped: this CPU lacks AVX2/FMA, so the vector STFT kernel never runs here")
            return
        }
        let n = 128
        let configuration = STFTConfiguration(fftSize: n, hopLength: 32, centered: false)
        let signal = noise(n + 5 * 32, seed: 7)
        let spectrogram = try Spectrogram(samples: signal, sampleRate: 8000, configuration: configuration, precision: .single,
                                          allowingVectorKernel: true)
        #expect(spectrogram.frameCount == 6)
        let window = configuration.window()
        for t in [0, 3, 5] {
            for k in 0...(n / 2) {
                var re = 0.0, im = 0.0
                for j in 0..<n {
                    let x = Double(signal[t * 32 + j]) * window[j]
                    let angle = -2 * Double.pi * Double(k * j % n) / Double(n)
                    re += x * cos(angle)
                    im += x * sin(angle)
                }
                let expected = (re * re + im * im).squareRoot()
                let got = Double(spectrogram.frameMajorMagnitudes[t * (n / 2 + 1) + k])
                #expect(abs(got - expected) <= 1e-4 * max(1, expected), "frame \(t) bin \(k): \(got) vs \(expected)")
            }
        }
    }
}

/// The mel bank applied inside the vector STFT kernel, the AVX2 peak scan and
/// the NaN-aware pooling sums, each against a plain computation of the same thing.
@Suite struct FusedKernelTests {
    func noise(_ count: Int, seed: UInt64) -> [Float] { seededNoise(count, seed: seed) }

    /// The mel power the kernel computes alongside the STFT against the bank
    /// applied to the portable path's |X|² afterwards, for frame counts that leave
    /// partial batches; another mel configuration is computed, not reused.
    @Test(arguments: [(2048, 512, 22050, 128), (512, 128, 5001, 40), (1024, 160, 16000, 64), (2048, 512, 1500, 128)])
    func fusedMelMatchesTheBankAppliedAfterwards(fftSize: Int, hop: Int, samples count: Int, mels: Int) throws {
        guard VectorSTFTPlan.isSupported else {
            print("skipped: this CPU lacks AVX2/FMA, so the vector STFT kernel never runs here")
            return
        }
        let stft = STFTConfiguration(fftSize: fftSize, hopLength: hop)
        var mel = MelConfiguration()
        mel.melCount = mels
        let signal = noise(count, seed: UInt64(count))
        let fused = try Spectrogram(samples: signal, sampleRate: 22050, configuration: stft, precision: .single,
                                    allowingVectorKernel: true, fusedMel: mel)
        #expect(fused.fusedMelPower?.configuration == mel)
        let portable = try Spectrogram(samples: signal, sampleRate: 22050, configuration: stft, precision: .single,
                                       allowingVectorKernel: false)
        #expect(portable.fusedMelPower == nil)
        let expected = try portable.melSpectrogram(mel), got = try fused.melSpectrogram(mel)
        #expect(got.rows == mels && got.columns == fused.frameCount && expected.columns == got.columns)
        // The bank by definition, in double precision, over the portable |X|².
        let bank = try mel.filterBank(sampleRate: 22050, fftSize: fftSize)
        let power = portable.frameMajorPower
        for t in Set([0, 1, got.columns / 2, got.columns - 1]) {
            let frameMaximum = (0..<mels).map { Double(expected[$0, t]) }.max() ?? 0
            for r in 0..<mels {
                var sum = 0.0
                for k in 0..<stft.binCount { sum += Double(bank[r, k]) * Double(power[t * stft.binCount + k]) }
                #expect(abs(Double(got[r, t]) - sum) <= 1e-4 * max(sum, 1e-6 * frameMaximum), "frame \(t) mel \(r)")
                #expect(abs(Double(expected[r, t]) - sum) <= 1e-4 * max(sum, 1e-6 * frameMaximum), "frame \(t) mel \(r)")
            }
        }
        var other = mel
        other.melCount = mels / 2
        #expect(try fused.melSpectrogram(other).rows == mels / 2)
    }

    /// A spectrum with plateaus, neighbours at the threshold and a peak planted
    /// at Nyquist: the AVX2 scan finds exactly the peaks of the Swift scan, with
    /// bit-identical interpolation.
    @Test(arguments: [(1025, 0.1 as Float), (37, 0.1 as Float), (300, 0.5 as Float), (9, 0.0 as Float)])
    func vectorPeakScanMatchesTheSwiftScan(bins: Int, threshold: Float) {
        guard VectorSTFTPlan.isSupported else {
            print("skipped: this CPU lacks AVX2/FMA, so the vector peak scan never runs here")
            return
        }
        let frames = 23
        var values = noise(frames * bins, seed: UInt64(bins)).map { abs($0) }
        for i in stride(from: 5, to: values.count - 1, by: 17) { values[i + 1] = values[i] }  // plateaus
        for t in 0..<frames { values[t * bins + bins - 1] = 0.6 }  // Nyquist a peak
        let maxima = (0..<frames).map { t in values[(t * bins)..<((t + 1) * bins)].max() ?? 0 }
        let spectrum = Spectrogram.FrameMajor(frameCount: frames, binCount: bins, values: values, maxima: maxima)
        for (low, high) in [(150.0, 4000.0), (0.0, 50_000.0), (500.0, 600.0)] {
            let vector = pitchPeaks(spectrum, sampleRate: 22050, fftSize: 2 * (bins - 1), minimumFrequency: low,
                                    maximumFrequency: high, threshold: threshold, allowingVectorKernel: true)
            let swift = pitchPeaks(spectrum, sampleRate: 22050, fftSize: 2 * (bins - 1), minimumFrequency: low,
                                   maximumFrequency: high, threshold: threshold, allowingVectorKernel: false)
            #expect(vector.positions.count == swift.positions.count, "\(bins) bins, \(low)–\(high) Hz")
            #expect(vector.positions.elementsEqual(swift.positions) && vector.magnitudes.elementsEqual(swift.magnitudes))
            // The band is half-open ([fmin, fmax), fmax at most Nyquist), as librosa's mask is,
            // so the Nyquist bin's planted peak is never reported.
            let reportsNyquist = swift.positions.contains(Double(bins - 1))
            #expect(!reportsNyquist)
        }
    }

    /// Means and deviations over rows whose lengths are not multiples of eight,
    /// NaN frames left out, against double-precision sums.
    @Test func poolingSkipsNaNFrames() {
        let columns = 21
        var values = noise(3 * columns, seed: 99).map { $0 * 10 }
        values[2] = .nan
        values[columns + 9] = .nan
        for c in 0..<columns { values[2 * columns + c] = .nan }
        let pooled = Pooling.meanStd.pool(Matrix(rows: 3, columns: columns, values: values))
        for r in 0..<2 {
            let row = values[(r * columns)..<((r + 1) * columns)].filter { !$0.isNaN }.map(Double.init)
            #expect(row.count == columns - 1)
            let mean = row.reduce(0, +) / Double(row.count)
            let deviation = (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)).squareRoot()
            #expect(abs(Double(pooled[r]) - mean) <= 1e-6 * 10 && abs(Double(pooled[3 + r]) - deviation) <= 1e-5 * 10)
        }
        #expect(pooled[2] == 0 && pooled[5] == 0, "an all-NaN row pools to 0")
    }
}

/// A small filter bank times a frame-major spectrogram (chroma's product; the
/// AVX2 kernel where the CPU has it, GEMM otherwise) against the sums by definition.
@Suite struct FilterBankProductTests {
    @Test(arguments: [(12, 1025, 7), (5, 1025, 1), (3, 31, 4), (16, 257, 9), (20, 100, 3)])
    func matchesTheSumsByDefinition(rows: Int, bins: Int, frames: Int) {
        var state = UInt64(rows * 1000 + bins * 10 + frames)
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        let bank = Matrix(rows: rows, columns: bins, values: (0..<(rows * bins)).map { _ in next() })
        let spectrum = (0..<(frames * bins)).map { _ in next() }
        let product = multiply(bank, frameMajor: spectrum, frames: frames)
        #expect(product.rows == rows && product.columns == frames)
        for r in 0..<rows {
            for t in 0..<frames {
                var exact = 0.0
                for k in 0..<bins { exact += Double(bank.values[r * bins + k]) * Double(spectrum[t * bins + k]) }
                let got = Double(product.values[r * frames + t])
                #expect(abs(got - exact) <= 1e-5 * exact, "row \(r), frame \(t): \(got) vs \(exact)")
            }
        }
    }
}
