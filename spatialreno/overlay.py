"""Overlay illegal structures, the gas network and fire lanes on compounds, with totals that reconcile.

Three stage functions, all vectorised (one STRtree per layer, array-wise shapely
predicates and overlays, ``numpy.bincount`` roll-ups; no per-feature Python loop):

* :func:`overlay_illegal` — every illegal structure (违法建设) is counted in exactly one
  place: inside a compound, shared by footprint area between the compounds it straddles,
  given to the nearest compound within ``max_distance_m`` (structures in the lanes
  between compounds), or left unassigned with the reason. Adds ``illegal_count``,
  ``illegal_area_m2``, ``illegal_m2_<kind>`` and ``illegal_n_<status>`` to the compounds.
* :func:`overlay_gas` — gas segments are cut at compound boundaries; every piece is
  inside one compound or outside all of them (municipal mains in the streets), and aged
  pipe is marked by replaceable rules (:class:`AgedRule`, :class:`OccupationRule`;
  defaults from the national 2022–2025 renewal plan, :data:`DEFAULT_AGED_RULES`). Adds
  ``gas_total_m``, ``gas_aged_m``, ``gas_<class>_m``, ``gas_aged_<class>_m`` and
  ``gas_mat_<material>_m`` to the compounds.
* :func:`flag_fire_lanes` — marks structures that leave less than 4 m clear in a fire
  lane (消防车道) corridor; :func:`overlay_illegal` then counts them per compound
  (``fire_lane_blocked``).

Nothing is lost: every result carries the remainder that no compound holds, and
:meth:`OverlayResult.totals` (or :func:`reconcile`) returns the audit table
``layer_total = compounds + remainder`` (and, given packages, the packages' roll-up).
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import schema
from .errors import ConfigError, CRSError, DataError, SchemaError, SpatialRenoWarning

__all__ = [
    "overlay_illegal",
    "overlay_gas",
    "flag_fire_lanes",
    "reconcile",
    "OverlayResult",
    "IllegalOverlay",
    "GasOverlay",
    "AgedRule",
    "OccupationRule",
    "DEFAULT_AGED_RULES",
    "ASSIGNMENT_COLUMNS",
    "PIECE_COLUMNS",
    "ILLEGAL_COMPOUND_COLUMNS",
    "GAS_COMPOUND_COLUMNS",
    "HOW",
]

log = logging.getLogger(__name__)

PIPE_CLASSES: tuple[str, ...] = tuple(schema.VOCABULARIES["pipe_class"])
MATERIALS: tuple[str, ...] = tuple(schema.VOCABULARIES["pipe_material"])
KINDS: tuple[str, ...] = tuple(schema.VOCABULARIES["illegal_kind"])
STATUSES: tuple[str, ...] = tuple(schema.VOCABULARIES["illegal_status"])

#: Values of the ``how`` column of the assignment table.
HOW: tuple[str, ...] = ("inside", "split_by_area", "nearest_within_distance", "unassigned")
_INSIDE, _SPLIT, _NEAREST, _UNASSIGNED = range(4)

#: Columns of :attr:`IllegalOverlay.assignments`.
ASSIGNMENT_COLUMNS: list[str] = [
    "structure_id", "compound_id", "how", "share", "area_m2", "distance_m",
    "kind", "status", "reason", "note",
]
#: Columns of :attr:`GasOverlay.pieces` (besides ``geometry``).
PIECE_COLUMNS: list[str] = [
    "segment_id", "compound_id", "pipe_class", "material", "install_year", "age_years",
    "diameter_mm", "owner", "length_m", "aged", "aged_rule", "reason",
]
#: Columns :func:`overlay_illegal` adds to the compounds (``fire_lane_blocked`` and
#: ``illegal_over_gas`` only when the structures carry ``blocks_fire_lane`` / ``blocks_gas``).
ILLEGAL_COMPOUND_COLUMNS: list[str] = [
    "illegal_count", "illegal_area_m2",
    *[f"illegal_m2_{k}" for k in KINDS],
    *[f"illegal_n_{s}" for s in STATUSES],
]
#: Columns :func:`overlay_gas` adds to the compounds (``gas_occupied_m`` only when
#: occupation was computed).
GAS_COMPOUND_COLUMNS: list[str] = [
    "gas_total_m", "gas_aged_m",
    *[f"gas_{c}_m" for c in PIPE_CLASSES],
    *[f"gas_aged_{c}_m" for c in PIPE_CLASSES],
    *[f"gas_mat_{m}_m" for m in MATERIALS],
]

#: Pieces or shares smaller than this fraction of a feature are treated as slivers
#: (floating-point noise along shared walls); their part goes with the rest.
_SLIVER = 1e-9

_TYPE_NAMES = np.array(
    ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
     "MultiPolygon", "GeometryCollection"],
    dtype=object,
)


# --------------------------------------------------------------------------------------
# aged-pipe rules
# --------------------------------------------------------------------------------------
def _as_codes(value, vocab: str, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    out = []
    for item in items:
        code = schema.canonical_value(vocab, item)
        if code is None:
            allowed = ", ".join(schema.VOCABULARIES[vocab])
            raise ConfigError(f"{what}: unknown {vocab} {item!r}; expected one of {allowed}.")
        out.append(code)
    return tuple(out)


@dataclass(frozen=True)
class AgedRule:
    """One rule that marks gas pipe as aged (老化).

    A segment matches when its material is in ``material`` (any material when None), its
    pipe class is in ``pipe_class`` (any class when None) and its age in years
    (``as_of_year - install_year``) is at least ``min_age`` (no age test when None; a
    segment without ``install_year`` never matches an age rule). Materials and classes
    are vocabulary codes or their Chinese labels (``"灰口铸铁"`` → ``grey_cast_iron``).

    Attributes
    ----------
    code : str
        Short code written to ``aged_rule`` (``"CI_ALL"``); codes of several matching
        rules are joined with ``;``.
    description_zh : str
        What the rule says, in Chinese, for the audit and the map legend.
    material, pipe_class : tuple of str or None
    min_age : float or None
    source : str
        Where the rule comes from.

    Examples
    --------
    >>> from spatialreno.overlay import AgedRule
    >>> AgedRule("DI30", "球墨铸铁运行30年以上", material="球墨铸铁", min_age=30).material
    ('ductile_iron',)
    """

    code: str
    description_zh: str = ""
    material: tuple[str, ...] | None = None
    pipe_class: tuple[str, ...] | None = None
    min_age: float | None = None
    source: str = ""

    def __post_init__(self):
        if not self.code or ";" in self.code:
            raise ConfigError(f"AgedRule code must be a non-empty string without ';', got {self.code!r}.")
        object.__setattr__(self, "material", _as_codes(self.material, "pipe_material", self.code))
        object.__setattr__(self, "pipe_class", _as_codes(self.pipe_class, "pipe_class", self.code))
        if self.min_age is not None and not np.isfinite(float(self.min_age)):
            raise ConfigError(f"{self.code}: min_age must be a number of years, got {self.min_age!r}.")

    def matches(self, pipe_class: np.ndarray, material: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Boolean array: which segments this rule marks (arrays of codes and ages)."""
        hit = np.ones(len(pipe_class), dtype=bool)
        if self.material is not None:
            hit &= _isin(material, self.material)
        if self.pipe_class is not None:
            hit &= _isin(pipe_class, self.pipe_class)
        if self.min_age is not None:
            with np.errstate(invalid="ignore"):
                hit &= np.nan_to_num(age, nan=-np.inf) >= float(self.min_age)
        return hit


@dataclass(frozen=True)
class OccupationRule:
    """The occupation rule (占压): pipe built over by an illegal structure is aged.

    A segment is occupied when a polygon structure intersects it, or a point structure
    lies within ``point_radius_m`` of it (a point has no footprint; 1 m stands for a
    small shed), or when the gas layer's own ``occupied`` column is 1. Structures of
    ``exclude_kinds`` (rooftop additions stand on roofs, not on buried pipe) or
    ``exclude_status`` (already demolished) do not occupy. The structures found are
    marked ``blocks_gas = 1``.
    """

    code: str = "OCC"
    description_zh: str = "被建构筑物占压的管道"
    point_radius_m: float = 1.0
    exclude_kinds: tuple[str, ...] = ("rooftop",)
    exclude_status: tuple[str, ...] = ("demolished",)
    source: str = "城市燃气管道等老化更新改造实施方案(2022—2025年) (DOMAIN.md §6.1)"

    def __post_init__(self):
        if not (self.point_radius_m >= 0):
            raise ConfigError(f"{self.code}: point_radius_m must be ≥ 0, got {self.point_radius_m!r}.")
        object.__setattr__(self, "exclude_kinds",
                           _as_codes(self.exclude_kinds, "illegal_kind", self.code) or ())
        object.__setattr__(self, "exclude_status",
                           _as_codes(self.exclude_status, "illegal_status", self.code) or ())


