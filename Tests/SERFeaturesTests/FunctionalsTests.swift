import Foundation
import SERNumerics
import Testing
@testable import SERFeatures

/// `Pooling.functionals` on rows whose statistics are known in closed form, and
/// the `functionals` preset's layout.
@Suite struct FunctionalsTests {
    /// The statistics of row `row` of a pooled matrix with `rows` rows, by name.
    func statistics(_ pooled: [Float], row: Int, rows: Int) -> [FunctionalStatistic: Double] {
        var out: [FunctionalStatistic: Double] = [:]
        for (s, statistic) in FunctionalStatistic.allCases.enumerated() { out[statistic] = Double(pooled[s * rows + row]) }
        return out
    }

    @Test func closedFormStatistics() {
        // Row 0: the ramp 0…10. Row 1: four zeros and a 10, shuffled (order matters only to the slope).
        // Row 2: a NaN gap. Row 3: constant. Row 4: nothing but NaN.
        let nan = Float.nan
        let rows: [[Float]] = [
            (0...10).map(Float.init),
            [0, 10, 0, 0, 0, nan, nan, nan, nan, nan, nan],
            [0, nan, 4, nan, nan, nan, nan, nan, nan, nan, nan],
            [Float](repeating: 3, count: 11),
            [Float](repeating: nan, count: 11),
        ]
        let matrix = Matrix(rows: rows.count, columns: 11, values: rows.flatMap { $0 })
        let pooled = Pooling.functionals.pool(matrix)
        #expect(pooled.count == 11 * rows.count)
        func near(_ a: Double?, _ b: Double, _ what: String) {
            #expect(a.map { abs($0 - b) < 1e-5 } == true, "\(what): \(a ?? .nan) vs \(b)")
        }
        let ramp = statistics(pooled, row: 0, rows: rows.count)
        // Population variance of 0…10 is 10; the fourth central moment is 2(1+16+81+256+625)/11 = 178.
        near(ramp[.mean], 5, "mean"); near(ramp[.std], 10.0.squareRoot(), "std")
        near(ramp[.p10], 1, "p10"); near(ramp[.p50], 5, "p50"); near(ramp[.p90], 9, "p90"); near(ramp[.range1090], 8, "range")
        near(ramp[.skewness], 0, "skewness"); near(ramp[.kurtosis], 178.0 / 100 - 3, "kurtosis")
        near(ramp[.slope], 1, "slope"); near(ramp[.minimum], 0, "min"); near(ramp[.maximum], 10, "max")

        // [0,10,0,0,0]: mean 2, m2 16, m3 96, m4 832; p90 sits 60 % of the way from 0 to 10.
        let spike = statistics(pooled, row: 1, rows: rows.count)
        near(spike[.mean], 2, "mean"); near(spike[.std], 4, "std"); near(spike[.skewness], 1.5, "skewness")
        near(spike[.kurtosis], 832.0 / 256 - 3, "kurtosis"); near(spike[.p90], 6, "p90"); near(spike[.p50], 0, "p50")
        // Least squares over t = 0…4 with the 10 at t = 1: covariance −10 over spread 10.
        near(spike[.slope], -1, "slope")

        // The gap keeps positions: 0 at frame 0, 4 at frame 2 rise 2 per frame.
        let gap = statistics(pooled, row: 2, rows: rows.count)
        near(gap[.slope], 2, "slope across NaN"); near(gap[.mean], 2, "mean skipping NaN")

        let constant = statistics(pooled, row: 3, rows: rows.count)
        near(constant[.std], 0, "std"); near(constant[.skewness], 0, "skewness of a constant")
        near(constant[.kurtosis], 0, "kurtosis of a constant"); near(constant[.p10], 3, "p10")

        #expect(statistics(pooled, row: 4, rows: rows.count).values.allSatisfy { $0 == 0 }, "an all-NaN row pools to zeros")
        #expect(pooled.allSatisfy { $0.isFinite })
    }

    /// The preset's mean block agrees with plain mean pooling of the same frames,
    /// mel and RMS pool in dB, and the names line up with the values.
    @Test func presetLayoutAndDecibelRows() throws {
        let samples: [Float] = (0..<24000).map { (i: Int) -> Float in
            let phase = 2 * Double.pi * 300 * Double(i) / 16000
            let envelope = 0.25 + 0.2 * sin(2 * Double.pi * 3 * Double(i) / 16000)   // a level that varies, slowly
            return Float(envelope * sin(phase))
        }
        let preset = FeaturePreset.functionals
        let vector = try preset.vector(samples: samples, sampleRate: 16000)
        let names = preset.columnNames(sampleRate: 16000)
        #expect(vector.count == 1540 && names.count == 1540 && preset.dimension == 1540)
        #expect(Set(names).count == names.count, "column names are unique")
        #expect(vector.allSatisfy { $0.isFinite })

        let configuration = preset.configuration(sampleRate: 16000)
        #expect(configuration.stft.hopLength == 160 && configuration.stft.windowLength == 400 && configuration.stft.fftSize == 512)
        let extractor = FeatureExtractor(configuration: configuration)
        let mfcc = try extractor.frames(.mfcc, samples: samples)
        let means = Pooling.mean.pool(mfcc)
        guard let first = names.firstIndex(of: "mfcc_0_mean") else { Issue.record("no mfcc_0_mean"); return }
        for k in 0..<20 { #expect(abs(vector[first + k] - means[k]) <= 1e-4 * max(1, abs(means[k])), "mfcc_\(k)_mean") }

        // The RMS level's median in dB is the dB of the median RMS.
        let rms = try extractor.frames(.rms, samples: samples).values.sorted()
        let medianRMS = Double(rms[rms.count / 2])
        guard let level = names.firstIndex(of: "rms_db_p50") else { Issue.record("no rms_db_p50"); return }
        #expect(abs(Double(vector[level]) - 20 * log10(medianRMS)) < 0.05)

        // The band holding the tone stands far above the top band in the mel medians.
        guard let band0 = names.firstIndex(of: "melspectrogram_0_db_p50") else { Issue.record("no mel medians"); return }
        let toneBand = LogMelImageTests.nearestBand(300)
        #expect(vector[band0 + toneBand] > vector[band0 + 63] + 40)
    }
}
