// swift-tools-version: 6.0
//
// libFuzzer target for ser's decode path. Built only by scripts/fuzz-decode.sh,
// which passes -sanitize=fuzzer,address: libFuzzer supplies main().
import PackageDescription

let package = Package(
    name: "ser-fuzz",
    dependencies: [.package(name: "ser", path: "..")],
    targets: [
        .executableTarget(
            name: "DecodeFuzzer",
            dependencies: [.product(name: "SERAudio", package: "ser")],
            path: "Sources/DecodeFuzzer"
        ),
    ]
)
