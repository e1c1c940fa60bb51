"""GCJ-02 (the offset datum of Gaode/AMap tiles): the public forward shift, vectorised."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["wgs84_to_gcj02", "gcj02_xy"]

#: Krasovsky 1940 ellipsoid, as the GCJ-02 formula uses it
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
#: the formula's origin (longitude, latitude in degrees)
_ORIGIN_LON, _ORIGIN_LAT = 105.0, 35.0
#: the published China box outside which points are left unchanged (degrees)
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 (or CGCS2000) longitude/latitude to GCJ-02, vectorised.

    The public forward formula (Krasovsky ellipsoid, polynomial plus sine series) as in
    eviltransform and coordTransform; points outside the published China box are returned
    unchanged. Around Wuhan the shift is 566–590 m. Use it for display on GCJ-02 tiles
    (Gaode/AMap) only: it is not a survey transformation and has no exact inverse.

    Parameters
    ----------
    lon, lat : array-like of float
        Degrees.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([114.27], [30.60])
    >>> round(float(lon[0] - 114.27), 4), round(float(lat[0] - 30.60), 4)
    (0.0054, -0.0025)
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x = lon - _ORIGIN_LON
    y = lat - _ORIGIN_LAT
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * pi)
    inside = ((lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1])
              & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1]))
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wgs84_to_gcj02` in the form ``shapely.transform(..., interleaved=False)`` takes."""
    return wgs84_to_gcj02(x, y)
