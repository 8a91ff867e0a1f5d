// swift-tools-version: 6.0
//
// libFuzzer targets for every place ser reads untrusted bytes. Built only by
// scripts/fuzz.sh, which passes -sanitize=fuzzer,address: libFuzzer supplies the driver.
import PackageDescription

/// Target name → the ser libraries it reads with.
let targets: [(name: String, libraries: [String])] = [
    ("DecodeFuzzer", ["SERAudio"]),
    ("ModelFileFuzzer", ["SERModels", "SERNumerics", "SERFeatures", "SERRecognition", "SERSpeakers", "SERSupport"]),
    ("EncoderWeightsFuzzer", ["SEREncoder", "SERSupport"]),
    ("ManifestFuzzer", ["SERBatch", "SERCorpora"]),
    ("SplitFileFuzzer", ["SERCorpora"]),
    ("ProfileFuzzer", ["SERRecognition", "SERSpeakers", "SERFeatures", "SERSupport"]),
    ("MultipartFuzzer", ["SERSupport"]),
    ("StreamFuzzer", ["SERRecognition", "SERModels", "SERNumerics", "SERFeatures", "SERAudio"]),
    ("NpyFuzzer", ["SERSupport"]),
]

let package = Package(
    name: "ser-fuzz",
    dependencies: [.package(name: "ser", path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
    ] + targets.map { target in
        .executableTarget(
            name: target.name,
            dependencies: ["FuzzSupport"] + target.libraries.map { .product(name: $0, package: "ser") },
            path: "Sources/\(target.name)"
        )
    }
)
