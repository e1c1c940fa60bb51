"""The gas network (燃气管网) per compound: segments cut at compound walls, measured by class,
material and age, aged pipe marked by the rules; what lies outside every compound is kept."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from .._contracts import LINEAL, POLYGONAL, PUNTAL, allowed_types, require_layer
from ._join import (
    ROWS_MAY_FAIL,
    Targets,
    by_category,
    codes,
    cut,
    first_per_group,
    flag,
    int_array,
    isin,
    linear_part,
    numbers,
    pairs,
    row_reasons,
    type_is,
)
from .results import GasOverlay
from .rules import (
    MATERIALS,
    PIPE_CLASSES,
    AgedMarks,
    AgedRule,
    OccupationRule,
    coerce_rules,
    mark_aged,
    require_as_of_year,
)

__all__ = ["overlay_gas"]

log = logging.getLogger(__name__)

STAGE = "overlay_gas"
#: a cut whose pieces differ from the segment's length by more than this fraction of it
#: did not add up (degenerate geometry GEOS snaps away): the segment is kept whole
CUT_RTOL = 1e-10
OUTSIDE = "outside every compound"
KEPT_WHOLE = ("kept whole: cutting it at compound boundaries did not add up "
              "(degenerate geometry)")


def overlay_gas(
    compounds: gpd.GeoDataFrame,
    gas: gpd.GeoDataFrame,
    *,
    aged_rules: Sequence[AgedRule | OccupationRule | Mapping[str, Any]] | None = None,
    illegal: gpd.GeoDataFrame | None = None,
    as_of_year: int | None = None,
) -> GasOverlay:
    """Measure the gas pipe (燃气管网) in every compound, by class, material and age.

    Segments are cut at compound boundaries (an STRtree query, then
    ``shapely.intersection`` / ``shapely.difference`` on aligned arrays): a segment wholly
    inside a compound is one piece; a segment crossing boundaries becomes one piece per
    compound plus the part outside every compound, which is reported (never dropped) in
    :attr:`GasOverlay.outside` — municipal mains in the streets, lane mains between
    compounds. Where compounds overlap, the earlier compound takes the overlap, so the
    pieces of a segment never overlap and their lengths add up to the segment's length.

    A segment is aged when any rule matches; ``aged_rule`` lists the codes of every
    matching rule (``"CI_ALL;AGE20;OCC"``). The default rules are
    :data:`DEFAULT_AGED_RULES` (national plan 2022–2025, DOMAIN.md §6.1): ``CI_ALL`` all
    grey cast iron; ``AGE20`` steel, galvanised steel and PE ≥ 20 years; ``RISER20``
    risers ≥ 20 years; ``OCC`` pipe built over by an illegal structure (computed when
    ``illegal`` is given, or read from the gas layer's ``occupied`` column).

    Parameters
    ----------
    compounds : GeoDataFrame
        Compounds indexed by unique ``compound_id``, valid (Multi)Polygons, projected CRS.
    gas : GeoDataFrame
        Segments indexed by ``segment_id``, (Multi)LineStrings in the compounds' CRS, with
        ``pipe_class`` and optionally ``material``, ``install_year``, ``diameter_mm``,
        ``owner``, ``occupied`` (codes or Chinese labels; unknown → ``other``).
    aged_rules : sequence of AgedRule, OccupationRule or dict, optional
        Replaces the default rules. Dicts are passed to :class:`AgedRule` (or to
        :class:`OccupationRule` when ``code`` is ``"OCC"``). Leave out the
        OccupationRule to stop occupation from marking pipe aged (``blocks_gas`` is still
        computed when ``illegal`` is given).
    illegal : GeoDataFrame, optional
        Illegal structures (see :func:`overlay_illegal`) for the occupation rule. The
        result's ``.illegal`` carries them with ``blocks_gas``.
    as_of_year : int, optional
        The year pipe ages are counted to (``age = as_of_year - install_year``). Required
        when a rule counts years (the default ``AGE20`` and ``RISER20`` do): the result
        never depends on the day it is computed. Without it, ``age_years`` is missing.

    Returns
    -------
    GasOverlay
        ``.compounds`` with :data:`GAS_COMPOUND_COLUMNS`, ``.pieces``, ``.outside``,
        ``.gas`` (annotated segments), ``.illegal``, ``.as_of_year`` and ``.totals()``.

    Raises
    ------
    CRSError, DataError, SchemaError
        Missing or mismatched CRS, duplicate ids or invalid compounds, no ``pipe_class``
        column (every problem of a layer in one message).
    ConfigError
        A rule naming an unknown material or class; ``as_of_year`` missing while a rule
        counts years (ConfigError is a ValueError).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box, LineString
    >>> from spatialreno.overlay import overlay_gas
    >>> compounds = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)],
    ...     index=pd.Index(["a"], name="compound_id"), crs=4547)
    >>> gas = gpd.GeoDataFrame(
    ...     {"pipe_class": ["courtyard_buried", "municipal"],
    ...      "material": ["grey_cast_iron", "pe"], "install_year": [1990, 2015]},
    ...     geometry=[LineString([(50, 50), (150, 50)]), LineString([(0, 120), (200, 120)])],
    ...     index=pd.Index(["g1", "g2"], name="segment_id"), crs=4547)
    >>> res = overlay_gas(compounds, gas, as_of_year=2024)
    >>> res.compounds[["gas_total_m", "gas_aged_m", "gas_mat_grey_cast_iron_m"]]  # doctest: +NORMALIZE_WHITESPACE
                 gas_total_m  gas_aged_m  gas_mat_grey_cast_iron_m
    compound_id
    a                   50.0        50.0                      50.0
    >>> res.pieces[["segment_id", "compound_id", "length_m", "aged_rule"]]  # doctest: +NORMALIZE_WHITESPACE
          segment_id compound_id  length_m aged_rule
    piece
    0             g1           a      50.0    CI_ALL
    1             g1         NaN      50.0    CI_ALL
    2             g2         NaN     200.0
    >>> overlay_gas(compounds, gas)
    Traceback (most recent call last):
    ...
    spatialreno.errors.ConfigError: overlay_gas: `as_of_year` is not set, but the aged rules AGE20, RISER20 count pipe ages; pass the year ages are counted to, e.g. as_of_year=2025 (in a plan: [overlay] as_of_year, or --as-of-year on the command line).
    """
    compounds, gas, illegal = _check_inputs(compounds, gas, illegal)
    rules, occ = coerce_rules(aged_rules)
    as_of_year = require_as_of_year(as_of_year, rules, stage=STAGE)
    segs = _Segments.of(gas, as_of_year)
    occupied, blocks = _occupation(segs, illegal, occ)
    marks = mark_aged(rules, occ, pipe_class=segs.pclass, material=segs.material,
                      age=segs.age, occupied=occupied)
    targets = Targets.of(compounds)
    pieces = _cut_at_walls(segs, targets)
    track_occupied = illegal is not None or "occupied" in gas
    out = _roll_up(compounds, pieces, segs, marks, occupied if track_occupied else None)
    table = _pieces_frame(pieces, segs, targets, marks)
    outside = table[pieces.c < 0]
    log.info("%s: %d segments → %d pieces, %d outside", STAGE, len(segs), len(table),
             len(outside))
    return GasOverlay(
        compounds=out, remainder=outside, layer_totals=_layer_totals(segs, marks),
        pieces=table, gas=_annotated(segs, targets, pieces, marks, occupied),
        illegal=_with_blocks(illegal, blocks), rules=(*rules, *([occ] if occ else [])),
        as_of_year=as_of_year,
    )


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
def _check_inputs(compounds, gas, illegal):
    compounds = require_layer(compounds, "compounds", stage=STAGE)
    gas = require_layer(gas, "gas", stage=STAGE, crs=compounds.crs, columns=("pipe_class",),
                        **ROWS_MAY_FAIL)
    if illegal is not None:
        illegal = require_layer(illegal, "illegal", stage=STAGE, crs=compounds.crs,
                                **ROWS_MAY_FAIL)
    return compounds, gas, illegal


@dataclass(frozen=True)
class _Segments:
    """The gas segments as arrays: geometry, usable rows, length, class, material, age."""

    frame: gpd.GeoDataFrame
    lines: np.ndarray
    ids: np.ndarray
    problem: np.ndarray
    ok: np.ndarray
    length: np.ndarray
    pclass: np.ndarray
    material: np.ndarray
    install: np.ndarray
    age: np.ndarray

    @classmethod
    def of(cls, gas: gpd.GeoDataFrame, as_of_year: int | None) -> _Segments:
        lines = np.asarray(gas.geometry.array, dtype=object)
        problem = row_reasons(lines, LINEAL, "gas")
        install = numbers(gas, "install_year")
        return cls(
            frame=gas, lines=lines, ids=np.asarray(gas.index.astype(object), dtype=object),
            problem=problem, ok=pd.isna(problem), length=np.nan_to_num(shapely.length(lines)),
            pclass=codes(gas, "pipe_class", "pipe_class", "other", stage=STAGE, stacklevel=3),
            material=codes(gas, "material", "pipe_material", "other", stage=STAGE,
                           stacklevel=3),
            install=install,
            age=install * np.nan if as_of_year is None else as_of_year - install,
        )

    def __len__(self) -> int:
        return len(self.lines)


# --------------------------------------------------------------------------------------
# occupation (占压)
# --------------------------------------------------------------------------------------
def _occupation(segs: _Segments, illegal: gpd.GeoDataFrame | None,
                occ: OccupationRule | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(segment occupied?, structure blocks_gas as float with NaN for unusable geometry,
    None without structures): the layer's ``occupied`` column, or'ed with the structures
    built over the pipe."""
    occupied = flag(segs.frame, "occupied")
    if illegal is None:
        return occupied, None
    built_over, blocks = _built_over(illegal, segs, occ or OccupationRule())
    return occupied | built_over, blocks


