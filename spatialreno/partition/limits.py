"""Package limits: parsing, validation, per-compound values and plan checks."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from spatialreno.errors import ConfigError

__all__ = ["COUNT", "LimitSpec", "parse_limits", "node_values", "check_plan", "VIOLATION_COLUMNS"]

COUNT = "compounds"
"""Limit key that counts member compounds instead of summing a node attribute."""

VIOLATION_COLUMNS = ["package_id", "compound_id", "limit", "value", "bound", "problem", "fix"]
"""Columns of every violations table (see :func:`spatialreno.partition.violations`)."""

Limits = Mapping[str, Sequence[float | None]]


@dataclass(frozen=True)
class LimitSpec:
    """Parsed limits: one entry per limited quantity, ``compounds`` always present.

    Attributes
    ----------
    names : tuple of str
        Limited quantities, in the user's order; ``"compounds"`` is appended when absent.
    lo, hi : numpy.ndarray
        Lower and upper bounds; ``-inf`` / ``inf`` where the user gave ``None``.
    scale : numpy.ndarray
        A positive magnitude per quantity used to make violations comparable.
    """

    names: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    scale: np.ndarray

    @property
    def count_col(self) -> int:
        """Index of the ``compounds`` column."""
        return self.names.index(COUNT)

    @property
    def balance_col(self) -> int:
        """Column balanced by ``objective="balanced"``.

        The first capped quantity other than ``compounds``; else the first capped
        quantity; else the first quantity with a minimum; else ``compounds``.
        """
        capped = [j for j, n in enumerate(self.names) if np.isfinite(self.hi[j])]
        for j in capped:
            if self.names[j] != COUNT:
                return j
        if capped:
            return capped[0]
        floored = [j for j, n in enumerate(self.names) if np.isfinite(self.lo[j])]
        for j in floored:
            if self.names[j] != COUNT:
                return j
        return self.count_col

    def as_dict(self) -> dict[str, tuple[float | None, float | None]]:
        """Return the limits as ``{name: (min, max)}`` with ``None`` for open bounds."""
        return {
            n: (
                None if not np.isfinite(self.lo[j]) else float(self.lo[j]),
                None if not np.isfinite(self.hi[j]) else float(self.hi[j]),
            )
            for j, n in enumerate(self.names)
        }


def _bound(name: str, which: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(
            f"limits[{name!r}] {which} must be a number or None, got {value!r}."
        )
    value = float(value)
    if math.isnan(value):
        return None
    return value


def parse_limits(G: nx.Graph, limits: Limits) -> LimitSpec:
    """Validate ``limits`` against the node attributes of ``G``.

    Parameters
    ----------
    G : networkx.Graph
        Adjacency graph whose nodes carry the limited attributes.
    limits : mapping of str to (min, max)
        ``{"compounds": (2, 8), "households": (1500, 6000), "cost_total": (None, 4000)}``.
        ``"compounds"`` counts members; every other key is a numeric node attribute.

    Returns
    -------
    LimitSpec

    Raises
    ------
    ConfigError
        Unknown attribute (names it and the compounds lacking it), a bound that is
        not a number, ``min > max``, or negative / missing values on limited attributes.
    """
    if not isinstance(limits, Mapping):
        raise ConfigError(
            "`limits` must be a mapping such as {'compounds': (2, 8), "
            f"'households': (1500, 6000)}}, got {type(limits).__name__}."
        )
    names: list[str] = []
    lo: list[float] = []
    hi: list[float] = []
    for name, pair in limits.items():
        if not isinstance(name, str):
            raise ConfigError(f"limit names must be strings, got {name!r}.")
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ConfigError(
                f"limits[{name!r}] must be a (min, max) pair with None for an open bound, "
                f"got {pair!r}."
            )
        a = _bound(name, "min", pair[0])
        b = _bound(name, "max", pair[1])
        if a is not None and b is not None and a > b:
            raise ConfigError(
                f"limits[{name!r}] has min {a:g} above max {b:g}; swap or correct the bounds."
            )
        names.append(name)
        lo.append(-np.inf if a is None else a)
        hi.append(np.inf if b is None else b)
    if COUNT not in names:
        names.append(COUNT)
        lo.append(-np.inf)
        hi.append(np.inf)
    nodes = list(G.nodes)
    for name in names:
        if name == COUNT:
            continue
        missing = [v for v in nodes if name not in G.nodes[v]]
        if missing:
            known = sorted({k for v in nodes[:50] for k in G.nodes[v]})
            raise ConfigError(
                f"limits name {name!r} is not a node attribute of {len(missing)} compound(s), "
                f"e.g. {missing[:5]!r}; known attributes: {known}. Use 'compounds' to count "
                "members, or build the graph with this column as a node attribute."
            )
    spec_lo = np.asarray(lo, dtype=float)
    spec_hi = np.asarray(hi, dtype=float)
    scale = np.where(
        np.isfinite(spec_hi) & (spec_hi > 0),
        spec_hi,
        np.where(np.isfinite(spec_lo) & (spec_lo > 0), spec_lo, 1.0),
    )
    spec = LimitSpec(tuple(names), spec_lo, spec_hi, scale)
    values = node_values(G, nodes, spec)
    for j, name in enumerate(names):
        col = values[:, j]
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise ConfigError(
                f"limited attribute {name!r} is missing or not numeric for {bad.size} "
                f"compound(s), e.g. {[nodes[i] for i in bad[:5]]!r}; fill the values first."
            )
        neg = np.flatnonzero(col < 0)
        if neg.size:
            raise ConfigError(
                f"limited attribute {name!r} is negative for {neg.size} compound(s), e.g. "
                f"{[nodes[i] for i in neg[:5]]!r}; package sums need non-negative values."
            )
    return spec


def _as_float(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out


def node_values(G: nx.Graph, nodes: Sequence[Hashable], spec: LimitSpec) -> np.ndarray:
    """Return the ``(len(nodes), len(spec.names))`` array of limited values per compound."""
    out = np.empty((len(nodes), len(spec.names)), dtype=float)
    attrs = G.nodes
    for j, name in enumerate(spec.names):
        if name == COUNT:
            out[:, j] = 1.0
        else:
            out[:, j] = np.fromiter(
                (_as_float(attrs[v].get(name, math.nan)) for v in nodes), float, len(nodes)
            )
    return out


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def check_plan(
    G: nx.Graph,
    labels: pd.Series,
    limits: Limits | LimitSpec,
) -> pd.DataFrame:
    """List every way ``labels`` breaks the packaging contract.

    Checks that every node of ``G`` has exactly one label (and no unknown compound is
    labelled), that every package is connected in ``G`` and that every package sum lies
    within ``limits``.

    Parameters
    ----------
    G : networkx.Graph
        Adjacency graph.
    labels : pandas.Series
        ``package_id`` per ``compound_id``.
    limits : mapping or LimitSpec
        As for :func:`spatialreno.partition.partition_packages`.

    Returns
    -------
    pandas.DataFrame
        Columns ``package_id, compound_id, limit, value, bound, problem, fix``;
        empty when the plan is valid.
    """
    spec = limits if isinstance(limits, LimitSpec) else parse_limits(G, limits)
    rows: list[dict[str, object]] = []
    nodes = list(G.nodes)
    if labels.index.has_duplicates:
        dup = labels.index[labels.index.duplicated()].unique()
        for c in dup[:20]:
            rows.append(_row(None, c, "coverage", None, None, "compound labelled more than once",
                             "keep one label per compound"))
    node_set = set(nodes)
    extra = [c for c in labels.index.unique() if c not in node_set]
    for c in extra[:20]:
        rows.append(_row(labels.get(c), c, "coverage", None, None,
                         "labelled compound is not a node of the graph",
                         "drop it from labels or rebuild the graph"))
    lab = labels[~labels.index.duplicated()].reindex(nodes)
    for c in lab.index[lab.isna()][:20]:
        rows.append(_row(None, c, "coverage", None, None, "compound has no package",
                         "assign it to an adjacent package"))
    ok = lab.notna().to_numpy()
    codes, uniques = pd.factorize(lab, use_na_sentinel=True)
    # contiguity: components of the graph restricted to intra-package edges
    index = {v: i for i, v in enumerate(nodes)}
    if G.number_of_edges():
        e = np.array([(index[u], index[v]) for u, v in G.edges()], dtype=np.int64)
        keep = (codes[e[:, 0]] == codes[e[:, 1]]) & (codes[e[:, 0]] >= 0)
        e = e[keep]
    else:
        e = np.zeros((0, 2), dtype=np.int64)
    n = len(nodes)
    mat = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, comp = connected_components(mat, directed=False)
    frame = pd.DataFrame({"pkg": codes[ok], "comp": comp[ok]})
    pieces = frame.groupby("pkg")["comp"].nunique()
    for code in pieces.index[pieces.to_numpy() > 1]:
        pid = uniques[code]
        members = [nodes[i] for i in np.flatnonzero(codes == code)]
        parts: dict[int, list[Hashable]] = {}
        for i in np.flatnonzero(codes == code):
            parts.setdefault(int(comp[i]), []).append(nodes[i])
        desc = " | ".join(str(sorted(p, key=str)[:4]) for p in parts.values())
        rows.append(_row(pid, min(members, key=str), "contiguity", len(parts), 1,
                         f"package is split into {len(parts)} pieces: {desc}",
                         "move the detached compounds to an adjacent package"))
    values = node_values(G, nodes, spec)[ok]
    sums = pd.DataFrame(values, columns=list(spec.names)).groupby(codes[ok]).sum()
    first = pd.Series([nodes[i] for i in np.flatnonzero(ok)]).groupby(codes[ok]).min()
    for j, name in enumerate(spec.names):
        col = sums[name].to_numpy()
        for which, bad, bound in (
            ("max", col > spec.hi[j] + 1e-9, spec.hi[j]),
            ("min", col < spec.lo[j] - 1e-9, spec.lo[j]),
        ):
            for code in sums.index[bad]:
                value = float(sums.at[code, name])
                pid = uniques[code]
                verb = "above" if which == "max" else "below"
                rows.append(_row(
                    pid, first.at[code], f"{name} {which}", value, float(bound),
                    f"package {pid!r} has {name}={_fmt(value)}, {verb} {which} {_fmt(bound)}",
                    f"{'raise' if which == 'max' else 'lower'} the {name} {which} or "
                    f"{'move compounds out of' if which == 'max' else 'add compounds to'} "
                    "this package",
                ))
    return violations_frame(rows)


def _row(package_id: object, compound_id: object, limit: str, value: object, bound: object,
         problem: str, fix: str) -> dict[str, object]:
    return {"package_id": package_id, "compound_id": compound_id, "limit": limit,
            "value": value, "bound": bound, "problem": problem, "fix": fix}


def violations_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Build a violations DataFrame with the standard columns from row dicts."""
    frame = pd.DataFrame(list(rows), columns=VIOLATION_COLUMNS)
    for col in ("value", "bound"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame
