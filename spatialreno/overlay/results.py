"""What the overlays return: plain, immutable result objects whose totals reconcile, and
the names of the tables and columns they hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import geopandas as gpd
import pandas as pd

from ..errors import DataError
from ._join import flag
from .rules import KINDS, MATERIALS, PIPE_CLASSES, STATUSES

__all__ = [
    "OverlayResult", "IllegalOverlay", "GasOverlay", "reconcile", "HOW", "ASSIGNMENT_COLUMNS",
    "PIECE_COLUMNS", "ILLEGAL_COMPOUND_COLUMNS", "GAS_COMPOUND_COLUMNS", "RECONCILE_RTOL",
    "DEFAULT_MAX_DISTANCE_M",
]

#: Totals reconcile when layer − compounds − remainder is within this fraction of the layer.
RECONCILE_RTOL = 1e-9
#: How far outside every compound a structure may lie and still go to the nearest (metres).
DEFAULT_MAX_DISTANCE_M = 15.0

#: Values of the ``how`` column of the assignment table.
HOW: tuple[str, ...] = ("inside", "split_by_area", "nearest_within_distance", "unassigned")

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
#: the structure flags an illegal overlay rolls up: compound column → structure column
ILLEGAL_FLAGS = {"fire_lane_blocked": "blocks_fire_lane", "illegal_over_gas": "blocks_gas"}


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

    def totals(self, packages: pd.DataFrame | None = None, *, rtol: float = RECONCILE_RTOL) -> pd.DataFrame:
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

    def reconcile(self, packages: pd.DataFrame | None = None, *, rtol: float = RECONCILE_RTOL) -> pd.DataFrame:
        """:meth:`totals` as a flat table with ``layer`` and ``quantity`` columns, for stacking
        the tables of several overlays in one audit."""
        table = self.totals(packages, rtol=rtol).reset_index()
        table.insert(0, "layer", self.layer)
        return table

    def check(self, packages: pd.DataFrame | None = None, *, rtol: float = RECONCILE_RTOL) -> pd.DataFrame:
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
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    layer: ClassVar[str] = "illegal"

    @property
    def unassigned(self) -> gpd.GeoDataFrame:
        """The structures no compound holds, with the reason."""
        return self.remainder

    def _remainder_totals(self) -> dict[str, float]:
        rem = self.remainder
        out = {"illegal_count": float(len(rem)),
               "illegal_area_m2": float(rem["counted_area_m2"].sum())}
        for col, flag_col in ILLEGAL_FLAGS.items():
            if col in self.layer_totals:
                out[col] = float(flag(rem, flag_col).sum())
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
        The rules applied.
    as_of_year : int or None
        The year pipe ages are counted to (None when no rule counts years and none was
        given: ``age_years`` is then missing).
    """

    pieces: gpd.GeoDataFrame | None = None
    gas: gpd.GeoDataFrame | None = None
    illegal: gpd.GeoDataFrame | None = None
    rules: tuple = ()
    as_of_year: int | None = None
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
              rtol: float = RECONCILE_RTOL) -> pd.DataFrame:
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