def _built_over(illegal: gpd.GeoDataFrame, segs: _Segments,
                occ: OccupationRule) -> tuple[np.ndarray, np.ndarray]:
    ig = np.asarray(illegal.geometry.array, dtype=object)
    usable = pd.isna(row_reasons(ig, allowed_types("illegal"), "illegal"))
    kind = codes(illegal, "kind", "illegal_kind", "other", stage=STAGE, stacklevel=4)
    status = codes(illegal, "status", "illegal_status", "to_verify", stage=STAGE, stacklevel=4)
    counts = usable & ~isin(kind, occ.exclude_kinds) & ~isin(status, occ.exclude_status)
    occupied = np.zeros(len(segs), dtype=bool)
    blocks = np.where(usable, 0.0, np.nan)
    lidx = np.flatnonzero(segs.ok)
    if len(lidx) == 0:
        return occupied, blocks
    tree = shapely.STRtree(segs.lines[lidx])
    polys = np.flatnonzero(counts & type_is(ig, POLYGONAL))
    pts = np.flatnonzero(counts & type_is(ig, PUNTAL))
    if len(polys):
        a, b = tree.query(ig[polys])
        hit = shapely.intersects(ig[polys[a]], segs.lines[lidx[b]])
        occupied[lidx[b[hit]]] = True
        blocks[polys[a[hit]]] = 1.0
    if len(pts):
        a, b = tree.query(ig[pts], predicate="dwithin", distance=occ.point_radius_m)
        occupied[lidx[b]] = True
        blocks[pts[a]] = 1.0
    return occupied, blocks


