"""Illegal structures (违法建设) per compound: each structure counted exactly once, inside,
split by footprint area, given to the nearest compound, or left unassigned with the reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from .._contracts import POLYGONAL, PUNTAL, allowed_types, require_layer
from ..errors import ConfigError
from ._join import (
    ROWS_MAY_FAIL,
    SLIVER_FRACTION,
    Targets,
    by_category,
    codes,
    cut,
    first_per_group,
    flag,
    fmt,
    group_order,
    group_starts,
    nearest,
    numbers,
    pairs,
    row_reasons,
    type_is,
)
from .results import DEFAULT_MAX_DISTANCE_M, HOW, ILLEGAL_FLAGS, IllegalOverlay
from .rules import KINDS, STATUSES

__all__ = ["overlay_illegal"]

log = logging.getLogger(__name__)

STAGE = "overlay_illegal"
#: positions of the values of :data:`HOW`
INSIDE, SPLIT, NEAREST, UNASSIGNED = range(len(HOW))


def overlay_illegal(
    compounds: gpd.GeoDataFrame,
    illegal: gpd.GeoDataFrame,
    *,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> IllegalOverlay:
    """Count and measure the illegal structures (违法建设) of every compound.

    Each structure is counted exactly once, in one of four ways (``how``):

    ``inside``
        A point in a compound, or a polygon wholly inside one. A point on the wall shared
        by two compounds goes to the one that holds it in its interior, else to the first
        in the compounds' order (the note names both).
    ``split_by_area``
        A polygon not wholly inside one compound: its count and its ``area_m2`` are split
        in proportion to the footprint area inside each compound; the part of the
        footprint outside every compound goes to the compound holding the largest part,
        so the shares sum to 1. Where compounds overlap, the earlier compound (in the
        compounds' order) takes the overlap.
    ``nearest_within_distance``
        A structure outside every compound (in a lane, touching a compound only along an
        edge) goes wholly to the nearest compound within ``max_distance_m``.
    ``unassigned``
        Farther away, or with missing, empty, invalid or non-point/polygon geometry: it
        stays in :attr:`IllegalOverlay.unassigned` with the reason, e.g.
        ``"no compound within 15 m; nearest 38.2 m: 420105-0012"``.

    ``area_m2`` is the structure's floor area; where it is missing, a polygon's footprint
    area is used (the note says so) and a point counts 0 m².

    Parameters
    ----------
    compounds : GeoDataFrame
        Compounds indexed by unique ``compound_id``, valid (Multi)Polygons, projected CRS.
    illegal : GeoDataFrame
        Structures indexed by ``structure_id``, Point or Polygon, in the compounds' CRS,
        with ``area_m2`` and optionally ``kind``, ``status`` (vocabulary codes or Chinese
        labels), ``blocks_fire_lane`` (from :func:`flag_fire_lanes`) and ``blocks_gas``
        (from :func:`overlay_gas`).
    max_distance_m : float, default 15.0
        How far outside every compound a structure may lie and still be given to the
        nearest one.

    Returns
    -------
    IllegalOverlay
        ``.compounds`` with the columns of :data:`ILLEGAL_COMPOUND_COLUMNS`,
        ``.assignments``, ``.unassigned``, ``.illegal`` (annotated) and ``.totals()``.

    Raises
    ------
    CRSError
        A layer without CRS, a geographic compounds CRS, or different CRSs.
    DataError
        Duplicate ids, or compounds with invalid geometry (every problem of a layer in
        one message, from :func:`spatialreno._contracts.require_layer`).
    ConfigError
        ``max_distance_m`` is not a distance ≥ 0.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box, Point
    >>> from spatialreno.overlay import overlay_illegal
    >>> compounds = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
    ...     index=pd.Index(["a", "b"], name="compound_id"), crs=4547)
    >>> illegal = gpd.GeoDataFrame(
    ...     {"kind": ["tin_shed", "rooftop", "tin_shed"], "area_m2": [40.0, 30.0, 12.0]},
    ...     geometry=[box(90, 10, 110, 20), Point(50, 50), Point(150, 108)],
    ...     index=pd.Index(["s1", "s2", "s3"], name="structure_id"), crs=4547)
    >>> res = overlay_illegal(compounds, illegal)
    >>> res.compounds[["illegal_count", "illegal_area_m2", "illegal_m2_tin_shed"]]  # doctest: +NORMALIZE_WHITESPACE
                 illegal_count  illegal_area_m2  illegal_m2_tin_shed
    compound_id
    a                      1.5             50.0                 20.0
    b                      1.5             32.0                 32.0
    >>> res.assignments[["structure_id", "compound_id", "how", "share", "distance_m"]]  # doctest: +NORMALIZE_WHITESPACE
      structure_id compound_id                      how  share  distance_m
    0           s1           a            split_by_area    0.5         0.0
    1           s1           b            split_by_area    0.5         0.0
    2           s2           a                   inside    1.0         0.0
    3           s3           b  nearest_within_distance    1.0         8.0
    """
    compounds, illegal, max_distance_m = _check_inputs(compounds, illegal, max_distance_m)
    structures = _Structures.of(illegal)
    targets = Targets.of(compounds)
    shares = _Shares(len(structures))
    _assign_points(structures, targets, shares)
    _assign_polygons(structures, targets, shares)
    near = _assign_nearest(structures, targets, shares, max_distance_m)
    unassigned, reason = _leave_unassigned(structures, targets, shares, near, max_distance_m)
    rows = shares.rows(structures.note)
    out, main, layer_totals = _roll_up(compounds, rows, structures)
    log.info("%s: %d structures, %d unassigned", STAGE, len(structures), len(unassigned))
    return IllegalOverlay(
        compounds=out,
        remainder=_unassigned_frame(structures, targets, unassigned, reason, near),
        layer_totals=layer_totals,
        assignments=_assignment_table(rows, structures, targets, reason),
        illegal=_annotated(structures, targets, main),
        max_distance_m=max_distance_m,
    )


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
def _check_inputs(compounds, illegal, max_distance_m):
    compounds = require_layer(compounds, "compounds", stage=STAGE)
    illegal = require_layer(illegal, "illegal", stage=STAGE, crs=compounds.crs, **ROWS_MAY_FAIL)
    try:
        max_distance_m = float(max_distance_m)
    except (TypeError, ValueError):
        max_distance_m = float("nan")
    if not (max_distance_m >= 0):
        raise ConfigError(f"{STAGE}: max_distance_m must be a distance ≥ 0 in metres, "
                          f"got {max_distance_m!r}.")
    return compounds, illegal, max_distance_m


@dataclass(frozen=True)
class _Structures:
    """The structures as arrays: geometry, which rows are usable, areas, kinds, statuses.

    ``area`` is the floor area counted (``area_m2``, else a polygon's footprint, else 0);
    ``note`` says where the footprint stood in for a missing ``area_m2``.
    """

    frame: gpd.GeoDataFrame
    geoms: np.ndarray
    ids: np.ndarray
    problem: np.ndarray
    is_point: np.ndarray
    is_poly: np.ndarray
    bounds: np.ndarray
    footprint: np.ndarray
    area: np.ndarray
    note: np.ndarray
    kind: np.ndarray
    status: np.ndarray

    @classmethod
    def of(cls, illegal: gpd.GeoDataFrame) -> _Structures:
        geoms = np.asarray(illegal.geometry.array, dtype=object)
        is_poly = type_is(geoms, POLYGONAL)
        footprint = np.zeros(len(geoms))
        footprint[is_poly] = np.nan_to_num(shapely.area(geoms[is_poly]))
        given = numbers(illegal, "area_m2")
        no_area = np.isnan(given)
        note = np.full(len(geoms), None, dtype=object)
        note[no_area & is_poly] = ("area_m2 missing; footprint "
                                   + fmt(footprint[no_area & is_poly], ".1f") + " m² used")
        note[no_area & ~is_poly] = "area_m2 missing; no footprint, counted as 0 m²"
        return cls(
            frame=illegal, geoms=geoms, ids=np.asarray(illegal.index.astype(object), dtype=object),
            problem=row_reasons(geoms, allowed_types("illegal"), "illegal"),
            is_point=type_is(geoms, PUNTAL), is_poly=is_poly, bounds=shapely.bounds(geoms),
            footprint=footprint, area=np.where(no_area, footprint, given), note=note,
            kind=codes(illegal, "kind", "illegal_kind", "other", stage=STAGE, stacklevel=3),
            status=codes(illegal, "status", "illegal_status", "to_verify", stage=STAGE,
                         stacklevel=3),
        )

    def __len__(self) -> int:
        return len(self.geoms)

    @property
    def usable(self) -> np.ndarray:
        return pd.isna(self.problem)


@dataclass(frozen=True)
class _Rows:
    """Assignment rows sorted by structure, largest share first: structure and compound
    positions (-1: none), ``how`` (position in :data:`HOW`), share, distance, note."""

    s: np.ndarray
    c: np.ndarray
    how: np.ndarray
    share: np.ndarray
    dist: np.ndarray
    note: np.ndarray


class _Shares:
    """The assignment rows as the steps find them, and which structures are placed."""

    def __init__(self, n: int):
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.assigned = np.zeros(n, dtype=bool)

    def add(self, s, c, how: int, share=1.0, dist=0.0, note=None) -> None:
        s = np.asarray(s, dtype=np.int64)
        k = len(s)
        self.parts.append((
            s, np.broadcast_to(np.asarray(c, dtype=np.int64), (k,)),
            np.full(k, how, dtype=np.int8),
            np.broadcast_to(np.asarray(share, dtype=float), (k,)),
            np.broadcast_to(np.asarray(dist, dtype=float), (k,)),
            np.full(k, None, dtype=object) if note is None else np.asarray(note, dtype=object),
        ))
        self.assigned[s] = True

    def rows(self, base_note: np.ndarray) -> _Rows:
        """All rows, sorted; ``base_note`` (per structure) goes in front of each row's note."""
        s, c, how, share, dist, note = (np.concatenate(col) for col in zip(*self.parts, strict=True))
        order = group_order(s, -share, c)
        s, c, how, share, dist, note = (a[order] for a in (s, c, how, share, dist, note))
        return _Rows(s, c, how, share, dist, _join_notes(base_note[s], note))


def _join_notes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``first; second`` where both are set, else whichever is."""
    out = second.copy()
    has_first, has_second = ~pd.isna(first), ~pd.isna(second)
    out[has_first & ~has_second] = first[has_first & ~has_second]
    both = has_first & has_second
    if both.any():
        out[both] = first[both] + "; " + second[both]
    return out


# --------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------
def _assign_points(st: _Structures, t: Targets, shares: _Shares) -> None:
    """Points: the compound that holds each (a point on a shared wall: see the note)."""
    pidx = np.flatnonzero(st.usable & st.is_point)
    if not len(pidx) or not len(t):
        return
    pl, pr = pairs(t.tree, st.geoms[pidx])
    hit, apart = t.convex.classify(pr, st.bounds[pidx[pl]])
    und = np.flatnonzero(~hit & ~apart)  # GEOS for the pairs numpy cannot decide
    hit[und] = shapely.intersects(t.geoms[pr[und]], st.geoms[pidx[pl[und]]])
    pl, pr = pl[hit], pr[hit]
    counts = np.bincount(pl, minlength=len(pidx))
    multi = counts[pl] > 1
    on_wall = np.zeros(len(pl), dtype=bool)
    if multi.any():
        on_wall[multi] = shapely.touches(st.geoms[pidx[pl[multi]]], t.geoms[pr[multi]])
    pick = first_per_group(pl, on_wall, pr)
    note = np.full(len(pick), None, dtype=object)
    shared = counts[pl[pick]] > 1
    if shared.any():  # few: points exactly on a wall
        names = pd.Series(t.ids[pr[multi]].astype(str)).groupby(pl[multi]).agg(", ".join)
        note[shared] = [f"on the wall of {counts[p]} compounds ({names[p]}); counted in {t.ids[c]}"
                        for p, c in zip(pl[pick][shared], pr[pick][shared], strict=True)]
    shares.add(pidx[pl[pick]], pr[pick], INSIDE, note=note)


def _assign_polygons(st: _Structures, t: Targets, shares: _Shares) -> None:
    """Polygons wholly inside one compound; the others are split by footprint area."""
    qidx = np.flatnonzero(st.usable & st.is_poly)
    if not len(qidx) or not len(t):
        return
    il, ir = pairs(t.tree, st.geoms[qidx])
    cov, apart = t.convex.classify(ir, st.bounds[qidx[il]])
    und = np.flatnonzero(~cov & ~apart)
    cov[und] = shapely.covers(t.geoms[ir[und]], st.geoms[qidx[il[und]]])
    whole = np.full(len(qidx), -1, dtype=np.int64)
    if cov.any():
        first = first_per_group(il[cov], ir[cov])
        whole[il[cov][first]] = ir[cov][first]
    inside = whole >= 0
    shares.add(qidx[inside], whole[inside], INSIDE)
    # the rest are cut (pairs clearly apart are skipped; others that do not meet give
    # empty pieces)
    keep = ~inside[il] & ~apart
    _split_by_area(st, t, shares, qidx, il[keep], ir[keep])


def _split_by_area(st: _Structures, t: Targets, shares: _Shares, qidx: np.ndarray,
                   il: np.ndarray, ir: np.ndarray) -> None:
    """Share polygons between the compounds they straddle, by footprint area; the largest
    part also takes the part outside every compound, so the shares sum to 1."""
    if not len(il):
        return
    pieces, _ = cut(st.geoms[qidx], t.geoms, il, ir)
    total = st.footprint[qidx[il]]
    frac = np.where(total > 0, shapely.area(pieces) / np.where(total > 0, total, 1.0), 0.0)
    real = frac > SLIVER_FRACTION
    il, ir, frac = il[real], ir[real], frac[real]
    if not len(il):
        return
    n_parts = np.bincount(il, minlength=len(qidx))
    outside = np.clip(1.0 - np.bincount(il, weights=frac, minlength=len(qidx)), 0.0, 1.0)[il]
    is_big = np.zeros(len(il), dtype=bool)
    is_big[first_per_group(il, -frac, ir)] = True
    others = np.bincount(il[~is_big], weights=frac[~is_big], minlength=len(qidx))
    share = np.where(is_big, 1.0 - others[il], frac)
    split = ~((n_parts[il] == 1) & (outside <= SLIVER_FRACTION))
    note = np.full(len(il), None, dtype=object)
    if split.any():
        note[split] = fmt(frac[split] * 100, ".1f") + " % of the footprint inside"
        big = is_big & split & (outside > SLIVER_FRACTION)
        note[big] = (note[big] + " + " + fmt(outside[big] * 100, ".1f")
                     + " % outside every compound (largest part)")
    shares.add(qidx[il[~split]], ir[~split], INSIDE, note=note[~split])
    shares.add(qidx[il[split]], ir[split], SPLIT, share[split], note=note[split])


@dataclass(frozen=True)
class _Nearest:
    """Per structure: the nearest compound's position (-1: none looked for) and distance."""

    c: np.ndarray
    d: np.ndarray


def _assign_nearest(st: _Structures, t: Targets, shares: _Shares,
                    max_distance_m: float) -> _Nearest:
    """Structures in no compound: the nearest compound within ``max_distance_m``."""
    near = _Nearest(np.full(len(st), -1, dtype=np.int64), np.full(len(st), np.nan))
    rest = np.flatnonzero(st.usable & ~shares.assigned)
    if len(rest) and len(t):
        near.c[rest], near.d[rest] = nearest(t.tree, t.geoms, st.geoms[rest], max_distance_m)
        ok = near.d[rest] <= max_distance_m
        shares.add(rest[ok], near.c[rest[ok]], NEAREST, dist=near.d[rest[ok]])
    return near


def _leave_unassigned(st: _Structures, t: Targets, shares: _Shares, near: _Nearest,
                      max_distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The structures no step placed, as ``unassigned`` rows: (positions, reason per structure)."""
    un = np.flatnonzero(~shares.assigned)
    reason = st.problem.copy()
    far = un[pd.isna(st.problem[un]) & (near.c[un] >= 0)]
    if len(far):
        reason[far] = (f"no compound within {max_distance_m:g} m; nearest "
                       + fmt(near.d[far], ".1f") + " m: " + t.ids[near.c[far]].astype(str))
    reason[un[pd.isna(reason[un])]] = "no compounds to assign to"
    shares.add(un, -1, UNASSIGNED, dist=near.d[un])
    return un, reason


# --------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------
def _assignment_table(rows: _Rows, st: _Structures, t: Targets,
                      reason: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "structure_id": st.ids[rows.s],
        "compound_id": t.ids_at(rows.c),
        "how": pd.Categorical.from_codes(rows.how, categories=list(HOW)),
        "share": rows.share,
        "area_m2": rows.share * st.area[rows.s],
        "distance_m": rows.dist,
        "kind": st.kind[rows.s],
        "status": st.status[rows.s],
        "reason": np.where(rows.c >= 0, None, reason[rows.s]),
        "note": rows.note,
    })


def _roll_up(compounds: gpd.GeoDataFrame, rows: _Rows, st: _Structures):
    """The compounds with the count, area, kind and status columns and the flags; the main
    compound of each structure (largest share; -1 unassigned); the layer totals."""
    m = len(compounds)
    inn = rows.c >= 0
    ci, sh = rows.c[inn], rows.share[inn]
    area = (rows.share * st.area[rows.s])[inn]
    out = compounds.copy()
    out["illegal_count"] = np.bincount(ci, weights=sh, minlength=m)
    out["illegal_area_m2"] = np.bincount(ci, weights=area, minlength=m)
    by_kind = by_category(ci, st.kind[rows.s][inn], KINDS, area, m)
    for j, k in enumerate(KINDS):
        out[f"illegal_m2_{k}"] = by_kind[:, j]
    by_status = by_category(ci, st.status[rows.s][inn], STATUSES, sh, m)
    for j, s in enumerate(STATUSES):
        out[f"illegal_n_{s}"] = by_status[:, j]
    first = group_starts(rows.s)  # rows are sorted: a structure's largest share comes first
    main = np.full(len(st), -1, dtype=np.int64)
    main[rows.s[first]] = rows.c[first]
    totals = {"illegal_count": float(len(st)), "illegal_area_m2": float(st.area.sum())}
    for col, flag_col in ILLEGAL_FLAGS.items():
        if flag_col in st.frame:
            flagged = flag(st.frame, flag_col)
            hit = flagged & (main >= 0)
            out[col] = pd.array(np.bincount(main[hit], minlength=m), dtype="Int64")
            totals[col] = float(flagged.sum())
    return out, main, totals


def _annotated(st: _Structures, t: Targets, main: np.ndarray) -> gpd.GeoDataFrame:
    out = st.frame.copy()
    out.index.name = schema.ID_COLUMNS["illegal"]
    out["compound_id"] = t.ids_at(main)
    out["land_area_m2"] = st.footprint
    return out


def _unassigned_frame(st: _Structures, t: Targets, un: np.ndarray, reason: np.ndarray,
                      near: _Nearest) -> gpd.GeoDataFrame:
    out = st.frame.iloc[un].copy()
    out.index.name = schema.ID_COLUMNS["illegal"]
    out["reason"] = reason[un]
    out["nearest_compound_id"] = t.ids_at(near.c[un])
    out["distance_m"] = near.d[un]
    out["counted_area_m2"] = st.area[un]
    return out