_PLAN = "城市燃气管道等老化更新改造实施方案(2022—2025年), State Council 2022 (DOMAIN.md §6.1)"

#: Default rules, from the national plan for renewing aged urban gas pipes 2022–2025
#: (DOMAIN.md §6.1, §6.6). Ductile iron "not meeting safe-operation requirements" and
#: pipes under 20 years "with hazards" need an assessment and have no default rule; add
#: e.g. ``AgedRule("DI_ALL", "球墨铸铁", material="ductile_iron")`` when the city decides so.
#:
#: ====== ======================================================================
#: CI_ALL all grey cast iron (灰口铸铁), any class
#: AGE20  steel, galvanised steel and PE in municipal/courtyard/overhead/other
#:        pipe in service ≥ 20 years
#: RISER20 risers, service pipes and horizontal mains (立管, 引入管, 水平干管) ≥ 20 years
#: OCC    pipe built over by an illegal structure (占压), see :class:`OccupationRule`
#: ====== ======================================================================
DEFAULT_AGED_RULES: tuple[AgedRule | OccupationRule, ...] = (
    AgedRule("CI_ALL", "全部灰口铸铁管道", material=("grey_cast_iron",), source=_PLAN),
    AgedRule(
        "AGE20", "运行年限满20年的钢质、PE管道",
        material=("steel", "galvanized_steel", "pe"),
        pipe_class=("municipal", "courtyard_buried", "overhead", "other"),
        min_age=20, source=_PLAN,
    ),
    AgedRule(
        "RISER20", "运行年限满20年的立管(含引入管、水平干管)",
        pipe_class=("riser", "service", "horizontal_main"), min_age=20, source=_PLAN,
    ),
    OccupationRule(),
)


def _coerce_rules(aged_rules) -> tuple[list[AgedRule], OccupationRule | None]:
    if aged_rules is None:
        aged_rules = DEFAULT_AGED_RULES
    if isinstance(aged_rules, (AgedRule, OccupationRule, Mapping)):
        aged_rules = [aged_rules]
    rules: list[AgedRule] = []
    occ: OccupationRule | None = None
    for rule in aged_rules:
        if isinstance(rule, Mapping):
            d = dict(rule)
            is_occ = d.pop("type", None) == "occupation" or d.get("code") == "OCC" or (
                "point_radius_m" in d
            )
            try:
                rule = OccupationRule(**d) if is_occ else AgedRule(**d)
            except TypeError as exc:
                raise ConfigError(f"aged rule {rule!r}: {exc}") from None
        if isinstance(rule, OccupationRule):
            if occ is not None:
                raise ConfigError("aged_rules: give at most one OccupationRule.")
            occ = rule
        elif isinstance(rule, AgedRule):
            rules.append(rule)
        else:
            raise ConfigError(
                f"aged_rules: expected AgedRule, OccupationRule or dict, got {type(rule).__name__}."
            )
    codes = [r.code for r in rules] + ([occ.code] if occ else [])
    if len(set(codes)) != len(codes):
        raise ConfigError(f"aged_rules: rule codes must be unique, got {codes}.")
    return rules, occ


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
def _rel(diff: float, total: float) -> float:
    return abs(diff) / abs(total) if total else abs(diff)


@dataclass(frozen=True, repr=False)
class OverlayResult:
    """What an overlay returns: the compounds with the new columns, and what no compound holds.

    Attributes
    ----------
    compounds : GeoDataFrame
        A copy of the input compounds with the overlay's columns added (or replaced).
    remainder : GeoDataFrame
        Whatever no compound holds: unassigned structures, or gas pieces outside every
        compound. Summed with the compounds it gives the layer totals.
    layer_totals : dict
        Totals of the input layer (count, area, length) per reconciled quantity.
    """

    compounds: gpd.GeoDataFrame
    remainder: gpd.GeoDataFrame
    layer_totals: dict[str, float]

    #: the layer the result is about (``"illegal"`` or ``"gas"``)
    layer: ClassVar[str] = ""

    def _remainder_totals(self) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def totals(self, packages: pd.DataFrame | None = None, *, rtol: float = 1e-9) -> pd.DataFrame:
        """The reconciliation table for the audit.

        One row per quantity (``illegal_count``, ``illegal_area_m2``, ``gas_total_m``, ...)
        with ``layer_total`` (from the input layer), ``compounds`` (sum of the compound
        column), ``remainder`` (unassigned / outside), ``difference`` =
        layer_total − compounds − remainder, ``rel_error`` and ``ok`` (rel_error ≤ rtol).
        With ``packages`` (a frame with the same columns, e.g. from
        :func:`spatialreno.packages.dissolve_packages`) it adds ``packages`` and
        ``packages_difference`` = packages − compounds, and ``ok`` checks both.
        """
        rem = self._remainder_totals()
        rows = []
        for name, total in self.layer_totals.items():
            comp = float(pd.to_numeric(self.compounds[name], errors="coerce").fillna(0).sum())
            r = float(rem.get(name, 0.0))
            diff = total - comp - r
            row = {"quantity": name, "layer_total": total, "compounds": comp, "remainder": r,
                   "difference": diff, "rel_error": _rel(diff, total)}
            ok = row["rel_error"] <= rtol
            if packages is not None:
                pk = float(pd.to_numeric(packages[name], errors="coerce").fillna(0).sum()) \
                    if name in packages else float("nan")
                row["packages"] = pk
                row["packages_difference"] = pk - comp
                ok = ok and _rel(pk - comp, comp) <= rtol
            row["ok"] = bool(ok)
            rows.append(row)
        return pd.DataFrame(rows).set_index("quantity")

    def reconcile(self, packages: pd.DataFrame | None = None, *, rtol: float = 1e-9) -> pd.DataFrame:
        """:meth:`totals` as a flat table with ``layer`` and ``quantity`` columns, for stacking
        the tables of several overlays in one audit."""
        table = self.totals(packages, rtol=rtol).reset_index()
        table.insert(0, "layer", self.layer)
        return table

    def check(self, packages: pd.DataFrame | None = None, *, rtol: float = 1e-9) -> pd.DataFrame:
        """:meth:`totals`, raising :class:`~spatialreno.errors.DataError` if anything does not reconcile."""
        table = self.totals(packages, rtol=rtol)
        bad = table[~table["ok"]]
        if len(bad):
            raise DataError(
                f"{type(self).__name__}: totals do not reconcile for {', '.join(bad.index)} "
                f"(rtol={rtol:g}):\n{bad.to_string()}"
            )
        return table

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}: {len(self.compounds)} compounds, "
                 f"{len(self.remainder)} rows in the remainder"]
        for name, row in self.totals().iterrows():
            lines.append(f"  {name}: layer {row.layer_total:,.2f} = compounds {row.compounds:,.2f}"
                         f" + remainder {row.remainder:,.2f} ({'ok' if row.ok else 'MISMATCH'})")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class IllegalOverlay(OverlayResult):
    """Result of :func:`overlay_illegal`.

    Attributes
    ----------
    compounds : GeoDataFrame
        Copy of the compounds with ``illegal_count`` (float: a straddling structure counts
        fractionally in each compound, by footprint share), ``illegal_area_m2``,
        ``illegal_m2_<kind>`` for every ``illegal_kind`` code, ``illegal_n_<status>`` for
        every ``illegal_status`` code (unknown or missing kinds count as ``other``, unknown
        or missing status as ``to_verify``), and, when the structures carry those flags,
        ``fire_lane_blocked`` and ``illegal_over_gas`` (integer counts, each structure in
        its main compound).
    assignments : DataFrame
        One row per structure-compound share (:data:`ASSIGNMENT_COLUMNS`): ``how`` is one
        of :data:`HOW`; ``share`` the fraction of the structure's count and area given to
        the compound (shares of a structure sum to 1); ``area_m2`` the area assigned
        (``share × area_m2``; for unassigned rows the whole area left out);
        ``distance_m`` 0 inside, the gap for nearest, the nearest gap for unassigned;
        ``reason`` why a structure is unassigned; ``note`` what else was done (footprint
        used for a missing area, shares of a split, a point on a shared wall).
    remainder : GeoDataFrame
        The unassigned structures (also available as :attr:`unassigned`) with
        ``reason``, ``nearest_compound_id``, ``distance_m`` and ``counted_area_m2``.
    illegal : GeoDataFrame
        Copy of the structures with ``compound_id`` (the compound holding the largest
        share, missing when unassigned) and ``land_area_m2`` (footprint; 0 for points).
    max_distance_m : float
    """

    assignments: pd.DataFrame = field(default_factory=pd.DataFrame)
    illegal: gpd.GeoDataFrame | None = None
    max_distance_m: float = 15.0
    layer: ClassVar[str] = "illegal"

    @property
    def unassigned(self) -> gpd.GeoDataFrame:
        """The structures no compound holds, with the reason."""
        return self.remainder

    def _remainder_totals(self) -> dict[str, float]:
        rem = self.remainder
        out = {"illegal_count": float(len(rem)),
               "illegal_area_m2": float(rem["counted_area_m2"].sum())}
        for col, flag in (("fire_lane_blocked", "blocks_fire_lane"), ("illegal_over_gas", "blocks_gas")):
            if col in self.layer_totals:
                out[col] = float(_flag(rem, flag).sum())
        return out


