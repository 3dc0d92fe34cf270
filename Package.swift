// swift-tools-version:6.0
// AtomProbeTwin — a digital twin of an atom probe inside a JEOL F200 TEM.
// Module graph follows the data flow (see README "Layout"):
//   MaterialsData → TwinCore → SpecimenBuilder → FieldEvaporation → IonOptics → MassSpectrum → Reconstruction,
//   TEMImaging beside them, Analysis, FileFormats and ScenarioConfig at the edges, Reporting (plots) above MassSpectrum and
//   FileFormats, TwinPipeline wires the stages, `aptwin` is the CLI on top.
import PackageDescription

let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "AtomProbeTwin",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "aptwin", targets: ["aptwin"]),
        .library(name: "TwinPipeline", targets: ["TwinPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries (system). Only the wrapper modules import them.
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Debian's libhdf5-dev installs hdf5-serial.pc (hdf5.pc is only an alternatives link, which may point to an MPI build).
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),

        // Data flow, bottom to top.
        .target(name: "GSLKit", dependencies: ["CGSL"]),
        .target(name: "MaterialsData"),
        .target(name: "TwinCore", dependencies: ["MaterialsData"]),
        .target(name: "SpecimenBuilder", dependencies: ["TwinCore", "MaterialsData", "GSLKit"]),
        .target(name: "FieldEvaporation", dependencies: ["TwinCore", "MaterialsData"]),
        .target(name: "IonOptics", dependencies: ["TwinCore", "MaterialsData", "FieldEvaporation"]),
        .target(name: "MassSpectrum", dependencies: ["TwinCore", "MaterialsData", "GSLKit"]),
        .target(name: "Reconstruction", dependencies: ["TwinCore", "FileFormats"]),
        .target(name: "TEMImaging", dependencies: ["TwinCore", "GSLKit"]),
        .target(name: "Analysis", dependencies: ["TwinCore"]),

        // Edges.
        .target(name: "FileFormats", dependencies: ["TwinCore", "MaterialsData", "CPNG"]),
        .target(name: "ScenarioConfig", dependencies: ["TwinCore", "MaterialsData", .product(name: "Yams", package: "Yams")]),
        // NeXus NXapm (HDF5) files; above FileFormats, which knows nothing of it.
        // HDF5Probe (C): reads a file in a forked child first, because libhdf5 1.10.8 can crash on damaged files.
        .target(name: "HDF5Probe", dependencies: ["CHDF5"]),
        .target(name: "NeXus", dependencies: ["TwinCore", "MaterialsData", "FileFormats", "CHDF5", "HDF5Probe"]),
        // Plots of results (spectrum, detector hit map); knows nothing of the stages that made them.
        .target(name: "Reporting", dependencies: ["TwinCore", "MassSpectrum", "FileFormats"]),

        // Wiring and CLI.
        .target(name: "TwinPipeline", dependencies: [
            "TwinCore", "MaterialsData", "SpecimenBuilder", "FieldEvaporation", "IonOptics",
            "MassSpectrum", "Reconstruction", "TEMImaging", "Analysis", "FileFormats", "ScenarioConfig", "Reporting", "NeXus",
        ]),
        .executableTarget(name: "aptwin", dependencies: [
            "TwinPipeline", "FileFormats", "ScenarioConfig", "TwinCore", "MaterialsData", "SpecimenBuilder",
            "FieldEvaporation", "TEMImaging", "IonOptics", "MassSpectrum", "Reconstruction", "Reporting", "NeXus",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "MaterialsDataTests", dependencies: ["MaterialsData"]),
        // The real Si dataset (fetched at test time), shared by the test targets that read it.
        .target(name: "TestDatasets", path: "Tests/TestDatasets"),
        .testTarget(name: "FileFormatsTests", dependencies: ["FileFormats", "TwinCore", "MaterialsData", "TestDatasets"]),
        .testTarget(name: "NeXusTests", dependencies: ["NeXus", "CHDF5", "FileFormats", "TwinCore", "MaterialsData", "TestDatasets"]),
        .testTarget(name: "ScenarioConfigTests", dependencies: ["ScenarioConfig"]),
        .testTarget(name: "GSLKitTests", dependencies: ["GSLKit"]),
        .testTarget(name: "SpecimenBuilderTests", dependencies: ["SpecimenBuilder", "TwinCore", "MaterialsData", "Analysis"]),
        .testTarget(name: "FieldEvaporationTests", dependencies: ["FieldEvaporation", "TwinCore", "MaterialsData", "SpecimenBuilder"]),
        .testTarget(name: "TEMImagingTests", dependencies: ["TEMImaging", "TwinCore"]),
        .testTarget(name: "IonOpticsTests", dependencies: ["IonOptics", "TwinCore", "MaterialsData"]),
        .testTarget(name: "MassSpectrumTests", dependencies: ["MassSpectrum", "IonOptics", "TwinPipeline", "TwinCore", "MaterialsData", "FileFormats", "TestDatasets"]),
        .testTarget(name: "ReconstructionTests", dependencies: ["Reconstruction", "FileFormats", "TwinCore", "TwinPipeline", "ScenarioConfig", "TestDatasets"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "MassSpectrum", "FileFormats", "TwinCore", "TestDatasets"]),
        .testTarget(name: "PipelineTests", dependencies: ["TwinPipeline", "FileFormats", "ScenarioConfig", "TwinCore", "MaterialsData", "SpecimenBuilder", "Analysis", "TEMImaging"]),
    ]
)

// Release builds of the numerical stages: no overflow, bounds or exclusivity checks in the hot loops (the checks stay
// in debug builds and tests built in debug). The readers and parsers keep every check in release builds, so that a
// parser bug on hostile input traps instead of corrupting memory: FileFormats (every file reader), NeXus, ScenarioConfig
// (YAML) and the CLI. `aptwin bench formats` measured no loss from this (README, "Benchmarks").
let checkedInRelease: Set<String> = ["FileFormats", "ScenarioConfig", "NeXus", "aptwin"]
for target in package.targets where (target.type == .regular || target.type == .executable) && !checkedInRelease.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + release
}
