import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERNumerics
import SERRecognition
import SERSupport
import SERTestSupport
import SERTraining
import Testing

/// `ser train`, `ser evaluate`, `ser model info` and `ser predict` end to end on
/// a small synthetic corpus: low voices are "sad", high voices "happy", three
/// speakers (noise seeds) each.
@Suite(.serialized) struct ModelCommandTests {
    static let corpus: (workspace: Workspace, manifest: String) = {
        let workspace = Workspace()
        var lines = ["path,label,speaker,gender"]
        for speaker in 0..<4 {
            for take in 0..<4 {
                for (label, pitch) in [("sad", 95.0), ("happy", 230.0)] {
                    let path = workspace.file("s\(speaker)-\(label)-\(take).wav")
                    let samples = SyntheticSpeech.recording(seconds: 1.2, rate: 16000, voiceSpans: [(0.2, 1.0)],
                                                            seed: UInt64(speaker * 10 + take), pitch: pitch + Double(take * 6 + speaker * 4))
                    try? AudioFileWriter.write(AudioSignal(samples: samples, sampleRate: 16000), to: path, format: .wav)
                    lines.append("\(path),\(label),spk\(speaker),\(speaker % 2 == 0 ? "female" : "male")")
                }
            }
        }
        let manifest = workspace.file("manifest.csv")
        try? Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: manifest))
        return (workspace, manifest)
    }()

    /// The JSON object a command printed, after checking that it succeeded
    /// (a failure is recorded with its standard error, at the caller's line).
    func jsonObject(printedBy run: SERRun, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(run.status == 0, "\(run.stderr)", sourceLocation: sourceLocation)
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                            sourceLocation: sourceLocation)
    }

    static let trained: (model: String, run: SERRun?) = {
        let model = corpus.workspace.file("model.safetensors")
        let run = try? SERRun(["train", "--architecture", "mlp", "--manifest", corpus.manifest, "--cv", "speakers:2", "--out", model, "--epochs", "30",
                               "--report", corpus.workspace.file("report.html"), "--log", corpus.workspace.file("log.jsonl"),
                               "--format", "json"])
        return (model, run)
    }()

    /// Without a named family, `ser train` trains the best recipe and says so
    /// first; under --cv, --condition scores every fold under that condition.
    @Test func trainDefaultsToTheBestRecipeAndScoresFoldsUnderConditions() throws {
        let run = try SERRun(["train", "--manifest", Self.corpus.manifest, "--features", "classic180", "--cv", "speakers:2",
                              "--condition", "gain:-20", "--condition", "phone", "--report", Self.corpus.workspace.file("conditions.html"),
                              "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        let first = run.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("ser train: recipe: the best handcrafted one (logreg on classic180, speaker-adaptive, level-normalized, 1 multi-condition copy per file"), "\(first)")
        #expect(summary["architecture"] as? String == "logreg" && summary["adaptive"] as? Bool == true)
        #expect(summary["condition_copies"] as? Int == 1 && summary["level_normalization_dbfs"] as? Double == -26)
        let cv = try #require(summary["cross_validation"] as? [String: Any])
        let conditions = try #require(cv["conditions"] as? [[String: Any]])
        #expect(conditions.compactMap { $0["condition"] as? String } == ["clean", "gain:-20", "phone"])
        let pooled = try #require(cv["pooled"] as? [String: Any])
        #expect(conditions.allSatisfy { $0["n"] as? Int == pooled["n"] as? Int }, "\(conditions)")
        let report = try String(contentsOfFile: Self.corpus.workspace.file("conditions.html"), encoding: .utf8)
        #expect(report.contains("Recording conditions") && report.contains("phone"))

        let named = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "mlp", "--cv", "speakers:2", "--epochs", "2"])
        #expect(named.stderr.hasPrefix("ser train: recipe: yours (mlp on rich, level-normalized)"), "\(named.stderr)")
        let noFolds = try SERRun(["train", "--manifest", Self.corpus.manifest, "--conditions", "--out", Self.corpus.workspace.file("x.safetensors")])
        #expect(noFolds.status == 2 && noFolds.stderr.contains("--cv"), "\(noFolds.stderr)")
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--conditions", "--condition-share", "0"]).status == 2)
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--condition", "hiss:3"]).status == 2)
    }

    @Test func trainCrossValidatesAndWritesModelReportAndLog() throws {
        let run = try #require(Self.trained.run)
        let summary = try jsonObject(printedBy: run)
        let cv = try #require(summary["cross_validation"] as? [String: Any])
        #expect((cv["folds"] as? [Any])?.count == 2)
        #expect(summary["labels"] as? [String] == ["happy", "sad"])
        #expect(summary["allows_leakage"] as? Bool == false)
        // Pitch separates the classes cleanly: unseen speakers are recognised.
        let pooled = try #require(cv["pooled"] as? [String: Any])
        #expect((pooled["accuracy"] as? Double ?? 0) > 0.8, "\(pooled)")
        #expect(FileManager.default.fileExists(atPath: Self.trained.model))
        #expect(!FileManager.default.fileExists(atPath: Self.trained.model + ".checkpoint"), "the checkpoint is removed after success")
        let report = try String(contentsOfFile: Self.corpus.workspace.file("report.html"), encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("confusion") && report.contains("per epoch") && !report.contains("<script"))
        let log = try String(contentsOfFile: Self.corpus.workspace.file("log.jsonl"), encoding: .utf8)
        let first = try #require(log.split(separator: "\n").first)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(record["epoch"] as? Int == 1 && record["validation_uar"] != nil)
    }

    @Test func modelInfoDescribesTheModel() throws {
        _ = Self.trained
        let run = try SERRun(["model", "info", Self.trained.model, "--format", "json"])
        let info = try jsonObject(printedBy: run)
        let description = try #require(info["description"] as? [String: Any])
        #expect(description["labels"] as? [String] == ["happy", "sad"])
        #expect(description["gender_labels"] as? [String] == ["female", "male"])
        #expect((description["features"] as? [String: Any])?["sample_rate"] as? Int == 16000)
        #expect((info["parameters"] as? Int ?? 0) > 1000)
        let text = try SERRun(["model", "info", Self.trained.model])
        #expect(text.stdout.contains("speaker-independent CV (2 folds)"))
    }

    /// The tree models train, cross-validate, save, describe themselves and predict through the same commands.
    @Test func forestTrainsSavesAndPredicts() throws {
        let model = Self.corpus.workspace.file("forest.safetensors")
        let report = Self.corpus.workspace.file("forest.html")
        let run = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "forest", "--cv", "speakers:2",
                              "--out", model, "--report", report, "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        #expect(summary["architecture"] as? String == "forest")
        let pooled = try #require((summary["cross_validation"] as? [String: Any])?["pooled"] as? [String: Any])
        #expect((pooled["accuracy"] as? Double ?? 0) > 0.8, "\(pooled)")
        let info = try SERRun(["model", "info", model])
        #expect(info.status == 0 && info.stdout.contains("architecture: forest") && info.stdout.contains("300 emotion trees"), "\(info.stdout)")
        let voice = Self.corpus.workspace.file("forest-probe.wav")
        try AudioFileWriter.write(AudioSignal(samples: SyntheticSpeech.recording(seconds: 1.5, rate: 16000, voiceSpans: [(0.2, 1.3)],
                                                                                  seed: 77, pitch: 240), sampleRate: 16000), to: voice, format: .wav)
        let predicted = try SERRun(["predict", voice, "--model", model, "--format", "json"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let answer = try #require((try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(answer["emotion"] as? String == "happy")
        #expect((try? String(contentsOfFile: report, encoding: .utf8))?.contains("<svg") == true)
    }

    /// A 1-D CNN on log-mel images trains, cross-validates, saves, describes itself
    /// and predicts through the same commands; its answer for a voice does not
    /// depend on the rate the recording comes at.
    @Test func convolutionalNetworkTrainsOnLogMelAndPredictsAtAnyRate() throws {
        let model = Self.corpus.workspace.file("cnn1d.safetensors")
        let run = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "cnn1d", "--cv", "speakers:2",
                              "--epochs", "15", "--out", model, "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        #expect(summary["architecture"] as? String == "cnn1d" && summary["features"] as? String == "logmel")
        let pooled = try #require((summary["cross_validation"] as? [String: Any])?["pooled"] as? [String: Any])
        #expect((pooled["accuracy"] as? Double ?? 0) > 0.8, "\(pooled)")
        let info = try SERRun(["model", "info", model])
        #expect(info.status == 0 && info.stdout.contains("architecture: cnn1d") && info.stdout.contains("conv1d"), "\(info.stdout)")
        var answers: [[String: Any]] = []
        for (rate, channels) in [(16000, 1), (48000, 2), (22050, 1)] {
            let voice = Self.corpus.workspace.file("cnn-probe-\(rate).wav")
            let mono = SyntheticSpeech.recording(seconds: 1.5, rate: rate, voiceSpans: [(0.2, 1.3)], seed: 78, pitch: 240)
            let interleaved = channels == 1 ? mono : mono.flatMap { [$0, $0] }
            try AudioFileWriter.write(AudioSignal(samples: interleaved, sampleRate: rate, channels: channels), to: voice, format: .wav)
            let predicted = try SERRun(["predict", voice, "--model", model, "--format", "json"])
            #expect(predicted.status == 0, "\(predicted.stderr)")
            answers.append(try #require((try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [[String: Any]])?.first))
        }
        #expect(answers.allSatisfy { $0["emotion"] as? String == "happy" }, "\(answers)")
        let confidences = answers.compactMap { $0["confidence"] as? Double }
        #expect(confidences.count == 3 && confidences.max()! - confidences.min()! < 0.1, "\(confidences)")
    }

    /// With `--balance-corpora`, pooled corpora weigh the same in the training loss,
    /// however many files each has; a single corpus trains unweighted.
    @Test func pooledCorporaWeighTheSame() throws {
        var items = try CorpusReader().readManifest(Self.corpus.manifest)
        let single = FeatureDataset(items: items, preset: .classic180, cache: nil)
        #expect(single.trainingMatrix(Array(single.items.indices), labels: single.labels, balancingCorpora: true).rowWeights == nil, "one corpus")
        // A quarter of the files become a second corpus.
        for i in items.indices where i % 4 == 0 { items[i].corpus = .savee }
        let pooled = FeatureDataset(items: items, preset: .classic180, cache: nil)
        #expect(pooled.trainingMatrix(Array(pooled.items.indices), labels: pooled.labels).rowWeights == nil, "off unless asked")
        let fit = pooled.trainingMatrix(Array(pooled.items.indices), labels: pooled.labels, balancingCorpora: true)
        #expect(fit.rowWeights != nil, "two corpora")
        let weights = fit.rowWeights ?? []
        var totals: [CorpusName: Float] = [:]
        for (row, weight) in weights.enumerated() { totals[pooled.items[row].corpus, default: 0] += weight }
        #expect(totals.count == 2, "\(totals)")
        #expect(abs((totals.values.max() ?? 0) - (totals.values.min() ?? 1)) < 1e-3, "\(totals)")
        #expect(abs(totals.values.reduce(0, +) - Float(weights.count)) < 1e-3, "the mean weight stays 1")
    }

    /// Pooled corpora that carry different labels: each row's mask permits its
    /// corpus's labels, decisions choose among them, and a single corpus or
    /// `maskingLabels: false` masks nothing.
    @Test func pooledCorporaTrainAndAreScoredOnTheLabelsTheyCarry() throws {
        var items = try CorpusReader().readManifest(Self.corpus.manifest)
        let single = FeatureDataset(items: items, preset: .classic180, cache: nil)
        #expect(single.labelMasks(Array(single.items.indices), labels: single.labels) == nil, "one corpus carries every label")
        // Speakers 2 and 3 become a second corpus that recorded only sad voices.
        items = items.filter { !(["spk2", "spk3"].contains($0.speaker) && $0.label == "happy") }
        for i in items.indices where ["spk2", "spk3"].contains(items[i].speaker) { items[i].corpus = .savee }
        let pooled = FeatureDataset(items: items, preset: .classic180, cache: nil)
        let labels = pooled.labels, all = Array(pooled.items.indices)
        #expect(labels == ["happy", "sad"])
        #expect(pooled.labelsByCorpus[.savee] == ["sad"] && pooled.labelsByCorpus[.manifest] == ["happy", "sad"])
        let masks = try #require(pooled.labelMasks(all, labels: labels))
        for (row, mask) in zip(all, masks) {
            #expect(mask == (pooled.items[row].corpus == .savee ? [false, true] : [true, true]))
        }
        #expect(pooled.trainingMatrix(all, labels: labels).labelMasks == masks)
        #expect(pooled.trainingMatrix(all, labels: labels, maskingLabels: false).labelMasks == nil)

        var options = TrainingOptions()
        options.maximumEpochs = 15
        let outcome = Trainer.train(pooled, labels: labels, options: options)
        // Scored with every row allowed only "sad", every decision is sad.
        var test = pooled.matrix(all, labels: labels)
        test.labelMasks = all.map { _ in [false, true] }
        let restricted = Trainer.evaluate(outcome.model.classifier, on: test)
        let sadShare = Double(test.targets.filter { $0 == 1 }.count) / Double(test.targets.count)
        #expect(abs(restricted.accuracy - sadShare) < 1e-9, "\(restricted.accuracy) vs \(sadShare)")
        #expect(restricted.confusion.allSatisfy { $0[0] == 0 }, "nothing predicted happy: \(restricted.confusion)")

        // Cross-validation scores the sad-only corpus among its one label.
        let split = try SpeakerSplitter.kFold(pooled.items, folds: 2, seed: 1)
        let summary = Trainer.crossValidate(pooled, split: split, labels: labels, options: options)
        #expect(summary.perCorpus?["SAVEE"]?.accuracy == 1, "\(summary.perCorpus?["SAVEE"].map { "\($0.confusion)" } ?? "no SAVEE")")
        #expect(summary.perCorpus?["SAVEE"]?.n == items.filter { $0.corpus == .savee }.count)
    }

    /// Two corpora whose labels mean opposite things (in the second, low voices
    /// are "happy"): one softmax cannot serve both, a head per corpus can. Each
    /// corpus is scored with its own head; other audio gets the heads' mean;
    /// a corpus with no training speaker gets the heads combined too.
    @Test func corpusHeadsLearnBoundariesThatDisagree() throws {
        var items = try CorpusReader().readManifest(Self.corpus.manifest)
        for i in items.indices where ["spk2", "spk3"].contains(items[i].speaker) {
            items[i].corpus = .savee
            items[i].label = items[i].label == "sad" ? "happy" : "sad"
        }
        let dataset = FeatureDataset(items: items, preset: .classic180, cache: nil)
        let labels = dataset.labels
        let train = dataset.items.indices.filter { ["spk0", "spk2"].contains(dataset.items[$0].speaker) }
        let test = dataset.items.indices.filter { ["spk1", "spk3"].contains(dataset.items[$0].speaker) }
        let testData = dataset.matrix(test, labels: labels)
        func accuracy(_ classifier: any TrainedClassifier, corpus: CorpusName? = nil, combiningHeads: Bool = false) -> Double {
            let rows = test.filter { corpus == nil || dataset.items[$0].corpus == corpus }
            let p = Trainer.probabilities(classifier, dataset, rows, averagingCopies: false, combiningHeads: combiningHeads)
            let truth = rows.map { labels.firstIndex(of: dataset.items[$0].label) ?? -1 }
            let predicted = (0..<p.rows).map { r in (0..<p.columns).max { p[r, $0] < p[r, $1] } ?? -1 }
            return Double(zip(truth, predicted).filter { $0 == $1 }.count) / Double(rows.count)
        }
        var options = TrainingOptions()
        options.maximumEpochs = 40
        let oneSoftmax = Trainer.train(dataset, indices: train, labels: labels, options: options).model.classifier
        options.trainsCorpusHeads = true
        let outcome = Trainer.train(dataset, indices: train, labels: labels, options: options)
        let headed = outcome.model.classifier
        #expect(headed.labels == labels && headed.corpusHeads == ["SAVEE", "manifest"])
        #expect((headed as? CorpusHeadsClassifier)?.heads.map(\.recordings) == [8, 8])
        #expect(outcome.model.description.labels == labels)
        #expect(outcome.model.description.training?.counts["SAVEE"]?["happy"] == 4, "\(outcome.model.description.training?.counts ?? [:])")
        let own = (manifest: accuracy(headed, corpus: .manifest), savee: accuracy(headed, corpus: .savee))
        #expect(own.manifest >= 0.8 && own.savee >= 0.8, "\(own)")
        let plain = accuracy(oneSoftmax)
        #expect(accuracy(headed) >= plain + 0.2, "heads \(accuracy(headed)), one softmax \(plain)")

        // Audio of unknown origin: each label's mean over the two heads, which carry
        // both labels and learned from as many recordings each.
        let x = testData.features
        let a = headed.probabilities(x, corpora: test.map { _ in "manifest" })
        let b = headed.probabilities(x, corpora: test.map { _ in "SAVEE" })
        let combined = headed.probabilities(x)
        #expect(combined.values.indices.allSatisfy { abs(combined.values[$0] - (a.values[$0] + b.values[$0]) / 2) < 1e-5 })
        #expect(abs(accuracy(headed, combiningHeads: true) - 0.5) <= 0.25, "opposed heads cancel out")

        // The model file keeps the heads.
        let path = Self.corpus.workspace.file("heads-unit.safetensors")
        try outcome.model.write(to: path)
        let reread = try EmotionModel(contentsOf: path)
        #expect(reread.classifier.corpusHeads == ["SAVEE", "manifest"])
        #expect(reread.classifier.probabilities(x, corpora: test.map { dataset.items[$0].corpus.rawValue })
                == headed.probabilities(x, corpora: test.map { dataset.items[$0].corpus.rawValue }))

        // Trained on the first corpus only, the model has one head, which also answers the second.
        let manifestOnly = train.filter { dataset.items[$0].corpus == .manifest }
        let oneHead = Trainer.train(dataset, indices: manifestOnly, labels: labels, options: options).model.classifier
        #expect(oneHead.corpusHeads == ["manifest"])
        #expect(oneHead.probabilities(x, corpora: test.map { _ in "SAVEE" }) == oneHead.probabilities(x))
    }

    /// Augmented copies join the training side only: a fold's test speakers lend
    /// it no copies, and each training file brings one copy per recipe entry.
    @Test func augmentedCopiesStayOnTheTrainingSide() throws {
        let items = try CorpusReader().readManifest(Self.corpus.manifest)
        var dataset = FeatureDataset(items: items, preset: .classic180, cache: nil)
        dataset.augment(recipe: [.noise(snr: 20), .gain(decibels: -6)], seed: 3, cache: nil)
        #expect(dataset.augmented.count == dataset.items.count)
        #expect(dataset.augmented.allSatisfy { $0.count == 2 })
        #expect(dataset.augmented[0][0] != dataset.vectors[0], "a noisy copy has other features")
        let labels = dataset.labels
        let train = dataset.items.indices.filter { dataset.items[$0].speaker != "spk0" }
        let fit = dataset.trainingMatrix(train, labels: labels)
        #expect(fit.features.rows == 3 * train.count)
        // Every row of the fitting matrix is a training file or a copy of one.
        let allowed = Set(train.flatMap { [dataset.vectors[$0]] + dataset.augmented[$0] })
        for r in 0..<fit.features.rows {
            #expect(allowed.contains(Array(fit.features.values[(r * fit.features.columns)..<((r + 1) * fit.features.columns)])))
        }
        let run = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--epochs", "20",
                              "--augment", "noise:20,speed:1.1", "--features", "classic180", "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        #expect(summary["augmented_copies"] as? Int == 2 * dataset.items.count)
        #expect(summary["augmentation"] as? [String] == ["noise:20.0", "speed:1.1"])
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--augment", "reverb:3"]).status == 2)
    }

    /// After early stopping and calibration on the validation speaker, a vector
    /// model is fitted again on every training speaker for the epoch validation
    /// chose, keeping the calibration; --no-refit (or `refitsOnAllSpeakers = false`)
    /// keeps the first fit.
    @Test func vectorModelsRefitOnAllTrainingSpeakers() throws {
        let items = try CorpusReader().readManifest(Self.corpus.manifest)
        let dataset = FeatureDataset(items: items, preset: .classic180, cache: nil)
        let labels = dataset.labels, all = Array(dataset.items.indices)
        var options = TrainingOptions()
        options.maximumEpochs = 25
        let refitted = Trainer.train(dataset, labels: labels, options: options)
        options.refitsOnAllSpeakers = false
        let kept = Trainer.train(dataset, labels: labels, options: options)

        // The same first fit: same history, validation and calibration.
        #expect(refitted.history.count == kept.history.count && refitted.validationSpeakers == kept.validationSpeakers)
        #expect(refitted.validationSpeakers.count == 1)
        #expect(refitted.validation?.accuracy == kept.validation?.accuracy)
        #expect(refitted.model.classifier.temperature == kept.model.classifier.temperature)
        #expect(kept.refitEpochs == nil && kept.model.description.training?.refitEpochs == nil)
        // The refit runs for the first epoch with the best validation UAR.
        var best = 0
        for (i, record) in refitted.history.enumerated() where (record.validationUAR ?? -1) > (refitted.history[best].validationUAR ?? -1) { best = i }
        #expect(refitted.refitEpochs == best + 1 && refitted.model.description.training?.refitEpochs == best + 1)
        // Its standardization statistics are those of every training file, validation speaker included.
        let rows = dataset.trainingMatrix(all, labels: labels).features
        let network = try #require(refitted.model.classifier as? NeuralNetworkClassifier)
        let firstFit = try #require(kept.model.classifier as? NeuralNetworkClassifier)
        let column = 3
        let mean = (0..<rows.rows).map { Double(rows[$0, column]) }.reduce(0, +) / Double(rows.rows)
        #expect(abs(Double(network.standardizer?.mean[column] ?? .nan) - mean) < 1e-3 * max(1, abs(mean)))
        #expect(abs(Double(firstFit.standardizer?.mean[column] ?? .nan) - mean) > 1e-3 * max(1, abs(mean)), "the first fit saw fewer files")

        // Logistic regression is fitted to convergence (fewer than its 500 L-BFGS
        // iterations), then refitted to convergence on all speakers, with the penalty asked for.
        options.refitsOnAllSpeakers = nil
        options.architecture = .logreg
        options.maximumEpochs = nil
        let linear = Trainer.train(dataset, labels: labels, options: options)
        #expect((1..<500).contains(linear.history.count), "\(linear.history.count)")
        #expect(linear.refitEpochs.map { (1..<500).contains($0) } == true, "\(linear.refitEpochs ?? -1)")
        #expect((linear.model.classifier as? NeuralNetworkClassifier)?.configuration.l2Penalty == LogisticRegressionFamily.defaultL2Penalty)
        options.l2Penalty = 3
        #expect((Trainer.train(dataset, labels: labels, options: options).model.classifier as? NeuralNetworkClassifier)?
            .configuration.l2Penalty == 3)
        options.l2Penalty = nil

        // Trees refit too (no epochs), and the command line says so or not.
        options.architecture = .forest
        #expect(Trainer.train(dataset, labels: labels, options: options).refitEpochs == 0)
        let model = Self.corpus.workspace.file("refit.safetensors")
        for noRefit in [false, true] {
            let run = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--features", "classic180", "--epochs", "25",
                                  "--out", model, "--format", "json"] + (noRefit ? ["--no-refit"] : []))
            let summary = try jsonObject(printedBy: run)
            #expect((summary["refit_epochs"] as? Int).map { $0 > 0 } == (noRefit ? nil : true), "\(summary)")
            let info = try SERRun(["model", "info", model])
            #expect(info.stdout.contains("refitted on all of them") == !noRefit, "\(info.stdout)")
        }
    }

    /// Test-time augmentation: the model records its copies' recipe, classifies
    /// a recording as the mean over it and its copies (made with the fixed test
    /// seed), cross-validation averages each test file with its augmented copies,
    /// and the command line trains, describes, predicts and evaluates such a model.
    @Test func testTimeAugmentationAveragesEachInputWithItsCopies() throws {
        let items = try CorpusReader().readManifest(Self.corpus.manifest)
        let recipe: [Perturbation] = [.gain(decibels: 6), .noise(snr: 20)]
        var dataset = FeatureDataset(items: items, preset: .classic180, cache: nil)
        dataset.augment(recipe: recipe, seed: 2, cache: nil)
        #expect(dataset.augmentationRecipe == recipe)
        #expect(dataset.variants(of: 3) == [dataset.vectors[3]] + dataset.augmented[3])
        let labels = dataset.labels
        var options = TrainingOptions()
        options.maximumEpochs = 10
        options.averagesAugmentedCopies = true
        let model = Trainer.train(dataset, labels: labels, options: options).model
        #expect(model.description.testTimeAugmentation == ["gain:6.0", "noise:20.0"])
        #expect(model.testTimePerturbations == recipe)

        // Cross-validation's probabilities of a file: the mean over the file and its copies.
        let rows = [0, 5]
        let averaged = Trainer.probabilities(model.classifier, dataset, rows, averagingCopies: true)
        let plain = Trainer.probabilities(model.classifier, dataset, rows, averagingCopies: false)
        for (r, row) in rows.enumerated() {
            let each = model.classify(dataset.variants(of: row))
            #expect(each.count == 3)
            for c in labels.indices {
                let mean = each.reduce(0) { $0 + $1.probabilities[c] } / 3
                #expect(abs(Double(averaged[r, c]) - mean) < 1e-5)
                #expect(abs(Double(plain[r, c]) - each[0].probabilities[c]) < 1e-5)
            }
        }

        // At prediction: the recording's vector, then each perturbation's with the test seed.
        let samples = SyntheticSpeech.recording(seconds: 1.0, rate: 16000, voiceSpans: [(0.1, 0.9)], seed: 77, pitch: 180)
        let variants = try model.featureVariants(samples)
        #expect(variants.count == 3)
        #expect(variants[0] == (try model.featureVector(samples)))
        let noisy = try Perturbation.noise(snr: 20).applied(to: samples, sampleRate: 16000, seed: Perturbation.testTimeSeed)
        #expect(variants[2] == (try model.featureVector(noisy)))
        let answer = try #require(model.classifyVariants(variants))
        let each = model.classify(variants)
        for c in labels.indices {
            #expect(abs(answer.probabilities[c] - each.reduce(0) { $0 + $1.probabilities[c] } / 3) < 1e-12)
        }
        #expect(abs(answer.probabilities.reduce(0, +) - 1) < 1e-6)

        // A model file naming a perturbation ser does not know is refused.
        var description = model.description
        description.testTimeAugmentation = ["reverb:3"]
        let file = model.classifier.modelFile(metadata: ["ser": sortedJSONText(description)])
        #expect(throws: (any Error).self) { try EmotionModel(file: file, source: "odd.safetensors") }

        // The command line.
        let path = Self.corpus.workspace.file("tta.safetensors")
        let run = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--features", "classic180", "--epochs", "10",
                              "--augment", "gain:6", "--test-time-augmentation", "--out", path, "--format", "json"])
        #expect(try jsonObject(printedBy: run)["test_time_augmentation"] as? Bool == true)
        let info = try SERRun(["model", "info", path])
        #expect(info.stdout.contains("test-time augmentation: each input is classified with its gain:6.0 copies"), "\(info.stdout)")
        let predicted = try SERRun(["predict", "--model", path, items[0].path, "--format", "json"])
        #expect(predicted.status == 0 && predicted.stdout.contains("\"emotion\""), "\(predicted.stderr)")
        let evaluated = try jsonObject(printedBy: try SERRun(["evaluate", "--model", path, "--manifest", Self.corpus.manifest, "--format", "json"]))
        #expect((evaluated["notes"] as? [String])?.contains { $0.hasPrefix("test-time augmentation") } == true, "\(evaluated)")
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--test-time-augmentation"]).status == 2)
    }

    /// --no-trim: features over whole recordings, silences included. The dataset
    /// reads whole files (and makes augmented copies of whole files); the model
    /// says so, and prediction then classifies a whole input, still answering
    /// "no speech" for silence.
    @Test func untrimmedModelsReadWholeRecordings() throws {
        let items = try CorpusReader().readManifest(Self.corpus.manifest)
        var whole = FeatureDataset(items: items, preset: .classic180, speechDetector: nil, cache: nil)
        let trimmed = FeatureDataset(items: items, preset: .classic180, cache: nil)
        let samples = try AudioSignal(contentsOf: items[0].path, sampleRate: 16000).samples
        #expect(whole.vectors[0] == (try FeaturePreset.classic180.vector(samples: samples, sampleRate: 16000)))
        #expect(whole.vectors[0] != trimmed.vectors[0], "the corpus's recordings have 0.2 s of silence at each end")
        whole.augment(recipe: [.gain(decibels: 6)], seed: 1, cache: nil)
        let louder = try Perturbation.gain(decibels: 6).applied(to: samples, sampleRate: 16000, seed: 0)
        #expect(whole.augmented[0] == [try FeaturePreset.classic180.vector(samples: louder, sampleRate: 16000)])

        let path = Self.corpus.workspace.file("untrimmed.safetensors")
        let run = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--features", "classic180", "--epochs", "10",
                              "--no-trim", "--out", path, "--format", "json"])
        #expect(try jsonObject(printedBy: run)["trims_to_speech"] as? Bool == false)
        let info = try SERRun(["model", "info", path])
        #expect(info.stdout.contains("over whole recordings"), "\(info.stdout)")
        let model = try EmotionModel(contentsOf: path)
        #expect(!model.trimsToSpeech && model.description.trimsToSpeech == false)
        let recognized = EmotionRecognizer(model: model).recognize(samples: samples).estimate
        let expected = try #require(model.classify([try model.featureVector(samples)]).first)
        for (c, label) in model.labels.enumerated() {
            #expect(abs((recognized.probabilities?[label] ?? -1) - expected.probabilities[c]) < 1e-6, "\(label)")
        }
        #expect(!EmotionRecognizer(model: model).recognize(samples: [Float](repeating: 0, count: 16000)).estimate.speech)
        let evaluated = try jsonObject(printedBy: try SERRun(["evaluate", "--model", path, "--manifest", Self.corpus.manifest, "--format", "json"]))
        #expect((evaluated["notes"] as? [String])?.contains { $0.contains("--no-trim") } == true, "\(evaluated)")
        // A model trained the usual way trims, and its file does not mention it.
        #expect(try EmotionModel(contentsOf: Self.trained.model).trimsToSpeech)
    }

    /// --ensemble N trains N seeds and averages them: the model file says so,
    /// loads, and predicts; out-of-range sizes are usage errors.
    @Test func ensemblesTrainSaveAndPredict() throws {
        let model = Self.corpus.workspace.file("ensemble.safetensors")
        let run = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--features", "classic180", "--epochs", "15",
                              "--ensemble", "3", "--out", model, "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        #expect(summary["ensemble_size"] as? Int == 3)
        let info = try SERRun(["model", "info", model])
        #expect(info.status == 0 && info.stdout.contains("× 3 (ensemble)") && info.stdout.contains("ensemble of 3"), "\(info.stdout)")
        let voice = Self.corpus.workspace.file("s0-happy-1.wav")
        let predicted = try SERRun(["predict", voice, "--model", model, "--format", "json"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let answer = (try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [[String: Any]])?.first
        #expect(answer?["emotion"] as? String == "happy", "\(answer ?? [:])")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.workspace.file("."))
            .filter { $0.hasPrefix("ensemble.safetensors.checkpoint") }
        #expect(leftovers.isEmpty, "checkpoints removed after success: \(leftovers)")
        for size in ["0", "21"] {
            #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--ensemble", size]).status == 2)
        }
    }

    /// --speaker-normalization trains on per-speaker z-scores and says so in the
    /// summary and the model; such a model refuses a lone file, answers a set of
    /// one speaker's recordings given --same-speaker, and evaluates per speaker.
    @Test func speakerNormalizedModelsClassifyOneSpeakersRecordingsTogether() throws {
        let model = Self.corpus.workspace.file("speaker-normalized.safetensors")
        let run = try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "logreg", "--speaker-normalization",
                              "--cv", "speakers:2", "--out", model, "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        #expect(summary["feature_normalization"] as? String == "speaker")
        let pooled = try #require((summary["cross_validation"] as? [String: Any])?["pooled"] as? [String: Any])
        #expect((pooled["accuracy"] as? Double ?? 0) > 0.8, "\(pooled)")
        let info = try SERRun(["model", "info", model, "--format", "json"])
        let description = (try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])?["description"] as? [String: Any]
        #expect(description?["feature_normalization"] as? String == "speaker")

        let recordings = (0..<4).flatMap { take in ["sad", "happy"].map { Self.corpus.workspace.file("s1-\($0)-\(take).wav") } }
        let alone = try SERRun(["predict", recordings[0], "--model", model, "--format", "json"])
        #expect(alone.status == 1 && alone.stderr.contains("--same-speaker"), "\(alone.stderr)")
        let together = try SERRun(["predict"] + recordings + ["--model", model, "--same-speaker", "--format", "json"])
        #expect(together.status == 0, "\(together.stderr)")
        let answers = try #require(try JSONSerialization.jsonObject(with: Data(together.stdout.utf8)) as? [[String: Any]])
        #expect(answers.count == 8)
        let right = answers.filter { answer in
            guard let path = answer["path"] as? String, let emotion = answer["emotion"] as? String else { return false }
            return path.contains("-\(emotion)-")
        }
        #expect(right.count >= 7, "\(answers.map { ($0["path"] ?? "", $0["emotion"] ?? "") })")

        let evaluated = try SERRun(["evaluate", "--model", model, "--manifest", Self.corpus.manifest, "--format", "json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        #expect((result["accuracy"] as? Double ?? 0) > 0.8)
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--architecture", "cnn", "--speaker-normalization",
                            "--cv", "speakers:2"]).status == 2)
    }

    @Test func evaluateReportsTheDocumentedKeys() throws {
        _ = Self.trained
        let run = try SERRun(["evaluate", "--model", Self.trained.model, "--manifest", Self.corpus.manifest, "--format", "json"])
        let result = try jsonObject(printedBy: run)
        for key in ["accuracy", "uar", "macro_f1", "n", "labels", "confusion", "per_class", "per_corpus", "ece", "skipped"] {
            #expect(result[key] != nil, "missing \(key)")
        }
        #expect(result["n"] as? Int == 32)
        #expect((result["per_corpus"] as? [String: Any])?["manifest"] != nil)
    }

    @Test func predictAnswersSpeechAndSaysNoSpeechAndReportsFailures() throws {
        _ = Self.trained
        let workspace = Workspace()
        let voice = workspace.file("high.wav"), silence = workspace.file("silence.wav"), broken = workspace.file("broken.wav")
        try AudioFileWriter.write(AudioSignal(samples: SyntheticSpeech.recording(seconds: 2, rate: 44100, voiceSpans: [(0.5, 1.6)], seed: 99, pitch: 240),
                                              sampleRate: 44100), to: voice, format: .wav)
        try AudioFileWriter.write(AudioSignal(samples: [Float](repeating: 0, count: 16000), sampleRate: 16000), to: silence, format: .wav)
        try Data("RIFF garbage".utf8).write(to: URL(fileURLWithPath: broken))
        let run = try SERRun(["predict", "--model", Self.trained.model, voice, silence, broken, "--format", "jsonl"])
        #expect(run.status == 1, "one file failed")
        let lines = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 3)
        guard lines.count == 3 else { return }
        #expect(lines[0]["speech"] as? Bool == true && lines[0]["emotion"] as? String == "happy", "\(lines[0])")
        #expect(lines[0]["sample_rate"] as? Int == 44100)
        let probabilities = try #require(lines[0]["probabilities"] as? [String: Double])
        #expect(abs(probabilities.values.reduce(0, +) - 1) < 1e-3)
        #expect((lines[0]["gender"] as? [String: Any])?["label"] != nil)
        #expect(lines[1]["speech"] as? Bool == false && lines[1]["emotion"] is NSNull)
        #expect(lines[2]["path"] as? String == broken && lines[2]["error"] != nil)
        #expect(run.stderr.contains(broken))

        let csv = try SERRun(["predict", "--model", Self.trained.model, voice, "--format", "csv"])
        #expect(csv.stdout.hasPrefix("path,duration,speech,emotion,confidence,gender,gender_confidence,happy,sad,adapted_to,adapted_recordings,error\n"))

        let piped = try SERRun(["predict", "--model", Self.trained.model, "-", "--format", "json"],
                               input: try Data(contentsOf: URL(fileURLWithPath: voice)))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout.contains("\"path\" : \"-\"") && piped.stdout.contains("\"emotion\" : \"happy\""))

        // (Turning low confidence into "uncertain" is tested on the recognizer; this model is too sure of itself.)
        #expect(try SERRun(["predict", "--model", Self.trained.model, voice, "--min-confidence", "2"]).status == 2)

        let windows = try SERRun(["predict", "--model", Self.trained.model, voice, "--window", "1", "--hop", "0.5", "--format", "json"])
        #expect(windows.stdout.contains("\"segments\""))
    }

    @Test func leakyTrainingSaysSoEverywhere() throws {
        let run = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--allow-leakage", "--epochs", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("WARNING") && run.stdout.contains("LEAKY"))
    }

    /// `--corpus-heads` end to end: cross-validation scores each corpus with its
    /// own head and reports the heads combined; the model file, `model info`,
    /// `evaluate` and `predict` know the heads.
    @Test func corpusHeadsFromTheCommandLine() throws {
        let pooled = Self.corpus.workspace.file("pooled-heads.csv")
        var lines = ["path,label,speaker,gender,corpus"]
        for line in try String(contentsOfFile: Self.corpus.manifest, encoding: .utf8).split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            lines.append(fields.joined(separator: ",") + "," + (["spk2", "spk3"].contains(fields[2]) ? "SAVEE" : "TESS"))
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: pooled))
        let model = Self.corpus.workspace.file("heads.safetensors")
        let run = try SERRun(["train", "--architecture", "mlp", "--manifest", pooled, "--features", "classic180", "--corpus-heads", "--epochs", "15",
                              "--cv", "speakers:2", "--out", model, "--format", "json"])
        let summary = try jsonObject(printedBy: run)
        #expect((summary["corpus_heads"] as? [[String: Any]])?.compactMap { $0["corpus"] as? String } == ["SAVEE", "TESS"])
        let cv = try #require(summary["cross_validation"] as? [String: Any])
        #expect((cv["combined_heads"] as? [String: Any])?["n"] as? Int == 32, "\(cv.keys)")
        #expect((cv["combined_heads_per_corpus"] as? [String: Any])?.keys.sorted() == ["SAVEE", "TESS"])
        let report = Self.corpus.workspace.file("heads.html")
        let table = try SERRun(["train", "--architecture", "mlp", "--manifest", pooled, "--features", "classic180", "--corpus-heads", "--epochs", "5",
                                "--cv", "speakers:2", "--report", report])
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.contains("corpus heads") && html.contains("Heads combined: SAVEE"), "the report shows the heads")
        #expect(table.status == 0 && table.stdout.contains("corpus heads: SAVEE (2 labels), TESS (2 labels)")
                && table.stdout.contains("heads combined"), "\(table.stdout)")

        let info = try SERRun(["model", "info", model])
        #expect(info.status == 0 && info.stdout.contains("heads: SAVEE 2, TESS 2"), "\(info.stdout)")
        let evaluated = try SERRun(["evaluate", "--model", model, "--manifest", pooled, "--format", "json"])
        let evaluation = try jsonObject(printedBy: evaluated)
        #expect((evaluation["notes"] as? [String])?.contains { $0.contains("SAVEE, TESS scored with their own head") } == true,
                "\(evaluation["notes"] ?? "")")
        let predicted = try SERRun(["predict", Self.corpus.workspace.file("s0-happy-1.wav"), "--model", model, "--format", "json"])
        let answer = (try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [[String: Any]])?.first
        #expect(answer?["emotion"] as? String == "happy", "\(predicted.stderr) \(answer ?? [:])")
    }

    @Test func trainingUsageErrors() throws {
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest]).status == 2, "nothing to do")
        #expect(try SERRun(["train", "--out", "x.safetensors"]).status == 2, "no data")
        #expect(try SERRun(["predict", "--model", "/nonexistent.safetensors", "x.wav"]).status == 1)
        let tinyHop = try SERRun(["predict", "x.wav", "--window", "1", "--hop", "0.01"])
        #expect(tinyHop.status == 2 && tinyHop.stderr.contains("hop"), "\(tinyHop.stderr)")
        #expect(try SERRun(["predict", "x.wav", "--hop", "0.5"]).status == 2, "hop without window")
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "svm"]).status == 2)
        let l2ForMLP = try SERRun(["train", "--architecture", "mlp", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--l2", "0.1"])
        #expect(l2ForMLP.status == 2 && l2ForMLP.stderr.contains("--l2"), "\(l2ForMLP.stderr)")
        let rateForLogreg = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "logreg",
                                        "--learning-rate", "0.01"])
        #expect(rateForLogreg.status == 2 && rateForLogreg.stderr.contains("L-BFGS"), "\(rateForLogreg.stderr)")
        #expect(try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "logreg", "--l2", "0"]).status == 2)
        let imageForTrees = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "forest", "--features", "logmel"])
        #expect(imageForTrees.status == 2 && imageForTrees.stderr.contains("logmel"), "\(imageForTrees.stderr)")
        let vectorForCNN = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "cnn", "--features", "rich"])
        #expect(vectorForCNN.status == 2 && vectorForCNN.stderr.contains("log-mel"), "\(vectorForCNN.stderr)")
        let optimizerForTrees = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "tree", "--optimizer", "sgd"])
        #expect(optimizerForTrees.status == 2 && optimizerForTrees.stderr.contains("--optimizer") && optimizerForTrees.stderr.contains("tree"), "\(optimizerForTrees.stderr)")
        let headsForTrees = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--architecture", "forest", "--corpus-heads"])
        #expect(headsForTrees.status == 2 && headsForTrees.stderr.contains("--corpus-heads"), "\(headsForTrees.stderr)")
        let headsWithoutMasks = try SERRun(["train", "--manifest", Self.corpus.manifest, "--cv", "speakers:2", "--corpus-heads", "--no-label-masks"])
        #expect(headsWithoutMasks.status == 2 && headsWithoutMasks.stderr.contains("--no-label-masks"), "\(headsWithoutMasks.stderr)")
    }
}

