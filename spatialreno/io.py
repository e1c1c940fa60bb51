"""Read the layers planners receive into clean, projected GeoDataFrames with canonical columns.

:func:`read` (and :func:`read_layer`) opens anything GDAL opens (GeoPackage, shapefile —
also zipped —, GeoJSON, FlatGeobuf, ...), through pyogrio (default) or fiona, and

* maps column aliases (Chinese names such as ``户数``, shapefile codes such as ``hh_cnt``)
  to the canonical names of :mod:`spatialreno.schema`, and coded values (``庭院埋地``) to
  their codes (``courtyard_buried``);
* decodes shapefile text correctly: a ``.cpg`` is honoured (``936``, ``ANSI 936``, ``GBK``,
  ``65001`` ... are understood); with no ``.cpg`` the DBF bytes decide between UTF-8 and
  GBK and the choice is reported; text is never returned garbled silently;
* refuses a layer with no CRS unless ``crs=`` says which it is, and projects a geographic
  layer (EPSG:4326 / 4490) to its CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534–4554;
  Wuhan → EPSG:4547) unless ``to_crs=`` names another;
* sets the layer's id column (``compound_id``, ``structure_id``, ...) as a string index.

Nothing is dropped here: invalid geometry, duplicate ids and bad numbers are left for
:func:`spatialreno.check_layer` to report and :func:`spatialreno.repair_layer` to fix with an
audit row each. What reading itself decided (encoding, renamed columns, reprojection, ids
made up for a file without them) comes back with the layer: :func:`read` returns a
:class:`LayerRead` (``frame``, ``notes``, ``source``); :func:`read_layer` returns the frame.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from . import schema
from .errors import CRSError, LayerReadError, SchemaError, SpatialRenoWarning

__all__ = [
    "read",
    "LayerRead",
    "read_layer",
    "read_layers",
    "list_layers",
    "gauss_kruger_crs",
    "detect_dbf_encoding",
    "normalize_columns",
    "ensure_projected",
    "check_coordinates",
    "CoordinateProblem",
    "split_layer_spec",
]

Engine = Literal["pyogrio", "fiona"]
_ENGINES = ("pyogrio", "fiona")

#: .cpg contents → the encoding name Python and GDAL both understand
_CPG_ALIASES = {
    "936": "GBK", "cp936": "GBK", "ansi936": "GBK", "gbk": "GBK", "gb2312": "GBK",
    "oem": None, "gb18030": "GB18030", "54936": "GB18030",
    "65001": "UTF-8", "utf8": "UTF-8", "utf-8": "UTF-8", "utf_8": "UTF-8",
    "950": "BIG5", "cp950": "BIG5", "big5": "BIG5",
    "1252": "CP1252", "cp1252": "CP1252", "88591": "ISO-8859-1", "iso88591": "ISO-8859-1",
    "latin1": "ISO-8859-1",
}
#: DBF language-driver ids that name an encoding
_LDID = {0x4D: "GBK", 0x7A: "GBK", 0x78: "BIG5", 0x57: None, 0x00: None, 0x03: "CP1252"}


# --------------------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------------------
def gauss_kruger_crs(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Krüger CRS (no zone prefix) whose zone holds ``lon``.

    Code = 4534 + (CM − 75) / 3 for central meridians 75°E–135°E (EPSG:4534–4554); Wuhan
    (114.3°E) → EPSG:4547. Outside China's longitudes a :class:`CRSError` says to name a CRS.
    """
    cm = int(np.floor((lon + 1.5) / 3.0)) * 3
    if not 75 <= cm <= 135:
        raise CRSError(
            f"longitude {lon:.3f} is outside the CGCS2000 Gauss-Krüger zones (75°E–135°E); "
            "pass to_crs= with a projected CRS in metres (e.g. a UTM zone)"
        )
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def ensure_projected(gdf: gpd.GeoDataFrame, *, crs=None, to_crs=None, source: str = "layer"):
    """Return ``gdf`` in a projected CRS in metres, with a note of what was done.

    ``crs`` states the CRS of data that carries none (or must agree with the one it carries);
    ``to_crs`` names the target. A geographic layer goes to its Gauss-Krüger zone.

    The coordinates must fit the CRS (:func:`check_coordinates`): lon/lat degrees in a layer
    that says EPSG:4547, metres in one that says EPSG:4326, coordinates like 1e15, inf or NaN
    raise :class:`CRSError` naming the likely CRS. When the file's own CRS does not fit its
    coordinates, ``crs=`` may overrule it — if the coordinates fit ``crs=`` (a note and a
    warning say so); otherwise ``crs=`` must agree with the file.
    """
    notes: list[str] = []
    said = "the file says" if source != "GeoDataFrame" else None
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{source}: the layer has no coordinate reference system; say which it is with "
                "crs= (e.g. crs='EPSG:4547' for Wuhan CGCS2000 Gauss-Krüger, 'EPSG:4490' for "
                "CGCS2000 lon/lat), or add a .prj beside the shapefile"
            )
        given = CRS.from_user_input(crs)
        problem = check_coordinates(gdf, given, source=source, said="crs= says")
        if problem is not None:
            raise CRSError(problem.message)
        gdf = gdf.set_crs(given)
        notes.append(f"CRS {given.to_string()} assigned (the file had none)")
    elif crs is not None and not CRS.from_user_input(crs).equals(gdf.crs):
        own = check_coordinates(gdf, source=source, said=said)
        given = CRS.from_user_input(crs)
        if own is None or not own.whole_layer:
            raise CRSError(
                f"{source}: the file says its CRS is {gdf.crs.to_string()} but crs={crs!r} was given; "
                "crs= only states the CRS of data that has none (or whose file names a CRS its "
                "coordinates cannot be in) — use to_crs= to reproject"
            )
        problem = check_coordinates(gdf, given, source=source, said="crs= says")
        if problem is not None:
            raise CRSError(f"{own.message}. crs={crs!r} does not fit either: {problem.message}")
        msg = (f"the file says its CRS is {gdf.crs.to_string()}, but its coordinates cannot be in "
               f"it; used crs={given.to_string()} as given. Fix the .prj to stop this warning.")
        warnings.warn(f"{source}: {msg}", SpatialRenoWarning, stacklevel=3)
        notes.append(msg)
        gdf = gdf.set_crs(given, allow_override=True)
    else:
        problem = check_coordinates(gdf, source=source, said=said)
        if problem is not None:
            raise CRSError(problem.message)
    target = None
    if to_crs is not None:
        target = CRS.from_user_input(to_crs)
    elif gdf.crs.is_geographic:
        valid = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        if len(valid) == 0:
            raise CRSError(f"{source}: no geometry to choose a projection from; pass to_crs=")
        minx, miny, maxx, maxy = valid.total_bounds
        target = gauss_kruger_crs((minx + maxx) / 2.0)
    if target is not None and not target.equals(gdf.crs):
        if not target.is_projected:
            raise CRSError(f"{source}: to_crs={to_crs!r} is not a projected CRS in metres")
        notes.append(f"reprojected from {gdf.crs.to_string()} to {target.to_string()}")
        gdf = gdf.to_crs(target)
    if not gdf.crs.is_projected:
        raise CRSError(f"{source}: {gdf.crs.to_string()} is not projected; pass to_crs=")
    unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise CRSError(
            f"{source}: the CRS {gdf.crs.to_string()} is in {unit}, not metres; pass to_crs= "
            "with a metric CRS (e.g. EPSG:4547)"
        )
    return gdf, notes


