import FieldEvaporation
import Foundation

/// The field of the simulated needle in its F200 environment for trajectory integration: the field-evaporation
/// engine's continuum model (``AxisymmetricFieldModel``: sphere-on-cone of apex radius R in the pole-piece gap,
/// grounded counter-electrode plane), tabulated (``AxisymmetricFieldTable``). Apex at the origin, axis z.
/// Beyond `farFieldStartM` (just before the counter-electrode plane, whose aperture the model does not contain)
/// the tracer switches to its field-free and magnetic phases.
public struct NeedleFieldModel: ElectrostaticFieldModel {
    public let table: AxisymmetricFieldTable
    public let farFieldStartM: Double

    public init(table: AxisymmetricFieldTable, counterElectrodeDistanceMM: Double) {
        self.table = table
        let limit = counterElectrodeDistanceMM > 0 ? 0.98 * counterElectrodeDistanceMM * 1e-3 : table.maxRadiusNM * 0.9e-9
        farFieldStartM = min(limit, table.maxRadiusNM * 0.9e-9)
    }

    public func fieldPerVolt(atM p: SIMD3<Double>) -> SIMD3<Double> {
        table.field(xNM: p.x * 1e9, yNM: p.y * 1e9, zNM: p.z * 1e9) * 1e9
    }
}
