import Foundation
import MaterialsData
import ScenarioConfig
import SpecimenBuilder
import TwinCore

/// The specimen part of a scenario, resolved: everything `SpecimenFactory` needs, plus the spinodal field request
/// (generated at build time from the run's seed).
public struct SpecimenRequest: Sendable {
    public var spec: SpecimenSpec
    public var spinodal: (parameters: SpinodalParameters, soluteZ: Int, amplitudeAtFrac: Double)?

    /// Builds the specimen (and its spinodal field, if any).
    public func build(seed: UInt64, threads: Int) throws -> BuiltSpecimen {
        var s = spec
        if let sp = spinodal {
            let grid = try SpinodalField.generate(sp.parameters, seed: seed, threads: threads)
            s.spinodal = SpinodalChemistry(field: grid, soluteZ: sp.soluteZ, amplitudeAtFrac: sp.amplitudeAtFrac)
        }
        return try SpecimenFactory.build(s, seed: seed, threads: threads)
    }

    public init(_ s: ResolvedScenario) throws {
        func composition(_ key: String) throws -> [CompositionEntry]? {
            guard case .composition(let comp)? = s[key] else { return nil }
            return try comp.map { c in
                guard let e = PeriodicTable.element(symbol: c.symbol) else {
                    throw TwinError.invalidInput("\(key): unknown element '\(c.symbol)'")
                }
                return CompositionEntry(z: e.z, fraction: c.fraction)
            }
        }
        guard let comp = try composition("specimen.composition_at_frac") else {
            throw TwinError.invalidInput("specimen.composition_at_frac is missing")
        }
        let latticeName = s.string("specimen.lattice") ?? "bcc"
        guard let kind = CrystalLattice.Kind(rawValue: latticeName) else {
            throw TwinError.invalidInput("specimen.lattice: unsupported lattice '\(latticeName)'")
        }
        let aNM: Double
        var cNM = s.double("specimen.lattice_c_nm")
        if let given = s.double("specimen.lattice_constant_nm") {
            aNM = given
        } else {
            // Vegard's law over the pure-element constants.
            var sum = 0.0, cSum = 0.0, cKnown = true
            for c in comp {
                guard let lat = PeriodicTable.lattice(z: c.z) else {
                    let sym = PeriodicTable.element(z: c.z)?.symbol ?? "Z=\(c.z)"
                    throw TwinError.invalidInput("specimen.lattice_constant_nm: no lattice data for \(sym); give lattice_constant_nm")
                }
                sum += c.fraction * lat.aNM
                if let lc = lat.cNM { cSum += c.fraction * lc } else { cKnown = false }
            }
            aNM = sum
            if kind == .hcp, cNM == nil, cKnown { cNM = cSum }
        }
        let lattice = try CrystalLattice(kind: kind, aNM: aNM, cNM: cNM)
        var hkl = SIMD3<Double>(0, 0, 1)
        if case .intList(let l)? = s["specimen.axis_hkl"], l.count == 3 { hkl = SIMD3(Double(l[0]), Double(l[1]), Double(l[2])) }
        let base = try Rotation3(crystalDirectionAlongSpecimenZ: hkl, rotationAboutZDeg: s.double("specimen.rotation_about_axis_deg") ?? 0)
        let geometry = try NeedleGeometry(apexRadiusNM: s.double("specimen.apex_radius_nm") ?? 10,
                                          shankHalfAngleDeg: s.double("specimen.shank_half_angle_deg") ?? 5,
                                          lengthNM: s.double("specimen.length_nm") ?? 40,
                                          capAxialRatio: s.double("specimen.cap_axial_ratio") ?? 1)
        var spec = SpecimenSpec(geometry: geometry, lattice: lattice, composition: comp, orientation: base)
        spec.staticDisplacementNM = s.double("specimen.static_displacement_nm") ?? 0
        spec.surfaceLayerThicknessNM = s.double("specimen.surface_layer_thickness_nm") ?? 0
        spec.surfaceLayerComposition = try composition("specimen.surface_layer_composition_at_frac") ?? []
        // Precipitates.
        let density = s.double("specimen.precipitates.number_density_per_nm3") ?? 0
        if density > 0 {
            guard let pc = try composition("specimen.precipitates.composition_at_frac") else {
                throw TwinError.invalidInput("specimen.precipitates.composition_at_frac is required when number_density_per_nm3 > 0")
            }
            var habit = SIMD3<Double>(1, 1, 1)
            if case .intList(let l)? = s["specimen.precipitates.habit_hkl"], l.count == 3 { habit = SIMD3(Double(l[0]), Double(l[1]), Double(l[2])) }
            spec.precipitates = PrecipitateSpec(
                numberDensityPerNM3: density, shape: s.string("specimen.precipitates.shape") == "platelet" ? .platelet : .sphere,
                radiusNM: s.double("specimen.precipitates.radius_nm") ?? 1.5,
                radiusRelSpread: s.double("specimen.precipitates.radius_rel_spread") ?? 0.1,
                thicknessNM: s.double("specimen.precipitates.thickness_nm") ?? 0.5, habitHKL: habit, composition: pc,
                minSeparationNM: s.double("specimen.precipitates.min_separation_nm") ?? 1)
        }
        // Grains.
        switch s.string("specimen.grains.mode") ?? "single" {
        case "voronoi":
            let rb = geometry.baseRadiusNM
            let map = try VoronoiGrains(boxMinNM: SIMD3(-rb, -rb, -geometry.lengthNM), boxMaxNM: SIMD3(rb, rb, 0),
                                        meanGrainSizeNM: s.double("specimen.grains.mean_size_nm") ?? 30,
                                        seed: UInt64(s.int("seed") ?? 1))
            spec.grains = GrainSetup(map: map, orientations: VoronoiGrains.randomOrientations(count: map.grainCount, seed: UInt64(s.int("seed") ?? 1)))
        case "planes":
            guard case .records(let recs)? = s["specimen.grains.boundaries"], !recs.isEmpty else {
                throw TwinError.invalidInput("specimen.grains.boundaries: planes mode needs at least one boundary")
            }
            var specs: [GrainBoundarySpec] = []
            var bands: [SegregationBand] = []
            var below = base
            for (i, r) in recs.enumerated() {
                let key = "specimen.grains.boundaries[\(i)]"
                guard case .doubleList(let pt)? = r["point_nm"], case .doubleList(let nv)? = r["normal"],
                      case .doubleList(let ax)? = r["misorientation_axis_hkl"], case .double(let ang)? = r["misorientation_deg"] else {
                    throw TwinError.invalidInput("\(key): point_nm, normal, misorientation_axis_hkl and misorientation_deg are required")
                }
                let plane: BoundaryPlane
                do { plane = try BoundaryPlane(pointNM: SIMD3(pt[0], pt[1], pt[2]), normal: SIMD3(nv[0], nv[1], nv[2])) } catch {
                    throw TwinError.invalidInput("\(key): \(error)")
                }
                var axis = SIMD3(ax[0], ax[1], ax[2])
                if case .string("specimen")? = r["axis_frame"] { axis = below.transposed.apply(axis) }
                do { specs.append(try GrainBoundarySpec(plane: plane, misorientationAxis: axis, angleDeg: ang)) } catch {
                    throw TwinError.invalidInput("\(key): \(error)")
                }
                below = below * specs.last!.misorientation
                if case .double(let w)? = r["band_width_nm"], w > 0 {
                    guard case .composition(let bc)? = r["band_composition_at_frac"] else {
                        throw TwinError.invalidInput("\(key).band_composition_at_frac is required when band_width_nm > 0")
                    }
                    let entries = try bc.map { c -> CompositionEntry in
                        guard let e = PeriodicTable.element(symbol: c.symbol) else {
                            throw TwinError.invalidInput("\(key).band_composition_at_frac: unknown element '\(c.symbol)'")
                        }
                        return CompositionEntry(z: e.z, fraction: c.fraction)
                    }
                    bands.append(SegregationBand(boundary: i, widthNM: w, composition: entries))
                }
            }
            let planar = PlanarGrains(specs: specs)
            do { try planar.validate(zMinNM: -geometry.lengthNM, zMaxNM: 0, radiusAtZNM: { geometry.radiusNM(atZ: $0) }) } catch { throw TwinError.invalidInput("specimen.grains.boundaries: \(error)") }
            spec.grains = GrainSetup(map: planar, orientations: GrainBoundarySpec.grainOrientations(base: base, boundaries: specs), bands: bands)
        default:
            break
        }
        self.spec = spec
        if s.string("specimen.microstructure") == "spinodal" {
            let soluteSym = s.string("specimen.spinodal.solute") ?? "Cr"
            guard let solute = PeriodicTable.element(symbol: soluteSym), comp.contains(where: { $0.z == solute.z }) else {
                throw TwinError.invalidInput("specimen.spinodal.solute '\(soluteSym)' is not an element of specimen.composition_at_frac")
            }
            let rb = geometry.baseRadiusNM
            let method = SpinodalMethod(rawValue: s.string("specimen.spinodal.method") ?? "cahn_hilliard") ?? .cahnHilliard
            let p = SpinodalParameters(wavelengthNM: s.double("specimen.spinodal.wavelength_nm") ?? 5, method: method,
                                       boxNM: (2 * rb, 2 * rb, geometry.lengthNM))
            spinodal = (p, solute.z, s.double("specimen.spinodal.amplitude_at_frac") ?? 0.3)
        } else {
            spinodal = nil
        }
    }
}