@dataclass(frozen=True, repr=False)
class GasOverlay(OverlayResult):
    """Result of :func:`overlay_gas`.

    Attributes
    ----------
    compounds : GeoDataFrame
        Copy of the compounds with ``gas_total_m``, ``gas_aged_m``, ``gas_<class>_m`` and
        ``gas_aged_<class>_m`` for every ``pipe_class`` code, ``gas_mat_<material>_m`` for
        every ``pipe_material`` code (unknown or missing values count as ``other``) and,
        when occupation was computed, ``gas_occupied_m``.
    pieces : GeoDataFrame
        The gas cut at compound boundaries, one row per piece (:data:`PIECE_COLUMNS`):
        ``compound_id`` is missing (NA) for pieces outside every compound; ``length_m`` the
        piece's length; ``aged``/``aged_rule`` those of its segment (``"CI_ALL;OCC"``);
        ``reason`` says why a piece is outside (or was kept whole). Segments with missing, empty or non-line
        geometry appear once, outside, with the reason.
    remainder : GeoDataFrame
        The pieces outside every compound (also :attr:`outside`).
    gas : GeoDataFrame
        Copy of the segments with ``length_m``, ``age_years``, ``aged``, ``aged_rule``,
        ``occupied`` (0/1) and ``compound_id`` (the compound holding the longest part;
        missing when the longest part is outside every compound).
    illegal : GeoDataFrame or None
        Copy of the structures with ``blocks_gas`` (0/1; NA for unusable geometry) when
        ``illegal`` was given.
    rules : tuple
        The rules applied. ``as_of_year``: the year ages are counted to.
    """

    pieces: gpd.GeoDataFrame | None = None
    gas: gpd.GeoDataFrame | None = None
    illegal: gpd.GeoDataFrame | None = None
    rules: tuple = ()
    as_of_year: int = 0
    layer: ClassVar[str] = "gas"

    @property
    def outside(self) -> gpd.GeoDataFrame:
        """Pieces outside every compound (municipal mains in the streets, ...)."""
        return self.remainder

    def _remainder_totals(self) -> dict[str, float]:
        rem = self.remainder
        length = rem["length_m"].to_numpy(dtype=float)
        aged = rem["aged"].to_numpy(dtype=bool)
        out = {"gas_total_m": float(length.sum()), "gas_aged_m": float(length[aged].sum())}
        for c in PIPE_CLASSES:
            out[f"gas_{c}_m"] = float(length[(rem["pipe_class"] == c).to_numpy()].sum())
        return out


def reconcile(*results: OverlayResult, packages: pd.DataFrame | None = None,
              rtol: float = 1e-9) -> pd.DataFrame:
    """One reconciliation table for several overlay results (for the Plan's audit).

    Stacks :meth:`OverlayResult.totals` of each result; see there for the columns.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box, Point
    >>> from spatialreno.overlay import overlay_illegal, reconcile
    >>> compounds = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)],
    ...     index=pd.Index(["a"], name="compound_id"), crs=4547)
    >>> illegal = gpd.GeoDataFrame({"area_m2": [12.0, 30.0]},
    ...     geometry=[Point(50, 50), Point(500, 500)], index=["s1", "s2"], crs=4547)
    >>> reconcile(overlay_illegal(compounds, illegal))[["layer_total", "compounds", "remainder", "ok"]]  # doctest: +NORMALIZE_WHITESPACE
                     layer_total  compounds  remainder    ok
    quantity
    illegal_count            2.0        1.0        1.0  True
    illegal_area_m2         42.0       12.0       30.0  True
    """
    if not results:
        raise ValueError("reconcile: give at least one overlay result.")
    return pd.concat([r.totals(packages, rtol=rtol) for r in results])