/// `ser listen --input -`: synthetic PCM piped in, events out.
@Suite struct ListenCommandTests {
    func pcm16(_ samples: [Float]) -> Data {
        var data = Data(capacity: samples.count * 2)
        for s in samples {
            let v = Int16(max(-32768, min(32767, (s * 32768).rounded())))
            withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    func events(_ run: SERRun) -> [[String: Any]] {
        run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func silenceGivesNoSpeechEvents() throws {
        let model = ModelCommandTests.trained.model
        let run = try SERRun(["listen", "--input", "-", "--model", model], input: pcm16([Float](repeating: 0, count: 16000 * 4)))
        #expect(run.status == 0, "\(run.stderr)")
        let list = events(run)
        // 4 s in 2 s windows every 0.5 s: answers at t = 2, 2.5, 3, 3.5, 4.
        #expect(list.compactMap { $0["t"] as? Double } == [2, 2.5, 3, 3.5, 4])
        #expect(list.allSatisfy { $0["speech"] as? Bool == false && $0["emotion"] is NSNull })
    }

    @Test func voiceAtAnotherRateAndInStereoGivesSpeechEvents() throws {
        let model = ModelCommandTests.trained.model
        let mono = SyntheticSpeech.recording(seconds: 3, rate: 22050, voiceSpans: [(0.2, 2.8)], pitch: 240)
        let stereo = mono.flatMap { [$0, $0] }
        var data = Data()
        for s in stereo { withUnsafeBytes(of: s.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        let run = try SERRun(["listen", "--input", "-", "--model", model, "--encoding", "f32le", "--rate", "22050", "--channels", "2",
                              "--window", "1", "--hop", "1", "--timings"], input: data)
        #expect(run.status == 0, "\(run.stderr)")
        let list = events(run)
        #expect(list.count == 3, "\(list)")
        #expect(list.allSatisfy { $0["speech"] as? Bool == true && $0["probabilities"] is [String: Double] }, "\(list)")
        // The small test model is not robust to every 1-second excerpt; most windows must still hear the high voice.
        #expect(list.filter { $0["emotion"] as? String == "happy" }.count >= 2, "\(list)")
        #expect(run.stderr.contains("compute per hop"))
    }

    @Test func listenUsageErrors() throws {
        #expect(try SERRun(["listen", "--input", "file.wav"]).status == 2)
        #expect(try SERRun(["listen", "--input", "-", "--hop", "3", "--window", "2"]).status == 2)
    }
}