# --------------------------------------------------------------------------------------
# coordinate plausibility
# --------------------------------------------------------------------------------------
#: degrees added around a CRS's area of use before coordinates count as outside it: areas of
#: use are often land only (the CGCS2000 zones leave out Taiwan and the seas), and the check
#: is for gross errors (degrees as metres, a zone number too many, 1e15), not for a zone
_AOU_MARGIN_DEG = 5.0
#: China with its seas (lon/lat): where a guessed CRS must put the data
_CHINA = (71.0, 2.0, 137.0, 56.0)


@dataclass(frozen=True)
class CoordinateProblem:
    """Coordinates that cannot belong to a CRS (see :func:`check_coordinates`).

    Attributes
    ----------
    rows : 0-based positions of the offending rows.
    whole_layer : every row with geometry is affected (the CRS itself is wrong, not a row).
    problem : ``"non-finite coordinates"`` or ``"coordinates outside the CRS"``.
    message : one line naming the source, the CRS, the coordinates and the likely CRS.
    likely : the likely CRS (``"EPSG:4490"``, ...) or ``None`` when it cannot be told.
    """

    rows: tuple[int, ...]
    whole_layer: bool
    problem: str
    message: str
    likely: str | None = None


_LAYER_SAYS = "the layer's CRS is"


def _crs_label(crs: CRS) -> str:
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code} ({crs.name})" if code else crs.name


@functools.lru_cache(maxsize=64)
def _area(wkt: str) -> tuple[tuple[float, float, float, float] | None, str]:
    """A projected CRS's area of use (lon/lat, widened by the margin) and its words.

    From pyproj's ``CRS.area_of_use``; a CRS read from an ESRI .prj is first identified
    with its EPSG code. ``None`` when the CRS names no area.
    """
    crs = CRS.from_wkt(wkt)
    aou = crs.area_of_use
    if aou is None:
        code = crs.to_epsg(min_confidence=70)
        aou = CRS.from_epsg(code).area_of_use if code else None
    if aou is None:
        return None, "lon/lat anywhere on Earth"
    w, s, e, n = aou.bounds
    if e < w:  # crosses the antimeridian
        w, e = -180.0, 180.0
    m = _AOU_MARGIN_DEG
    words = f"{w:g}°–{e:g}°E, {s:g}°–{n:g}°N: {aou.name.rstrip('.')}"
    return (w - m, s - m, e + m, n + m), words


@functools.lru_cache(maxsize=64)
def _transformers(wkt: str):
    crs = CRS.from_wkt(wkt)
    return (Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True),
            Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True))


def _to_lonlat(crs: CRS, x, y):
    """lon, lat of projected x, y, and whether each is a real place (finite, on Earth, and
    projecting back to within a metre of where it came from)."""
    inv, fwd = _transformers(crs.to_wkt())
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(all="ignore"):
        lon, lat = (np.asarray(v) for v in inv.transform(x, y))
        back_x, back_y = (np.asarray(v) for v in fwd.transform(lon, lat))
        ok = (np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
              & (np.hypot(back_x - x, back_y - y) < 1.0))
    return lon, lat, ok


def _fits(code: int, bounds, area) -> bool:
    """Whether bounds (minx, miny, maxx, maxy) in EPSG:code project back inside ``area``
    (lon/lat box) and inside the CRS's own area of use (widened by 1°: a guess must fit)."""
    crs = CRS.from_epsg(code)
    xs = np.array([bounds[0], bounds[2], bounds[0], bounds[2]])
    ys = np.array([bounds[1], bounds[1], bounds[3], bounds[3]])
    lon, lat, ok = _to_lonlat(crs, xs, ys)
    if not ok.all():
        return False
    boxes = [area]
    if crs.area_of_use is not None:
        w, s, e, n = crs.area_of_use.bounds
        boxes.append((w - 1.0, s - 1.0, e + 1.0, n + 1.0))
    return all(bool(((lon >= b[0]) & (lon <= b[2]) & (lat >= b[1]) & (lat <= b[3])).all()) for b in boxes)


