"""Generate a deterministic, realistic synthetic old-city district for tests, notebooks and demos.

:func:`sample_district` draws a Wuhan-like district in EPSG:4547 (CGCS2000 / 3-degree
Gauss-Krüger CM 114E) south and north of the 汉江: 汉阳区 (420105) below the river and
江汉区 (420103) above it. The layout, from large to small:

- a grid of *superblocks* separated by arterial roads (barrier lines 30–50 m wide; compounds
  keep at least 20 m and at least half the road width plus a setback clear of the centreline),
  one railway (京广铁路) in place of a north–south arterial and the river in place of an
  east–west one;
- each superblock is one 社区 and belongs to one 街道; 街道 are contiguous rectangles of
  superblocks, so street boundaries follow arterials (and the river);
- each superblock is cut into *blocks* by local lanes 3–15 m wide (the ``roads`` layer);
- each block is cut into 1–6 compounds that share walls exactly (identical coordinates,
  T-junctions included), as slightly slanted and jittered quadrilaterals;
- about 2.5 % of compounds stand alone more than 60 m from any other, and some blocks are
  left empty (schools, parks, factories).

Illegal structures (points and footprints, mostly inside compounds, about 7 % in lanes, a few
astride a shared wall, about 1 % far from every compound) and the gas network (municipal mains
in lanes and arterials, courtyard pipes entering each compound, overhead pipes, risers) are
overlaid, with attributes that follow the size and age of each compound.

The same ``n_compounds`` and ``seed`` give identical output. :func:`load_sample` reads the
bundled 200-compound district; :func:`spatialreno.sample.write_sample` writes a district as a
GeoPackage and as GBK shapefiles for QGIS/ArcGIS (``python -m spatialreno.sample OUT_DIR``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .. import schema
from ..errors import LayerReadError

__all__ = ["District", "sample_district", "load_sample", "read_district"]

CRS = "EPSG:4547"
KINDS: tuple[str, ...] = ("compounds", "illegal", "gas", "barriers", "admin", "roads")

#: south-west corner of the superblock grid (E, N in EPSG:4547), in 汉阳 near 墨水湖
_ORIGIN = (521_000.0, 3_378_500.0)
_HANYANG = ("420105", "汉阳区")
_JIANGHAN = ("420103", "江汉区")


# ======================================================================================
# the District container
# ======================================================================================
@dataclass(frozen=True, eq=False)
class District:
    """A synthetic district: one GeoDataFrame per layer, all in EPSG:4547.

    Attributes
    ----------
    compounds : GeoDataFrame indexed by ``compound_id`` (Polygon)
    illegal : GeoDataFrame indexed by ``structure_id`` (Point or Polygon)
    gas : GeoDataFrame indexed by ``segment_id`` (LineString)
    barriers : GeoDataFrame indexed by ``barrier_id`` (LineString; the river is a Polygon)
    admin : GeoDataFrame indexed by ``admin_code`` (the two districts and their 街道)
    roads : GeoDataFrame indexed by ``road_id`` (lane and compound-road centrelines)
    """

    compounds: gpd.GeoDataFrame
    illegal: gpd.GeoDataFrame
    gas: gpd.GeoDataFrame
    barriers: gpd.GeoDataFrame
    admin: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame

    @property
    def n_compounds(self) -> int:
        """Number of compounds."""
        return len(self.compounds)

    @property
    def crs(self):
        """The CRS shared by every layer (EPSG:4547)."""
        return self.compounds.crs

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers by kind: ``compounds, illegal, gas, barriers, admin, roads``."""
        return {kind: getattr(self, kind) for kind in KINDS}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{kind}={len(gdf)}" for kind, gdf in self.layers().items())
        return f"District({sizes}, crs={self.crs.to_string() if self.crs else None})"


# ======================================================================================
# vocabularies of names (realistic for Hanyang / Jianghan; all synthetic combinations)
# ======================================================================================
_CN_DIGITS = "零一二三四五六七八九"


