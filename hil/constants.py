"""Earth constants used by the plant's truth models, in SI units, in one place.

Defaults are those of WGS-84 and the EGM2008 gravity model, so that the plant, Basilisk
baselines (which read the same values from `shared/data/earth_J2_wgs84.txt`) and the tests
agree to the last digit.
"""

# Geocentric gravitational constant including the atmosphere, m^3/s^2.
# Source: NGA.STND.0036_1.0.0_WGS84 (2014), Table 3.1 (GM); also the EGM2008 value.
MU_EARTH_M3_S2 = 3.986004418e14

# Equatorial radius (semi-major axis of the WGS-84 ellipsoid), m.
# Source: NGA.STND.0036_1.0.0_WGS84 (2014), Table 3.1 (a).
R_EARTH_M = 6378137.0

# Flattening of the WGS-84 ellipsoid (dimensionless); used for the altitude in the drag model.
# Source: NGA.STND.0036_1.0.0_WGS84 (2014), Table 3.1 (1/f = 298.257223563).
FLATTENING_EARTH = 1.0 / 298.257223563

# Unnormalised second zonal harmonic J2 = -sqrt(5) * C20_bar, dimensionless.
# Source: WGS-84 Earth Gravitational Model EGM96 (Lemoine et al., NASA/TP-1998-206861),
# C20_bar = -4.84165371736e-4 -> J2 = 1.0826266836e-3. The EGM2008 tide-free C20_bar
# (-4.84165143790815e-4, Pavlis et al. 2012) gives 1.0826261739e-3: a 5e-7 relative difference,
# below anything the plant resolves. This value is kept because
# shared/data/earth_J2_wgs84.txt (the Basilisk baseline's gravity file) is built from it.
J2_EARTH = 1.08262668e-3

# Earth's mean rotation rate (inertial), rad/s: the co-rotation rate of the atmosphere.
# Source: NGA.STND.0036_1.0.0_WGS84 (2014), Table 3.1 (omega = 7.292115e-5 rad/s).
OMEGA_EARTH_RAD_S = 7.292115e-5

# Standard acceleration of gravity, m/s^2 (converts specific impulse in s to exhaust speed).
# Source: BIPM, The International System of Units (SI), 9th ed., 2019; CGPM 1901.
G0_M_S2 = 9.80665