def _guess_crs(bounds) -> tuple[str | None, str]:
    """The likely CRS of coordinates with these total bounds, and a phrase saying why."""
    minx, miny, maxx, maxy = bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return "EPSG:4490", ("they look like lon/lat degrees: pass crs='EPSG:4490' (CGCS2000) or "
                             "crs='EPSG:4326' (WGS 84) — CLI --crs — and spatialreno projects them to metres")
    zone = int(np.floor(minx / 1e6)) if np.isfinite(minx) else -1
    if zone == int(np.floor(maxx / 1e6)) and (25 <= zone <= 45 or 13 <= zone <= 23):
        code = 4513 + zone - 25 if zone >= 25 else 4491 + zone - 13
        if _fits(code, bounds, _CHINA):
            name = CRS.from_epsg(code).name
            return f"EPSG:{code}", (
                f"x starts with {zone}, the zone number of a Gauss-Krüger CRS with the zone in "
                f"front: they look like EPSG:{code} ({name}; the Xian 1980 and Beijing 1954 "
                f"zone {zone} CRSs have the same numbers); pass crs='EPSG:{code}' (CLI --crs)")
    if _fits(3857, bounds, _CHINA):
        return "EPSG:3857", ("they look like Web Mercator metres (EPSG:3857, WGS 84 / Pseudo-Mercator, "
                             "what web maps use): pass crs='EPSG:3857' (CLI --crs)")
    zones = [c for c in range(4534, 4555) if _fits(c, bounds, _CHINA)]
    if zones:
        codes = ", ".join(f"EPSG:{c}" for c in zones)
        return None, (
            "they look like Gauss-Krüger / UTM metres without a zone number in front of x, so the "
            "central meridian cannot be told from the coordinates: CGCS2000 3-degree zones that "
            f"fit are {codes} (e.g. EPSG:4547 = CM 114E for Wuhan; 6-degree EPSG:4502–4512 and "
            "UTM EPSG:32643–32653 are also possible); ask the data provider which, then pass "
            "crs= (CLI --crs)")
    return None, "ask the data provider which CRS the coordinates are in, then pass crs= (CLI --crs)"


def _fmt_xy(x: float, y: float) -> str:
    return f"({x:.6g}, {y:.6g})"