# --------------------------------------------------------------------------------------
# cutting at compound walls
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pieces:
    """The pieces, sorted by segment with the inside pieces first: segment and compound
    positions (-1: outside every compound), geometry, length, reason."""

    s: np.ndarray
    c: np.ndarray
    geom: np.ndarray
    length: np.ndarray
    reason: np.ndarray


class _PieceRows:
    """The pieces as the cutting steps find them."""

    def __init__(self):
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, seg, comp, geom, reason=None) -> None:
        seg = np.asarray(seg, dtype=np.int64)
        k = len(seg)
        self.parts.append((seg, np.broadcast_to(np.asarray(comp, dtype=np.int64), (k,)),
                           np.asarray(geom, dtype=object),
                           np.broadcast_to(np.asarray(reason, dtype=object), (k,))))

    def pieces(self) -> _Pieces:
        s, c, g, r = (np.concatenate(col) for col in zip(*self.parts, strict=True))
        order = np.lexsort((c, c < 0, s))  # by segment, inside pieces first
        s, c, g, r = s[order], c[order], g[order], r[order]
        return _Pieces(s, c, g, np.nan_to_num(shapely.length(g)), r)


def _cut_at_walls(segs: _Segments, t: Targets) -> _Pieces:
    """Every segment as pieces: wholly inside one compound, cut at the walls it crosses,
    outside every compound, or (unusable geometry) once, outside, with the reason."""
    rows = _PieceRows()
    placed = np.zeros(len(segs), dtype=bool)
    if segs.ok.any() and len(t):
        il, ir, whole = _whole_segments(segs, t)
        inside = np.flatnonzero(whole >= 0)
        rows.add(inside, whole[inside], segs.lines[inside])
        crossing = whole[il] < 0
        placed[inside] = True
        placed[_cut_crossing(segs, t, il[crossing], ir[crossing], rows)] = True
    untouched = np.flatnonzero(segs.ok & ~placed)
    rows.add(untouched, -1, segs.lines[untouched], OUTSIDE)
    bad = np.flatnonzero(~segs.ok)
    rows.add(bad, -1, segs.lines[bad], segs.problem[bad])
    return rows.pieces()


