"""Geographic side of packaging: package polygons and summaries, plan diffs, checked edits."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from spatialreno.errors import ConfigError, DataError, EditError
from spatialreno.partition.compactness import medoid_table
from spatialreno.partition.limits import check_plan, parse_limits, violations_frame
from spatialreno.partition.result import PartitionResult, solver_frame

__all__ = ["NON_ADDITIVE", "NON_ADDITIVE_SUFFIXES", "dissolve_packages", "diff_packages", "PackageDiff",
           "move_compound", "package_adjacency"]

NON_ADDITIVE: frozenset[str] = frozenset({
    "x", "y", "lon", "lat", "build_year", "year", "install_year", "consent", "consent_rate",
    "consent_pct", "phase", "priority", "score", "adcode", "area_share", "density",
})
"""Numeric compound columns that must not be summed into a package total."""

NON_ADDITIVE_SUFFIXES: tuple[str, ...] = ("_year", "_rate", "_pct", "_ratio", "_share", "_code")
"""Column-name endings treated as non-additive as well."""


def _additive(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in NON_ADDITIVE and not str(c).endswith(
        NON_ADDITIVE_SUFFIXES)]


def dissolve_packages(compounds: gpd.GeoDataFrame, labels: pd.Series) -> gpd.GeoDataFrame:
    """Dissolve compounds into package polygons with package totals.

    Parameters
    ----------
    compounds : geopandas.GeoDataFrame
        Indexed by ``compound_id``, projected CRS in metres.
    labels : pandas.Series
        ``package_id`` per ``compound_id``; must label every compound.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``package_id`` (sorted): dissolved ``geometry``, ``n_compounds``,
        the sum of every additive numeric column (every numeric column except those in
        ``NON_ADDITIVE`` or ending in ``NON_ADDITIVE_SUFFIXES``), ``build_year_min`` and
        ``build_year_mean`` when ``build_year`` exists, ``streets`` (';'-joined unique
        street names) when ``street`` exists, and ``compactness_m`` (sum of member
        representative-point distances to the package medoid, metres).

    Raises
    ------
    DataError
        Compounds without a label, or labels for unknown compounds.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely.geometry import box
    >>> from spatialreno.packages import dissolve_packages
    >>> compounds = gpd.GeoDataFrame(
    ...     {"households": [10, 20, 30]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)],
    ...     index=pd.Index(["a", "b", "c"], name="compound_id"), crs="EPSG:32650")
    >>> labels = pd.Series({"a": "PK-a", "b": "PK-a", "c": "PK-c"}, name="package_id")
    >>> dissolve_packages(compounds, labels)[["n_compounds", "households"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                n_compounds  households
    package_id
    PK-a                  2          30
    PK-c                  1          30
    """
    if not isinstance(compounds, gpd.GeoDataFrame):
        raise DataError("dissolve_packages: `compounds` must be a GeoDataFrame indexed by "
                        f"compound_id, got {type(compounds).__name__}.")
    if labels.index.has_duplicates:
        dup = labels.index[labels.index.duplicated()].unique().tolist()[:5]
        raise DataError(f"dissolve_packages: labels repeat compound ids {dup}; keep one "
                        "package per compound.")
    lab = labels.reindex(compounds.index)
    missing = compounds.index[lab.isna().to_numpy()].tolist()
    if missing:
        raise DataError(f"dissolve_packages: {len(missing)} compound(s) have no package, "
                        f"e.g. {missing[:5]}; label every compound (see partition_packages).")
    extra = labels.index.difference(compounds.index).tolist()
    if extra:
        raise DataError(f"dissolve_packages: labels name {len(extra)} compound(s) not in "
                        f"`compounds`, e.g. {extra[:5]}.")
    key = pd.Index(lab.astype(str).to_numpy(), name="package_id")
    out = gpd.GeoDataFrame(
        {"package_id": key.to_numpy()}, geometry=compounds.geometry.to_numpy(),
        crs=compounds.crs,
    ).dissolve(by="package_id")  # vectorised union per group (shapely union_all)
    out["n_compounds"] = key.value_counts().reindex(out.index).to_numpy()
    numeric = compounds.drop(columns=compounds.geometry.name).select_dtypes("number")
    numeric = numeric.loc[:, [c for c in numeric.columns if not pd.api.types.is_bool_dtype(
        numeric[c])]]
    add_cols = _additive(list(numeric.columns))
    if add_cols:
        sums = numeric[add_cols].set_axis(key).groupby(level=0).sum(min_count=1)
        out = out.join(sums)
    if "build_year" in compounds.columns:
        years = pd.to_numeric(compounds["build_year"], errors="coerce").set_axis(key)
        agg = years.groupby(level=0).agg(["min", "mean"])
        out["build_year_min"] = agg["min"]
        out["build_year_mean"] = agg["mean"]
    if "street" in compounds.columns:
        streets = compounds["street"].set_axis(key).dropna().astype(str)
        joined = streets.groupby(level=0).agg(lambda s: ";".join(sorted(s.unique())))
        out["streets"] = joined.reindex(out.index).fillna("")
    pts = compounds.geometry.representative_point()
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    codes, uniques = pd.factorize(key)
    table = medoid_table(xy, compounds.index.to_numpy(dtype=object), codes)
    out["compactness_m"] = pd.Series(table["compactness_m"].to_numpy(),
                                     index=np.asarray(uniques)[table.index]).reindex(out.index)
    return out.sort_index()


def diff_packages(old: pd.Series, new: pd.Series) -> pd.DataFrame:
    """Compare two plans.

    Parameters
    ----------
    old, new : pandas.Series
        ``package_id`` per ``compound_id``.

    Returns
    -------
    PackageDiff
        ``compounds``: one row per compound whose package changed, with columns
        ``compound_id``, ``old_package``, ``new_package`` and ``change`` (``"moved"``,
        ``"added"`` for compounds only in ``new``, ``"removed"`` for compounds only in
        ``old``); ``packages_added`` / ``packages_removed``: the package ids present only
        in ``new`` / only in ``old``; ``packages_kept``: the ids present in both with the
        same members.

    Examples
    --------
    >>> import pandas as pd
    >>> from spatialreno.packages import diff_packages
    >>> old = pd.Series({"a": "P1", "b": "P1", "c": "P2"})
    >>> new = pd.Series({"a": "P1", "b": "P3", "c": "P3"})
    >>> d = diff_packages(old, new)
    >>> d.compounds[["compound_id", "old_package", "new_package"]].values.tolist()
    [['b', 'P1', 'P3'], ['c', 'P2', 'P3']]
    >>> d.packages_added, d.packages_removed, d.packages_kept
    (('P3',), ('P2',), ())
    """
    both = pd.concat([old.rename("old_package"), new.rename("new_package")], axis=1,
                     sort=False)
    both.index.name = "compound_id"
    o = both["old_package"]
    w = both["new_package"]
    change = np.where(o.isna(), "added", np.where(w.isna(), "removed", "moved"))
    changed = (o.isna() != w.isna()) | (o.notna() & w.notna() & (o.astype(object) !=
                                                                   w.astype(object)))
    out = both.loc[changed.to_numpy()].assign(change=change[changed.to_numpy()])
    old_ids = set(old.dropna().unique())
    new_ids = set(new.dropna().unique())
    old_sets = old.groupby(old).groups
    new_sets = new.groupby(new).groups
    kept = (p for p in old_ids & new_ids if set(old_sets[p]) == set(new_sets[p]))
    return PackageDiff(compounds=out.reset_index(),
                       packages_added=tuple(sorted(new_ids - old_ids, key=str)),
                       packages_removed=tuple(sorted(old_ids - new_ids, key=str)),
                       packages_kept=tuple(sorted(kept, key=str)))


@dataclass(frozen=True, eq=False)
class PackageDiff:
    """What :func:`diff_packages` (and :meth:`spatialreno.Plan.diff`) found: the compounds
    that changed package (``compounds``, a DataFrame) and the package ids added, removed
    and kept unchanged. ``len(diff)`` is the number of changed compounds; ``diff.empty``
    says nothing changed. In a notebook it shows as its ``compounds`` table."""

    compounds: pd.DataFrame
    packages_added: tuple = ()
    packages_removed: tuple = ()
    packages_kept: tuple = ()

    @property
    def empty(self) -> bool:
        return len(self.compounds) == 0

    def __len__(self) -> int:
        return len(self.compounds)

    def _repr_html_(self) -> str:
        return self.compounds._repr_html_()


def move_compound(
    plan: PartitionResult | pd.Series,
    G: nx.Graph,
    compound_id: Hashable,
    to_package: Hashable,
    *,
    limits: Mapping[str, Sequence[float | None]] | None = None,
    locked: Mapping[Hashable, Hashable] | None = None,
    must_link: Iterable[tuple[Hashable, Hashable]] | None = None,
    cannot_link: Iterable[tuple[Hashable, Hashable]] | None = None,
    boundary: Mapping[Hashable, object] | pd.Series | None = None,
) -> PartitionResult:
    """Move one compound to another package, checked against every hard constraint.

    Parameters
    ----------
    plan : PartitionResult or pandas.Series
        Current plan: what :func:`~spatialreno.partition.partition_packages` (or an earlier
        move) returned, or a bare ``package_id`` Series (then ``limits`` is required).
    G : networkx.Graph
        Adjacency graph.
    compound_id : hashable
        Compound to move.
    to_package : hashable
        Existing package that receives it.
    limits : mapping of str to (min, max), optional
        As for :func:`spatialreno.partition.partition_packages`; default ``plan.limits``.
    locked, must_link, cannot_link : optional
        As for :func:`~spatialreno.partition.partition_packages`: a locked compound does
        not move and a locked package takes no compound; must-linked compounds stay
        together; cannot-linked compounds stay apart.
    boundary : mapping of compound_id to value, optional
        The boundary column (e.g. ``street``) the graph was built with; with the graph's
        ``boundary_policy="forbid"`` a move into a package of another boundary value is
        refused.

    Returns
    -------
    PartitionResult
        A new plan (package ids kept; a package left empty disappears) with its
        violations re-checked, the solver report and options of ``plan``, and the move
        appended to ``.edits``.

    Raises
    ------
    EditError
        Naming the broken constraint: unknown compound or package, contiguity (the move
        splits the source package or does not touch the target), locked, must_link,
        cannot_link, boundary, or a limit the move would break (with the package, the
        limit and the value).

    Examples
    --------
    >>> import networkx as nx
    >>> import pandas as pd
    >>> from spatialreno.packages import move_compound
    >>> G = nx.path_graph(["a", "b", "c", "d"])
    >>> labels = pd.Series({"a": "P1", "b": "P1", "c": "P2", "d": "P2"}, name="package_id")
    >>> res = move_compound(labels, G, "b", "P2", limits={"compounds": (1, 3)})
    >>> res.labels.tolist(), res.edits[0]["to"]
    (['P1', 'P2', 'P2', 'P2'], 'P2')
    """
    base = _as_result(plan, limits)
    labels = base.labels
    spec = parse_limits(G, dict(base.limits) if limits is None else limits)
    if compound_id not in labels.index or compound_id not in G:
        raise EditError(f"move_compound: compound {compound_id!r} is not in the plan/graph.")
    source = labels[compound_id]
    if source == to_package:
        return base
    if not (labels == to_package).any():
        raise EditError(f"move_compound: package {to_package!r} does not exist; pick one of "
                        f"{sorted(labels.unique(), key=str)[:10]}.")
    _check_contiguity(labels, G, compound_id, source, to_package)
    _check_rules(labels, G, compound_id, source, to_package, locked=locked,
                 must_link=must_link, cannot_link=cannot_link, boundary=boundary)
    new = labels.copy()
    new[compound_id] = to_package
    _check_move_limits(labels, new, G, spec, compound_id, source, to_package)
    edit = {"compound_id": compound_id, "from": source, "to": to_package}
    return replace(base, labels=new, violations=check_plan(G, new, spec),
                   limits=spec.as_dict(), edits=(*base.edits, edit))


def _as_result(plan: PartitionResult | pd.Series, limits) -> PartitionResult:
    if isinstance(plan, PartitionResult):
        return plan
    if isinstance(plan, pd.Series):
        if limits is None:
            raise EditError("move_compound: a bare labels Series needs `limits`; pass the "
                            "PartitionResult of partition_packages instead.")
        return PartitionResult(labels=plan.copy(), violations=violations_frame([]),
                               solver_report=solver_frame(), limits={})
    raise EditError(f"move_compound: `plan` must be a PartitionResult or a labels Series, got "
                    f"{type(plan).__name__}.")


def _check_contiguity(labels, G, compound_id, source, to_package) -> None:
    target_members = set(labels.index[labels == to_package])
    if not any(u in target_members for u in G.adj[compound_id]):
        raise EditError(
            f"move_compound: compound {compound_id!r} does not touch package {to_package!r}; "
            "the target package would not be connected (contiguity). Pick an adjacent "
            "package.")
    rest = [c for c in labels.index[labels == source] if c != compound_id]
    if rest and not nx.is_connected(G.subgraph(rest)):
        pieces = sorted((sorted(p, key=str) for p in nx.connected_components(G.subgraph(rest))),
                        key=lambda p: str(p[0]))
        desc = " and ".join(str(p[:3]) for p in pieces[:3])
        raise EditError(
            f"move_compound: removing {compound_id!r} splits package {source!r} into "
            f"{len(pieces)} pieces ({desc}) (contiguity); move a compound on the package "
            "edge instead.")


def _check_rules(labels, G, compound_id, source, to_package, *, locked, must_link,
                 cannot_link, boundary) -> None:
    """locked, must_link, cannot_link and the boundary policy, in that order."""
    where = f"move_compound: moving {compound_id!r} from {source!r} to {to_package!r}"
    lock = dict(locked or {})
    if compound_id in lock:
        raise EditError(f"{where} breaks the locked constraint: {compound_id!r} is locked in "
                        f"package {lock[compound_id]!r}. Unlock it in [packages] locked first.")
    target_locked = sorted({str(lock[c]) for c in labels.index[labels == to_package]
                            if c in lock})
    if target_locked:
        raise EditError(f"{where} breaks the locked constraint: package {to_package!r} is "
                        f"locked ({target_locked[0]!r}) and takes no other compound.")
    for a, b in must_link or ():
        other = b if a == compound_id else a if b == compound_id else None
        if other is not None and other in labels.index and labels[other] != to_package:
            raise EditError(f"{where} breaks the must_link constraint ({a!r}, {b!r}): "
                            f"{other!r} stays in {labels[other]!r}. Move both or drop the "
                            "pair.")
    for a, b in cannot_link or ():
        other = b if a == compound_id else a if b == compound_id else None
        if other is not None and other in labels.index and labels[other] == to_package:
            raise EditError(f"{where} breaks the cannot_link constraint ({a!r}, {b!r}): "
                            f"{other!r} is in {to_package!r}. Pick another package.")
    if boundary is None or G.graph.get("boundary_policy") != "forbid":
        return
    values = pd.Series(boundary)
    mine = values.get(compound_id)
    others = {values.get(c) for c in labels.index[labels == to_package]} - {None}
    others = {v for v in others if pd.notna(v)}
    if pd.notna(mine) and others and others != {mine}:
        raise EditError(f"{where} breaks the boundary policy ('forbid'): {compound_id!r} is in "
                        f"{mine!r} but package {to_package!r} is in {sorted(map(str, others))}."
                        " Pick a package on the same side of the boundary.")


def _check_move_limits(labels, new, G, spec, compound_id, source, to_package) -> None:
    """A limit the move newly breaks in the source or the target package."""
    touched = [source, to_package]
    before = check_plan(G.subgraph(labels.index[labels.isin(touched)]),
                        labels[labels.isin(touched)], spec)
    after = check_plan(G.subgraph(list(new.index[new.isin(touched)])),
                       new[new.isin(touched)], spec)
    before_keys = set(zip(before["package_id"], before["limit"], strict=True))
    broken = after[[(p, lim) not in before_keys for p, lim in
                    zip(after["package_id"], after["limit"], strict=True)]]
    if len(broken):
        r = broken.iloc[0]
        side = "source" if r["package_id"] == source else "target"
        raise EditError(
            f"move_compound: moving {compound_id!r} from {source!r} to {to_package!r} breaks "
            f"the {r['limit']} limit of the {side} package: {r['problem']}. "
            "Pick another package or relax the limit.")


def package_adjacency(
    packages_index: Iterable,
    *,
    adjacency: nx.Graph | Iterable[tuple] | None = None,
    graph: nx.Graph | None = None,
    labels: pd.Series | None = None,
) -> nx.Graph | None:
    """The package adjacency graph, from a package graph/pairs or a compound graph + labels.

    The one definition of "adjacent packages" in spatialreno: two packages are adjacent
    when an edge of the compound adjacency graph joins them (the 化整为零 check and the
    map colours both use it).

    Parameters
    ----------
    packages_index : iterable
        Package ids to keep (others are dropped).
    adjacency : networkx.Graph or iterable of (package, package) pairs, optional
        Package adjacency given directly.
    graph, labels : networkx.Graph and Series, optional
        The compound adjacency graph (nodes = ``compound_id``) and the ``package_id`` label
        of every compound; two packages are adjacent when a compound edge joins them.

    Returns
    -------
    networkx.Graph or None
        None when neither form is given.

    Examples
    --------
    >>> import networkx as nx, pandas as pd
    >>> from spatialreno.packages import package_adjacency
    >>> G = nx.path_graph(["a", "b", "c"])
    >>> labels = pd.Series({"a": "P1", "b": "P1", "c": "P2"}, name="package_id")
    >>> sorted(package_adjacency(["P1", "P2"], graph=G, labels=labels).edges())
    [('P1', 'P2')]
    """
    keep = pd.Index(packages_index)
    if adjacency is not None and graph is not None:
        raise ConfigError("give either `adjacency` (package graph) or `graph` + `labels`, not both")
    if adjacency is None and graph is None:
        if labels is not None:
            raise ConfigError("`labels` needs `graph` (the compound adjacency graph)")
        return None
    H = nx.Graph()
    H.add_nodes_from(keep)
    if adjacency is not None:
        pairs = adjacency.edges() if isinstance(adjacency, nx.Graph) else adjacency
        H.add_edges_from((u, v) for u, v in pairs if u in H and v in H and u != v)
        return H
    if labels is None:
        raise ConfigError(
            "`graph` needs `labels` (the package_id of every compound); pass a package graph "
            "as `adjacency` instead"
        )
    edges = list(graph.edges())
    if edges:
        u, v = zip(*edges, strict=True)
        lab = pd.Series(labels)
        pu = lab.reindex(pd.Index(u, dtype=object)).to_numpy()
        pv = lab.reindex(pd.Index(v, dtype=object)).to_numpy()
        ok = pd.notna(pu) & pd.notna(pv) & (pu != pv)
        H.add_edges_from((a, b) for a, b in zip(pu[ok], pv[ok], strict=True) if a in H and b in H)
    return H