def check_coordinates(
    gdf: gpd.GeoDataFrame, crs=None, *, source: str = "layer", said: str | None = None,
) -> CoordinateProblem | None:
    """Whether the coordinates of ``gdf`` can belong to ``crs`` (default: its own CRS).

    Problems found: coordinates that are not finite numbers (inf, NaN); coordinates outside
    the CRS's area of use (pyproj ``CRS.area_of_use``, widened by 5°; every corner of a
    row's bounds is projected back to lon/lat and must land there), e.g.
    lon/lat degrees in a file whose .prj says EPSG:4547, metres in a file that says
    EPSG:4326, or 1e15. When every row is outside, the message names the likely CRS
    (lon/lat, Gauss-Krüger with a zone number in front of x, Web Mercator, or the
    Gauss-Krüger zones that fit when x has no zone number). Returns ``None`` when the
    coordinates are plausible, or when the layer has no CRS or no geometry.

    ``said`` words where the CRS came from for the message (``"the file says"``,
    ``"crs= says"``; default ``"the layer's CRS is"``); the CRS's name follows it.
    """
    crs = CRS.from_user_input(crs) if crs is not None else gdf.crs
    if crs is None:
        return None
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present])
    pos = np.flatnonzero(present)
    if len(pos) == 0:
        return None
    label = _crs_label(crs)
    said = f"{said or _LAYER_SAYS} {label}"
    ids = np.asarray(gdf.index.astype("object"), dtype=object)
    with np.errstate(all="ignore"):
        b = shapely.bounds(geoms[pos])
        # NaN coordinates hide from bounds: compare the coordinate count with the finite ones
        coords_ok = np.isfinite(b).all(axis=1)
        counts = shapely.get_num_coordinates(geoms[pos])
        xy, idx = shapely.get_coordinates(geoms[pos], return_index=True)
        finite_xy = np.isfinite(xy).all(axis=1)
        if not finite_xy.all():
            coords_ok &= np.bincount(idx[finite_xy], minlength=len(pos)) == counts

    def _named(sel: np.ndarray) -> str:
        shown = ", ".join(f"{ids[p]!r} (row {p})" for p in pos[sel][:5])
        return shown + (f" and {int(sel.sum()) - 5} more" if sel.sum() > 5 else "")

    if not coords_ok.all():
        bad = ~coords_ok
        return CoordinateProblem(
            tuple(int(p) for p in pos[bad]), bool(bad.all()), "non-finite coordinates",
            f"{source}: {int(bad.sum())} row(s) have coordinates that are not finite numbers "
            f"(inf or NaN): {_named(bad)}; fix or delete those vertices in the source file",
        )
    if crs.is_geographic:
        area_words = "longitude −180…180°, latitude −90…90°"
        out = (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
    else:  # every corner of every row must project back to a real place in the CRS's area
        area, area_words = _area(crs.to_wkt())
        xs = np.concatenate([b[:, 0], b[:, 2], b[:, 0], b[:, 2]])
        ys = np.concatenate([b[:, 1], b[:, 1], b[:, 3], b[:, 3]])
        lon, lat, ok = _to_lonlat(crs, xs, ys)
        if area is not None:
            with np.errstate(invalid="ignore"):
                ok &= (lon >= area[0]) & (lon <= area[2]) & (lat >= area[1]) & (lat <= area[3])
        out = ~ok.reshape(4, -1).all(axis=0)
    if not out.any():
        return None
    total = (float(b[out, 0].min()), float(b[out, 1].min()), float(b[out, 2].max()), float(b[out, 3].max()))
    if out.all():
        likely, why = _guess_crs(total)
        where = (f"x {total[0]:.6g}…{total[2]:.6g}, y {total[1]:.6g}…{total[3]:.6g}")
        return CoordinateProblem(
            tuple(int(p) for p in pos), True, "coordinates outside the CRS",
            f"{source}: {said}, but the coordinates ({where}) cannot be in it (it covers "
            f"{area_words}); {why}",
            likely,
        )
    first = int(np.flatnonzero(out)[0])
    return CoordinateProblem(
        tuple(int(p) for p in pos[out]), False, "coordinates outside the CRS",
        f"{source}: {said}, but {int(out.sum())} of {len(pos)} row(s) lie outside it (it covers "
        f"{area_words}), e.g. {_fmt_xy(b[first, 0], b[first, 1])}: {_named(out)}; a stray "
        "vertex or rows in another CRS — fix or delete them in the source file",
    )


# --------------------------------------------------------------------------------------
# shapefile encodings
# --------------------------------------------------------------------------------------
def _normalise_cpg(text: str) -> str | None:
    key = re.sub(r"[\s\-_]", "", text.strip().lower())
    if key.startswith("ansi") and key not in _CPG_ALIASES:  # "ANSI 1252", "ANSI 950"
        key = key[4:]
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    try:
        return "".join(text.split()).upper() if "".join(text.split()).encode("ascii") else None
    except UnicodeError:
        return None


def _dbf_text_bytes(dbf: Path) -> tuple[int, bytes]:
    """The LDID byte, and the raw text bytes of a DBF: field names and records.

    Only the 11-byte name of each 32-byte field descriptor is taken; the rest of a
    descriptor is binary (type, width, decimals) and would look like non-ASCII text.
    """
    data = dbf.read_bytes()
    if len(data) < 32:
        raise LayerReadError(f"{dbf}: not a DBF file (only {len(data)} bytes)")
    header_len = int.from_bytes(data[8:10], "little")
    ldid = data[29]
    names = b"".join(
        data[off:off + 11].split(b"\x00", 1)[0]
        for off in range(32, max(32, header_len - 1), 32)
        if data[off:off + 1] != b"\r"
    )
    return ldid, names + b" " + data[header_len:]


def detect_dbf_encoding(dbf: str | os.PathLike) -> tuple[str, str]:
    """Decide the text encoding of a DBF without a ``.cpg``.

    Returns ``(encoding, reason)``. Pure ASCII → UTF-8; bytes that are valid UTF-8 →
    UTF-8; otherwise bytes that decode as GB18030/GBK → GBK (the Chinese Windows code page,
    what ArcGIS ≤ 10.2 and MapGIS write); the LDID byte (0x4D = CP936) decides first when it
    names an encoding the bytes do not contradict. Raises :class:`LayerReadError` when
    none fits.
    """
    dbf = Path(dbf)
    ldid, raw = _dbf_text_bytes(dbf)
    if _LDID.get(ldid) and _text_contradiction(raw, _LDID[ldid]) is None:
        return _LDID[ldid], f"LDID byte 0x{ldid:02X} of {dbf.name}"
    high = raw.translate(None, bytes(range(128)))
    if not high:
        return "UTF-8", f"{dbf.name} holds ASCII only"
    try:
        raw.decode("utf-8")
        return "UTF-8", f"the text of {dbf.name} is valid UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gbk")
        return "GBK", f"the text of {dbf.name} is not UTF-8 and decodes as GBK"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "GB18030", f"the text of {dbf.name} decodes as GB18030"
    except UnicodeDecodeError:
        pass
    raise LayerReadError(
        f"{dbf}: cannot tell the text encoding (neither UTF-8 nor GBK); add a .cpg file "
        "naming it (e.g. 'GBK' or 'UTF-8') or pass encoding="
    )


_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _codec(encoding: str) -> str | None:
    """Python's name for an encoding (``.cpg`` spellings such as ``8859_1`` understood)."""
    import codecs

    for name in (encoding, _normalise_cpg(encoding) or ""):
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return None


def _is_single_byte(codec: str) -> bool:
    """One character per byte (CP1252, ISO-8859-x, ...): reading UTF-8 or GBK text with
    such a code page never fails, it garbles (``½­ººÇø`` for GBK 江汉区)."""
    return not codec.startswith("utf") and len(bytes(range(0x80, 0x100)).decode(codec, "replace")) == 128


def _utf8_share(raw: bytes) -> tuple[float, int, str]:
    """Share of the non-ASCII bytes that form valid UTF-8, their count, and a sample."""
    total = good = 0
    sample: list[str] = []
    for m in _HIGH_RUN.finditer(raw):
        run = m.group()
        total += len(run)
        try:
            text = run.decode("utf-8")
        except UnicodeDecodeError:
            continue
        good += len(run)
        if len(sample) < 3:
            sample.append(text)
    return (good / total if total else 0.0), total, "、".join(sample)


