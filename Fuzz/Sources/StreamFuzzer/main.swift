import Foundation
import FuzzSupport
import SERAudio
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition

/// `/v1/stream` and `ser listen --input -`: the first line of an input is the
/// format message, the rest PCM bytes sent in frames of uneven sizes (split
/// mid-sample), with a speaker reset halfway and a flush at the end. Every
/// format is refused with a message or makes a stream that answers every frame.
let recognizer: EmotionRecognizer = {
    let preset = FeaturePreset.classic180, labels = ["angry", "neutral"]
    var configuration = NeuralNetworkConfiguration()
    configuration.hiddenLayers = []
    configuration.maximumEpochs = 1
    let classifier = NeuralNetworkClassifier(labels: labels, configuration: configuration)
    classifier.fit(LabelledMatrix(features: Matrix(rows: 4, columns: preset.dimension,
                                                   values: (0..<(4 * preset.dimension)).map { Float($0 % 11) }),
                                  targets: [0, 1, 0, 1]))
    let description = ModelDescription(architecture: "logreg", labels: labels, genderLabels: nil,
                                       features: .init(preset: preset.rawValue, sampleRate: 16000, dimension: preset.dimension))
    return EmotionRecognizer(model: EmotionModel(classifier: classifier, preset: preset, description: description))
}()

func fuzzStream(_ data: Data) {
    let (message, pcm) = firstLineAndRest(data)
    guard let format = expectTyped([LiveStreamFormat.Invalid.self], { try LiveStreamFormat(message: message) }),
          let stream = expectTyped([LiveStreamFormat.Invalid.self], { try format.makeStream(recognizer: recognizer) }) else { return }
    let bytes = [UInt8](pcm)
    var offset = 0, frame = 0
    let sizes = [1, 7, 333, 2048]
    do {
        while offset < bytes.count {
            let size = min(sizes[frame % sizes.count], bytes.count - offset)
            let events = try bytes[offset..<(offset + size)].withUnsafeBytes { try stream.append($0) }
            for event in events { precondition(event.time.isFinite && event.time >= 0, "an event at a time that is not one") }
            offset += size
            frame += 1
            if frame == 3 { stream.resetSpeaker() }
        }
        _ = try stream.finish()
    } catch is AudioError {
        // The resampler may refuse; that is an answer, not a crash.
    } catch {
        fatalError("the stream threw an untyped error: \(error)")
    }
}

func streamSeeds() -> [String: Data] {
    func seed(_ message: String, samples: [Int16]) -> Data {
        var data = Data((message + "\n").utf8)
        for sample in samples { withUnsafeBytes(of: sample.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }
    let tone = (0..<4400).map { Int16(8000 * sin(Double($0) * 0.3)) }
    return [
        "s16-4k.bin": seed("{\"encoding\":\"s16le\",\"sample_rate\":4000,\"channels\":1,\"window\":0.5,\"hop\":0.25}", samples: tone),
        "s16-stereo.bin": seed("{\"sample_rate\":8000,\"channels\":2,\"window\":0.5,\"hop\":0.5,\"new_speaker_after\":1}", samples: tone),
        "f32.bin": seed("{\"encoding\":\"f32le\",\"sample_rate\":16000,\"window\":0.5,\"hop\":0.1}", samples: tone),
        "defaults.bin": seed("{\"sample_rate\":44100}", samples: Array(tone.prefix(100))),
    ]
}

runFuzzTarget(seeds: streamSeeds, body: fuzzStream)
