import ArgumentParser
import Foundation
import SERAudio
import SERCorpora
import SERFeatures
import SERModels
import SERRecognition
import SERTraining

/// Where training and evaluation data come from: `--data` folders and `--manifest` files.
struct DataSelection: ParsableArguments {
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Corpus folders (RAVDESS, CREMA-D, TESS, SAVEE, folder-per-label).", valueName: "dir"))
    var data: [String] = []

    @Option(help: ArgumentHelp("A CSV or JSONL manifest (path,label[,speaker,gender,corpus]), or a plain file list from `ser manifest` (files labelled by their names); repeatable.", valueName: "file"))
    var manifest: [String] = []

    @OptionGroup var labelling: CorpusCommand.Labelling

    var paths: [String] { data + manifest }

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give training data with --data DIR... or --manifest FILE.") }
    }
}