# --------------------------------------------------------------------------------------
# guards
# --------------------------------------------------------------------------------------
def _require_gdf(gdf, name: str, stage: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise DataError(f"{stage}: `{name}` must be a GeoDataFrame, got {type(gdf).__name__}.")


def _require_compounds(compounds, stage: str) -> None:
    _require_gdf(compounds, "compounds", stage)
    crs = compounds.crs
    if crs is None:
        raise CRSError(f"{stage}: `compounds` has no CRS; set it with `.set_crs(...)` "
                       "(e.g. EPSG:4547 for Wuhan CGCS2000 3-degree GK zone 38).")
    if not crs.is_projected:
        raise CRSError(f"{stage}: `compounds` is in geographic CRS {crs.to_string()!r}; metric "
                       "overlays need metres: reproject with `spatialreno.io.ensure_projected` or "
                       "`.to_crs(...)` (EPSG:4547 for Wuhan).")
    if not compounds.index.is_unique:
        dup = compounds.index[compounds.index.duplicated()].unique()[:5].tolist()
        raise DataError(f"{stage}: compound_id must be unique; duplicated: {dup}. "
                        "Run `spatialreno.repair_layer(compounds, 'compounds')` first.")
    geoms = compounds.geometry.to_numpy()
    type_id = shapely.get_type_id(geoms)
    bad = ~np.isin(type_id, (3, 6)) | shapely.is_empty(geoms) | ~shapely.is_valid(geoms)
    if bad.any():
        idx = np.flatnonzero(bad)
        ids = compounds.index[idx[:5]].tolist()
        why = shapely.is_valid_reason(geoms[idx[0]]) if geoms[idx[0]] is not None else "missing"
        raise DataError(f"{stage}: {len(idx)} compound(s) have missing, empty, invalid or "
                        f"non-polygon geometry, e.g. {ids} ({why}). Run "
                        "`spatialreno.repair_layer(compounds, 'compounds')` first.")


def _require_layer(gdf, name: str, kind: str, crs, stage: str) -> None:
    _require_gdf(gdf, name, stage)
    if gdf.crs is None:
        raise CRSError(f"{stage}: `{name}` has no CRS; set it with `.set_crs(...)`.")
    if not gdf.crs.equals(crs, ignore_axis_order=True):
        raise CRSError(f"{stage}: CRS mismatch: `{name}` is {gdf.crs.to_string()!r} but the "
                       f"compounds are {crs.to_string()!r}; reproject with "
                       f"`{name}.to_crs(compounds.crs)`.")
    if not gdf.index.is_unique:
        dup = gdf.index[gdf.index.duplicated()].unique()[:5].tolist()
        raise DataError(f"{stage}: {schema.ID_COLUMNS[kind]} of `{name}` must be unique; "
                        f"duplicated: {dup}. Run `spatialreno.repair_layer({name}, {kind!r})` first.")


def _codes(gdf: pd.DataFrame, column: str, vocab: str, fallback: str, stage: str) -> np.ndarray:
    """Vocabulary codes of a column (labels accepted); unknown/missing → ``fallback``."""
    vocab_codes = tuple(schema.VOCABULARIES[vocab])
    if column not in gdf:
        return np.full(len(gdf), fallback, dtype=object)
    raw = gdf[column]
    # map the distinct values only, then take (a million rows have a handful of values)
    codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
    canon = schema.canonical_values(vocab, pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    canon = np.append(canon, None)  # the -1 sentinel of missing values
    out = canon[codes]
    known_u = np.array([c in vocab_codes for c in canon], dtype=bool)
    known = known_u[codes]
    unknown = ~known & (codes >= 0)
    if unknown.any():
        vals = pd.unique(raw[unknown])[:5].tolist()
        warnings.warn(f"{stage}: {int(unknown.sum())} value(s) of `{column}` are not {vocab} codes "
                      f"(e.g. {vals}); counted as {fallback!r}.", SpatialRenoWarning, stacklevel=3)
    out[~known] = fallback
    return out


def _isin(values: np.ndarray, allowed) -> np.ndarray:
    """Hash-based ``np.isin`` for arrays of codes (numpy sorts object arrays)."""
    return pd.Series(values, copy=False).isin(list(allowed)).to_numpy()


def _flag(gdf: pd.DataFrame, column: str) -> np.ndarray:
    if column not in gdf:
        return np.zeros(len(gdf), dtype=bool)
    return pd.to_numeric(gdf[column], errors="coerce").fillna(0).to_numpy() > 0


def _group_order(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Order that sorts rows by ``group`` (non-negative ints), then by ``keys`` in turn.

    Same result as ``np.lexsort((*reversed(keys), group))``, but only the rows of groups
    with more than one row are sorted by the keys (most groups have one row).
    """
    order = np.argsort(group, kind="stable")
    if keys and len(group):
        g = group[order]
        multi = np.flatnonzero(np.bincount(group)[g] > 1)
        if len(multi):
            sub = order[multi]
            order[multi] = sub[np.lexsort((*[k[sub] for k in reversed(keys)], group[sub]))]
    return order


def _first_per_group(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Positions (into the arrays) of the first row of each group after sorting by keys."""
    order = _group_order(group, *keys)
    g = group[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return order[first]


def _rank_in_group(group: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group (rows must be sorted by group)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(n, dtype=bool)
    start[1:] = group[1:] != group[:-1]
    idx = np.arange(n)
    return idx - np.maximum.accumulate(np.where(start, idx, 0))


def _pairs(tree: shapely.STRtree, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding-box candidate pairs (input, tree), sorted by input then tree position.

    A predicate given to ``STRtree.query`` prepares every *input* geometry, which costs
    more than it saves when each input meets one or two tree geometries; the callers
    test the candidates array-wise against the prepared tree geometries instead.
    """
    left, right = tree.query(geoms)
    order = _group_order(left, right)
    return left[order], right[order]


class _ConvexTest:
    """Array-wise "box inside / outside compound" tests for convex compounds, in numpy.

    Most compounds are convex quadrilaterals, and most structures and pipes lie well
    inside one or clearly beside it. For those, the four corners of the feature's bounding
    box tested against the compound's edges (signed distances along the inward normals)
    decide without GEOS: inside when every corner is more than ``eps`` inside every edge;
    outside when all corners are more than ``eps`` beyond one edge (a separating line).
    Anything else, and compounds that are not convex simple polygons of at most
    ``max_vertices`` corners, is left undecided for the exact GEOS predicate.
    """

    def __init__(self, cgeoms: np.ndarray, *, max_vertices: int = 64, eps: float = 1e-6):
        m = len(cgeoms)
        self.eps = eps
        self.start = np.zeros(m, dtype=np.int64)
        self.count = np.zeros(m, dtype=np.int64)
        self.x0 = self.y0 = self.nx = self.ny = np.zeros(0)
        # simple polygons (compounds are checked valid, so their rings do not cross)
        cand = np.flatnonzero((shapely.get_type_id(cgeoms) == 3)
                              & (shapely.get_num_interior_rings(cgeoms) == 0))
        ext = shapely.get_exterior_ring(cgeoms[cand])
        keep = shapely.get_num_coordinates(ext) <= max_vertices + 1
        cand, ext = cand[keep], ext[keep]
        if len(cand) == 0:
            return
        xy, owner = shapely.get_coordinates(ext, return_index=True)
        last = np.ones(len(owner), dtype=bool)
        last[:-1] = owner[1:] != owner[:-1]
        e0 = np.flatnonzero(~last)  # every vertex but the closing one starts an edge
        dx, dy = xy[e0 + 1, 0] - xy[e0, 0], xy[e0 + 1, 1] - xy[e0, 1]
        length = np.hypot(dx, dy)
        real = length > 0  # repeated vertices make no edge
        e0, dx, dy, length = e0[real], dx[real], dy[real], length[real]
        eo = owner[e0]
        # edges shorter than eps carry no usable direction: leave those compounds to GEOS
        short = np.bincount(eo, weights=length < eps, minlength=len(cand)) > 0
        n_edges = np.bincount(eo, minlength=len(cand))
        first_e = np.concatenate([[0], np.cumsum(n_edges)[:-1]]).astype(np.int64)
        sign = np.where(shapely.is_ccw(ext), 1.0, -1.0)
        # convex: a valid ring that turns the same way at every vertex, never doubling back
        nxt = np.arange(len(e0)) + 1
        ring_last = np.flatnonzero(np.r_[eo[1:] != eo[:-1], True])
        nxt[ring_last] = first_e[eo[ring_last]]
        turn = (dx * dy[nxt] - dy * dx[nxt]) * sign[eo]
        tol = 1e-9 * length * length[nxt]
        back = (dx * dx[nxt] + dy * dy[nxt]) < 0
        bent = (turn < -tol) | ((turn <= tol) & back)
        convex = (np.bincount(eo, weights=bent, minlength=len(cand)) == 0) & (n_edges >= 3) & ~short
        # inward unit normal: left of the edge for a counter-clockwise ring
        self.x0, self.y0 = xy[e0, 0], xy[e0, 1]
        self.nx, self.ny = -dy / length * sign[eo], dx / length * sign[eo]
        self.count[cand[convex]] = n_edges[convex]
        self.start[cand] = first_e

    def classify(self, comp: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inside, outside) per (compound, box) pair; neither means undecided.

        ``bounds`` rows are ``xmin, ymin, xmax, ymax`` (a point has xmin == xmax).
        """
        inside = np.zeros(len(comp), dtype=bool)
        outside = np.zeros(len(comp), dtype=bool)
        cnt = self.count[comp]
        live = np.flatnonzero(cnt > 0)
        if len(live) == 0:
            return inside, outside
        lo = np.full(len(live), np.inf)  # least corner distance over all edges
        sep = np.full(len(live), np.inf)  # least greatest-corner distance over all edges
        xmin, ymin, xmax, ymax = (bounds[live, k] for k in range(4))
        start, cnt = self.start[comp[live]], cnt[live]
        # one pass per edge slot (at most max_vertices passes, each over all pairs)
        for k in range(int(cnt.max())):
            sel = np.flatnonzero(cnt > k) if k >= cnt.min() else slice(None)
            e = start[sel] + k
            nx, ny, x0, y0 = self.nx[e], self.ny[e], self.x0[e], self.y0[e]
            # the signed distance is linear, so its extremes over the box are at corners
            ax, bx = nx * (xmin[sel] - x0), nx * (xmax[sel] - x0)
            ay, by = ny * (ymin[sel] - y0), ny * (ymax[sel] - y0)
            lo[sel] = np.minimum(lo[sel], np.minimum(ax, bx) + np.minimum(ay, by))
            sep[sel] = np.minimum(sep[sel], np.maximum(ax, bx) + np.maximum(ay, by))
        inside[live] = lo > self.eps
        outside[live] = sep < -self.eps
        return inside, outside

    def inside(self, comp: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(decided, inside) per pair: decided where clearly inside or clearly outside."""
        inside, outside = self.classify(comp, bounds)
        return inside | outside, inside


def _nearest(tree: shapely.STRtree, tgeoms: np.ndarray, geoms: np.ndarray,
             max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest tree geometry of each input and the distance (ties → lowest position).

    Candidates within ``max_distance`` come from one bounding-box query on the expanded
    envelopes and an array-wise ``shapely.distance``; only the inputs with none (far
    away, usually few) go through ``STRtree.query_nearest``.
    """
    n = len(geoms)
    best_c = np.full(n, -1, dtype=np.int64)
    best_d = np.full(n, np.inf)
    b = shapely.bounds(geoms)
    env = shapely.box(b[:, 0] - max_distance, b[:, 1] - max_distance,
                      b[:, 2] + max_distance, b[:, 3] + max_distance)
    left, right = _pairs(tree, env)
    if len(left):
        d = shapely.distance(geoms[left], tgeoms[right])
        near = d <= max_distance
        left, right, d = left[near], right[near], d[near]
        pick = _first_per_group(left, d, right)
        best_c[left[pick]] = right[pick]
        best_d[left[pick]] = d[pick]
    far = np.flatnonzero(best_c < 0)
    if len(far):
        (fl, fr), fd = tree.query_nearest(geoms[far], return_distance=True, all_matches=True)
        pick = _first_per_group(fl, fr)
        best_c[far[fl[pick]]] = fr[pick]
        best_d[far[fl[pick]]] = fd[pick]
    return best_c, np.where(best_c >= 0, best_d, np.nan)


def _cut(geoms: np.ndarray, cgeoms: np.ndarray, left: np.ndarray, right: np.ndarray):
    """Cut features by compounds, pairwise and array-wise.

    ``left``/``right`` are candidate (feature, compound) pairs sorted by feature then
    compound. Round r takes the r-th pair of every feature: piece = rest ∩ compound,
    rest = rest − compound. The pieces of a feature are therefore disjoint even where
    compounds overlap (the earlier compound keeps the overlap), and ``rest`` is the part
    outside every compound. The loop runs over ranks (≤ the most compounds any one
    feature meets), never over features.
    """
    pieces = np.empty(len(left), dtype=object)
    rest = geoms.copy()
    rank = _rank_in_group(left)
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        sel = np.flatnonzero(rank == r)
        f = left[sel]
        cur = rest[f]
        comp = cgeoms[right[sel]]
        pieces[sel] = shapely.intersection(cur, comp)
        rest[f] = shapely.difference(cur, comp)
    return pieces, rest


# --------------------------------------------------------------------------------------
# illegal structures
# --------------------------------------------------------------------------------------
def _geometry_problems(geoms: np.ndarray, allowed_types: Iterable[int], expected: str,
                       kind: str) -> np.ndarray:
    """Reason why each geometry cannot be overlaid, or None."""
    n = len(geoms)
    reasons = np.full(n, None, dtype=object)
    missing = shapely.is_missing(geoms)
    type_id = shapely.get_type_id(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    wrong = ~missing & ~empty & ~np.isin(type_id, list(allowed_types))
    check = ~missing & ~empty & ~wrong & ~np.isin(type_id, (0, 4))  # points are always valid
    invalid = np.zeros(n, dtype=bool)
    invalid[check] = ~shapely.is_valid(geoms[check])
    reasons[missing] = "missing geometry"
    reasons[empty] = "empty geometry"
    if wrong.any():
        reasons[wrong] = [f"{t} geometry; expected {expected}" for t in _TYPE_NAMES[type_id[wrong]]]
    if invalid.any():
        reasons[invalid] = [
            f"invalid geometry ({why}); repair with spatialreno.repair_layer(layer, {kind!r})"
            for why in shapely.is_valid_reason(geoms[invalid])
        ]
    return reasons


def _fmt(values: np.ndarray, spec: str) -> np.ndarray:
    return np.array([format(float(v), spec) for v in values], dtype=object)


def overlay_illegal(
    compounds: gpd.GeoDataFrame,
    illegal: gpd.GeoDataFrame,
    *,
    max_distance_m: float = 15.0,
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
        Duplicate ids, or compounds with invalid geometry.

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
    stage = "overlay_illegal"
    _require_compounds(compounds, stage)
    _require_layer(illegal, "illegal", "illegal", compounds.crs, stage)
    try:
        max_distance_m = float(max_distance_m)
    except (TypeError, ValueError):
        max_distance_m = float("nan")
    if not (max_distance_m >= 0):
        raise ConfigError(f"{stage}: max_distance_m must be a distance ≥ 0 in metres, "
                          f"got {max_distance_m!r}.")

    n, m = len(illegal), len(compounds)
    geoms = illegal.geometry.to_numpy()
    cgeoms = compounds.geometry.to_numpy()
    cids = np.asarray(compounds.index.astype(object), dtype=object)
    sids = np.asarray(illegal.index.astype(object), dtype=object)

    type_id = shapely.get_type_id(geoms)
    is_point = np.isin(type_id, (0, 4))
    is_poly = np.isin(type_id, (3, 6))
    problem = _geometry_problems(geoms, (0, 3, 4, 6), "Point or Polygon", "illegal")
    usable = pd.isna(problem)

    # areas: floor area, else the footprint of a polygon (noted), else 0 for points
    footprint = np.zeros(n)
    footprint[is_poly] = np.nan_to_num(shapely.area(geoms[is_poly]))
    if "area_m2" in illegal:
        area_in = pd.to_numeric(illegal["area_m2"], errors="coerce").to_numpy(dtype=float)
    else:
        area_in = np.full(n, np.nan)
    no_area = np.isnan(area_in)
    eff_area = np.where(no_area, footprint, area_in)
    base_note = np.full(n, None, dtype=object)
    if no_area.any():
        sel = no_area & is_poly
        base_note[sel] = "area_m2 missing; footprint " + _fmt(footprint[sel], ".1f") + " m² used"
        base_note[no_area & ~is_poly] = "area_m2 missing; no footprint, counted as 0 m²"

    tree = shapely.STRtree(cgeoms)
    convex = _ConvexTest(cgeoms)
    bounds = shapely.bounds(geoms)
    # collected rows: structure position, compound position (-1 = none), how, share, dist, note
    r_s: list[np.ndarray] = []
    r_c: list[np.ndarray] = []
    r_how: list[np.ndarray] = []
    r_share: list[np.ndarray] = []
    r_dist: list[np.ndarray] = []
    r_note: list[np.ndarray] = []
    assigned = np.zeros(n, dtype=bool)

    def emit(s, c, how, share, dist, note):
        r_s.append(np.asarray(s, dtype=np.int64))
        r_c.append(np.asarray(c, dtype=np.int64))
        r_how.append(np.full(len(s), how, dtype=np.int8))
        r_share.append(np.asarray(share, dtype=float))
        r_dist.append(np.broadcast_to(np.asarray(dist, dtype=float), (len(s),)).copy())
        r_note.append(np.asarray(note, dtype=object) if note is not None
                      else np.full(len(s), None, dtype=object))
        assigned[s] = True

    # ---- points: one compound each
    pidx = np.flatnonzero(usable & is_point)
    if len(pidx) and m:
        pl, pr = _pairs(tree, geoms[pidx])
        hit, apart = convex.classify(pr, bounds[pidx[pl]])
        und = np.flatnonzero(~hit & ~apart)  # GEOS for the pairs numpy cannot decide
        hit[und] = shapely.intersects(cgeoms[pr[und]], geoms[pidx[pl[und]]])
        pl, pr = pl[hit], pr[hit]
        counts = np.bincount(pl, minlength=len(pidx))
        multi = counts[pl] > 1
        on_wall = np.zeros(len(pl), dtype=bool)
        if multi.any():
            on_wall[multi] = shapely.touches(geoms[pidx[pl[multi]]], cgeoms[pr[multi]])
        pick = _first_per_group(pl, on_wall, pr)
        note = np.full(len(pick), None, dtype=object)
        mp = counts[pl[pick]] > 1
        if mp.any():
            names = (pd.Series(cids[pr[multi]].astype(str)).groupby(pl[multi]).agg(", ".join))
            note[mp] = [f"on the wall of {counts[p]} compounds ({names[p]}); counted in {cids[c]}"
                        for p, c in zip(pl[pick][mp], pr[pick][mp])]
        emit(pidx[pl[pick]], pr[pick], _INSIDE, np.ones(len(pick)), 0.0, note)

    # ---- polygons: wholly inside one compound, else cut by area
    qidx = np.flatnonzero(usable & is_poly)
    if len(qidx) and m:
        qg = geoms[qidx]
        il, ir = _pairs(tree, qg)
        cov, apart = convex.classify(ir, bounds[qidx[il]])
        und = np.flatnonzero(~cov & ~apart)
        cov[und] = shapely.covers(cgeoms[ir[und]], qg[il[und]])
        whole = np.full(len(qidx), -1, dtype=np.int64)
        if cov.any():
            first = _first_per_group(il[cov], ir[cov])
            whole[il[cov][first]] = ir[cov][first]
        inside = whole >= 0
        emit(qidx[inside], whole[inside], _INSIDE, np.ones(int(inside.sum())), 0.0, None)
        # the rest are cut (pairs clearly apart are skipped; others that do not meet give
        # empty pieces)
        keep = ~inside[il] & ~apart
        il, ir = il[keep], ir[keep]
        if len(il):
            pieces, _ = _cut(qg, cgeoms, il, ir)
            a = shapely.area(pieces)
            total = footprint[qidx[il]]
            frac = np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.0)
            real = frac > _SLIVER
            il, ir, frac = il[real], ir[real], frac[real]
            if len(il):
                # per structure: largest part gets the outside remainder so shares sum to 1
                covered = np.bincount(il, weights=frac, minlength=len(qidx))
                n_parts = np.bincount(il, minlength=len(qidx))
                big = _first_per_group(il, -frac, ir)
                share = frac.copy()
                is_big = np.zeros(len(il), dtype=bool)
                is_big[big] = True
                others = np.bincount(il[~is_big], weights=frac[~is_big], minlength=len(qidx))
                share[big] = 1.0 - others[il[big]]
                outside_frac = np.clip(1.0 - covered, 0.0, 1.0)
                single = (n_parts[il] == 1) & (outside_frac[il] <= _SLIVER)
                note = np.full(len(il), None, dtype=object)
                sp = ~single
                if sp.any():
                    note[sp] = _fmt(frac[sp] * 100, ".1f") + " % of the footprint inside"
                    bo = is_big & sp & (outside_frac[il] > _SLIVER)
                    note[bo] = (note[bo] + " + " + _fmt(outside_frac[il[bo]] * 100, ".1f")
                                + " % outside every compound (largest part)")
                emit(qidx[il[single]], ir[single], _INSIDE, np.ones(int(single.sum())), 0.0,
                     note[single])
                emit(qidx[il[sp]], ir[sp], _SPLIT, share[sp], 0.0, note[sp])

    # ---- the rest: nearest compound within max_distance_m
    near_c = np.full(n, -1, dtype=np.int64)
    near_d = np.full(n, np.nan)
    rest = np.flatnonzero(usable & ~assigned)
    if len(rest) and m:
        nc, nd = _nearest(tree, cgeoms, geoms[rest], max_distance_m)
        near_c[rest] = nc
        near_d[rest] = nd
        ok = near_d[rest] <= max_distance_m
        emit(rest[ok], near_c[rest[ok]], _NEAREST, np.ones(int(ok.sum())), near_d[rest[ok]], None)

    # ---- unassigned, with the reason
    un = np.flatnonzero(~assigned)
    reason = problem.copy()
    far = un[pd.isna(problem[un]) & (near_c[un] >= 0)]
    if len(far):
        reason[far] = (f"no compound within {max_distance_m:g} m; nearest "
                       + _fmt(near_d[far], ".1f") + " m: " + cids[near_c[far]].astype(str))
    none = un[pd.isna(reason[un])]
    reason[none] = "no compounds to assign to"
    r_s.append(un)
    r_c.append(np.full(len(un), -1, dtype=np.int64))
    r_how.append(np.full(len(un), _UNASSIGNED, dtype=np.int8))
    r_share.append(np.ones(len(un)))
    r_dist.append(near_d[un])
    r_note.append(np.full(len(un), None, dtype=object))

    s = np.concatenate(r_s)
    c = np.concatenate(r_c)
    how = np.concatenate(r_how)
    share = np.concatenate(r_share)
    dist = np.concatenate(r_dist)
    note = np.concatenate(r_note)
    order = _group_order(s, -share, c)
    s, c, how, share, dist, note = s[order], c[order], how[order], share[order], dist[order], note[order]
    # merge the base notes (missing area) in front
    bn = base_note[s]
    has_bn = ~pd.isna(bn)
    has_n = ~pd.isna(note)
    both = has_bn & has_n
    note[has_bn & ~has_n] = bn[has_bn & ~has_n]
    if both.any():
        note[both] = bn[both] + "; " + note[both]

    kind = _codes(illegal, "kind", "illegal_kind", "other", stage)
    status = _codes(illegal, "status", "illegal_status", "to_verify", stage)
    row_area = share * eff_area[s]
    assignments = pd.DataFrame({
        "structure_id": sids[s],
        "compound_id": np.where(c >= 0, cids[np.maximum(c, 0)] if m else None, None),
        "how": pd.Categorical.from_codes(how, categories=list(HOW)),
        "share": share,
        "area_m2": row_area,
        "distance_m": dist,
        "kind": kind[s],
        "status": status[s],
        "reason": np.where(c >= 0, None, reason[s]),
        "note": note,
    })

    # ---- roll up to compounds
    inn = c >= 0
    ci, sh, ar = c[inn], share[inn], row_area[inn]
    out = compounds.copy()
    out["illegal_count"] = np.bincount(ci, weights=sh, minlength=m)
    out["illegal_area_m2"] = np.bincount(ci, weights=ar, minlength=m)
    kcode = pd.Categorical(kind[s][inn], categories=list(KINDS)).codes.astype(np.int64)
    by_kind = np.bincount(ci * len(KINDS) + kcode, weights=ar, minlength=m * len(KINDS))
    for j, k in enumerate(KINDS):
        out[f"illegal_m2_{k}"] = by_kind.reshape(m, len(KINDS))[:, j] if m else np.zeros(0)
    scode = pd.Categorical(status[s][inn], categories=list(STATUSES)).codes.astype(np.int64)
    by_status = np.bincount(ci * len(STATUSES) + scode, weights=sh, minlength=m * len(STATUSES))
    for j, st in enumerate(STATUSES):
        out[f"illegal_n_{st}"] = by_status.reshape(m, len(STATUSES))[:, j] if m else np.zeros(0)

    # main compound of each structure: the largest share (rows are sorted so it is first)
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] != s[:-1]
    main = np.full(n, -1, dtype=np.int64)
    main[s[first]] = c[first]

    layer_totals = {"illegal_count": float(n), "illegal_area_m2": float(eff_area.sum())}
    for col, flag_col in (("fire_lane_blocked", "blocks_fire_lane"), ("illegal_over_gas", "blocks_gas")):
        if flag_col in illegal:
            flag = _flag(illegal, flag_col)
            hit = flag & (main >= 0)
            out[col] = pd.array(np.bincount(main[hit], minlength=m), dtype="Int64")
            layer_totals[col] = float(flag.sum())

    annotated = illegal.copy()
    annotated.index.name = schema.ID_COLUMNS["illegal"]
    annotated["compound_id"] = np.where(main >= 0, cids[np.maximum(main, 0)] if m else None, None)
    annotated["land_area_m2"] = footprint

    unassigned = illegal.iloc[un].copy()
    unassigned.index.name = schema.ID_COLUMNS["illegal"]
    unassigned["reason"] = reason[un]
    unassigned["nearest_compound_id"] = np.where(
        near_c[un] >= 0, cids[np.maximum(near_c[un], 0)] if m else None, None)
    unassigned["distance_m"] = near_d[un]
    unassigned["counted_area_m2"] = eff_area[un]

    log.info("%s: %d structures, %d unassigned", stage, n, len(un))
    return IllegalOverlay(
        compounds=out, remainder=unassigned, layer_totals=layer_totals,
        assignments=assignments, illegal=annotated, max_distance_m=max_distance_m,
    )


# --------------------------------------------------------------------------------------
# gas network
# --------------------------------------------------------------------------------------
def _occupation(illegal: gpd.GeoDataFrame, lines: np.ndarray, line_ok: np.ndarray,
                occ: OccupationRule, stage: str) -> tuple[np.ndarray, np.ndarray]:
    """(segment occupied?, structure blocks_gas as float with NaN for unusable geometry)."""
    ig = illegal.geometry.to_numpy()
    problem = _geometry_problems(ig, (0, 3, 4, 6), "Point or Polygon", "illegal")
    usable = pd.isna(problem)
    kind = _codes(illegal, "kind", "illegal_kind", "other", stage)
    status = _codes(illegal, "status", "illegal_status", "to_verify", stage)
    counts = usable & ~_isin(kind, occ.exclude_kinds) & ~_isin(status, occ.exclude_status)
    type_id = shapely.get_type_id(ig)
    occupied = np.zeros(len(lines), dtype=bool)
    blocks = np.where(usable, 0.0, np.nan)
    lidx = np.flatnonzero(line_ok)
    if len(lidx) == 0:
        return occupied, blocks
    gtree = shapely.STRtree(lines[lidx])
    polys = np.flatnonzero(counts & np.isin(type_id, (3, 6)))
    pts = np.flatnonzero(counts & np.isin(type_id, (0, 4)))
    pairs = []
    if len(polys):
        a, b = gtree.query(ig[polys])
        hit = shapely.intersects(ig[polys[a]], lines[lidx[b]])
        pairs.append((polys[a[hit]], lidx[b[hit]]))
    if len(pts):
        a, b = gtree.query(ig[pts], predicate="dwithin", distance=occ.point_radius_m)
        pairs.append((pts[a], lidx[b]))
    for a, b in pairs:
        occupied[b] = True
        blocks[a] = 1.0
    return occupied, blocks


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
        Year to count pipe ages to; default the current year. Pass it for reproducible
        results.

    Returns
    -------
    GasOverlay
        ``.compounds`` with :data:`GAS_COMPOUND_COLUMNS`, ``.pieces``, ``.outside``,
        ``.gas`` (annotated segments), ``.illegal`` and ``.totals()``.

    Raises
    ------
    CRSError, DataError, SchemaError, ConfigError
        Missing or mismatched CRS; duplicate ids or invalid compounds; no ``pipe_class``
        column; a rule naming an unknown material or class.

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
    """
    stage = "overlay_gas"
    _require_compounds(compounds, stage)
    _require_layer(gas, "gas", "gas", compounds.crs, stage)
    if "pipe_class" not in gas:
        raise SchemaError(f"{stage}: `gas` has no `pipe_class` column (courtyard_buried / overhead "
                          "/ riser / municipal / ...); read it with `spatialreno.read_layer(path, "
                          "'gas')` so aliases such as 管段类别 map, or add the column.")
    rules, occ = _coerce_rules(aged_rules)
    if as_of_year is None:
        as_of_year = _dt.date.today().year
    as_of_year = int(as_of_year)
    if illegal is not None:
        _require_layer(illegal, "illegal", "illegal", compounds.crs, stage)

    n, m = len(gas), len(compounds)
    lines = gas.geometry.to_numpy()
    cgeoms = compounds.geometry.to_numpy()
    cids = np.asarray(compounds.index.astype(object), dtype=object)
    segids = np.asarray(gas.index.astype(object), dtype=object)
    problem = _geometry_problems(lines, (1, 2, 5), "LineString", "gas")
    line_ok = pd.isna(problem)
    seg_len = np.nan_to_num(shapely.length(lines))

    # ---- attributes and rules, per segment
    pclass = _codes(gas, "pipe_class", "pipe_class", "other", stage)
    material = _codes(gas, "material", "pipe_material", "other", stage)
    install = (pd.to_numeric(gas["install_year"], errors="coerce").to_numpy(dtype=float)
               if "install_year" in gas else np.full(n, np.nan))
    age = as_of_year - install
    rule_str = np.full(n, "", dtype=object)
    aged = np.zeros(n, dtype=bool)

    def mark(hit: np.ndarray, code: str) -> None:
        nonlocal aged
        if hit.any():
            cur = rule_str[hit]
            rule_str[hit] = np.where(cur == "", code, cur + ";" + code)
            aged |= hit

    for rule in rules:
        mark(rule.matches(pclass, material, age), rule.code)
    occupied = _flag(gas, "occupied")
    blocks = None
    if illegal is not None:
        occ_geom, blocks = _occupation(illegal, lines, line_ok, occ or OccupationRule(), stage)
        occupied = occupied | occ_geom
    if occ is not None:
        mark(occupied, occ.code)

    # ---- cut at compound boundaries
    lidx = np.flatnonzero(line_ok)
    p_seg: list[np.ndarray] = []
    p_comp: list[np.ndarray] = []
    p_geom: list[np.ndarray] = []
    p_reason: list[np.ndarray] = []
    whole = np.full(n, -1, dtype=np.int64)
    if len(lidx) and m:
        tree = shapely.STRtree(cgeoms)
        lg = lines[lidx]
        il, ir = _pairs(tree, lg)
        il = lidx[il]
        cov, apart = _ConvexTest(cgeoms).classify(ir, shapely.bounds(lines)[il])
        # GEOS only for the pairs the convex test left open (near a wall, odd compounds)
        decided = cov | apart
        und = np.flatnonzero(~decided)
        hit = cov.copy()
        hit[und] = shapely.intersects(cgeoms[ir[und]], lines[il[und]])
        il, ir, cov, decided = il[hit], ir[hit], cov[hit], decided[hit]
        und = np.flatnonzero(~decided)
        cov[und] = shapely.contains_properly(cgeoms[ir[und]], lines[il[und]])
        if cov.any():
            first = _first_per_group(il[cov], ir[cov])
            whole[il[cov][first]] = ir[cov][first]
        inside = whole >= 0
        p_seg.append(np.flatnonzero(inside))
        p_comp.append(whole[inside])
        p_geom.append(lines[inside])
        p_reason.append(np.full(int(inside.sum()), None, dtype=object))

        keep = whole[il] < 0
        il, ir = il[keep], ir[keep]
        cut_segs = np.unique(il)
        pieces, rest = _cut(lines, cgeoms, il, ir)
        pieces = _linear_part(pieces)
        plen = shapely.length(pieces)
        rest_c = _linear_part(rest[cut_segs])
        rlen = shapely.length(rest_c)
        # a cut that does not add up (degenerate, near-zero geometry that GEOS snaps
        # away) is undone: the segment stays whole, with its longest part's compound
        cut_sum = np.bincount(il, weights=plen, minlength=n)[cut_segs] + rlen
        broken = np.abs(cut_sum - seg_len[cut_segs]) > 1e-10 * seg_len[cut_segs]
        real = (plen > 0) & ~np.isin(il, cut_segs[broken])
        p_seg.append(il[real])
        p_comp.append(ir[real])
        p_geom.append(pieces[real])
        p_reason.append(np.full(int(real.sum()), None, dtype=object))
        has_rest = (rlen > 0) & ~broken
        p_seg.append(cut_segs[has_rest])
        p_comp.append(np.full(int(has_rest.sum()), -1, dtype=np.int64))
        p_geom.append(rest_c[has_rest])
        p_reason.append(np.full(int(has_rest.sum()), "outside every compound", dtype=object))
        if broken.any():
            bs = cut_segs[broken]
            longest = np.full(n, -1, dtype=np.int64)
            pos = np.flatnonzero((plen > 0) & np.isin(il, bs))
            if len(pos):
                best = pos[_first_per_group(il[pos], -plen[pos], ir[pos])]
                longer = plen[best] >= np.nan_to_num(rlen[np.searchsorted(cut_segs, il[best])])
                longest[il[best[longer]]] = ir[best[longer]]
            p_seg.append(bs)
            p_comp.append(longest[bs])
            p_geom.append(lines[bs])
            p_reason.append(np.full(len(bs), "kept whole: cutting it at compound boundaries did "
                                    "not add up (degenerate geometry)", dtype=object))
        untouched = line_ok & ~inside
        untouched[cut_segs] = False
    else:
        untouched = line_ok.copy()
    p_seg.append(np.flatnonzero(untouched))
    p_comp.append(np.full(int(untouched.sum()), -1, dtype=np.int64))
    p_geom.append(lines[untouched])
    p_reason.append(np.full(int(untouched.sum()), "outside every compound", dtype=object))
    bad = ~line_ok
    p_seg.append(np.flatnonzero(bad))
    p_comp.append(np.full(int(bad.sum()), -1, dtype=np.int64))
    p_geom.append(lines[bad])
    p_reason.append(problem[bad])

    ps = np.concatenate(p_seg)
    pc = np.concatenate(p_comp)
    pg = np.concatenate(p_geom)
    preason = np.concatenate(p_reason)
    order = np.lexsort((pc, pc < 0, ps))  # by segment, inside pieces first
    ps, pc, pg, preason = ps[order], pc[order], pg[order], preason[order]
    plen = np.nan_to_num(shapely.length(pg))

    def col(name):
        return gas[name].to_numpy()[ps] if name in gas else np.full(len(ps), None, dtype=object)

    pieces_gdf = gpd.GeoDataFrame(
        {
            "segment_id": segids[ps],
            "compound_id": np.where(pc >= 0, cids[np.maximum(pc, 0)] if m else None, None),
            "pipe_class": pclass[ps],
            "material": material[ps],
            "install_year": pd.array(install[ps]).astype("Int64") if len(ps) else pd.array([], dtype="Int64"),
            "age_years": pd.array(age[ps]).astype("Int64") if len(ps) else pd.array([], dtype="Int64"),
            "diameter_mm": col("diameter_mm"),
            "owner": col("owner"),
            "length_m": plen,
            "aged": aged[ps],
            "aged_rule": rule_str[ps],
            "reason": preason,
        },
        geometry=gpd.GeoSeries(pg, crs=gas.crs),
        crs=gas.crs,
    )
    pieces_gdf.index.name = "piece"

    # ---- roll up
    out = compounds.copy()
    inn = pc >= 0
    ci, li = pc[inn], plen[inn]
    ag = aged[ps][inn]
    out["gas_total_m"] = np.bincount(ci, weights=li, minlength=m)
    out["gas_aged_m"] = np.bincount(ci, weights=li * ag, minlength=m)
    kc = pd.Categorical(pclass[ps][inn], categories=list(PIPE_CLASSES)).codes.astype(np.int64)
    k = len(PIPE_CLASSES)
    by_cls = np.bincount(ci * k + kc, weights=li, minlength=m * k).reshape(m, k)
    by_aged = np.bincount(ci * k + kc, weights=li * ag, minlength=m * k).reshape(m, k)
    for j, cl in enumerate(PIPE_CLASSES):
        out[f"gas_{cl}_m"] = by_cls[:, j]
    for j, cl in enumerate(PIPE_CLASSES):
        out[f"gas_aged_{cl}_m"] = by_aged[:, j]
    mc = pd.Categorical(material[ps][inn], categories=list(MATERIALS)).codes.astype(np.int64)
    k = len(MATERIALS)
    by_mat = np.bincount(ci * k + mc, weights=li, minlength=m * k).reshape(m, k)
    for j, mat in enumerate(MATERIALS):
        out[f"gas_mat_{mat}_m"] = by_mat[:, j]
    if illegal is not None or "occupied" in gas:
        out["gas_occupied_m"] = np.bincount(ci, weights=li * occupied[ps][inn], minlength=m)

    # ---- annotated segments: main compound = longest part (None if outside is longest)
    main = np.full(n, -1, dtype=np.int64)
    if len(ps):
        best = _first_per_group(ps, -plen, pc)
        main[ps[best]] = pc[best]
    seg_out = gas.copy()
    seg_out.index.name = schema.ID_COLUMNS["gas"]
    seg_out["compound_id"] = np.where(main >= 0, cids[np.maximum(main, 0)] if m else None, None)
    seg_out["length_m"] = seg_len
    seg_out["age_years"] = pd.array(age).astype("Int64") if n else pd.array([], dtype="Int64")
    seg_out["aged"] = aged
    seg_out["aged_rule"] = rule_str
    seg_out["occupied"] = occupied.astype(np.int64)

    ill_out = None
    if illegal is not None:
        ill_out = illegal.copy()
        ill_out.index.name = schema.ID_COLUMNS["illegal"]
        ill_out["blocks_gas"] = pd.array(blocks).astype("Int64") if len(blocks) else pd.array([], dtype="Int64")

    outside = pieces_gdf[pc < 0]
    layer_totals = {"gas_total_m": float(seg_len.sum()), "gas_aged_m": float(seg_len[aged].sum())}
    for cl in PIPE_CLASSES:  # the classes the layer has (an audit of zeros says nothing)
        if (pclass == cl).any():
            layer_totals[f"gas_{cl}_m"] = float(seg_len[pclass == cl].sum())
    log.info("%s: %d segments → %d pieces, %d outside", stage, n, len(pieces_gdf), len(outside))
    return GasOverlay(
        compounds=out, remainder=outside, layer_totals=layer_totals, pieces=pieces_gdf,
        gas=seg_out, illegal=ill_out, rules=(*rules, *([occ] if occ else [])), as_of_year=as_of_year,
    )


def _linear_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the line parts (intersections may add points where a pipe touches a wall)."""
    geoms = np.asarray(geoms, dtype=object)
    tid = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(~np.isin(tid, (1, 2, 5)) & ~shapely.is_empty(geoms) & (tid >= 0))
    if len(mixed):
        parts, idx = shapely.get_parts(geoms[mixed], return_index=True)
        lin = np.isin(shapely.get_type_id(parts), (1, 2, 5))
        fixed = np.full(len(mixed), None, dtype=object)
        fixed[:] = shapely.from_wkt("LINESTRING EMPTY")
        if lin.any():
            got, dense = np.unique(idx[lin], return_inverse=True)
            fixed[got] = shapely.line_merge(shapely.multilinestrings(parts[lin], indices=dense))
        geoms = geoms.copy()
        geoms[mixed] = fixed
    return geoms


# --------------------------------------------------------------------------------------
# fire lanes
# --------------------------------------------------------------------------------------
def flag_fire_lanes(
    illegal: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    min_clear_m: float = 4.0,
    point_footprint_m: float = 1.0,
    ignore_status: Sequence[str] = ("demolished",),
) -> gpd.GeoDataFrame:
    """Flag the structures that block a fire lane (消防车道, clear width ≥ 4 m, DOMAIN.md §7.3).

    The corridor of a road is its centreline buffered by ``width_m / 2`` (flat ends).
    Fire lanes are the roads with ``is_fire_lane == 1``, or all roads when the column is
    missing; roads without a width are skipped (and listed in a warning).

    * A polygon structure whose footprint overlaps a corridor (positive area) leaves a
      clear width equal to the larger of its distances to the corridor's two edges
      (``offset_curve`` of the centreline by ± width/2): intruding from one side by d
      leaves width − d, standing in the middle leaves the wider side.
    * A point structure within a corridor stands for a footprint of
      ``point_footprint_m`` (1 m) set against one edge: it leaves width − 1 m.

    A structure blocks (``blocks_fire_lane = 1``) when, in some corridor, the clear width
    left is below ``min_clear_m``; on a road narrower than 4 m anything in the corridor
    blocks. Structures whose status is in ``ignore_status`` (demolished) do not block.

    Parameters
    ----------
    illegal : GeoDataFrame
        Structures (Point or Polygon), projected CRS.
    roads : GeoDataFrame
        Road centrelines in the same CRS with ``width_m`` and optionally ``is_fire_lane``.
    min_clear_m : float, default 4.0
    point_footprint_m : float, default 1.0
    ignore_status : sequence of str, default ("demolished",)

    Returns
    -------
    GeoDataFrame
        Copy of ``illegal`` with ``blocks_fire_lane`` (Int64 0/1; NA for unusable
        geometry), ``fire_lane_road_id`` (the road with the least clear width) and
        ``fire_lane_clear_m`` (that width; NaN when in no corridor).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box, LineString, Point
    >>> from spatialreno.overlay import flag_fire_lanes
    >>> roads = gpd.GeoDataFrame({"width_m": [6.0], "is_fire_lane": [1]},
    ...     geometry=[LineString([(0, 0), (100, 0)])], index=["r1"], crs=4547)
    >>> illegal = gpd.GeoDataFrame(geometry=[box(10, 0, 15, 5), box(40, 2.5, 45, 9), Point(70, 0)],
    ...     index=["deep", "shallow", "point"], crs=4547)
    >>> flag_fire_lanes(illegal, roads)[["blocks_fire_lane", "fire_lane_clear_m"]]  # doctest: +NORMALIZE_WHITESPACE
                  blocks_fire_lane  fire_lane_clear_m
    structure_id
    deep                         1                3.0
    shallow                      0                5.5
    point                        0                5.0
    """
    stage = "flag_fire_lanes"
    _require_gdf(illegal, "illegal", stage)
    if illegal.crs is None or not illegal.crs.is_projected:
        raise CRSError(f"{stage}: `illegal` needs a projected CRS in metres, got "
                       f"{illegal.crs.to_string() if illegal.crs else None!r}.")
    _require_layer(roads, "roads", "roads", illegal.crs, stage)
    if "width_m" not in roads:
        raise SchemaError(f"{stage}: `roads` has no `width_m` column (净宽, clear width in metres); "
                          "add it or read the layer with `spatialreno.read_layer(path, 'roads')`.")
    for name, v in (("min_clear_m", min_clear_m), ("point_footprint_m", point_footprint_m)):
        if not (float(v) >= 0):
            raise ConfigError(f"{stage}: {name} must be ≥ 0 metres, got {v!r}.")

    width = pd.to_numeric(roads["width_m"], errors="coerce").to_numpy(dtype=float)
    rgeoms = roads.geometry.to_numpy()
    lane = pd.isna(_geometry_problems(rgeoms, (1, 2, 5), "LineString", "roads"))
    if "is_fire_lane" in roads:
        lane &= _flag(roads, "is_fire_lane")
    no_width = lane & ~(width > 0)
    if no_width.any():
        ids = roads.index[no_width][:5].tolist()
        warnings.warn(f"{stage}: {int(no_width.sum())} fire lane(s) have no width_m and were "
                      f"skipped, e.g. {ids}.", SpatialRenoWarning, stacklevel=2)
    lane &= width > 0
    ridx = np.flatnonzero(lane)
    rids = np.asarray(roads.index.astype(object), dtype=object)

    n = len(illegal)
    ig = illegal.geometry.to_numpy()
    problem = _geometry_problems(ig, (0, 3, 4, 6), "Point or Polygon", "illegal")
    usable = pd.isna(problem)
    status = _codes(illegal, "status", "illegal_status", "to_verify", stage)
    ignore = _as_codes(tuple(ignore_status), "illegal_status", stage) or ()
    active = usable & ~_isin(status, ignore)
    type_id = shapely.get_type_id(ig)

    best = np.full(n, np.inf)
    best_road = np.full(n, -1, dtype=np.int64)
    if len(ridx) and active.any():
        lg = rgeoms[ridx]
        half = width[ridx] / 2
        corridor = shapely.buffer(lg, half, cap_style="flat")
        left = shapely.offset_curve(lg, half)
        right = shapely.offset_curve(lg, -half)
        ctree = shapely.STRtree(corridor)
        s_all, r_all, clr_all = [], [], []
        polys = np.flatnonzero(active & np.isin(type_id, (3, 6)))
        if len(polys):
            a, b = ctree.query(ig[polys])
            piece = shapely.intersection(ig[polys[a]], corridor[b])
            real = shapely.area(piece) > 0
            a, b, piece = a[real], b[real], piece[real]
            clear = np.maximum(shapely.distance(piece, left[b]), shapely.distance(piece, right[b]))
            clear = np.minimum(clear, width[ridx[b]])
            s_all.append(polys[a])
            r_all.append(b)
            clr_all.append(clear)
        pts = np.flatnonzero(active & np.isin(type_id, (0, 4)))
        if len(pts):
            a, b = ctree.query(ig[pts])
            hit = shapely.intersects(corridor[b], ig[pts[a]])
            a, b = a[hit], b[hit]
            s_all.append(pts[a])
            r_all.append(b)
            clr_all.append(np.maximum(width[ridx[b]] - float(point_footprint_m), 0.0))
        if s_all:
            s_cat, r_cat, c_cat = (np.concatenate(x) for x in (s_all, r_all, clr_all))
            if len(s_cat):
                pick = _first_per_group(s_cat, c_cat, r_cat)
                best[s_cat[pick]] = c_cat[pick]
                best_road[s_cat[pick]] = ridx[r_cat[pick]]

    out = illegal.copy()
    out.index.name = schema.ID_COLUMNS["illegal"]
    blocked = np.where(usable, (best < float(min_clear_m)).astype(float), np.nan)
    out["blocks_fire_lane"] = pd.array(blocked).astype("Int64") if n else pd.array([], dtype="Int64")
    out["fire_lane_road_id"] = np.where(best_road >= 0, rids[np.maximum(best_road, 0)] if len(rids) else None, None)
    out["fire_lane_clear_m"] = np.where(np.isfinite(best), best, np.nan)
    return out