def _gb_share(raw: bytes) -> tuple[float, int, str]:
    """Share of the non-ASCII bytes that are GBK Chinese characters, their count, and a sample.

    Chinese GBK text is runs of two-byte characters, mostly the common GB2312 level-1 ones
    (first byte 0xB0-0xD7), with many bytes below 0xC0. Latin text is lone accented letters
    (0xC0-0xFF) between ASCII ones, which fails all three tests.
    """
    total = good = common = low = 0
    sample: list[str] = []
    for m in _HIGH_RUN.finditer(raw):
        run = m.group()
        total += len(run)
        if len(run) % 2:
            continue
        try:
            text = run.decode("gbk")
        except UnicodeDecodeError:
            continue
        if len(text) * 2 != len(run) or not _HAN.search(text):
            continue
        good += len(run)
        common += sum(1 for k in range(0, len(run), 2) if 0xB0 <= run[k] <= 0xD7)
        low += sum(1 for v in run if v < 0xC0)
        if len(sample) < 3:
            sample.append(text)
    # Latin letters are bytes 0xC0-0xFF; Chinese text also has many bytes 0xA1-0xBF
    if not good or common * 4 < good or low * 10 < good:
        return 0.0, total, ""
    return good / total, total, "、".join(sample)


def _text_contradiction(raw: bytes, declared: str) -> tuple[str, str] | None:
    """``(encoding, evidence)`` when the bytes are plainly not ``declared``: UTF-8 or GBK
    Chinese read with a Latin code page, or UTF-8 Chinese read as GBK. ``None`` otherwise."""
    codec = _codec(declared)
    if codec is None:
        return None
    single = _is_single_byte(codec)
    if not (single or codec in ("gbk", "gb2312", "gb18030", "big5", "cp950", "euc_kr", "cp949")):
        return None
    share, n, sample = _utf8_share(raw)
    if n >= 2 and share >= 0.9 and (single or (share == 1.0 and _HAN.search(sample) and n >= 6)):
        return "UTF-8", f"the text is UTF-8 ({sample})"
    if single:
        share, n, sample = _gb_share(raw)
        if n >= 4 and share >= 0.9:
            try:
                raw.decode("gbk")
                enc = "GBK"
            except UnicodeDecodeError:
                enc = "GB18030"
            return enc, f"the text is {enc} Chinese ({sample})"
    return None


def _contradicted(declared: str, raw: bytes, what: str, where: str) -> tuple[str, str] | None:
    """``(encoding, note)`` when ``raw`` contradicts ``declared``; warns with the choice."""
    found = _text_contradiction(raw, declared)
    if found is None:
        return None
    enc, evidence = found
    note = f"{what} but {evidence}; read as {enc} ({declared} would garble it)"
    fix = (f"Fix the .cpg to read {enc!r}" if ".cpg" in what
           else f"Leave encoding= out, or pass encoding={enc!r}")
    warnings.warn(f"{where}: {note}. {fix}.", SpatialRenoWarning, stacklevel=5)
    return enc, note


def _shapefile_encoding(path: Path, encoding: str | None) -> tuple[str | None, str | None]:
    """Encoding to read a .shp with, and the note to report (None when GDAL's default is right).

    A ``.cpg`` or ``encoding=`` that the DBF bytes contradict (UTF-8 or GBK Chinese named
    as CP1252 / ISO-8859-1 / LATIN1, or UTF-8 named as GBK) is overruled with a warning.
    """
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = next((p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".dbf"), dbf)

    def _raw() -> bytes | None:
        try:
            return _dbf_text_bytes(dbf)[1]
        except (OSError, LayerReadError):
            return None

    if encoding is not None:
        raw = _raw()
        found = _contradicted(encoding, raw, f"encoding={encoding!r} was given", str(path)) if raw else None
        if found is not None:
            return found
        return encoding, f"text decoded as {encoding} (encoding= given)"
    cpg = next((p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".cpg"), None)
    if cpg is not None:
        text = cpg.read_bytes().decode("ascii", "replace")
        enc = _normalise_cpg(text)
        if enc is not None:
            raw = _raw()
            if raw is None:
                return enc, f".cpg says {text.strip()!r}"
            try:
                raw.decode(enc)
            except LookupError:
                return enc, f".cpg says {text.strip()!r}"
            except UnicodeDecodeError:
                found, why = detect_dbf_encoding(dbf)
                warnings.warn(
                    f"{cpg}: the .cpg says {text.strip()!r} but the text is not {enc}; read as "
                    f"{found} ({why}). Fix the .cpg to read {found!r}.",
                    SpatialRenoWarning,
                    stacklevel=4,
                )
                return found, f".cpg {text.strip()!r} is wrong; {why}"
            found = _contradicted(enc, raw, f"the .cpg says {text.strip()!r}", str(cpg))
            if found is not None:
                return found
            return enc, f".cpg says {text.strip()!r}"
    if not dbf.exists():
        return None, None
    found, why = detect_dbf_encoding(dbf)
    return found, f"no .cpg; chose {found} because {why}"