def _cn_number(k: int) -> str:
    """Chinese numeral for 1 ≤ k ≤ 999 (一, 十二, 二十, 一百零五)."""
    if k < 10:
        return _CN_DIGITS[k]
    if k < 20:
        return "十" + (_CN_DIGITS[k % 10] if k % 10 else "")
    if k < 100:
        return _CN_DIGITS[k // 10] + "十" + (_CN_DIGITS[k % 10] if k % 10 else "")
    head = _CN_DIGITS[k // 100] + "百"
    rest = k % 100
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + _CN_DIGITS[rest]
    return head + (_CN_DIGITS[rest // 10] + "十" + (_CN_DIGITS[rest % 10] if rest % 10 else ""))


_CN_NUM = np.array([""] + [_cn_number(k) for k in range(1, 1000)], dtype=object)

_PLACES = {
    "420105": [
        "钟家村", "龟山", "月湖", "琴台", "晴川", "鹦鹉洲", "拦江堤", "五里墩", "七里庙", "十里铺",
        "王家湾", "玉龙", "墨水湖", "四新", "江堤", "永丰", "建港", "马沁", "翠微", "显正",
        "西大街", "腰路堤", "黄金口", "琴断口", "杨泗港", "归元", "郭茨口", "升官渡", "赫山",
        "洲头", "建桥", "芳草", "汉阳树", "铁桥", "莲花湖", "米粮山", "江欣苑", "知音",
        "龙阳", "三里坡", "五里新村", "夹河", "罗七", "陶家岭", "高公", "梅子山", "锦绣",
    ],
    "420103": [
        "花楼", "水塔", "民权", "满春", "前进", "新华", "万松", "唐家墩", "北湖", "常青",
        "汉兴", "红旗渠", "菱角湖", "杨汊湖", "贺家墩", "姑嫂树", "单洞", "西北湖", "取水楼",
        "大兴", "民意", "友谊", "生成里", "三眼桥", "新湾", "青年", "红旗", "复兴", "建设",
        "球场", "航空", "硚口", "中山", "六角亭", "自治", "天门墩", "后湖", "武展", "新村",
    ],
}
_STREETS = {
    "420105": [
        "建桥街道", "鹦鹉街道", "洲头街道", "五里墩街道", "琴断口街道", "江汉二桥街道",
        "永丰街道", "晴川街道", "四新街道", "龙阳街道", "江堤街道",
    ],
    "420103": [
        "民族街道", "花楼街道", "水塔街道", "民权街道", "满春街道", "民意街道", "新华街道",
        "万松街道", "唐家墩街道", "北湖街道", "前进街道", "常青街道", "汉兴街道",
    ],
}
# east–west arterials, nearest the river first
_ARTERIALS_EW = {
    "420105": ["汉阳大道", "琴台大道", "鹦鹉大道", "龙阳大道", "墨水湖北路", "四新大道", "江城大道",
               "拦江路", "建港路", "汉阳大街"],
    "420103": ["沿河大道", "中山大道", "京汉大道", "解放大道", "建设大道", "发展大道", "唐家墩路",
               "常青路", "姑嫂树路", "新华下路"],
}
_ARTERIALS_NS = [
    "马沁路", "芳草路", "翠微路", "五里墩路", "知音湖大道", "江汉二桥路", "鹦鹉洲路",
    "新华路", "青年路", "香港路", "菱角湖路", "红旗渠路", "杨汊湖路", "发展二路",
]
_ROAD_SUFFIXES = ("路", "大道", "大街", "北路", "南路", "东路", "西路", "一路", "二路", "三路")
_UNITS = [
    "汉阳造纸厂", "汉阳特钢", "国棉一厂", "国棉二厂", "汉阳钢厂", "鹦鹉磁带厂", "汉阳轧钢厂",
    "武汉肉联厂", "汉阳机械厂", "长江航运局", "武汉铁路分局", "汉阳区教育局", "汉阳医院",
    "武汉电车公司", "汉阳锅炉厂", "武汉电池厂", "汉阳百货", "武汉卷烟厂", "武汉柴油机厂",
    "武汉电缆厂", "汉阳粮食局", "武汉供电局", "江汉区房管所", "武汉无线电厂", "武汉冷冻厂",
    "武汉第五医院", "汉阳运输公司", "武汉化工厂", "武汉油脂厂", "江汉区商业局",
]
_UNIT_SUFFIXES = np.array(["宿舍", "家属院", "职工宿舍", "宿舍区", "生活区"], dtype=object)
_ESTATES = np.array(
    ["小区", "花园", "新村", "东苑", "西苑", "里", "新苑", "公寓", "小区东区", "小区西区"],
    dtype=object,
)
_SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"), dtype=object)
_GIVEN = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉凤文辉海燕波斌宁春梅林琴云鹏飞俊峰德新荣"), dtype=object)


def _unique_names(first: list[str], places: list[str], suffixes: tuple[str, ...], k: int) -> list[str]:
    """The first ``k`` distinct names: ``first`` then place + suffix combinations."""
    out = dict.fromkeys(first)
    if len(out) < k:
        for suffix in suffixes:
            for place in places:
                out.setdefault(place + suffix)
                if len(out) >= k:
                    break
            if len(out) >= k:
                break
    n_out = len(out)
    names = list(out)[:k]
    extra = 2
    while n_out < k:  # beyond every combination: numbered names
        names.append(f"{places[n_out % len(places)]}{_CN_NUM[extra]}{suffixes[0]}")
        n_out += 1
        extra = extra + 1 if extra < 999 else 2
    return names


def _choice(rng: np.random.Generator, items, size, p=None) -> np.ndarray:
    """``rng.choice`` over a list of labels, as an object array."""
    items = np.asarray(items, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return items[rng.choice(len(items), size=size, p=p)]


def _to_str(values: np.ndarray, width: int = 0) -> np.ndarray:
    """Integers as strings (zero-padded to ``width``), as an object array."""
    fmt = f"{{:0{width}d}}" if width else "{:d}"
    return np.array([fmt.format(v) for v in np.asarray(values, dtype=np.int64).tolist()], dtype=object)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + 1-based sequence numbers, zero-padded to ``width`` digits (more if needed)."""
    fmt = f"{prefix}{{:0{width}d}}"
    return np.array([fmt.format(v) for v in range(1, n + 1)], dtype=object)


# ======================================================================================
# block templates: how a block is cut into compounds
# ======================================================================================
# A block is a (ncol × nrow) grid of cells whose vertices V[i, j] are computed once per
# block, so compounds that share a wall share its coordinates exactly. A slot is a compound
# spanning cells (i0..i1) × (j0..j1); merged slots make T-junctions (the neighbour's vertex
# lies on the merged wall without being one of its vertices; the wall is kept exactly
# vertical there so the contact is exact). ``side`` is the block side the compound faces
# (0 bottom, 1 right, 2 top, 3 left): its gas connection enters from there.
# Walls: (slot a, slot b, vertex p, vertex q) with p–q on the shared boundary.
@dataclass(frozen=True)
class _Template:
    ncol: int
    nrow: int
    slots: tuple[tuple[int, int, int, int, int], ...]
    walls: tuple[tuple[int, int, tuple[int, int], tuple[int, int]], ...]
    merged: bool
    weight: float


def _grid_template(ncol: int, nrow: int, weight: float) -> _Template:
    slots, walls = [], []
    index = {}
    for j in range(nrow):
        for i in range(ncol):
            index[i, j] = len(slots)
            slots.append((i, j, i + 1, j + 1, 0 if j == 0 else 2))
    for j in range(nrow):
        for i in range(ncol - 1):
            walls.append((index[i, j], index[i + 1, j], (i + 1, j), (i + 1, j + 1)))
    for j in range(nrow - 1):
        for i in range(ncol):
            walls.append((index[i, j], index[i, j + 1], (i, j + 1), (i + 1, j + 1)))
    return _Template(ncol, nrow, tuple(slots), tuple(walls), False, weight)


_TEMPLATES: tuple[_Template, ...] = (
    _grid_template(1, 1, 0.08),
    _grid_template(2, 1, 0.15),
    _grid_template(1, 2, 0.14),
    _grid_template(2, 2, 0.18),
    # left column merged: T-junction at V[1, 1]
    _Template(2, 2, ((0, 0, 1, 2, 3), (1, 0, 2, 1, 0), (1, 1, 2, 2, 2)),
              ((0, 1, (1, 0), (1, 1)), (0, 2, (1, 1), (1, 2)), (1, 2, (1, 1), (2, 1))), True, 0.09),
    # right column merged
    _Template(2, 2, ((0, 0, 1, 1, 0), (0, 1, 1, 2, 2), (1, 0, 2, 2, 1)),
              ((0, 2, (1, 0), (1, 1)), (1, 2, (1, 1), (1, 2)), (0, 1, (0, 1), (1, 1))), True, 0.06),
    _grid_template(3, 1, 0.10),
    _grid_template(3, 2, 0.08),
    # middle column merged: two T-junctions
    _Template(3, 2, ((0, 0, 1, 1, 0), (0, 1, 1, 2, 2), (1, 0, 2, 2, 0), (2, 0, 3, 1, 0), (2, 1, 3, 2, 2)),
              ((0, 2, (1, 0), (1, 1)), (1, 2, (1, 1), (1, 2)), (2, 3, (2, 0), (2, 1)),
               (2, 4, (2, 1), (2, 2)), (0, 1, (0, 1), (1, 1)), (3, 4, (2, 1), (3, 1))), True, 0.09),
)
_T_ISOLATED = len(_TEMPLATES)      # one small compound in the middle of the block
_T_EMPTY = len(_TEMPLATES) + 1     # no compound (school, park, factory)
_MAX_SLOTS = max(len(t.slots) for t in _TEMPLATES)


# ======================================================================================
# layout: superblocks, gaps, blocks
# ======================================================================================
@dataclass
class _Layout:
    sc: int
    sr: int
    river_gap: int                 # index of the horizontal gap holding the river
    rail_gap: int                  # index of the vertical gap holding the railway
    gx: np.ndarray                 # centre x of vertical gaps (sc + 1)
    gy: np.ndarray                 # centre y of horizontal gaps (sr + 1)
    hx: np.ndarray                 # half-width of vertical gaps
    hy: np.ndarray
    wx: np.ndarray                 # barrier width of vertical gaps (road/rail corridor)
    wy: np.ndarray
    ix0: np.ndarray                # interior of superblock columns / rows
    ix1: np.ndarray
    iy0: np.ndarray
    iy1: np.ndarray
    river: dict


def _grid_shape(n_sb: int) -> tuple[int, int]:
    """Columns and rows of the superblock grid: product just above ``n_sb``, about 4:3.

    At least 2 × 2 (the river needs a row on each side), at least 3 rows from 6 superblocks.
    """
    min_rows = 3 if n_sb >= 6 else 2
    best = None
    for sr in range(min_rows, max(min_rows, int(np.sqrt(n_sb))) + 2):
        sc = max(2, int(np.ceil(n_sb / sr)))
        aspect = sc / sr
        if not 0.95 <= aspect <= 2.0:
            continue
        key = (round((sc * sr - n_sb) / n_sb, 2), abs(aspect - 1.35))
        if best is None or key < best[0]:
            best = (key, sc, sr)
    if best is None:
        sr = max(min_rows, int(round(np.sqrt(n_sb / 1.35))))
        return max(2, int(np.ceil(n_sb / sr))), sr
    return best[1], best[2]


def _make_layout(n_sb: int, rng: np.random.Generator) -> _Layout:
    sc, sr = _grid_shape(n_sb)
    river_gap = max(1, min(sr - 1, int(round(sr * 0.55))))
    rail_gap = max(1, min(sc - 1, int(round(sc * 0.7))))
    # vertical gaps: arterials (30–50 m) except the railway
    wx = np.round(rng.uniform(30, 50, sc + 1) / 2) * 2
    sbx = rng.uniform(4, 10, sc + 1)
    hx = np.maximum(wx / 2 + sbx, 20.0 + sbx / 2)
    wx[rail_gap] = round(float(rng.uniform(20, 30)), 1)
    hx[rail_gap] = wx[rail_gap] / 2 + rng.uniform(12, 25)
    wy = np.round(rng.uniform(30, 50, sr + 1) / 2) * 2
    sby = rng.uniform(4, 10, sr + 1)
    hy = np.maximum(wy / 2 + sby, 20.0 + sby / 2)
    river_w = round(float(rng.uniform(180, 260)), 1)
    river_amp = float(rng.uniform(20, 45))
    wy[river_gap] = river_w
    hy[river_gap] = river_w / 2 + river_amp + rng.uniform(15, 40)
    # superblock interiors
    cw = rng.uniform(340, 560, sc)
    rh = rng.uniform(330, 540, sr)
    x0, y0 = _ORIGIN
    gx = np.empty(sc + 1)
    gx[0] = x0
    gx[1:] = x0 + np.cumsum(hx[:-1] + cw + hx[1:])
    gy = np.empty(sr + 1)
    gy[0] = y0
    gy[1:] = y0 + np.cumsum(hy[:-1] + rh + hy[1:])
    ix0 = gx[:-1] + hx[:-1]
    iy0 = gy[:-1] + hy[:-1]
    river = {
        "y": float(gy[river_gap]),
        "width": river_w,
        "amp": river_amp,
        "wavelength": float(rng.uniform(1500, 3200)),
        "phase": float(rng.uniform(0, 2 * np.pi)),
    }
    return _Layout(sc, sr, river_gap, rail_gap, gx, gy, hx, hy, wx, wy,
                   ix0, ix0 + cw, iy0, iy0 + rh, river)


def _partition(total: np.ndarray, counts: np.ndarray, rng: np.random.Generator, lo: float, hi: float):
    """Cut each length ``total[s]`` into ``counts[s]`` (≤ 4) parts separated by lanes.

    Returns (start offsets (S, 4), part lengths (S, 4), lane widths (S, 4)); entries beyond
    the count are meaningless. Lane ``k`` separates part ``k`` from part ``k + 1``.
    """
    s = len(total)
    k = np.arange(4)
    lanes = rng.uniform(lo, hi, (s, 4))
    lanes[k[None, :] >= counts[:, None] - 1] = 0.0
    weights = rng.uniform(0.78, 1.22, (s, 4))
    weights[k[None, :] >= counts[:, None]] = 0.0
    avail = total - lanes.sum(axis=1)
    parts = avail[:, None] * weights / weights.sum(axis=1, keepdims=True)
    step = parts + lanes
    start = np.cumsum(step, axis=1) - step
    return start, parts, lanes


# ======================================================================================
# the generator
# ======================================================================================
def sample_district(n_compounds: int = 200, *, seed: int | None = 0) -> District:
    """A deterministic synthetic old-city district near Wuhan (汉阳区 and 江汉区), EPSG:4547.

    Parameters
    ----------
    n_compounds : int, default 200
        Exact number of compounds (小区). 200 compounds hold about 30–45 thousand
        households in 4–8 街道; larger districts get more 街道. 200 000 takes well under
        a minute.
    seed : int or None, default 0
        Seed of the numpy random generator; the same ``n_compounds`` and ``seed`` give
        identical layers.

    Returns
    -------
    District
        Frozen container of six GeoDataFrames (``compounds``, ``illegal``, ``gas``,
        ``barriers``, ``admin``, ``roads``) with canonical column names from
        :mod:`spatialreno.schema` and their ids as index.

    Raises
    ------
    ValueError
        If ``n_compounds`` is not a positive integer.

    Examples
    --------
    >>> from spatialreno.datasets import sample_district
    >>> d = sample_district(50, seed=1)
    >>> d.n_compounds, d.compounds.index.name, d.compounds.crs.to_epsg()
    (50, 'compound_id', 4547)
    >>> sorted(d.layers())
    ['admin', 'barriers', 'compounds', 'gas', 'illegal', 'roads']
    """
    if isinstance(n_compounds, bool) or not isinstance(n_compounds, (int, np.integer)):
        raise ValueError(f"n_compounds must be a positive integer, got {n_compounds!r}")
    n = int(n_compounds)
    if n < 1:
        raise ValueError(f"n_compounds must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    n_iso = max(1, int(round(0.025 * n))) if n >= 20 else 0

    # size the grid so that its capacity is a little above n: the surplus becomes empty
    # blocks (schools, parks) and a few single empty plots
    n_sb = max(4, int(np.ceil(n * 1.1 / 20.0)))
    attempt = 0
    while True:     # a few rounds at most; stops once the capacity is enough
        layout = _make_layout(n_sb, rng)
        blocks = _make_blocks(layout, n_iso, rng)
        ratio = blocks["capacity"] / n
        enough = blocks["capacity"] >= n and blocks["n_isolated"] >= n_iso
        smallest = layout.sc * layout.sr <= 4
        if enough and (ratio <= 1.22 or smallest or attempt >= 8):
            break
        per_sb = blocks["capacity"] / (layout.sc * layout.sr)
        n_sb = max(4, int(np.ceil(n * 1.08 / per_sb)) + (0 if enough else 1 + attempt))
        attempt += 1
    streets = _make_streets(layout, n, rng)
    comp = _make_compounds(layout, blocks, streets, n, rng)
    barriers = _make_barriers(layout)
    admin = _make_admin(layout, streets)
    lanes = _make_lanes(layout, blocks)
    roads = _make_roads(lanes, comp, rng)
    illegal = _make_illegal(layout, comp, lanes, rng)
    gas = _make_gas(layout, blocks, comp, lanes, rng)
    return District(
        compounds=comp["gdf"], illegal=illegal, gas=gas, barriers=barriers, admin=admin,
        roads=roads,
    )


def _make_blocks(layout: _Layout, n_iso: int, rng: np.random.Generator) -> dict:
    """Blocks of every superblock, their templates, vertex grids and compound polygons.

    The steps draw from ``rng`` in a fixed order (grid, templates, vertices, slots), so the
    same seed gives the same district."""
    g = _block_grid(layout, rng)
    clear4, jmax = _block_clearances(layout, g)
    tpl, n_isolated = _block_templates(g, n_iso, rng)
    vx, vy = _vertex_grids(g, tpl, jmax, rng)
    slot_b, slot_k, corners, side = _compound_slots(g, tpl, vx, vy, rng)
    return {
        **{k: g[k] for k in ("n_sb", "sb_c", "sb_r", "bc", "br", "xs", "xw", "xl", "ys", "yh",
                             "yl", "b_sb", "bx0", "bx1", "by0", "by1")},
        "tpl": tpl, "vx": vx, "vy": vy, "clear4": clear4,
        "slot_b": slot_b, "slot_k": slot_k, "corners": corners, "side": side,
        "isolated": tpl[slot_b] == _T_ISOLATED,
        "capacity": len(slot_b), "n_isolated": n_isolated,
    }


def _block_grid(layout: _Layout, rng: np.random.Generator) -> dict:
    """Superblocks cut into 2–4 × 2–4 blocks by lanes: their positions and sizes."""
    sc, sr = layout.sc, layout.sr
    n_sb = sc * sr
    sb_c = np.tile(np.arange(sc), sr)          # superblock s = r * sc + c
    sb_r = np.repeat(np.arange(sr), sc)
    w = (layout.ix1 - layout.ix0)[sb_c]
    h = (layout.iy1 - layout.iy0)[sb_r]
    bc = np.clip(np.round(w / rng.uniform(130, 172, n_sb)), 2, 4).astype(np.int64)
    br = np.clip(np.round(h / rng.uniform(130, 172, n_sb)), 2, 4).astype(np.int64)
    xs, xw, xl = _partition(w, bc, rng, 3.0, 13.0)
    ys, yh, yl = _partition(h, br, rng, 3.0, 13.0)

    nb = bc * br
    B = int(nb.sum())
    b_sb = np.repeat(np.arange(n_sb), nb)
    local = np.arange(B) - np.repeat(np.cumsum(nb) - nb, nb)
    b_i = local % bc[b_sb]
    b_j = local // bc[b_sb]
    bx0 = layout.ix0[sb_c[b_sb]] + xs[b_sb, b_i]
    bx1 = bx0 + xw[b_sb, b_i]
    by0 = layout.iy0[sb_r[b_sb]] + ys[b_sb, b_j]
    by1 = by0 + yh[b_sb, b_j]

    return {"n_sb": n_sb, "sb_c": sb_c, "sb_r": sb_r, "bc": bc, "br": br, "xs": xs, "xw": xw,
            "xl": xl, "ys": ys, "yh": yh, "yl": yl, "nb": nb, "B": B, "b_sb": b_sb,
            "b_i": b_i, "b_j": b_j, "bx0": bx0, "bx1": bx1, "by0": by0, "by1": by1}


def _block_clearances(layout: _Layout, g: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per block side: the clearance for gas connections, and the inward jitter allowed."""
    b_sb, b_i, b_j, bc, br = g["b_sb"], g["b_i"], g["b_j"], g["bc"], g["br"]
    xl, yl, sb_c, sb_r = g["xl"], g["yl"], g["sb_c"], g["sb_r"]
    # lane width on each side of a block (0 on the superblock edge)
    lane_l = np.where(b_i > 0, xl[b_sb, np.maximum(b_i - 1, 0)], 0.0)
    lane_r = np.where(b_i < bc[b_sb] - 1, xl[b_sb, b_i], 0.0)
    lane_b = np.where(b_j > 0, yl[b_sb, np.maximum(b_j - 1, 0)], 0.0)
    lane_t = np.where(b_j < br[b_sb] - 1, yl[b_sb, b_j], 0.0)
    lanes4 = np.stack([lane_b, lane_r, lane_t, lane_l], axis=1)
    # outward clearance for gas connections: to the lane centre, or into the arterial
    # corridor as far as its main (3 m inside the road edge)
    c, r = sb_c[b_sb], sb_r[b_sb]
    edge_clear = np.stack([
        layout.hy[r] - layout.wy[r] / 2 + 3,
        layout.hx[c + 1] - layout.wx[c + 1] / 2 + 3,
        layout.hy[r + 1] - layout.wy[r + 1] / 2 + 3,
        layout.hx[c] - layout.wx[c] / 2 + 3,
    ], axis=1)
    is_special = np.stack([
        r == layout.river_gap, c + 1 == layout.rail_gap, r + 1 == layout.river_gap, c == layout.rail_gap,
    ], axis=1)
    edge_clear = np.where(is_special, 4.0, edge_clear)
    clear4 = np.where(lanes4 > 0, lanes4 / 2, edge_clear)
    # inward jitter of outer vertices keeps every lane gap within 3–15 m
    jmax = np.clip((15.0 - np.where(lanes4 > 0, lanes4, 0.0).max(axis=1)) / 2, 0.0, 4.0)

    return clear4, jmax


def _block_templates(g: dict, n_iso: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A compound template per block; isolated compounds in corner blocks with empty
    neighbours."""
    B, bx0, bx1, by0, by1 = g["B"], g["bx0"], g["bx1"], g["by0"], g["by1"]
    n_sb, bc, br, nb = g["n_sb"], g["bc"], g["br"], g["nb"]
    weights = np.array([t.weight for t in _TEMPLATES])
    tpl = rng.choice(len(_TEMPLATES), size=B, p=weights / weights.sum())
    # long thin blocks prefer three columns or rows
    aspect = (bx1 - bx0) / (by1 - by0)
    tpl = np.where((aspect > 1.45) & np.isin(tpl, [0, 2]), 6, tpl)
    # isolated compounds: in a corner block of a superblock, whose neighbours stay empty
    iso_sb = np.sort(rng.choice(n_sb, size=min(n_iso, n_sb), replace=False)) if n_iso else np.array([], int)
    n_isolated = len(iso_sb)
    if n_isolated:
        ci = rng.integers(0, 2, n_isolated)     # 0 left, 1 right
        cj = rng.integers(0, 2, n_isolated)     # 0 bottom, 1 top
        ii = np.where(ci == 0, 0, bc[iso_sb] - 1)
        jj = np.where(cj == 0, 0, br[iso_sb] - 1)
        di = np.where(ci == 0, 1, -1)
        dj = np.where(cj == 0, 1, -1)
        first = np.cumsum(nb) - nb
        corner = first[iso_sb] + jj * bc[iso_sb] + ii
        empties = np.concatenate([
            first[iso_sb] + jj * bc[iso_sb] + ii + di,
            first[iso_sb] + (jj + dj) * bc[iso_sb] + ii,
            first[iso_sb] + (jj + dj) * bc[iso_sb] + ii + di,
        ])
        tpl[empties] = _T_EMPTY
        tpl[corner] = _T_ISOLATED

    return tpl, n_isolated


def _vertex_grids(g: dict, tpl: np.ndarray, jmax: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Vertex grids ``V[b, i, j]`` (i ≤ 3, j ≤ 2) of slightly slanted, jittered walls."""
    B, bx0, bx1, by0, by1 = g["B"], g["bx0"], g["bx1"], g["by0"], g["by1"]
    ncol = np.array([t.ncol for t in _TEMPLATES] + [1, 1])[tpl]
    nrow = np.array([t.nrow for t in _TEMPLATES] + [1, 1])[tpl]
    merged = np.array([t.merged for t in _TEMPLATES] + [False, False])[tpl]
    bw = bx1 - bx0
    bh = by1 - by0
    col_i = np.arange(4)[None, :]
    row_j = np.arange(3)[None, :]
    xline = bx0[:, None] + bw[:, None] * (col_i / ncol[:, None] + rng.uniform(-0.04, 0.04, (B, 4)))
    yline = by0[:, None] + bh[:, None] * (row_j / nrow[:, None] + rng.uniform(-0.08, 0.08, (B, 3)))
    slope_x = np.where(merged[:, None], 0.0, rng.uniform(-0.03, 0.03, (B, 4)))
    slope_y = rng.uniform(-0.04, 0.04, (B, 3))
    out_i = (col_i == 0) | (ncol[:, None] == col_i)                      # (B, 4)
    out_j = (row_j == 0) | (nrow[:, None] == row_j)                      # (B, 3)
    slope_x = np.where(out_i, 0.0, slope_x)
    slope_y = np.where(out_j, 0.0, slope_y)
    jx = rng.uniform(0, 1, (B, 4, 3)) * jmax[:, None, None]
    jy = rng.uniform(0, 1, (B, 4, 3)) * jmax[:, None, None]
    x_out = np.where(col_i[:, :, None] == 0, bx0[:, None, None] + jx, bx1[:, None, None] - jx)
    y_out = np.where(row_j[:, None, :] == 0, by0[:, None, None] + jy, by1[:, None, None] - jy)
    xl_, sx_ = xline[:, :, None], slope_x[:, :, None]
    yl_, sy_ = yline[:, None, :], slope_y[:, None, :]
    b0x, b0y = bx0[:, None, None], by0[:, None, None]
    # interior × interior: intersection of the two slanted lines
    y_ii = (yl_ + sy_ * (xl_ - sx_ * b0y - b0x)) / (1.0 - sy_ * sx_)
    x_ii = xl_ + sx_ * (y_ii - b0y)
    oi, oj = out_i[:, :, None], out_j[:, None, :]
    vy = np.where(oj, y_out, np.where(oi, yl_ + sy_ * (x_out - b0x), y_ii))
    vx = np.where(oi, x_out, np.where(oj, xl_ + sx_ * (vy - b0y), x_ii))

    return vx, vy


def _compound_slots(g: dict, tpl: np.ndarray, vx: np.ndarray, vy: np.ndarray,
                    rng: np.random.Generator):
    """The compound quadrilaterals of every block (by template), sorted by block and slot."""
    bx0, bx1, by0, by1 = g["bx0"], g["bx1"], g["by0"], g["by1"]
    bw = bx1 - bx0
    bh = by1 - by0
    # compound slots
    slot_b, slot_k, corners, side = [], [], [], []
    for t_index, tmpl in enumerate(_TEMPLATES):
        bsel = np.flatnonzero(tpl == t_index)
        if not len(bsel):
            continue
        for k, (i0, j0, i1, j1, sd) in enumerate(tmpl.slots):
            quad = np.stack([
                np.stack([vx[bsel, a, b], vy[bsel, a, b]], axis=1)
                for a, b in ((i0, j0), (i1, j0), (i1, j1), (i0, j1))
            ], axis=1)
            slot_b.append(bsel)
            slot_k.append(np.full(len(bsel), k))
            corners.append(quad)
            side.append(np.full(len(bsel), sd))
    bsel = np.flatnonzero(tpl == _T_ISOLATED)
    if len(bsel):
        cx = (bx0[bsel] + bx1[bsel]) / 2
        cy = (by0[bsel] + by1[bsel]) / 2
        half = np.clip(np.minimum(bw[bsel], bh[bsel]) / 2 - 32.0, 14.0, 30.0)
        hw = half * rng.uniform(0.8, 1.0, len(bsel))
        hh = half * rng.uniform(0.8, 1.0, len(bsel))
        jit = rng.uniform(-1.5, 1.5, (len(bsel), 4, 2))
        quad = np.stack([
            np.stack([cx - hw, cy - hh], axis=1), np.stack([cx + hw, cy - hh], axis=1),
            np.stack([cx + hw, cy + hh], axis=1), np.stack([cx - hw, cy + hh], axis=1),
        ], axis=1) + jit
        slot_b.append(bsel)
        slot_k.append(np.zeros(len(bsel), dtype=np.int64))
        corners.append(quad)
        side.append(rng.integers(0, 4, len(bsel)))
    slot_b = np.concatenate(slot_b)
    slot_k = np.concatenate(slot_k)
    corners = np.concatenate(corners)
    side = np.concatenate(side)
    order = np.lexsort((slot_k, slot_b))
    slot_b, slot_k, corners, side = slot_b[order], slot_k[order], corners[order], side[order]
    return slot_b, slot_k, corners, side


def _choose_kept(blocks: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """Which compound slots to keep so that exactly ``n`` remain.

    About 60 % of the surplus is removed as whole blocks (schools, parks, markets), the rest
    as single compounds from blocks of three or more, one per block, so that no compound
    is left alone by accident (the isolated ones are made on purpose in _make_blocks).
    """
    cap = blocks["capacity"]
    keep = np.ones(cap, dtype=bool)
    excess = cap - n
    if excess <= 0:
        return keep
    slot_b = blocks["slot_b"]
    tpl = blocks["tpl"]
    n_slots = np.bincount(slot_b, minlength=len(tpl))
    # whole blocks
    cand = np.flatnonzero((tpl < _T_ISOLATED) & (n_slots > 0))
    cand = cand[rng.permutation(len(cand))]
    fits = np.cumsum(n_slots[cand]) <= int(excess * 0.6)
    drop_blocks = cand[fits]
    dropped = np.isin(slot_b, drop_blocks)
    keep[dropped] = False
    rest = excess - int(dropped.sum())
    # single compounds, one per block of ≥ 3
    multi = np.flatnonzero((n_slots >= 3) & (tpl < _T_ISOLATED))
    multi = multi[~np.isin(multi, drop_blocks)]
    multi = multi[rng.permutation(len(multi))][:rest]
    first = np.searchsorted(slot_b, multi)
    pick = first + (rng.random(len(multi)) * n_slots[multi]).astype(np.int64)
    keep[pick] = False
    rest -= len(pick)
    if rest > 0:   # small districts: anything but the isolated compounds
        cand = np.flatnonzero(keep & ~blocks["isolated"])
        keep[rng.choice(cand, rest, replace=False)] = False
    return keep


def _make_streets(layout: _Layout, n: int, rng: np.random.Generator) -> dict:
    """Contiguous rectangles of superblocks per district, one 街道 each."""
    sc, sr, rg = layout.sc, layout.sr, layout.river_gap
    total = int(np.clip(round(6 * np.sqrt(n / 200)), 4, 1900))
    rows = {"420105": (0, rg), "420103": (rg, sr)}
    n_sb = sc * sr
    sb_street = np.empty(n_sb, dtype=np.int64)
    tiles = []   # (adcode, c0, c1, r0, r1)
    for adcode, (r0, r1) in rows.items():
        nr = r1 - r0
        k = max(1, int(round(total * nr / sr)))
        kc = int(max(1, min(sc, k, round(np.sqrt(k * sc / nr)))))
        kr = int(max(1, min(nr, k // kc)))
        cb = np.concatenate([[0], np.sort(rng.choice(np.arange(1, sc), kc - 1, replace=False)), [sc]])
        rb = np.concatenate([[0], np.sort(rng.choice(np.arange(1, nr), kr - 1, replace=False)), [nr]]) + r0
        for a in range(kr):
            for b in range(kc):
                tiles.append((adcode, int(cb[b]), int(cb[b + 1]), int(rb[a]), int(rb[a + 1])))
    for t, (_, c0, c1, r0, r1) in enumerate(tiles):
        for r in range(r0, r1):
            sb_street[r * sc + c0: r * sc + c1] = t
    # names and codes
    names, codes, adcodes = [], [], []
    for adcode in ("420105", "420103"):
        mine = [t for t in tiles if t[0] == adcode]
        street_names = _unique_names(
            _STREETS[adcode], _PLACES[adcode], ("街道", "东街道", "西街道", "南街道", "北街道"), len(mine)
        )
        for k, _ in enumerate(mine):
            names.append(street_names[k])
            codes.append(f"{adcode}{k + 1:03d}000")
            adcodes.append(adcode)
    # tiles are in district order 420105 then 420103 already
    return {"tiles": tiles, "sb_street": sb_street, "names": names, "codes": codes, "adcodes": adcodes}


def _river_line(layout: _Layout, x: np.ndarray) -> np.ndarray:
    rv = layout.river
    return rv["y"] + rv["amp"] * np.sin(2 * np.pi * (x - _ORIGIN[0]) / rv["wavelength"] + rv["phase"])


def _make_compounds(layout: _Layout, blocks: dict, streets: dict, n: int, rng: np.random.Generator) -> dict:
    """The ``n`` compounds: which slots are kept and their order and ids, then communities,
    names and addresses, then attributes consistent with size and age (drawn in that order)."""
    idx, slot_b, sb, street, corners, geom, adcode, district, cid = _compound_slots_kept(
        blocks, streets, n, rng)
    sb_place, sb_comm, sb_road = _communities(layout, blocks, rng)
    name, address, pattern = _compound_names(sb_place, sb_road, sb, district, n, rng)
    a = _compound_attributes(geom, blocks["n_sb"], sb, pattern, n, rng)
    site, year, households, buildings, has_gas = (a["site"], a["year"], a["households"],
                                                  a["buildings"], a["has_gas"])
    data = {
        "name": name, "adcode": adcode, "district": district,
        "street": np.asarray(streets["names"], dtype=object)[street],
        "community": sb_comm[sb], "address": address,
        "build_year": year, "buildings": buildings, "units": a["units"],
        "households": households, "floor_area_m2": a["gfa"], "max_floors": a["floors"],
        "elevators": a["elevators"], "elevators_planned": a["planned"],
        "property_type": a["prop_type"], "management": a["management"],
        "has_pipe_gas": has_gas, "renovation_class": a["renov_class"],
        "renovation_status": a["renov_status"],
        "plan_year": pd.array(np.where(a["plan_year"] < 0, pd.NA, a["plan_year"]), dtype="Int64"),
        "contract_type": a["contract"], "consent_pct": a["consent"],
        "source": np.full(n, "示例数据(合成)", dtype=object),
    }
    gdf = _frame("compounds", data, geom, cid)
    return {
        "gdf": gdf, "geom": geom, "corners": corners, "side": blocks["side"][idx],
        "block": slot_b, "slot_index": idx, "sb": sb, "year": year, "households": households,
        "buildings": buildings, "has_gas": has_gas.astype(bool), "site": site,
        "address": address, "name": name, "district": district,
        "isolated": blocks["isolated"][idx], "slot_k": blocks["slot_k"][idx],
        "tpl": blocks["tpl"], "vx": blocks["vx"], "vy": blocks["vy"],
    }



def _compound_slots_kept(blocks: dict, streets: dict, n: int, rng: np.random.Generator):
    """The kept slots in id order (district, street, superblock, block, slot) and their ids."""
    keep = _choose_kept(blocks, n, rng)
    idx = np.flatnonzero(keep)
    slot_b = blocks["slot_b"][idx]
    sb = blocks["b_sb"][slot_b]
    street = streets["sb_street"][sb]
    # order: district (汉阳 first), street, superblock, block, slot
    order = np.lexsort((blocks["slot_k"][idx], slot_b, sb, street))
    idx, slot_b, sb, street = idx[order], slot_b[order], sb[order], street[order]
    corners = blocks["corners"][idx]
    geom = shapely.polygons(corners)
    adcode = np.asarray(streets["adcodes"], dtype=object)[street]
    is_hy = adcode == "420105"
    district = np.where(is_hy, _HANYANG[1], _JIANGHAN[1]).astype(object)
    seq = np.empty(n, dtype=np.int64)
    seq[is_hy] = np.arange(1, is_hy.sum() + 1)
    seq[~is_hy] = np.arange(1, (~is_hy).sum() + 1)
    cid = adcode + "-" + _to_str(seq, 4)

    return idx, slot_b, sb, street, corners, geom, adcode, district, cid


def _communities(layout: _Layout, blocks: dict, rng: np.random.Generator):
    """One 社区 per superblock, named after a place of its district, and the road its
    addresses are on."""
    n_sb = blocks["n_sb"]
    sb_ad = np.where(blocks["sb_r"] < layout.river_gap, "420105", "420103")
    sb_place = np.empty(n_sb, dtype=object)
    sb_round = np.zeros(n_sb, dtype=np.int64)
    for ad in ("420105", "420103"):
        sel = np.flatnonzero(sb_ad == ad)
        places = np.asarray(_PLACES[ad], dtype=object)[rng.permutation(len(_PLACES[ad]))]
        sb_place[sel] = places[np.arange(len(sel)) % len(places)]
        sb_round[sel] = np.arange(len(sel)) // len(places)
    sb_comm = sb_place + np.where(sb_round > 0, _CN_NUM[np.minimum(sb_round + 1, 999)], "") + "社区"
    # the road each superblock's addresses are on: its southern arterial, else northern
    names_ew = _arterial_names(layout)["ew"]
    r = blocks["sb_r"]
    sb_road = np.where(r != layout.river_gap, names_ew[r], names_ew[r + 1])

    return sb_place, sb_comm, sb_road


def _compound_names(sb_place, sb_road, sb, district, n: int, rng: np.random.Generator):
    """Names (place + number, work-unit dormitories, road + house number, estates; repeats
    get 二期, 三期, ...) and addresses."""
    place = sb_place[sb]
    road = sb_road[sb].astype(object)
    rank = pd.Series(sb).groupby(sb).cumcount().to_numpy() + 1
    house_no = rng.integers(1, 400, n)
    pattern = rng.choice(4, size=n, p=[0.45, 0.2, 0.2, 0.15])
    unit = _choice(rng, _UNITS, n)
    name = np.where(
        pattern == 0, place + _CN_NUM[np.minimum(rank, 999)] + "小区",
        np.where(pattern == 1, unit + _choice(rng, _UNIT_SUFFIXES, n),
                 np.where(pattern == 2, road + _to_str(house_no) + "号院",
                          place + _choice(rng, _ESTATES, n))),
    ).astype(object)
    dup = pd.Series(name).groupby(name).cumcount().to_numpy()
    name = np.where(dup > 0, name + _CN_NUM[np.minimum(dup + 1, 999)] + "期", name)
    address = "武汉市" + district + road + _to_str(house_no) + "号"

    return name, address, pattern


def _compound_attributes(geom, n_sb: int, sb, pattern, n: int, rng: np.random.Generator) -> dict:
    """Build year, floors, floor area, households, buildings, lifts, gas, renovation class and
    status, consent, property type, management and contract type."""
    site = shapely.area(geom)
    sb_year = rng.uniform(1976, 1997, n_sb)
    year = np.clip(np.round(sb_year[sb] + rng.normal(0, 4.5, n)), 1975, 2000)
    late = rng.random(n) < 0.05
    year = np.where(late, rng.integers(2001, 2006, n), year).astype(np.int64)
    high = (rng.random(n) < np.where(year >= 1992, 0.16, 0.03))
    floors = np.where(high, rng.integers(9, 19, n), rng.choice([5, 6, 6, 6, 7, 7, 8], size=n))
    far = np.clip(floors * rng.uniform(0.24, 0.36, n), 1.2, 2.5)
    gfa = np.round(site * far, 1)
    households = np.maximum(1, np.round(gfa / rng.uniform(60, 75, n))).astype(np.int64)
    buildings = np.maximum(1, np.round(gfa / rng.uniform(3000, 6000, n))).astype(np.int64)
    units = buildings * rng.integers(2, 5, n)
    elevators = np.where(high, buildings * rng.integers(1, 3, n),
                         np.where(rng.random(n) < 0.04, rng.integers(1, 3, n), 0))
    elevators = np.minimum(elevators, np.where(high, elevators, units))
    planned = np.where(~high & (floors >= 6) & (rng.random(n) < 0.35),
                       np.minimum(units - elevators, rng.integers(1, 6, n)), 0)
    planned = np.maximum(planned, 0)
    has_gas = (rng.random(n) < 0.9).astype(np.int64)
    renov_class = _choice(rng, ["basic", "improve", "upgrade"], n, p=[0.45, 0.4, 0.15])
    renov_status = _choice(rng, ["planned", "reserve", "started", "completed", "not_listed"], n,
                           p=[0.47, 0.35, 0.09, 0.05, 0.04])
    plan_year = np.select(
        [renov_status == "completed", renov_status == "started", renov_status == "planned",
         renov_status == "reserve"],
        [rng.integers(2022, 2024, n), np.full(n, 2024), rng.integers(2025, 2027, n), np.full(n, 2027)],
        default=-1,
    )
    consent = np.where(np.isin(renov_status, ["planned", "started", "completed"]),
                       np.round(rng.uniform(66, 100, n), 1), np.nan)
    prop_type = np.where(pattern == 1, "单位宿舍", _choice(
        rng, ["房改房", "集资房", "商品房", "还建房", "单位宿舍", "其他"], n,
        p=[0.38, 0.16, 0.16, 0.12, 0.12, 0.06])).astype(object)
    management = _choice(rng, ["无物业", "社区托管", "单位自管", "专业物业"], n, p=[0.35, 0.3, 0.15, 0.2])
    contract = _choice(rng, ["EPC", "施工总承包", "国企平台", "PPP"], n, p=[0.76, 0.14, 0.06, 0.04])

    return {"site": site, "year": year, "floors": floors, "gfa": gfa, "households": households,
            "buildings": buildings, "units": units, "elevators": elevators, "planned": planned,
            "has_gas": has_gas, "renov_class": renov_class, "renov_status": renov_status,
            "plan_year": plan_year, "consent": consent, "prop_type": prop_type,
            "management": management, "contract": contract}

def _frame(kind: str, data: dict, geometry, index) -> gpd.GeoDataFrame:
    """A GeoDataFrame with canonical dtypes, columns in schema order, named id index."""
    cols = schema.columns(kind)
    out = {}
    for name, col in cols.items():
        if name not in data:
            continue
        values = data[name]
        if col.dtype == "int":
            out[name] = pd.array(values, dtype="Int64")
        elif col.dtype == "float":
            out[name] = np.asarray(values, dtype=np.float64)
        elif col.dtype == "str":
            out[name] = pd.Series(np.asarray(values, dtype=object), dtype="str").array
        else:
            out[name] = values
    missing = set(data) - set(out)
    if missing:
        raise RuntimeError(f"{kind}: columns {sorted(missing)} are not in the schema")
    idx = pd.Index(np.asarray(index, dtype=object), name=schema.ID_COLUMNS[kind], dtype="str")
    df = pd.DataFrame(out, index=idx)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(np.asarray(geometry), index=idx, crs=CRS), crs=CRS)


def _arterial_names(layout: _Layout) -> dict:
    """Names of the east–west gaps (index = gap; the river gap gets "") and north–south gaps."""
    rg = layout.river_gap
    south = _unique_names(_ARTERIALS_EW["420105"], _PLACES["420105"], _ROAD_SUFFIXES, rg)
    north = _unique_names(_ARTERIALS_EW["420103"], _PLACES["420103"], _ROAD_SUFFIXES, layout.sr - rg)
    ew = [*south[::-1], "", *north]
    places = _PLACES["420105"][::-1] + _PLACES["420103"]
    taken = set(ew)
    ns = _unique_names([x for x in _ARTERIALS_NS if x not in taken], places, _ROAD_SUFFIXES[::-1],
                       layout.sc + 1 + len(taken))
    ns = [x for x in ns if x not in taken][: layout.sc + 1]
    return {"ew": np.asarray(ew, dtype=object), "ns": np.asarray(ns, dtype=object)}


def _make_barriers(layout: _Layout) -> gpd.GeoDataFrame:
    x0, x1 = layout.gx[0], layout.gx[-1]
    y0, y1 = layout.gy[0], layout.gy[-1]
    names = _arterial_names(layout)
    geoms, types, bnames, widths = [], [], [], []
    for k, y in enumerate(layout.gy):
        if k == layout.river_gap:
            continue
        geoms.append(shapely.linestrings([[x0, y], [x1, y]]))
        types.append("arterial")
        bnames.append(names["ew"][k])
        widths.append(layout.wy[k])
    for k, x in enumerate(layout.gx):
        geoms.append(shapely.linestrings([[x, y0], [x, y1]]))
        if k == layout.rail_gap:
            types.append("railway")
            bnames.append("京广铁路")
        else:
            types.append("arterial")
            bnames.append(names["ns"][k])
        widths.append(layout.wx[k])
    # the river: a band around a gently meandering centreline, beyond the grid on both sides
    xs = np.linspace(x0 - 300, x1 + 300, max(40, int((x1 - x0) / 40)))
    yc = _river_line(layout, xs)
    half = layout.river["width"] / 2
    ring = np.concatenate([np.stack([xs, yc - half], 1), np.stack([xs[::-1], yc[::-1] + half], 1)])
    geoms.append(shapely.polygons(ring))
    types.append("river")
    bnames.append("汉江")
    widths.append(layout.river["width"])
    order = [len(geoms) - 1, *range(len(geoms) - 1)]      # river first, then roads
    data = {
        "barrier_type": np.asarray(types, dtype=object)[order],
        "name": np.asarray(bnames, dtype=object)[order],
        "width_m": np.round(np.asarray(widths, dtype=float)[order], 1),
    }
    return _frame("barriers", data, np.asarray(geoms, dtype=object)[order],
                  np.array([f"BR-{k:03d}" for k in range(1, len(geoms) + 1)], dtype=object))


def _district_polys(layout: _Layout):
    x0, x1 = layout.gx[0], layout.gx[-1]
    y0, y1 = layout.gy[0], layout.gy[-1]
    xs = np.linspace(x0 - 10, x1 + 10, max(40, int((x1 - x0) / 40)))
    yc = _river_line(layout, xs)
    south = shapely.polygons(np.concatenate([[[xs[0], y0 - 100]], np.stack([xs, yc], 1), [[xs[-1], y0 - 100]]]))
    north = shapely.polygons(np.concatenate([[[xs[0], y1 + 100]], np.stack([xs, yc], 1), [[xs[-1], y1 + 100]]]))
    return {"420105": south, "420103": north}


def _make_admin(layout: _Layout, streets: dict) -> gpd.GeoDataFrame:
    polys = _district_polys(layout)
    gx, gy = layout.gx, layout.gy
    boxes = []
    for adcode, c0, c1, r0, r1 in streets["tiles"]:
        ylo = gy[r0] - (layout.hy[r0] if r0 == layout.river_gap else 0)
        yhi = gy[r1] + (layout.hy[r1] if r1 == layout.river_gap else 0)
        boxes.append(shapely.intersection(shapely.box(gx[c0], ylo, gx[c1], yhi), polys[adcode]))
    outer = shapely.box(gx[0], gy[0], gx[-1], gy[-1])
    geoms = [shapely.intersection(outer, polys["420105"]), shapely.intersection(outer, polys["420103"]), *boxes]
    n_st = len(boxes)
    data = {
        "name": [_HANYANG[1], _JIANGHAN[1], *streets["names"]],
        "level": ["district", "district", *(["street"] * n_st)],
        "parent": ["420100", "420100", *streets["adcodes"]],
        "district": [_HANYANG[1], _JIANGHAN[1],
                     *[_HANYANG[1] if a == "420105" else _JIANGHAN[1] for a in streets["adcodes"]]],
    }
    data = {k: np.asarray(v, dtype=object) for k, v in data.items()}
    return _frame("admin", data, shapely.normalize(np.asarray(geoms, dtype=object)),
                  np.asarray([_HANYANG[0], _JIANGHAN[0], *streets["codes"]], dtype=object))


def _make_lanes(layout: _Layout, blocks: dict) -> dict:
    """Lane centrelines between the blocks of each superblock."""
    c, r = blocks["sb_c"], blocks["sb_r"]
    bc, br = blocks["bc"], blocks["br"]
    k = np.arange(3)[None, :]
    # vertical lanes after block column k < bc - 1
    vsel = k < (bc - 1)[:, None]
    vs, vk = np.nonzero(vsel)
    vx = layout.ix0[c[vs]] + blocks["xs"][vs, vk] + blocks["xw"][vs, vk] + blocks["xl"][vs, vk] / 2
    v_coords = np.stack([np.stack([vx, layout.iy0[r[vs]]], 1), np.stack([vx, layout.iy1[r[vs]]], 1)], 1)
    v_gap = blocks["xl"][vs, vk]
    hsel = k < (br - 1)[:, None]
    hs, hk = np.nonzero(hsel)
    hy = layout.iy0[r[hs]] + blocks["ys"][hs, hk] + blocks["yh"][hs, hk] + blocks["yl"][hs, hk] / 2
    h_coords = np.stack([np.stack([layout.ix0[c[hs]], hy], 1), np.stack([layout.ix1[c[hs]], hy], 1)], 1)
    h_gap = blocks["yl"][hs, hk]
    coords = np.concatenate([v_coords, h_coords])
    sb = np.concatenate([vs, hs])
    gap = np.concatenate([v_gap, h_gap])
    vertical = np.concatenate([np.ones(len(vs), bool), np.zeros(len(hs), bool)])
    order = np.lexsort((~vertical, sb))
    return {"coords": coords[order], "sb": sb[order], "gap": gap[order], "vertical": vertical[order]}


def _make_roads(lanes: dict, comp: dict, rng: np.random.Generator) -> gpd.GeoDataFrame:
    n_l = len(lanes["gap"])
    width = np.clip(np.round(lanes["gap"] * rng.uniform(0.6, 0.95, n_l), 1), 2.5, 12.0)
    cls = np.where(width >= 8.5, "市政道路", np.where(width >= 4.5, "小区主路", "宅间路")).astype(object)
    fire = ((width >= 4.0) & (rng.random(n_l) < 0.9)).astype(np.int64)
    # lane names after the community of the superblock
    comm = comp["gdf"]["community"].to_numpy(dtype=object)
    sb_comm = dict(zip(comp["sb"].tolist(), comm.tolist(), strict=False))
    base = np.asarray([sb_comm.get(int(s), "无名") for s in np.unique(lanes["sb"])], dtype=object)
    base_of = dict(zip(np.unique(lanes["sb"]).tolist(), base.tolist(), strict=False))
    place = np.asarray([base_of[int(s)] for s in lanes["sb"]], dtype=object)
    place = pd.Series(place).str.replace("社区", "", regex=False).to_numpy(dtype=object)
    rank = pd.Series(lanes["sb"]).groupby(lanes["sb"]).cumcount().to_numpy() + 1
    lane_name = place + _CN_NUM[np.minimum(rank, 999)] + np.where(cls == "市政道路", "路", "巷")
    # main roads inside the larger compounds, along their long axis
    big = np.flatnonzero(comp["site"] > 7000)
    cq = comp["corners"][big]
    long_x = np.linalg.norm(cq[:, 1] - cq[:, 0], axis=1) >= np.linalg.norm(cq[:, 3] - cq[:, 0], axis=1)
    u_a = np.where(long_x, 0.08, 0.5)
    v_a = np.where(long_x, 0.5, 0.08)
    u_b = np.where(long_x, 0.92, 0.5)
    v_b = np.where(long_x, 0.5, 0.92)
    p = _bilinear(cq, u_a, v_a)
    q = _bilinear(cq, u_b, v_b)
    inner = np.stack([p, q], 1)
    n_i = len(big)
    in_width = np.round(rng.uniform(3.5, 7.0, n_i), 1)
    in_fire = ((in_width >= 4.0) & (rng.random(n_i) < 0.7)).astype(np.int64)
    lines = shapely.linestrings(np.concatenate([lanes["coords"], inner]))
    data = {
        "name": np.concatenate([lane_name, comp["name"][big] + "主路"]),
        "road_class": np.concatenate([cls, np.full(n_i, "小区主路", dtype=object)]),
        "is_fire_lane": np.concatenate([fire, in_fire]),
        "width_m": np.concatenate([width, in_width]),
    }
    return _frame("roads", data, lines, _ids("RD-", n_l + n_i, 4))


def _bilinear(quads: np.ndarray, u, v) -> np.ndarray:
    """Points at (u, v) of convex quads (n, 4, 2) ordered (0,0) (1,0) (1,1) (0,1)."""
    u = np.asarray(u, dtype=float)[:, None]
    v = np.asarray(v, dtype=float)[:, None]
    return ((1 - u) * (1 - v) * quads[:, 0] + u * (1 - v) * quads[:, 1]
            + u * v * quads[:, 2] + (1 - u) * v * quads[:, 3])


def _side_uv(a, b, side):
    """(along, depth) measured from a compound side → (u, v)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    u = np.select([side == 0, side == 1, side == 2], [a, 1 - b, a], default=b)
    v = np.select([side == 0, side == 1, side == 2], [b, a, 1 - b], default=a)
    return u, v


_NORMALS = np.array([[0.0, -1.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


def _rects(center: np.ndarray, length: np.ndarray, width: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotated rectangles as polygons."""
    ca, sa = np.cos(angle), np.sin(angle)
    dx = np.array([-1, 1, 1, -1])[None, :] * (length / 2)[:, None]
    dy = np.array([-1, -1, 1, 1])[None, :] * (width / 2)[:, None]
    x = center[:, 0:1] + dx * ca[:, None] - dy * sa[:, None]
    y = center[:, 1:2] + dx * sa[:, None] + dy * ca[:, None]
    return shapely.polygons(np.stack([x, y], axis=2))


# ======================================================================================
# illegal structures
# ======================================================================================
def _make_illegal(layout: _Layout, comp: dict, lanes: dict, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """About 5 structures per compound: inside compounds, astride shared walls, in lanes, far off."""
    n = len(comp["geom"])
    total = int(round(5.0 * n))
    walls = _shared_walls(comp)
    n_lane = int(round(0.07 * total))
    n_far = int(round(0.01 * total))
    n_wall = min(int(round(0.012 * total)), len(walls["p"]))
    n_in = total - n_lane - n_far - n_wall
    tree = shapely.STRtree(comp["geom"])

    # size and shape of every structure: area_m2 is floor area = footprint × floors
    area = np.clip(rng.lognormal(np.log(40), 0.75, total), 10.0, 300.0)
    floors = rng.choice([1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3], size=total)
    footprint = area / floors
    aspect = rng.uniform(1.0, 2.5, total)
    length = np.sqrt(footprint * aspect)
    width = footprint / length
    angle = rng.uniform(-0.2, 0.2, total)
    is_poly = rng.random(total) < 0.6
    geom = np.empty(total, dtype=object)
    host = np.full(total, -1, dtype=np.int64)          # the compound whose address is used

    # --- inside compounds (older and larger compounds have more) ---------------------------
    ins = np.arange(n_in)
    weight = comp["site"] * np.where(comp["year"] < 1990, 1.4, 1.0)
    host[ins] = np.sort(rng.choice(n, size=n_in, p=weight / weight.sum()))
    centre = _bilinear(comp["corners"][host[ins]], rng.uniform(0.18, 0.82, n_in), rng.uniform(0.18, 0.82, n_in))
    poly = ins[is_poly[ins]]
    geom[poly] = _rects(centre[poly], length[poly], width[poly], angle[poly])
    pts = ins[~is_poly[ins]]
    geom[pts] = shapely.points(centre[pts])
    # footprints poking out of their compound move to its centre, else become points
    bad = poly[~shapely.contains_properly(comp["geom"][host[poly]], geom[poly])]
    if len(bad):
        mid = _bilinear(comp["corners"][host[bad]], np.full(len(bad), 0.5), np.full(len(bad), 0.5))
        geom[bad] = _rects(mid, length[bad], width[bad], angle[bad])
        still = ~shapely.contains_properly(comp["geom"][host[bad]], geom[bad])
        geom[bad[still]] = shapely.points(mid[still])
        is_poly[bad[still]] = False

    # --- astride a wall shared by two compounds ---------------------------------------------
    wal = np.arange(n_in, n_in + n_wall)
    if n_wall:
        pick = rng.choice(len(walls["p"]), size=n_wall, replace=False)
        t = rng.uniform(0.35, 0.65, n_wall)
        c = walls["p"][pick] + t[:, None] * (walls["q"][pick] - walls["p"][pick])
        side = rng.uniform(4.0, 9.0, n_wall)
        geom[wal] = _rects(c, side, side * rng.uniform(0.7, 1.0, n_wall), angle[wal])
        is_poly[wal] = True
        host[wal] = walls["a"][pick]

    # --- in lanes: outside every compound, within 15 m of one --------------------------------
    lan = np.arange(n_in + n_wall, n_in + n_wall + n_lane)
    geom[lan], host[lan], is_poly[lan] = _lane_structures(lanes, comp["geom"], tree, footprint[lan],
                                                          is_poly[lan], rng)

    # --- far from every compound (nothing to assign them to) --------------------------------
    far = np.arange(n_in + n_wall + n_lane, total)
    geom[far] = _far_structures(layout, tree, length[far], width[far], is_poly[far], rng)

    fp = shapely.area(geom)
    area = np.round(np.where(is_poly, np.clip(fp * floors, 10.0, 300.0), area), 1)

    kind = _choice(rng, list(schema.VOCABULARIES["illegal_kind"]), total,
                   p=[0.14, 0.24, 0.19, 0.21, 0.09, 0.05, 0.05, 0.03])
    kind[lan] = _choice(rng, ["tin_shed", "common_space_shed", "business_use", "wall_gate", "other"],
                        n_lane, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    kind[wal] = _choice(rng, ["wall_gate", "ground_enclosure", "tin_shed"], n_wall)
    structure = _choice(rng, ["砖混", "钢结构", "彩钢板", "木竹"], total, p=[0.35, 0.2, 0.35, 0.1])
    status = _choice(rng, list(schema.VOCABULARIES["illegal_status"]), total,
                     p=[0.15, 0.2, 0.1, 0.2, 0.05, 0.15, 0.1, 0.05])
    stock = np.where(rng.random(total) < 0.74, "存量", "新增").astype(object)
    party = (_choice(rng, _SURNAMES, total) + _choice(rng, _GIVEN, total)
             + np.where(rng.random(total) < 0.7, _choice(rng, _GIVEN, total), ""))
    # case numbers like 汉阳城管责字〔2019〕0123号 (Wuhan's cut-off for 存量 is 2013)
    years = _to_str(np.arange(2013, 2025))
    case_year = np.where(stock == "存量", rng.integers(0, 9, total), rng.integers(8, 12, total))
    numbers = _to_str(np.arange(1, 3000), 4)
    dshort = np.where(rng.random(total) < 0.6, "汉阳", "江汉").astype(object)
    case_no = dshort + "城管责字〔" + years[case_year] + "〕" + numbers[rng.integers(0, 2999, total)] + "号"
    case_no = np.where(status == "to_verify", None, case_no)
    suffix = np.full(total, "院内", dtype=object)
    suffix[lan] = "旁巷道"
    address = np.where(host >= 0, comp["address"][np.maximum(host, 0)] + suffix, None)

    perm = rng.permutation(total)
    data = {
        "address": address[perm], "kind": kind[perm], "structure": structure[perm],
        "floors": floors[perm], "area_m2": area[perm], "stock": stock[perm],
        "status": status[perm], "case_no": case_no[perm], "party": party[perm],
    }
    return _frame("illegal", data, geom[perm], _ids("WJ-", total, 6))


def _shared_walls(comp: dict) -> dict:
    """End points of walls shared by two kept compounds (from the block templates)."""
    # (block, slot) → row in the compounds, or -1 where the slot was dropped
    block = comp["block"]
    n_blocks = len(comp["tpl"])
    row_of = np.full((n_blocks, _MAX_SLOTS), -1, dtype=np.int64)
    row_of[block, comp["slot_k"]] = np.arange(len(block))
    a_all, b_all, p_all, q_all = [], [], [], []
    tpl = comp["tpl"]
    for t_index, tmpl in enumerate(_TEMPLATES):
        bsel = np.flatnonzero(tpl[:n_blocks] == t_index)
        if not len(bsel):
            continue
        for sa, sb_, (pi, pj), (qi, qj) in tmpl.walls:
            ra, rb = row_of[bsel, sa], row_of[bsel, sb_]
            ok = (ra >= 0) & (rb >= 0)
            if not ok.any():
                continue
            bs = bsel[ok]
            a_all.append(ra[ok])
            b_all.append(rb[ok])
            p_all.append(np.stack([comp["vx"][bs, pi, pj], comp["vy"][bs, pi, pj]], 1))
            q_all.append(np.stack([comp["vx"][bs, qi, qj], comp["vy"][bs, qi, qj]], 1))
    if not a_all:
        empty = np.zeros((0, 2))
        return {"a": np.array([], int), "b": np.array([], int), "p": empty, "q": empty}
    return {"a": np.concatenate(a_all), "b": np.concatenate(b_all),
            "p": np.concatenate(p_all), "q": np.concatenate(q_all)}


def _lane_structures(lanes, comp_geom, tree, footprint, is_poly, rng):
    """Structures on lane centrelines, outside every compound and within 15 m of one.

    Returns geometries, the index of a compound within 15 m, and whether each is a footprint.
    """
    k = len(footprint)
    if k == 0:
        return np.array([], dtype=object), np.array([], dtype=np.int64), np.array([], dtype=bool)
    coords, gap = lanes["coords"], lanes["gap"]
    seg_len = np.linalg.norm(coords[:, 1] - coords[:, 0], axis=1)
    geoms, hosts, polys = [], [], []
    need, done = k, 0
    while need > 0:
        m = max(64, int(need * 1.5))
        lane = rng.choice(len(gap), size=m, p=seg_len / seg_len.sum())
        t = rng.uniform(0.03, 0.97, m)
        c = coords[lane, 0] + t[:, None] * (coords[lane, 1] - coords[lane, 0])
        j = (done + np.arange(m)) % k
        w = np.minimum(0.55 * gap[lane], 6.0)
        length = np.clip(footprint[j] / np.maximum(w, 1.0), 2.0, 25.0)
        angle = np.where(lanes["vertical"][lane], np.pi / 2, 0.0)
        g = np.empty(m, dtype=object)
        poly = is_poly[j]
        g[poly] = _rects(c[poly], length[poly], w[poly], angle[poly])
        g[~poly] = shapely.points(c[~poly])
        a, b = tree.query(g, predicate="dwithin", distance=15.0)
        hit = np.zeros(m, bool)
        hit[a[shapely.intersects(g[a], comp_geom[b])]] = True
        near = np.full(m, -1, dtype=np.int64)
        near[a[::-1]] = b[::-1]                    # the first compound found within 15 m
        sel = np.flatnonzero((near >= 0) & ~hit)[:need]
        geoms.append(g[sel])
        hosts.append(near[sel])
        polys.append(poly[sel])
        need -= len(sel)
        done += m
    return np.concatenate(geoms), np.concatenate(hosts), np.concatenate(polys)


def _far_structures(layout, tree, length, width, is_poly, rng):
    """Structures more than 50 m from every compound: in empty blocks, else outside the grid.

    Candidates in the river or in an arterial/railway corridor are refused; after a few
    rounds the rest go into the open land just beyond the district's outer arterials.
    """
    k = len(length)
    if k == 0:
        return np.array([], dtype=object)
    x0, x1, y0, y1 = layout.gx[0], layout.gx[-1], layout.gy[0], layout.gy[-1]
    blocked = shapely.STRtree(_barrier_corridors(layout))
    reach = 50.0 + np.hypot(length, width).max() / 2
    out = []
    need = k
    for _ in range(8):
        m = max(256, need * 8)
        c = np.stack([rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)], 1)
        pts = shapely.points(c)
        ok = np.ones(m, bool)
        ok[tree.query(pts, predicate="dwithin", distance=reach)[0]] = False
        ok[blocked.query(pts, predicate="dwithin", distance=reach - 50.0 + 5.0)[0]] = False
        sel = np.flatnonzero(ok)[:need]
        out.append(c[sel])
        need -= len(sel)
        if need == 0:
            break
    if need:   # open land 80–300 m south of the district's southern arterial
        xs = rng.uniform(x0, x1, need)
        ys = y0 - layout.hy[0] - rng.uniform(80, 300, need)
        out.append(np.stack([xs, ys], 1))
    c = np.concatenate(out)
    g = np.empty(k, dtype=object)
    g[is_poly] = _rects(c[is_poly], length[is_poly], width[is_poly], rng.uniform(0, np.pi, int(is_poly.sum())))
    g[~is_poly] = shapely.points(c[~is_poly])
    return g


def _barrier_corridors(layout: _Layout) -> np.ndarray:
    """Polygons of the river and of every road and rail corridor (width_m wide)."""
    b = _make_barriers(layout)
    geoms = b.geometry.to_numpy()
    lines = shapely.get_type_id(geoms) != shapely.GeometryType.POLYGON
    return np.where(lines, shapely.buffer(geoms, b["width_m"].to_numpy() / 2, cap_style="flat"), geoms)


# ======================================================================================
# gas network
# ======================================================================================
def _make_gas(layout: _Layout, blocks: dict, comp: dict, lanes: dict, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The gas network: municipal mains in lanes and arterials, then each compound's courtyard
    pipes, overhead runs and risers, then their attributes (drawn from ``rng`` in that order)."""
    parts = [_lane_mains(lanes, rng), _arterial_mains(layout, rng),
             *_compound_pipes(blocks, comp, rng)]
    return _pipe_frame(parts, rng)


def _lane_mains(lanes: dict, rng: np.random.Generator) -> dict:
    """Municipal mains in three lanes of four, 1 m off the centreline."""
    n_l = len(lanes["gap"])
    has_main = rng.random(n_l) < 0.75
    lc = lanes["coords"][has_main]
    offset = np.where(lanes["vertical"][has_main], 1.0, 0.0)[:, None, None] * np.array([1.0, 0.0]) + \
        np.where(lanes["vertical"][has_main], 0.0, 1.0)[:, None, None] * np.array([0.0, 1.0])
    lc = lc + offset * np.minimum(1.0, lanes["gap"][has_main] / 4)[:, None, None]
    m_l = len(lc)
    return {
        "coords": lc, "pipe_class": np.full(m_l, "municipal", dtype=object),
        "kind": np.full(m_l, "lane"), "year": rng.integers(1985, 2016, m_l),
        "diameter": rng.choice([100, 150, 200], m_l),
    }


def _arterial_mains(layout: _Layout, rng: np.random.Generator) -> dict:
    """Municipal mains in the arterial corridors, one segment per superblock side."""
    segs = []
    for k, y in enumerate(layout.gy):
        if k == layout.river_gap:
            continue
        off = layout.wy[k] / 2 - 3
        for c in range(layout.sc):
            s = 1 if (k + c) % 2 else -1
            segs.append([[layout.ix0[c], y + s * off], [layout.ix1[c], y + s * off]])
    for k, x in enumerate(layout.gx):
        if k == layout.rail_gap:
            continue
        off = layout.wx[k] / 2 - 3
        for r in range(layout.sr):
            s = 1 if (k + r) % 2 else -1
            segs.append([[x + s * off, layout.iy0[r]], [x + s * off, layout.iy1[r]]])
    segs = np.asarray(segs, dtype=float)
    m_a = len(segs)
    return {
        "coords": segs, "pipe_class": np.full(m_a, "municipal", dtype=object),
        "kind": np.full(m_a, "arterial"), "year": rng.integers(1985, 2016, m_a),
        "diameter": rng.choice([200, 300, 400], m_a),
    }


def _compound_pipes(blocks: dict, comp: dict, rng: np.random.Generator) -> list[dict]:
    """Inside compounds with gas: the courtyard entry from the main outside through the wall,
    further courtyard branches, overhead runs and risers."""
    parts = []
    g = np.flatnonzero(comp["has_gas"])
    cq, side, year = comp["corners"][g], comp["side"][g], comp["year"][g]
    clear = blocks["clear4"][comp["block"][g], side]
    ng = len(g)
    # courtyard entry: from the main outside, through the wall, then along inside
    a = rng.uniform(0.25, 0.75, ng)
    depth = rng.uniform(0.2, 0.45, ng)
    a2 = np.clip(a + rng.choice([-1, 1], ng) * rng.uniform(0.15, 0.35, ng), 0.08, 0.92)
    edge = _bilinear(cq, *_side_uv(a, np.zeros(ng), side))
    out = edge + _NORMALS[side] * clear[:, None]
    p_in = _bilinear(cq, *_side_uv(a, depth, side))
    p_end = _bilinear(cq, *_side_uv(a2, depth, side))
    entry = np.stack([out, edge, p_in, p_end], 1)
    parts.append({
        "coords": entry, "pipe_class": np.full(ng, "courtyard_buried", dtype=object),
        "kind": np.full(ng, "entry"), "year": year, "diameter": rng.choice([80, 100, 150], ng),
    })
    # further courtyard branches, overhead runs and risers
    n_more = np.clip(np.round(comp["site"][g] / 6000 * rng.uniform(0.5, 1.5, ng)), 0, 3).astype(np.int64)
    n_over = rng.poisson(np.where(year < 1995, 1.4, 0.7))
    n_over = np.minimum(n_over, 3)
    n_riser = np.clip(comp["buildings"][g], 1, 5)
    for label, counts, dmin, dmax, amin, amax, diam in (
        ("courtyard_buried", n_more, 0.3, 0.85, 0.08, 0.92, (50, 80, 100)),
        ("overhead", n_over, 0.15, 0.9, 0.12, 0.88, (25, 32, 40, 50)),
    ):
        rows = np.repeat(np.arange(ng), counts)
        m = len(rows)
        d = rng.uniform(dmin, dmax, m)
        lo = rng.uniform(amin, 0.45, m)
        hi = rng.uniform(0.55, amax, m)
        p = _bilinear(cq[rows], *_side_uv(lo, d, side[rows]))
        q = _bilinear(cq[rows], *_side_uv(hi, d, side[rows]))
        parts.append({
            "coords": np.stack([p, q], 1), "pipe_class": np.full(m, label, dtype=object),
            "kind": np.full(m, label), "year": year[rows], "diameter": rng.choice(diam, m),
        })
    rows = np.repeat(np.arange(ng), n_riser)
    m = len(rows)
    p = _bilinear(cq[rows], rng.uniform(0.15, 0.85, m), rng.uniform(0.15, 0.85, m))
    ang = rng.uniform(0, 2 * np.pi, m)
    ln = rng.uniform(2.0, 6.0, m)
    q = p + np.stack([np.cos(ang), np.sin(ang)], 1) * ln[:, None]
    parts.append({
        "coords": np.stack([p, q], 1), "pipe_class": np.full(m, "riser", dtype=object),
        "kind": np.full(m, "riser"), "year": year[rows], "diameter": rng.choice([20, 25, 32, 40], m),
    })

    return parts


def _pipe_frame(parts: list[dict], rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The pipe groups as one layer, with install years, materials, pressures and owners."""
    # assemble: one linestrings call per coordinate-count group
    geoms = [shapely.linestrings(part["coords"]) if len(part["coords"]) else np.array([], dtype=object)
             for part in parts]
    geom = np.concatenate(geoms)
    pipe_class = np.concatenate([part["pipe_class"] for part in parts])
    kind = np.concatenate([part["kind"] for part in parts])
    built = np.concatenate([part["year"] for part in parts]).astype(np.int64)
    diameter = np.concatenate([part["diameter"] for part in parts]).astype(np.int64)
    total = len(geom)
    municipal = pipe_class == "municipal"
    # install year: municipal as drawn; in compounds with the building, some renewed later
    renewed = ~municipal & (rng.random(total) < 0.22)
    install = np.where(municipal, built, built + rng.integers(0, 4, total))
    install = np.where(renewed, rng.integers(2006, 2021, total), install)
    install = np.clip(install, 1985, 2020)
    u = rng.random(total)
    mat_buried = np.select(
        [install < 1995, install < 2005],
        [np.where(u < 0.55, "grey_cast_iron", np.where(u < 0.9, "steel", "pe")),
         np.where(u < 0.15, "grey_cast_iron", np.where(u < 0.6, "steel", "pe"))],
        default=np.where(u < 0.75, "pe", "steel"),
    )
    mat_main = np.select(
        [install < 1995, install < 2005],
        [np.where(u < 0.5, "grey_cast_iron", np.where(u < 0.7, "ductile_iron", np.where(u < 0.9, "steel", "pe"))),
         np.where(u < 0.35, "ductile_iron", np.where(u < 0.7, "steel", "pe"))],
        default=np.where(u < 0.6, "pe", np.where(u < 0.85, "steel", "ductile_iron")),
    )
    mat_above = np.where(u < 0.65, "galvanized_steel", "steel")
    material = np.select([municipal, pipe_class == "courtyard_buried"], [mat_main, mat_buried],
                         default=mat_above).astype(object)
    pressure = np.select(
        [kind == "arterial", kind == "lane", pipe_class == "courtyard_buried"],
        [np.where(u < 0.6, "中压A", "中压B"), np.where(u < 0.5, "中压B", "低压"),
         np.where(u < 0.8, "低压", "中压B")],
        default="低压",
    ).astype(object)
    owner = np.where(municipal, "专营单位", "居民共有").astype(object)
    data = {
        "pipe_class": pipe_class, "pressure": pressure, "material": material,
        "diameter_mm": diameter, "install_year": install, "owner": owner,
    }
    return _frame("gas", data, geom, _ids("GS-", total, 6))


# ======================================================================================
# reading and writing
# ======================================================================================
def _coerce(kind: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Canonical dtypes and the id index after reading a file written by :func:`write_sample`."""
    id_col = schema.ID_COLUMNS[kind]
    cols = schema.columns(kind)
    if id_col not in gdf.columns:
        raise LayerReadError(f"layer {kind!r} has no {id_col!r} column; was it written by write_sample?")
    data = {}
    for name in gdf.columns:
        if name in (id_col, gdf.geometry.name):
            continue
        col = cols.get(name)
        values = gdf[name]
        if col is not None and col.dtype in ("int", "float", "str"):
            if col.dtype == "str":
                values = values.astype(object).where(values.notna(), None)
            data[name] = values.to_numpy()
        else:
            data[name] = values.to_numpy()
    return _frame(kind, data, gdf.geometry.to_numpy(), gdf[id_col].astype(str).to_numpy(dtype=object))


def read_district(path: str | os.PathLike) -> District:
    """Read a district GeoPackage written by :func:`write_sample` (one layer per kind).

    Raises
    ------
    LayerReadError
        If the file is missing or a layer cannot be read; the message names them.
    """
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: no such file")
    listed = {name for name, _ in pyogrio.list_layers(path)}
    missing = [kind for kind in KINDS if kind not in listed]
    if missing:
        raise LayerReadError(f"{path}: layers {missing} are missing; expected {list(KINDS)}")
    layers = {}
    for kind in KINDS:
        gdf = pyogrio.read_dataframe(path, layer=kind)
        if gdf.crs is None:
            gdf = gdf.set_crs(CRS)
        layers[kind] = _coerce(kind, gdf)
    return District(**layers)


def load_sample() -> District:
    """The bundled sample district (``sample_district(200, seed=0)``) read from its GeoPackage.

    Examples
    --------
    >>> from spatialreno.datasets import load_sample
    >>> d = load_sample()
    >>> d.n_compounds
    200
    """
    from . import get_path

    return read_district(get_path("sample_district"))