def _whole_segments(segs: _Segments, t: Targets):
    """(segment, compound) pairs that meet, and per segment the compound that contains it
    wholly (-1: none). GEOS only for the pairs the convex test leaves open."""
    lidx = np.flatnonzero(segs.ok)
    il, ir = pairs(t.tree, segs.lines[lidx])
    il = lidx[il]
    cov, apart = t.convex.classify(ir, shapely.bounds(segs.lines[il]))
    decided = cov | apart
    und = np.flatnonzero(~decided)
    hit = cov.copy()
    hit[und] = shapely.intersects(t.geoms[ir[und]], segs.lines[il[und]])
    il, ir, cov, decided = il[hit], ir[hit], cov[hit], decided[hit]
    und = np.flatnonzero(~decided)
    cov[und] = shapely.contains_properly(t.geoms[ir[und]], segs.lines[il[und]])
    whole = np.full(len(segs), -1, dtype=np.int64)
    if cov.any():
        first = first_per_group(il[cov], ir[cov])
        whole[il[cov][first]] = ir[cov][first]
    return il, ir, whole


def _cut_crossing(segs: _Segments, t: Targets, il: np.ndarray, ir: np.ndarray,
                  rows: _PieceRows) -> np.ndarray:
    """Cut the segments that cross walls; returns the segments handled."""
    cut_segs = np.unique(il)
    pieces, rest = cut(segs.lines, t.geoms, il, ir)
    pieces = linear_part(pieces, LINEAL)
    plen = shapely.length(pieces)
    rest = linear_part(rest[cut_segs], LINEAL)
    rlen = shapely.length(rest)
    seg_len = segs.length[cut_segs]
    cut_sum = np.bincount(il, weights=plen, minlength=len(segs))[cut_segs] + rlen
    broken = np.abs(cut_sum - seg_len) > CUT_RTOL * seg_len
    real = (plen > 0) & ~np.isin(il, cut_segs[broken])
    rows.add(il[real], ir[real], pieces[real])
    has_rest = (rlen > 0) & ~broken
    rows.add(cut_segs[has_rest], -1, rest[has_rest], OUTSIDE)
    if broken.any():
        _keep_whole(segs, cut_segs, broken, il, ir, plen, rlen, rows)
    return cut_segs


def _keep_whole(segs: _Segments, cut_segs, broken, il, ir, plen, rlen, rows: _PieceRows) -> None:
    """A cut that does not add up is undone: the segment stays whole, with the compound of
    its longest part (none when the part outside is longer)."""
    bs = cut_segs[broken]
    longest = np.full(len(segs), -1, dtype=np.int64)
    pos = np.flatnonzero((plen > 0) & np.isin(il, bs))
    if len(pos):
        best = pos[first_per_group(il[pos], -plen[pos], ir[pos])]
        longer = plen[best] >= np.nan_to_num(rlen[np.searchsorted(cut_segs, il[best])])
        longest[il[best[longer]]] = ir[best[longer]]
    rows.add(bs, longest[bs], segs.lines[bs], KEPT_WHOLE)


