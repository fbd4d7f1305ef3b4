"""Where the Earth and the Sun are seen from the Moon: light time, the Earth's elevation, the
Sun's direction (shell).

Positions come from JPL's DE421 planetary ephemeris (``de421.bsp`` shipped in the
``skyfield-data`` package, read by ``skyfield``; no network). The Moon-fixed frame is the IAU
rotation model of the Moon (WGCCRE 2009: Archinal et al. 2011, "Report of the IAU Working Group on
Cartographic Coordinates and Rotational Elements: 2009", Celest. Mech. Dyn. Astr. 109, 101-135,
Table 2): pole right ascension and declination and prime meridian angle as functions of TDB, with
all their periodic terms in the arguments E1..E13. The IAU model stands for the mean-Earth/polar
axis (ME) frame of ``touchdown.moon.frames``; the two differ by well under 0.01 deg at the
surface, and the model differs from the DE421 libration solution by a few hundredths of a degree,
far below anything that matters for whether the Earth is above the horizon.

Times: the scenario epoch is a UTC datetime and ``t_s`` counts SI seconds after it (onboard
time), so an instant is the epoch's TT plus ``t_s``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from touchdown.errors import EphemerisError
from touchdown.moon.constants import R_REF

C_LIGHT = 299_792_458.0  # m/s
J2000_JD = 2451545.0  # d, JD of J2000.0 (TDB)

# WGCCRE 2009 Moon: arguments Ei = a + b d (deg, d in days of TDB from J2000) ...
_E_A = np.array([125.045, 250.089, 260.008, 176.625, 357.529, 311.589, 134.963, 276.617,
                 34.226, 15.134, 119.743, 239.961, 25.053])  # deg
_E_B = np.array([-0.0529921, -0.1059842, 13.0120009, 13.3407154, 0.9856003, 26.4057084,
                 13.0649930, 0.3287146, 1.7484877, -0.1589763, 0.0036096, 0.1643573,
                 12.9590088])  # deg/d
# ... and the amplitudes (deg) of sin Ei in alpha0, cos Ei in delta0, sin Ei in W
_ALPHA_SIN = np.array([-3.8787, -0.1204, 0.0700, -0.0172, 0.0, 0.0072, 0.0, 0.0, 0.0,
                       -0.0052, 0.0, 0.0, 0.0043])
_DELTA_COS = np.array([1.5419, 0.0239, -0.0278, 0.0068, 0.0, -0.0029, 0.0009, 0.0, 0.0,
                       0.0008, 0.0, 0.0, -0.0009])
_W_SIN = np.array([3.5610, 0.1208, -0.0642, 0.0158, 0.0252, -0.0066, -0.0047, -0.0046,
                   0.0028, 0.0052, 0.0040, 0.0019, -0.0044])


def moon_orientation_deg(d_tdb: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IAU (WGCCRE 2009) pole right ascension, declination and prime meridian of the Moon.

    Parameters
    ----------
    d_tdb : array_like
        Days of TDB since J2000.0 (d).

    Returns
    -------
    alpha0_deg, delta0_deg, w_deg : ndarray
        ICRF right ascension and declination of the north pole and the prime meridian angle
        (deg), each of the shape of ``d_tdb``.
    """
    d = np.asarray(d_tdb, dtype=np.float64)
    T = d / 36525.0  # Julian centuries
    E = np.radians(_E_A + _E_B * d[..., None])
    alpha0 = 269.9949 + 0.0031 * T + np.sin(E) @ _ALPHA_SIN
    delta0 = 66.5392 + 0.0130 * T + np.cos(E) @ _DELTA_COS
    w = 38.3213 + 13.17635815 * d - 1.4e-12 * d * d + np.sin(E) @ _W_SIN
    return alpha0, delta0, w


