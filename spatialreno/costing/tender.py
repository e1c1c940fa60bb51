"""Tender thresholds (令第16号) and the 化整为零 check on adjacent packages.

A package must be tendered when its construction, goods or services estimate reaches the
threshold of :class:`TenderThresholds`. A group of adjacent packages under one contractor
that are *each* below a threshold but *together* reach it looks like a split to avoid
tendering (化整为零, 招标投标法 art. 4). "Adjacent" is the one definition of
:func:`spatialreno.packages.package_adjacency`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np
import pandas as pd

from ._config import _Config, _Key
from ._money import FEN, floor_fen
from .rates import CostRates

__all__ = ["TenderThresholds", "TENDER_CATEGORIES", "SPLIT_GROUP_COLUMNS"]

#: tender category → the procurement column tested against its threshold
TENDER_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("construction", "construction_cost"), ("goods", "goods_cost"), ("services", "services_cost"),
)
#: columns of the ``split_groups`` frame of :class:`~spatialreno.costing.FundingResult`
SPLIT_GROUP_COLUMNS: tuple[str, ...] = ("category", "contractor", "packages", "total", "threshold")
#: how many groups the 化整为零 note lists
_WARN_GROUPS = 10


@dataclass(frozen=True)
class TenderThresholds(_Config):
    """Thresholds above which a contract must be tendered (令第16号 art. 5, DOMAIN.md §5.1).

    A package must be tendered when its construction estimate is ≥ ``construction``, its
    goods ≥ ``goods`` or its services ≥ ``services`` (all 万元; TOML ``construction = {
    value = 400, unit = "万元" }``). Local rules may set lower ones.

    Examples
    --------
    >>> from spatialreno.costing import TenderThresholds
    >>> TenderThresholds()
    TenderThresholds(construction=400.0, goods=200.0, services=100.0)
    """

    construction: float = 400.0
    goods: float = 200.0
    services: float = 100.0

    _KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("construction", "construction", "万元", "令第16号 art. 5: 施工单项合同估算价 ≥ 400万元"),
        _Key("goods", "goods", "万元", "令第16号 art. 5: 重要设备、材料等货物 ≥ 200万元"),
        _Key("services", "services", "万元", "令第16号 art. 5: 勘察、设计、监理等服务 ≥ 100万元"),
    )

    _WHAT: ClassVar[str] = "thresholds"

    def __post_init__(self):
        self._check_fields()


# ======================================================================================
# procurement split and the per-package flag
# ======================================================================================
def procurement_split(rates: CostRates, total: np.ndarray, items: Mapping[str, np.ndarray]
                      ) -> dict[str, np.ndarray]:
    """Construction, goods and services (0.01 万元) from ``total`` and the cost items.

    ``items`` maps ``renovation``, ``gas`` (all gas work), ``elevator`` and ``demolition``
    to amounts in 0.01 万元. Services are ``services_share`` of the total and goods the
    ``goods_share_<item>`` of each item, both rounded down; construction is the rest, so the
    three add up exactly to ``total``.
    """
    services = floor_fen(rates.services_share * total)
    goods = floor_fen(sum(getattr(rates, f"goods_share_{item}") * items[item]
                          for item in ("renovation", "gas", "elevator", "demolition")))
    return {"construction_cost": total - goods - services, "goods_cost": goods,
            "services_cost": services}


def threshold_fen(thresholds: TenderThresholds) -> dict[str, int]:
    """Category → threshold in 0.01 万元."""
    return {cat: int(round(getattr(thresholds, cat) * FEN)) for cat, _ in TENDER_CATEGORIES}


def must_tender(part: Mapping[str, np.ndarray], thresholds: TenderThresholds) -> np.ndarray:
    """True where a package's construction, goods or services reaches its threshold."""
    limits = threshold_fen(thresholds)
    must = np.zeros(len(part["construction_cost"]), dtype=bool)
    for cat, col in TENDER_CATEGORIES:
        must |= part[col] >= limits[cat]
    return must


# ======================================================================================
# 化整为零
# ======================================================================================
def contractors(packages: pd.DataFrame) -> tuple[dict, list[str]]:
    """Package → contractor (None when unknown) and the note when there is no column."""
    if "contractor" not in packages.columns:
        return dict.fromkeys(packages.index), [
            "no contractor column: adjacent packages are checked as one contractor's"]
    return {p: (v if pd.notna(v) else None) for p, v in packages["contractor"].items()}, []


def split_groups(index: pd.Index, part: Mapping[str, np.ndarray], thresholds: TenderThresholds,
                 H: nx.Graph, contractor: Mapping) -> pd.DataFrame:
    """Groups of adjacent packages under one contractor, each below a threshold, together not.

    A group is a connected set (in the package adjacency ``H``) of packages of one
    contractor that are each below the threshold of a category; it is reported when their
    sum reaches it. One row per group, columns ``SPLIT_GROUP_COLUMNS`` (``packages`` a
    tuple of package ids in the order of ``index``; ``total``, ``threshold`` in 万元).
    """
    limits = threshold_fen(thresholds)
    pos = {pid: i for i, pid in enumerate(index)}
    rows = []
    for cat, col in TENDER_CATEGORIES:
        below = [pid for pid in index if part[col][pos[pid]] < limits[cat]]
        sub = nx.Graph()
        sub.add_nodes_from(below)
        sub.add_edges_from(
            (u, v) for u, v in H.subgraph(below).edges() if contractor[u] == contractor[v]
        )
        for comp in nx.connected_components(sub):
            members = tuple(sorted(comp, key=pos.__getitem__))
            amount = int(sum(part[col][pos[p]] for p in members))
            if len(members) < 2 or amount < limits[cat]:
                continue
            rows.append({"category": cat, "contractor": contractor[members[0]],
                         "packages": members, "total": amount / FEN,
                         "threshold": limits[cat] / FEN})
    rows.sort(key=lambda r: ([c for c, _ in TENDER_CATEGORIES].index(r["category"]),
                             pos[r["packages"][0]]))
    return pd.DataFrame(rows, columns=list(SPLIT_GROUP_COLUMNS))


def _group_label(group) -> str:
    return (f"{group.category} {'+'.join(map(str, group.packages))} = {group.total:.2f} ≥ "
            f"{group.threshold:g} 万元")


def split_warnings(index: pd.Index, groups: pd.DataFrame) -> pd.Series:
    """Per package, the groups it belongs to as text ("" when none)."""
    text: dict = {pid: [] for pid in index}
    for g in groups.itertuples(index=False):
        label = _group_label(g) + (f" (contractor {g.contractor!r})" if g.contractor is not None else "")
        for p in g.packages:
            text[p].append(label)
    return pd.Series({p: "; ".join(t) for p, t in text.items()}, index=index, dtype="object")


def split_note(groups: pd.DataFrame) -> str | None:
    """The sentence that lists the 化整为零 groups (None when there are none)."""
    if not len(groups):
        return None
    listing = "; ".join(_group_label(g) for g in groups.head(_WARN_GROUPS).itertuples(index=False))
    return (f"{len(groups)} group(s) of adjacent packages under one contractor are each "
            f"below a tender threshold but reach it together (化整为零, 招标投标法 art. 4): "
            f"{listing}. Tender them as one contract, or record why they are separate projects.")