# --------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------
def _roll_up(compounds: gpd.GeoDataFrame, p: _Pieces, segs: _Segments, marks: AgedMarks,
             occupied: np.ndarray | None) -> gpd.GeoDataFrame:
    m = len(compounds)
    inn = p.c >= 0
    ci, li = p.c[inn], p.length[inn]
    aged = li * marks.aged[p.s][inn]
    pclass = segs.pclass[p.s][inn]
    out = compounds.copy()
    out["gas_total_m"] = np.bincount(ci, weights=li, minlength=m)
    out["gas_aged_m"] = np.bincount(ci, weights=aged, minlength=m)
    by_class = by_category(ci, pclass, PIPE_CLASSES, li, m)
    by_aged = by_category(ci, pclass, PIPE_CLASSES, aged, m)
    for j, cl in enumerate(PIPE_CLASSES):
        out[f"gas_{cl}_m"] = by_class[:, j]
    for j, cl in enumerate(PIPE_CLASSES):
        out[f"gas_aged_{cl}_m"] = by_aged[:, j]
    by_material = by_category(ci, segs.material[p.s][inn], MATERIALS, li, m)
    for j, mat in enumerate(MATERIALS):
        out[f"gas_mat_{mat}_m"] = by_material[:, j]
    if occupied is not None:
        out["gas_occupied_m"] = np.bincount(ci, weights=li * occupied[p.s][inn], minlength=m)
    return out


def _pieces_frame(p: _Pieces, segs: _Segments, t: Targets, marks: AgedMarks) -> gpd.GeoDataFrame:
    def column(name):
        if name in segs.frame:
            return segs.frame[name].to_numpy()[p.s]
        return np.full(len(p.s), None, dtype=object)

    crs = segs.frame.crs
    table = gpd.GeoDataFrame(
        {
            "segment_id": segs.ids[p.s],
            "compound_id": t.ids_at(p.c),
            "pipe_class": segs.pclass[p.s],
            "material": segs.material[p.s],
            "install_year": int_array(segs.install[p.s]),
            "age_years": int_array(segs.age[p.s]),
            "diameter_mm": column("diameter_mm"),
            "owner": column("owner"),
            "length_m": p.length,
            "aged": marks.aged[p.s],
            "aged_rule": marks.rule[p.s],
            "reason": p.reason,
        },
        geometry=gpd.GeoSeries(p.geom, crs=crs),
        crs=crs,
    )
    table.index.name = "piece"
    return table


def _annotated(segs: _Segments, t: Targets, p: _Pieces, marks: AgedMarks,
               occupied: np.ndarray) -> gpd.GeoDataFrame:
    """The segments with their main compound (the longest part; None when the part
    outside is the longest), length, age, aged marks and occupation."""
    main = np.full(len(segs), -1, dtype=np.int64)
    if len(p.s):
        best = first_per_group(p.s, -p.length, p.c)
        main[p.s[best]] = p.c[best]
    out = segs.frame.copy()
    out.index.name = schema.ID_COLUMNS["gas"]
    out["compound_id"] = t.ids_at(main)
    out["length_m"] = segs.length
    out["age_years"] = int_array(segs.age)
    out["aged"] = marks.aged
    out["aged_rule"] = marks.rule
    out["occupied"] = occupied.astype(np.int64)
    return out


def _with_blocks(illegal: gpd.GeoDataFrame | None, blocks: np.ndarray | None):
    if illegal is None:
        return None
    out = illegal.copy()
    out.index.name = schema.ID_COLUMNS["illegal"]
    out["blocks_gas"] = int_array(blocks)
    return out


def _layer_totals(segs: _Segments, marks: AgedMarks) -> dict[str, float]:
    totals = {"gas_total_m": float(segs.length.sum()),
              "gas_aged_m": float(segs.length[marks.aged].sum())}
    for cl in PIPE_CLASSES:  # the classes the layer has (an audit of zeros says nothing)
        of_class = segs.pclass == cl
        if of_class.any():
            totals[f"gas_{cl}_m"] = float(segs.length[of_class].sum())
    return totals