def dcm_mcmf_icrf(d_tdb: ArrayLike) -> np.ndarray:
    """Rotation matrices taking ICRF components to Moon-fixed (IAU) ones, shape (..., 3, 3).

    ``x_mcmf = dcm @ x_icrf`` with ``dcm = Rz(W) Rx(90 deg - delta0) Rz(90 deg + alpha0)``.
    """
    alpha0, delta0, w = (np.radians(a) for a in moon_orientation_deg(d_tdb))

    def rz(a: np.ndarray) -> np.ndarray:
        c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
        return np.stack([np.stack([c, s, z], -1), np.stack([-s, c, z], -1),
                         np.stack([z, z, o], -1)], -2)

    def rx(a: np.ndarray) -> np.ndarray:
        c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
        return np.stack([np.stack([o, z, z], -1), np.stack([z, c, s], -1),
                         np.stack([z, -s, c], -1)], -2)

    return rz(w) @ rx(np.pi / 2 - delta0) @ rz(np.pi / 2 + alpha0)


def _site_mcmf(lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray:
    lat, lon = np.broadcast_arrays(np.radians(lat_deg), np.radians(lon_deg))
    return R_REF * np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon),
                             np.sin(lat)], -1)


def _out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if x.ndim == 0 else x


class Ephemeris:
    """DE421 Earth and Moon with the IAU Moon rotation; load once with ``load_ephemeris()``.

    Parameters
    ----------
    bsp_path : Path
        A JPL SPK file holding the Earth (399) and Moon (301) about the Earth-Moon barycentre.
    """

    def __init__(self, bsp_path: Path) -> None:
        from skyfield.api import load as sky_load
        from skyfield.api import load_file

        if not Path(bsp_path).is_file():
            raise EphemerisError(f"{bsp_path}: ephemeris file not found; install the "
                                 "skyfield-data package (pip install skyfield-data)")
        self.path = Path(bsp_path)
        self.ts = sky_load.timescale(builtin=True)
        self._kernel = load_file(str(bsp_path))
        self._earth_wrt_moon = self._kernel["earth"] - self._kernel["moon"]
        self._sun_wrt_moon = self._kernel["sun"] - self._kernel["moon"]

    def _times(self, epoch_utc: datetime, t_s: ArrayLike):  # -> skyfield Time
        if not isinstance(epoch_utc, datetime):
            raise EphemerisError(f"epoch_utc must be a datetime, got {epoch_utc!r}; use the "
                                 "scenario's scenario.epoch_utc")
        epoch = epoch_utc.replace(tzinfo=UTC) if epoch_utc.tzinfo is None else epoch_utc
        t0 = self.ts.from_datetime(epoch)
        dt_d = np.asarray(t_s, dtype=np.float64) / 86400.0
        return self.ts.tt_jd(t0.whole, t0.tt_fraction + dt_d)

    def _from_moon_icrf_m(self, body: Any, epoch_utc: datetime, t_s: ArrayLike) -> np.ndarray:
        t = self._times(epoch_utc, t_s)
        try:
            r = body.at(t).position.m
        except Exception as exc:  # skyfield's EphemerisRangeError
            raise EphemerisError(f"{exc}; DE421 covers 1899-07-29 to 2053-10-09, choose an "
                                 "epoch inside it") from None
        return np.moveaxis(np.asarray(r), 0, -1)

    def _to_mcmf(self, r_icrf: np.ndarray, epoch_utc: datetime, t_s: ArrayLike) -> np.ndarray:
        t = self._times(epoch_utc, t_s)
        d_tdb = (t.whole - J2000_JD) + t.tdb_fraction
        return np.einsum("...ij,...j->...i", dcm_mcmf_icrf(d_tdb), r_icrf)

    def earth_wrt_moon_icrf_m(self, epoch_utc: datetime, t_s: ArrayLike) -> np.ndarray:
        """Geometric position of the Earth's centre from the Moon's centre, ICRF (m), (..., 3)."""
        return self._from_moon_icrf_m(self._earth_wrt_moon, epoch_utc, t_s)

    def earth_mcmf_m(self, epoch_utc: datetime, t_s: ArrayLike) -> np.ndarray:
        """Position of the Earth's centre in the Moon-fixed (IAU) frame (m), shape (..., 3)."""
        return self._to_mcmf(self.earth_wrt_moon_icrf_m(epoch_utc, t_s), epoch_utc, t_s)

    def sun_mcmf_unit(self, epoch_utc: datetime, t_s: ArrayLike) -> np.ndarray:
        """Direction (-) from the Moon's centre to the Sun's, Moon-fixed (IAU), shape (..., 3).

        Geometric, as seen from the Moon's centre: from anywhere on the surface the Sun's
        direction differs by under 0.001 deg (1737 km against 1 au), and light time and
        aberration (20 arcsec) are neglected.
        """
        r = self._to_mcmf(self._from_moon_icrf_m(self._sun_wrt_moon, epoch_utc, t_s),
                          epoch_utc, t_s)
        return r / np.linalg.norm(r, axis=-1, keepdims=True)

    def sun_elevation_deg(self, epoch_utc: datetime, t_s: ArrayLike, lat_deg: ArrayLike,
                          lon_deg: ArrayLike) -> float | np.ndarray:
        """Elevation of the Sun's centre above the local horizon (the sphere's) at a site (deg)."""
        up = _site_mcmf(lat_deg, lon_deg) / R_REF
        sin_el = np.sum(self.sun_mcmf_unit(epoch_utc, t_s) * up, axis=-1)
        return _out(np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0))))

    def light_time_s(self, epoch_utc: datetime, t_s: ArrayLike,
                     lat_deg: ArrayLike | None = None,
                     lon_deg: ArrayLike | None = None) -> float | np.ndarray:
        """One-way light time to the Earth's centre (s): geometric distance / c at ``t_s``.

        From the Moon's centre, or from the point on the 1737.4 km sphere at ``lat_deg``,
        ``lon_deg`` (deg, planetocentric, east) when they are given (they differ by at most
        5.8 ms). The distance is instantaneous (no retarded-time iteration: that would add a few
        microseconds) and does not include the Earth station's offset from the geocentre
        (up to 21 ms) or any delay in the atmosphere.

        Parameters
        ----------
        epoch_utc : datetime
            Scenario epoch (UTC).
        t_s : float or array_like
            Seconds after the epoch.
        lat_deg, lon_deg : float or array_like, optional
            Site on the Moon, broadcast against ``t_s``.
        """
        if lat_deg is None or lon_deg is None:
            r = self.earth_wrt_moon_icrf_m(epoch_utc, t_s)
        else:
            r = self.earth_mcmf_m(epoch_utc, t_s) - _site_mcmf(lat_deg, lon_deg)
        return _out(np.linalg.norm(r, axis=-1) / C_LIGHT)

    def earth_elevation_deg(self, epoch_utc: datetime, t_s: ArrayLike, lat_deg: ArrayLike,
                            lon_deg: ArrayLike) -> float | np.ndarray:
        """Elevation of the Earth's centre above the local horizon at a site on the Moon (deg).

        The horizon is the plane normal to the site's radius on the 1737.4 km sphere (terrain
        is not included); the direction is geometric (aberration, ~20 arcsec, is neglected).
        Arguments as for ``light_time_s``; ``lat_deg`` and ``lon_deg`` broadcast against
        ``t_s``.
        """
        site = _site_mcmf(lat_deg, lon_deg)
        los = self.earth_mcmf_m(epoch_utc, t_s) - site
        up = site / R_REF
        sin_el = np.sum(los * up, axis=-1) / np.linalg.norm(los, axis=-1)
        return _out(np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0))))

    def sub_earth_point_deg(self, epoch_utc: datetime,
                            t_s: ArrayLike) -> tuple[float | np.ndarray, float | np.ndarray]:
        """Latitude and east longitude (deg, in -180..180) where the Earth is at the zenith."""
        r = self.earth_mcmf_m(epoch_utc, t_s)
        lat = np.degrees(np.arctan2(r[..., 2], np.hypot(r[..., 0], r[..., 1])))
        return _out(lat), _out(np.degrees(np.arctan2(r[..., 1], r[..., 0])))


def de421_path() -> Path:
    """The ``de421.bsp`` shipped in the skyfield-data package."""
    try:
        import skyfield_data
    except ImportError:
        raise EphemerisError("the skyfield-data package is not installed; pip install "
                             "skyfield-data (it ships de421.bsp)") from None
    return Path(skyfield_data.__file__).parent / "data" / "de421.bsp"


@cache
def load_ephemeris() -> Ephemeris:
    """The DE421 ephemeris, loaded once per process."""
    return Ephemeris(de421_path())


__all__ = ["C_LIGHT", "Ephemeris", "EphemerisError", "dcm_mcmf_icrf", "load_ephemeris",
           "moon_orientation_deg"]
