import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERServer
import SERSupport
import SERTestSupport
import SERTraining
import Testing

/// Training, `ser predict`, the server and `ser listen` read a recording
/// through one `InputPipeline`, so they must hear the same vector in it.
@Suite("One input pipeline")
struct InputPipelineTests {
    /// A small `rich` model whose answers move with its input (a linear map over all 152 values).
    static func model(trimsToSpeech: Bool) -> EmotionModel {
        let preset = FeaturePreset.rich
        var random = SplitMix64(seed: 11)
        let labels = ["neutral", "happy", "sad"]
        var configuration = NeuralNetworkConfiguration()
        configuration.hiddenLayers = []
        configuration.maximumEpochs = 5
        let classifier = NeuralNetworkClassifier(labels: labels, configuration: configuration)
        let rows = (0..<9).map { _ in (0..<preset.dimension).map { _ in Float(random.nextStandardNormal()) } }
        classifier.fit(LabelledMatrix(features: Matrix(rows: 9, columns: preset.dimension, values: rows.flatMap { $0 }),
                                      targets: (0..<9).map { $0 % 3 }, genders: (0..<9).map { $0 % 2 }))
        var description = ModelDescription(architecture: "logreg", labels: labels, genderLabels: SpeakerGender.labels,
                                           features: .init(preset: preset.rawValue, sampleRate: 16000, dimension: preset.dimension))
        description.trimsToSpeech = trimsToSpeech
        return EmotionModel(classifier: classifier, preset: preset, description: description)
    }

    /// A stereo 22.05 kHz recording with silence around a voice, so decoding,
    /// mixing, resampling and trimming all take part.
    static func recording() throws -> String {
        let mono = SyntheticSpeech.recording(seconds: 2.5, rate: 22050, voiceSpans: [(0.6, 1.9)], seed: 5, pitch: 170)
        let stereo = zip(mono, mono.map { $0 * 0.5 }).flatMap { [$0, $1] }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-pipeline-\(UUID().uuidString).wav").path
        try AudioFileWriter.write(AudioSignal(samples: stereo, sampleRate: 22050, channels: 2), to: path, format: .wav, encoding: .float32)
        return path
    }

    @Test("training's vector gives the answer predict, the server and the live path give", arguments: [true, false])
    func everyPathHearsTheSameVector(trimsToSpeech: Bool) throws {
        let model = Self.model(trimsToSpeech: trimsToSpeech)
        let path = try Self.recording()
        defer { try? FileManager.default.removeItem(atPath: path) }

        // Training's view: the dataset's vector for this file.
        let item = CorpusItem(path: path, corpus: .folders, label: "happy", speaker: "s1", gender: .unknown)
        let dataset = FeatureDataset(items: [item], pipeline: model.pipeline, cache: nil)
        #expect(dataset.failures.isEmpty, "\(dataset.failures)")
        let trainingVector = try #require(dataset.vectors.first)
        #expect(trainingVector == (try model.pipeline.vector(ofFile: path)))
        let expected = try #require(model.classify([trainingVector]).first)

        // ser predict: the recognizer over the decoded stream.
        let recognizer = EmotionRecognizer(model: model)
        let predicted = try recognizer.recognize(path: path)
        #expect(predicted.estimate.probabilities == Dictionary(uniqueKeysWithValues: zip(expected.labels, expected.probabilities)))

        // ser listen and /v1/stream: samples already at the model's rate.
        let samples = try AudioSignal(contentsOf: path, sampleRate: 16000).samples
        let live = recognizer.recognize(samples: samples)
        #expect(live.estimate.probabilities == predicted.estimate.probabilities)

        // POST /v1/predict: the server's JSON carries the same probabilities.
        let service = PredictionService(model: model, modelPath: "/nonexistent/model.safetensors")
        let json = try service.predict(path: path, name: "clip.wav", request: PredictionRequest())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let served = try #require(object["probabilities"] as? [String: Double])
        for (label, probability) in zip(expected.labels, expected.probabilities) {
            #expect(abs((served[label] ?? -1) - probability) < 1e-6, "\(label)")
        }
    }

    @Test("a recording without speech has no vector in training and no emotion in prediction")
    func noSpeechIsOneRule() throws {
        let model = Self.model(trimsToSpeech: true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ser-pipeline-tone-\(UUID().uuidString).wav").path
        try AudioFileWriter.write(AudioSignal(samples: TestSignals.tone(220, sampleRate: 16000, seconds: 2, amplitude: 0.3), sampleRate: 16000), to: path,
                                  format: .wav, encoding: .float32)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dataset = FeatureDataset(items: [CorpusItem(path: path, corpus: .folders, label: "happy", speaker: "s1", gender: .unknown)],
                                     pipeline: model.pipeline, cache: nil)
        #expect(dataset.vectors.isEmpty)
        #expect(dataset.failures.first?.reason.contains("no speech found") == true)
        #expect(try EmotionRecognizer(model: model).recognize(path: path).estimate.speech == false)
    }
}
