// ser-bench: in-process timings of ser's pipeline stages, printed as JSON so
// benchmark scripts can set them beside a reference measured in the same run.
//
//   ser-bench parity DIR   worst differences from librosa per feature, for the
//                          references scripts/make_feature_fixtures.py wrote to DIR
//   ser-bench load     [--sample-rate N] [--repeat K] [--workers W] FILE...
//   ser-bench features [--preset NAME] [--sample-rate N] [--repeat K] [--workers W] [--preloaded] FILE...
//   ser-bench encoder  [--seconds S] [--repeat K] [--threads T]   Whisper-base on an S-second
//                          synthetic voice (default 4 s): log-mel and encoder times, the encoder split
//                          over T threads as `ser` splits a lone clip (OpenBLAS on one)
//   ser-bench dense-kernels [--rows R] [--repeat K]   the encoder's dense-layer products through
//                          sgemm, the packed float32 kernel and each int8 kernel, one thread
//   ser-bench embed [--pad | --pad-seconds S | --append-seconds S] [--trim-margin S] [--weight-exponents A,B] [--weight-ceiling Q] --out FILE.npy FILE...   every encoder layer's mean and deviation per file
//   ser-bench adaptation MODEL [--repeat K]   per-utterance cost of answering adapted to a speaker
//   ser-bench level-cost [--preset P] [--repeat K] FILE...   prediction's input path with level
//                          normalization against without, and the ratio
//   ser-bench training-cost [--preset P] [--copies N] [--limit M] CORPUS_DIR...   the shipped
//                          recipe's training with N condition copies per file against none (no cache)
//   ser-bench speech-detection [--condition C]... [--seed S] CORPUS_DIR...   recordings the voice
//                          activity detector finds no speech in, per recording condition
//
// With --preloaded the files are decoded once, untimed, and only the features
// are timed.
//
// `load` decodes and resamples every file; `features` also computes the
// classic180 vector. Each runs K timed passes (after one warm-up pass) on W
// threads and prints files/s, seconds of audio per second and the per-file
// mean of the fastest pass.
import Foundation
import SERAudio
import SERFeatures
import SERNumerics
import SERSupport

struct Options {
    var sampleRate: Int? = 22050
    var repeats = 3
    var workers = 1
    var preloaded = false
    var preset = FeaturePreset.classic180
    var files: [String] = []
}

func parse(_ arguments: ArraySlice<String>) -> Options? {
    var options = Options()
    var rest = arguments
    while let argument = rest.popFirst() {
        switch argument {
        case "--sample-rate":
            guard let value = rest.popFirst() else { return nil }
            options.sampleRate = value == "native" ? nil : Int(value)
        case "--repeat":
            guard let value = rest.popFirst().flatMap({ Int($0) }), value > 0 else { return nil }
            options.repeats = value
        case "--preset":
            guard let value = rest.popFirst().flatMap(FeaturePreset.init(rawValue:)) else { return nil }
            options.preset = value
        case "--preloaded":
            options.preloaded = true
        case "--workers":
            guard let value = rest.popFirst().flatMap({ Int($0) }), value > 0 else { return nil }
            options.workers = value
        default:
            options.files.append(argument)
        }
    }
    return options.files.isEmpty ? nil : options
}

let arguments = CommandLine.arguments
if arguments.count == 3 && arguments[1] == "parity" {
    exit(ParityReport.run(directory: arguments[2]))
}
if arguments.count >= 2 && arguments[1] == "embed" {
    exit(EmbeddingTable.run(Array(arguments.dropFirst(2))))
}
if arguments.count >= 2 && arguments[1] == "adaptation" {
    exit(AdaptationTiming.run(Array(arguments.dropFirst(2))))
}
if arguments.count >= 2 && arguments[1] == "level-cost" {
    useSingleThreadedBLAS()
    exit(ConditionCost.levelCost(Array(arguments.dropFirst(2))))
}
if arguments.count >= 2 && arguments[1] == "training-cost" {
    useSingleThreadedBLAS()
    exit(ConditionCost.trainingCost(Array(arguments.dropFirst(2))))
}
if arguments.count >= 2 && arguments[1] == "speech-detection" {
    exit(SpeechDetectionCheck.run(Array(arguments.dropFirst(2))))
}
if arguments.count >= 2 && arguments[1] == "dense-kernels" {
    exit(DenseKernelTiming.run(Array(arguments.dropFirst(2))))
}
if arguments.count >= 2 && arguments[1] == "encoder" {
    exit(EncoderTiming.run(Array(arguments.dropFirst(2))))
}
guard arguments.count >= 3, ["load", "features"].contains(arguments[1]), let options = parse(arguments.dropFirst(2)) else {
    FileHandle.standardError.write(Data("usage: ser-bench load|features [--sample-rate N|native] [--repeat K] [--workers W] FILE...\n".utf8))
    exit(2)
}
let withFeatures = arguments[1] == "features"
useSingleThreadedBLAS()
AllocatorPolicy.keepBatchBuffersOnHeap()

let decoded: [AudioSignal?] = options.preloaded
    ? options.files.map { try? AudioSignal(contentsOf: $0, sampleRate: options.sampleRate) } : []

func loadAll(_ files: [String], sampleRate: Int?, workers: Int) -> (frames: Int, failures: Int) {
    let results = parallelMap(count: files.count, workers: workers) { index -> Int? in
        let signal: AudioSignal
        if options.preloaded {
            guard let cached = decoded[index] else { return nil }
            signal = cached
        } else {
            guard let loaded = try? AudioSignal(contentsOf: files[index], sampleRate: sampleRate) else { return nil }
            signal = loaded
        }
        if withFeatures {
            guard (try? options.preset.vector(samples: signal.samples, sampleRate: signal.sampleRate)) != nil
            else { return nil }
        }
        return signal.frameCount
    }
    return (results.compactMap { $0 }.reduce(0, +), results.filter { $0 == nil }.count)
}

let warmUp = loadAll(options.files, sampleRate: options.sampleRate, workers: options.workers)
let clock = ContinuousClock()
var best = Duration.seconds(Int64.max)
for _ in 0..<options.repeats {
    best = min(best, clock.measure { _ = loadAll(options.files, sampleRate: options.sampleRate, workers: options.workers) })
}
// The fastest pass: scheduler noise only ever adds time.
let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
let fileCount = options.files.count
let outputRate = Double(options.sampleRate ?? 1)
let audioSeconds = options.sampleRate == nil ? 0 : Double(warmUp.frames) / outputRate
let report: [String: Any] = [
    "files": options.files.count,
    "repeats": options.repeats,
    "workers": options.workers,
    "failures": warmUp.failures,
    "seconds": seconds,
    "files_per_second": Double(fileCount) / seconds,
    "ms_per_file": seconds * 1000 / Double(fileCount),
    "audio_seconds_per_second": audioSeconds / seconds,
]
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