# --------------------------------------------------------------------------------------
# opening files
# --------------------------------------------------------------------------------------
def _gdal_path(path: Path) -> tuple[str, Path | None]:
    """The path to hand GDAL, and the .shp inside a zip when that is what it holds."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile as exc:
            raise LayerReadError(f"{path}: not a readable zip file ({exc})") from None
        if len(shps) == 1:
            return f"/vsizip/{path}/{shps[0]}", Path(shps[0])
        return f"/vsizip/{path}", None
    return str(path), None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def list_layers(path: str | os.PathLike, *, engine: Engine = "pyogrio") -> list[str]:
    """Names of the layers in a file (one for a shapefile)."""
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: no such file")
    gdal_path, _ = _gdal_path(path)
    try:
        if engine == "fiona":
            import fiona

            return list(fiona.listlayers(gdal_path))
        import pyogrio

        return [str(n) for n in pyogrio.list_layers(gdal_path)[:, 0]]
    except Exception as exc:  # GDAL's own error classes differ between engines
        raise LayerReadError(f"{path}: GDAL cannot open it: {_one_line(exc)}") from None


def _read_raw(path: Path, *, layer, encoding, engine: Engine):
    notes: list[str] = []
    gdal_path, zipped_shp = _gdal_path(path)
    layers = list_layers(path, engine=engine)
    if layer is None:
        if len(layers) > 1:
            raise LayerReadError(
                f"{path}: holds {len(layers)} layers ({', '.join(layers)}); pass layer= with one of them"
            )
        if not layers:
            raise LayerReadError(f"{path}: holds no layer")
    elif isinstance(layer, str) and layer not in layers:
        raise LayerReadError(f"{path}: no layer {layer!r}; it holds {', '.join(layers)}")
    given = encoding
    shapefile = path.suffix.lower() == ".shp" or zipped_shp is not None
    if path.suffix.lower() == ".shp":
        encoding, note = _shapefile_encoding(path, encoding)
        if note:
            notes.append(note)
    elif zipped_shp is not None:
        encoding, note = _zipped_shapefile_encoding(path, zipped_shp, encoding)
        if note:
            notes.append(note)
    elif encoding is not None:
        notes.append(f"text decoded as {encoding} (encoding= given)")
    kwargs = {"layer": layer} if layer is not None else {}
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Measured \\(M\\) geometry.*")
            gdf = gpd.read_file(gdal_path, engine=engine, **kwargs)
    except UnicodeDecodeError as exc:
        seen = _text_contradiction(exc.object, encoding or "latin1")
        hint = (f"{seen[1]}: pass encoding={seen[0]!r} or leave encoding= out" if seen
                else "if it is a shapefile, give the right encoding= (e.g. 'GBK')" if shapefile
                else "re-export the file as UTF-8 (GeoJSON and GeoPackage text is UTF-8)")
        raise LayerReadError(
            f"{path}: text is not valid {encoding or 'UTF-8'} ({exc.reason} at byte {exc.start} of "
            f"{exc.object[max(0, exc.start - 8):exc.end + 8]!r}); {hint}"
        ) from None
    except Exception as exc:
        raise LayerReadError(f"{path}: GDAL cannot read it: {_one_line(exc)}") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise LayerReadError(f"{path}: the layer has no geometry column")
    if given is not None and not shapefile:
        gdf, fixed = _undo_mojibake(gdf, given, str(path))
        if fixed is not None:
            encoding = fixed[0]
            notes = [n for n in notes if "(encoding= given)" not in n] + [fixed[1]]
    return gdf, notes, encoding


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _undo_mojibake(gdf: gpd.GeoDataFrame, declared: str, where: str):
    """Text a driver decoded with ``encoding=`` (GeoJSON, GeoPackage, ...) that the bytes
    contradict: decode it again from its bytes with the right encoding.

    The bytes are recovered exactly by encoding the text back with ``declared`` (a
    successful decode is reversible). Returns ``(gdf, (encoding, note) | None)``.
    """
    codec = _codec(declared)
    if codec is None:
        return gdf, None
    geom = gdf.geometry.name
    text_cols = [c for c in gdf.columns if c != geom and _is_text(gdf[c])]
    texts = [str(c) for c in gdf.columns if c != geom]
    for c in text_cols:
        texts.extend(v for v in gdf[c].dropna().unique()[:20000] if isinstance(v, str))
    try:
        raw = "\n".join(texts).encode(codec)
    except UnicodeError:
        return gdf, None
    found = _contradicted(declared, raw, f"encoding={declared!r} was given", where)
    if found is None:
        return gdf, None
    enc, note = found
    broken: list[str] = []

    def fix(v):
        if not isinstance(v, str):
            return v
        b = v.encode(codec)
        try:
            return b.decode(enc)
        except UnicodeDecodeError:
            broken.append(repr(b))
            return b.decode(enc, errors="replace")

    out = gdf.rename(columns={c: fix(c) for c in gdf.columns if c != geom})
    for c in out.columns:
        if c != out.geometry.name and _is_text(out[c]):
            out[c] = out[c].map(fix)
    if broken:
        note += (f"; {len(broken)} text(s) are not valid {enc} either and show the broken bytes "
                 f"as U+FFFD (e.g. {broken[0]})")
    return out, (enc, note)


def _zipped_shapefile_encoding(path: Path, shp: Path, encoding: str | None = None) -> tuple[str | None, str | None]:


    import tempfile

    with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as tmp:
        stem = str(shp.with_suffix(""))
        for name in zf.namelist():
            if name.lower().startswith(stem.lower() + ".") and name.lower().rsplit(".", 1)[-1] in (
                "dbf", "cpg",
            ):
                target = Path(tmp) / (shp.stem + "." + name.rsplit(".", 1)[-1].lower())
                target.write_bytes(zf.read(name))
        return _shapefile_encoding(Path(tmp) / (shp.stem + ".shp"), encoding)


# --------------------------------------------------------------------------------------
# columns
# --------------------------------------------------------------------------------------
def normalize_columns(df: pd.DataFrame, kind: str, *, source: str = "layer") -> tuple[pd.DataFrame, list[str]]:
    """Rename alias columns to canonical names and map coded values to their codes.

    Two columns that mean the same canonical column raise :class:`SchemaError` naming both.
    Columns the schema does not know are kept unchanged.
    """
    amap = schema.alias_map(kind)
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    rename: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for col in df.columns:
        if col == geom:
            continue
        canon = amap.get(schema._norm(col))
        if canon is None:
            continue
        if canon in claimed:
            raise SchemaError(
                f"{source}: columns {claimed[canon]!r} and {col!r} both mean {canon!r} "
                f"({schema.column(kind, canon).zh}); drop or rename one of them"
            )
        claimed[canon] = col
        if canon != col:
            rename[col] = canon
    notes = [f"column {a!r} read as {b!r}" for a, b in rename.items()]
    out = df.rename(columns=rename)
    for name, col in schema.columns(kind).items():
        if name not in out.columns or name == schema.ID_COLUMNS.get(kind):
            continue
        s = out[name]
        if col.vocab:
            out[name] = schema.canonical_values(col.vocab, s.astype("object"))
        elif col.dtype in ("int", "float"):
            num = pd.to_numeric(s, errors="coerce")
            lossless = bool((num.notna() | s.isna()).all())
            if lossless:
                if col.dtype == "int" and bool((num.dropna() % 1 == 0).all()):
                    out[name] = num.astype("Int64")
                else:
                    out[name] = num.astype("float64")
        elif col.dtype == "str" and s.dtype != object and not isinstance(s.dtype, pd.StringDtype):
            out[name] = s.astype("object").where(s.notna(), None).map(
                lambda v: v if v is None else _as_text(v)
            )
    return out, notes


def _as_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _set_id_index(gdf: gpd.GeoDataFrame, kind: str, source: str, id_column: str | None = None):
    id_col = schema.ID_COLUMNS[kind]
    notes: list[str] = []
    if id_column is not None:
        if id_column not in gdf.columns:
            raise SchemaError(
                f"{source}: id_column={id_column!r} is not a column; columns are "
                f"{', '.join(map(str, gdf.columns))}"
            )
        if id_col in gdf.columns and id_col != id_column:
            gdf = gdf.drop(columns=id_col)
        gdf = gdf.rename(columns={id_column: id_col})
        notes.append(f"ids taken from column {id_column!r}")
    if id_col in gdf.columns:
        ids = gdf[id_col]
        ids = ids.astype("object").where(ids.notna(), None).map(lambda v: v if v is None else _as_text(v))
        gdf = gdf.drop(columns=id_col)
        gdf.index = pd.Index(ids, name=id_col)
    elif gdf.index.name == id_col:
        gdf.index = gdf.index.astype(str)
    else:
        prefix = {"compounds": "C", "illegal": "WJ", "gas": "GS", "barriers": "BR",
                  "admin": "AD", "roads": "RD", "packages": "PK"}[kind]
        width = max(4, len(str(len(gdf))))
        gdf.index = pd.Index([f"{prefix}-{i + 1:0{width}d}" for i in range(len(gdf))], name=id_col)
        notes.append(f"no {id_col} column: ids {prefix}-0001… made up from the row order")
        warnings.warn(
            f"{source}: no {id_col} column (or alias such as "
            f"{schema.column(kind, id_col).code!r} / {schema.column(kind, id_col).zh!r}); "
            f"made ids {prefix}-0001… from the row order. Add an id column for stable ids.",
            SpatialRenoWarning,
            stacklevel=3,
        )
    return gdf, notes


# --------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerRead:
    """What :func:`read` returns: the layer and what reading decided.

    Attributes
    ----------
    frame : GeoDataFrame indexed by the layer's id column (strings), projected, with
        canonical columns. ``frame.attrs["source"]`` is :attr:`source` again, as a label
        for messages only.
    notes : what reading decided, one sentence each (encoding, renamed columns,
        reprojection, ids made up for a file without them), in that order.
    source : the path read, or ``"GeoDataFrame"`` for an in-memory layer.
    encoding : the text encoding used (``"GBK"``, ``"UTF-8"``, ...), or ``None`` when
        GDAL's default was used.
    """

    frame: gpd.GeoDataFrame
    notes: tuple[str, ...]
    source: str
    encoding: str | None = None


def read(
    path: str | os.PathLike | gpd.GeoDataFrame,
    kind: str,
    *,
    layer: str | int | None = None,
    crs=None,
    to_crs=None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
    id_column: str | None = None,
) -> LayerRead:
    """Read one layer into a projected GeoDataFrame with canonical columns and id index.

    Parameters
    ----------
    path : file path (GeoPackage, shapefile, zipped shapefile, GeoJSON, anything GDAL
        opens) or an in-memory GeoDataFrame to normalise the same way.
    kind : ``"compounds" | "illegal" | "gas" | "barriers" | "admin" | "roads"``.
    layer : layer name or index in a multi-layer file; required when there are several.
    crs : the CRS of data whose file has none (a shapefile without ``.prj``).
    to_crs : target CRS; default keeps a projected CRS and projects lon/lat to the
        CGCS2000 Gauss-Krüger zone of the data (Wuhan → EPSG:4547).
    encoding : text encoding; default from the ``.cpg``, or detected from the DBF bytes.
    engine : ``"pyogrio"`` (default) or ``"fiona"``.
    id_column : the column holding the ids, when it is not one of the id aliases
        (``cmp_id``, ``小区编码``, ...). Without any, ids are made up from the row order
        and a warning says so.

    Returns
    -------
    LayerRead
        ``.frame`` (the layer), ``.notes`` (what reading decided), ``.source`` and
        ``.encoding``.

    Raises
    ------
    LayerReadError : the file cannot be opened or decoded (one line: file and reason).
    CRSError : no CRS and no ``crs=``; non-metric CRS.
    SchemaError : two columns meaning the same canonical column.

    See Also
    --------
    read_layer : the same, returning only the frame.

    Examples
    --------
    >>> import spatialreno as sr
    >>> from spatialreno.io import read
    >>> lonlat = sr.sample_district(30).compounds.to_crs("EPSG:4490")
    >>> got = read(lonlat, "compounds")
    >>> got.frame.crs.to_string(), got.source
    ('EPSG:4547', 'GeoDataFrame')
    >>> got.notes
    ('reprojected from EPSG:4490 to EPSG:4547',)
    """
    _check_read_options(kind, engine)
    gdf, notes, source, used_encoding = _open(path, kind, layer=layer, encoding=encoding,
                                              engine=engine)
    gdf, col_notes = normalize_columns(gdf, kind, source=source)
    gdf, id_notes = _set_id_index(gdf, kind, source, id_column)
    gdf, crs_notes = ensure_projected(gdf, crs=crs, to_crs=to_crs, source=source)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf.attrs = {"source": source}
    return LayerRead(gdf, tuple(notes + col_notes + id_notes + crs_notes), source, used_encoding)


def read_layer(
    path: str | os.PathLike | gpd.GeoDataFrame,
    kind: str,
    *,
    layer: str | int | None = None,
    crs=None,
    to_crs=None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
    id_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer: :func:`read` without the notes (``read(...).frame``).

    The parameters, errors and warnings are those of :func:`read`. Returns the
    GeoDataFrame indexed by the layer's id column (strings); ``attrs["source"]`` is the
    path, as a label for messages. Use :func:`read` to get what reading decided.
    """
    return read(path, kind, layer=layer, crs=crs, to_crs=to_crs, encoding=encoding,
                engine=engine, id_column=id_column).frame


def _check_read_options(kind: str, engine: str) -> None:
    if kind not in schema.LAYERS or kind == "packages":
        raise ValueError(
            f"kind must be one of {', '.join(k for k in schema.LAYERS if k != 'packages')}, got {kind!r}"
        )
    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {', '.join(_ENGINES)}, got {engine!r}")


def _open(path, kind: str, *, layer, encoding, engine):
    """(raw frame, notes, source, encoding used) of a file, or of an in-memory frame."""
    if isinstance(path, gpd.GeoDataFrame):
        gdf = path.copy()
        if gdf.index.name and gdf.index.name != schema.ID_COLUMNS[kind]:
            canon = schema.canonical_name(kind, gdf.index.name)
            if canon == schema.ID_COLUMNS[kind]:
                gdf.index = gdf.index.rename(canon)
        return gdf, [], "GeoDataFrame", None
    p = Path(path)
    if not p.exists():
        raise LayerReadError(f"{p}: no such file")
    gdf, notes, used_encoding = _read_raw(p, layer=layer, encoding=encoding, engine=engine)
    return gdf, notes, str(p), used_encoding


def read_layers(
    paths: Mapping[str, str | os.PathLike | gpd.GeoDataFrame | None] | None = None,
    *,
    crs=None,
    to_crs=None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
    **kw_paths,
) -> dict[str, gpd.GeoDataFrame]:
    """Read a set of layers (``compounds=``, ``illegal=``, ``gas=``, ``barriers=``,
    ``admin=``, ``roads=``) into one projected CRS, that of the compounds.

    A path may be ``"file.gpkg::layername"`` or ``"file.gpkg:layername"`` (or
    ``("file.gpkg", "layername")``) to pick a layer. Missing layers are simply absent from the result.
    """
    items = dict(paths or {})
    items.update(kw_paths)
    unknown = set(items) - set(schema.INPUT_LAYERS) - {"roads"}
    if unknown:
        raise ValueError(f"unknown layer kinds {sorted(unknown)}; expected {schema.INPUT_LAYERS + ('roads',)}")
    if items.get("compounds") is None:
        raise ValueError("read_layers needs compounds=")
    out: dict[str, gpd.GeoDataFrame] = {}
    target = to_crs
    for kind in ("compounds", "illegal", "gas", "barriers", "admin", "roads"):
        spec = items.get(kind)
        if spec is None:
            continue
        path, layer = split_layer_spec(spec)
        gdf = read_layer(path, kind, layer=layer, crs=crs, to_crs=target, encoding=encoding, engine=engine)
        if target is None:
            target = gdf.crs
        out[kind] = gdf
    return out


def split_layer_spec(spec, base: str | os.PathLike | None = None):
    """``"file.gpkg::layer"``, ``"file.gpkg:layer"`` or ``("file.gpkg", "layer")`` →
    ``(path, layer)``; a plain path gives ``(path, None)``. Relative paths are taken
    relative to ``base`` when given (a config file's folder)."""
    if isinstance(spec, tuple):
        path, layer = spec
    elif isinstance(spec, str | os.PathLike):
        text, layer = str(spec), None
        if "::" in text:
            text, _, layer = text.partition("::")
        elif not _exists(text, base):
            head, sep, tail = text.rpartition(":")
            if sep and head and _exists(head, base):
                text, layer = head, tail
        path = text
    else:
        return spec, None
    if base is not None and not Path(path).is_absolute():
        path = str(Path(base) / path)
    return path, layer or None


def _exists(path: str, base) -> bool:
    p = Path(path)
    return (Path(base) / p).exists() if base is not None and not p.is_absolute() else p.exists()
