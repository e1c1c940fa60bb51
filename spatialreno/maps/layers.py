"""The map's data layers, built by one generic builder from a small spec per layer kind.

Every layer goes through the same steps (:func:`add_layer`): check the input against the
data contract, prepare the rows to draw (illegal footprints become points, aged gas pipes
go last), encode the geometry, format the popup fields, let the kind's *styler* choose a
style per row and write the legend section, then add the layer to the map. A
:class:`LayerSpec` says what differs between kinds; the ``add_*_layer`` functions are the
public doors, one per kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from .._contracts import LINEAL, POLYGONAL, require_layer
from ..errors import DataError
from .colours import GAP_M, PALETTE, package_colors
from .elements import DataLayer, register, state
from .encode import SCALE, Display, display_geometry, metric
from .escape import script_json
from .text import TEXT, check_lang
from .values import FIELDS, TIPS, Fields, codes, column_values, fields, id_text, is_missing

__all__ = ["LayerSpec", "SPECS", "add_layer", "add_packages_layer", "add_compounds_layer",
           "add_illegal_layer", "add_gas_layer", "add_barriers_layer", "add_admin_layer"]

#: display simplification in metres (admin lines need less detail)
SIMPLIFY_M = 0.5
ADMIN_SIMPLIFY_M = 1.0
#: zooms: package ids shown up to, compound names from
PACKAGE_LABEL_MAX_ZOOM = 15
COMPOUND_LABEL_ZOOM = 16

# layer kind → (pane, z-index); packages lowest, point symbols on top
_PANES = {
    "packages": ("srPackages", 410),
    "compounds": ("srCompounds", 420),
    "admin": ("srAdmin", 425),
    "barriers": ("srBarriers", 430),
    "gas": ("srGas", 440),
    "illegal": ("srIllegal", 450),
}
_STATUS_COLORS = {
    "to_verify": "#9e9e9e", "filed": "#ff9800", "stop_order": "#f4511e",
    "deadline": "#e53935", "forced": "#8e0000", "demolished": "#43a047",
    "deferred": "#8e24aa", "retained": "#1e88e5",
}
_PIPE_COLORS = {
    "municipal": "#6a1b9a", "courtyard_buried": "#1565c0", "overhead": "#00838f",
    "riser": "#2e7d32", "service": "#558b2f", "horizontal_main": "#0277bd",
    "indoor": "#8d6e63", "other": "#757575",
}
_AGED_COLOR = "#d50000"
_BARRIER_STYLES = {
    "arterial": {"color": "#424242", "weight": 4, "opacity": 0.85},
    "river": {"color": "#0288d1", "weight": 3, "opacity": 0.9, "fillColor": "#81d4fa"},
    "railway": {"color": "#212121", "weight": 2.5, "opacity": 0.9, "dashArray": "8 4"},
    "wall": {"color": "#795548", "weight": 1.5, "opacity": 0.9},
    "other": {"color": "#9e9e9e", "weight": 2, "opacity": 0.9},
}
_ADMIN_WEIGHT = {"city": 4, "district": 3, "street": 2, "community": 1.2}
_ADMIN_COLOR = "#6a1b9a"
_OTHER = "#616161"
_UNKNOWN_RANK = 99  # sort position of a code outside the known ones
_PACKAGE_OUTLINE = "#3c3c3c"
_COMPOUND_OUTLINE = "#263238"
_UNASSIGNED_OUTLINE, _UNASSIGNED_FILL = "#616161", "#9e9e9e"
# illegal structures: circle radius (px) = clip(BASE + sqrt(area m²) / DIVISOR, MIN, MAX)
_RADIUS_BASE, _RADIUS_DIVISOR, _RADIUS_MIN, _RADIUS_MAX = 2.0, 3.0, 2.5, 12.0
_RADIUS_UNKNOWN = 3.5
_LEGEND_RADIUS = 5
# gas pipes: line weights
_PIPE_WEIGHT, _AGED_WEIGHT = 1.5, 3.5
_DEFAULT_ADMIN_WEIGHT = 1.5


# --------------------------------------------------------------------------------------
# the generic builder
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rows:
    """What a styler sees: the rows drawn, their ids and popup fields, and the language."""

    frame: gpd.GeoDataFrame
    disp: Display
    ids: list[str]
    fields: Fields
    lang: str

    @property
    def text(self) -> dict[str, str]:
        return TEXT[self.lang]

    def column(self, name: str) -> list:
        return column_values(self.frame, name, self.disp.rows)

    def codes(self, name: str, vocab: str) -> list:
        return codes(self.frame, name, vocab, self.disp.rows)


@dataclass(frozen=True)
class Styling:
    """A styler's answer: the styles, each row's style number, per-row extras, the legend
    section and further entries of the layer spec (labels, search box, package figures)."""

    styles: list[dict]
    row_styles: Sequence[int]
    legend: dict
    extras: Sequence[dict] | None = None
    spec: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LayerSpec:
    """What differs between layer kinds."""

    kind: str
    styler: Callable[..., Styling]
    hover: dict
    id_column: str | None = None  # whose label names the id in popups
    title: str | None = None  # the field shown as the popup title
    prepare: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None
    #: computed popup fields ({name: values per drawn row}) for columns that are absent
    computed: Callable[[gpd.GeoDataFrame, Display], dict] | None = None
    allowed: tuple | None = None  # geometry types, when wider than the kind's contract


def _spec(spec: LayerSpec, rows: Rows, styling: Styling) -> dict:
    names = rows.fields.names
    out = {
        "kind": spec.kind, "label": rows.text[spec.kind],
        "pane": _PANES[spec.kind][0], "z": _PANES[spec.kind][1],
        "origin": list(rows.disp.origin), "scale": SCALE,
        "fields": rows.fields.labels, "flags": rows.fields.flags,
        "tip": [names.index(n) for n in TIPS.get(spec.kind, ()) if n in names],
        "styles": styling.styles, "hover": spec.hover,
    }
    if spec.id_column:
        out["idLabel"] = schema.label(spec.kind, spec.id_column, rows.lang)
    if spec.title is not None and spec.title in names:
        out["title"] = names.index(spec.title)
    return {**out, **styling.spec}


def _features(rows: Rows, styling: Styling) -> list[list]:
    out = []
    extras = styling.extras
    parts = zip(rows.disp.geoms, rows.ids, rows.fields.values, styling.row_styles)
    for k, (geom, fid, values, style) in enumerate(parts):
        extra = {key: v for key, v in (extras[k] if extras else {}).items() if v is not None}
        feature = [geom, fid, values, int(style)]
        if extra:
            feature.append(extra)
        out.append(feature)
    return out


def check_layer_input(gdf, kind: str, *, stage: str, allowed: tuple | None = None):
    """``gdf`` checked against the data contract of ``kind`` for drawing: a GeoDataFrame
    with a CRS (any: it is reprojected for display), unique ids and the kind's geometry
    types; rows without geometry are skipped, validity is not required."""
    return require_layer(gdf, kind, stage=stage, metric=False, valid=False,
                         allow_missing=True, allowed=allowed)


def add_layer(m: folium.Map, gdf: gpd.GeoDataFrame, spec: LayerSpec, *, name: str | None,
              lang: str | None, show: bool, simplify_m: float, label_points: bool = False,
              checked: bool = False, **options) -> folium.Map:
    """Draw ``gdf`` on ``m`` as a layer of ``spec.kind``; ``options`` go to the styler.
    ``checked``: ``gdf`` has been through :func:`check_layer_input` already."""
    if not checked:
        gdf = check_layer_input(gdf, spec.kind, stage=f"add_{spec.kind}_layer",
                                allowed=spec.allowed)
    lang = check_lang(lang) if lang is not None else state(m).lang
    frame = spec.prepare(gdf) if spec.prepare else gdf
    disp = display_geometry(frame, datum=state(m).datum, simplify_m=simplify_m,
                            label_points=label_points)
    computed = spec.computed(frame, disp) if spec.computed else None
    rows = Rows(frame, disp, [id_text(v) for v in frame.index[disp.rows]],
                fields(frame, spec.kind, FIELDS[spec.kind], lang, disp.rows, computed), lang)
    styling = spec.styler(rows, **options)
    features = _features(rows, styling)
    payload = script_json({**_spec(spec, rows, styling), "data": features})
    layer = DataLayer(payload, kind=spec.kind, name=name or rows.text[spec.kind], show=show,
                      bounds=disp.bounds, n=len(features))
    register(m, layer, styling.legend)
    return m


def _style_numbers(keys: Sequence, used: Sequence) -> list[int]:
    number = {k: i for i, k in enumerate(used)}
    return [number[k] for k in keys]


def _ordered(values, known: Sequence) -> list:
    """The known codes present, in their order, then the others sorted, then None."""
    present = set(values)
    others = sorted({v for v in present if v and v not in known})
    return ([v for v in [*known, *others] if v in present]
            + ([None] if None in present else []))


# --------------------------------------------------------------------------------------
# packages
# --------------------------------------------------------------------------------------
def _package_styling(rows: Rows, *, colors: pd.Series | None, gap_m: float,
                     label_max_zoom: int | None) -> Styling:
    frame, text = rows.frame, rows.text
    if colors is None:
        colors = (package_colors(frame, gap_m=gap_m) if len(frame)
                  else pd.Series([], dtype=object))
    colors = pd.Series(colors).reindex(frame.index).fillna(PALETTE[0])
    palette = list(dict.fromkeys(colors.tolist()))
    styles = [{"color": _PACKAGE_OUTLINE, "weight": 1.4, "opacity": 0.9, "fillColor": c,
               "fillOpacity": 0.5} for c in palette]
    points = rows.disp.points or [None] * len(rows.ids)
    spec = {}
    if label_max_zoom is not None:
        # shown through zoom label_max_zoom.99 (fractional zooms), up to the compound names
        spec["labels"] = {"min": 0, "below": label_max_zoom + 1, "cls": "sr-label-pkg"}
    legend = {
        "title": text["packages"],
        "items": [{"shape": "fill", "fill": palette[0] if palette else PALETTE[0],
                   "color": _PACKAGE_OUTLINE,
                   "label": text["n_packages"].format(n=len(rows.ids))}],
        "note": text["package_note"],
    }
    return Styling(styles, _style_numbers(colors.to_numpy()[rows.disp.rows], palette), legend,
                   [{"p": p} for p in points], spec)


PACKAGES = LayerSpec("packages", _package_styling, hover={"weight": 3, "color": "#111111"})


def add_packages_layer(
    m: folium.Map,
    packages: gpd.GeoDataFrame,
    *,
    colors: pd.Series | None = None,
    gap_m: float = GAP_M,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    label_max_zoom: int | None = PACKAGE_LABEL_MAX_ZOOM,
    simplify_m: float = SIMPLIFY_M,
) -> folium.Map:
    """Add the packages as filled polygons, neighbours in different colours.

    Tooltips show the package id, compound count, households and cost; popups every
    package figure present (``n_compounds``, ``streets``, ``households``,
    ``floor_area_m2``, ``cost_total``, ``construction_cost``, ``illegal_area_m2``,
    ``gas_aged_m``, ``must_tender``, ``plan_year``). Package ids are written on the map
    up to zoom ``label_max_zoom`` (None: never). ``colors`` overrides
    :func:`package_colors`. Returns ``m``.
    """
    return add_layer(m, packages, PACKAGES, name=name, lang=lang, show=show,
                     simplify_m=simplify_m, label_points=label_max_zoom is not None,
                     colors=colors, gap_m=gap_m, label_max_zoom=label_max_zoom)


# --------------------------------------------------------------------------------------
# compounds
# --------------------------------------------------------------------------------------
def labels_for(compounds: gpd.GeoDataFrame, labels) -> pd.Series:
    """``labels`` aligned to ``compounds``, refused when it is not a Series indexed by
    compound_id."""
    if not isinstance(labels, pd.Series):
        raise DataError("`labels` must be a pandas Series of package_id indexed by "
                        "compound_id.")
    out = labels.reindex(compounds.index)
    if len(labels) and len(compounds) and out.isna().all():
        raise DataError(
            "`labels` shares no index value with `compounds`; it must be indexed by "
            f"compound_id (e.g. {compounds.index[0]!r}), got e.g. {labels.index[0]!r}."
        )
    return out


def _package_by_location(compounds: gpd.GeoDataFrame, packages: gpd.GeoDataFrame) -> pd.Series:
    pk = metric(packages.geometry)
    pts = shapely.point_on_surface(np.asarray(compounds.geometry.to_crs(pk.crs).values))
    src, dst = shapely.STRtree(np.asarray(pk.values)).query(pts, predicate="within")
    out = pd.Series(pd.NA, index=compounds.index, dtype=object, name=schema.PACKAGE_ID)
    out.iloc[src] = np.asarray(packages.index, dtype=object)[dst]
    return out


def compound_packages(compounds, labels, packages) -> pd.Series | None:
    """Package id per compound: ``labels``, else a ``package_id`` column, else the package
    whose polygon holds the compound's representative point."""
    if labels is not None:
        return labels_for(compounds, labels)
    if schema.PACKAGE_ID in compounds.columns:
        return compounds[schema.PACKAGE_ID]
    if packages is not None and len(packages) and len(compounds):
        return _package_by_location(compounds, packages)
    return None


def _related(rows: Rows, keys: list, packages: gpd.GeoDataFrame | None) -> dict:
    """The figures of each compound's package, for its popup."""
    related = {"label": rows.text["in_package"], "fields": [], "flags": [], "rows": []}
    if packages is None:
        return related
    used = {k for k in keys if k is not None}
    pk_ids = [id_text(v) for v in packages.index]
    sel = np.array([i for i, pid in enumerate(pk_ids) if pid in used], dtype=int)
    pf = fields(packages, "packages", FIELDS["package_summary"], rows.lang, sel)
    related.update(fields=pf.labels, flags=pf.flags,
                   rows=[[pk_ids[i], v] for i, v in zip(sel.tolist(), pf.values)])
    return related


def _compound_legend(text: dict, unassigned: list[bool], label_zoom: int | None) -> dict:
    items = [{"shape": "fill", "fill": "transparent", "color": _COMPOUND_OUTLINE,
              "label": text["compound_outline"]}]
    if any(unassigned):
        items.append({"shape": "fill", "fill": _UNASSIGNED_FILL, "color": _UNASSIGNED_OUTLINE,
                      "dash": True, "label": f"{text['unassigned']} ({sum(unassigned)})"})
    legend = {"title": text["compounds"], "items": items}
    if label_zoom is not None:
        legend["note"] = text["label_note"].format(z=label_zoom)
    return legend


_COMPOUND_STYLES = [
    {"color": _COMPOUND_OUTLINE, "weight": 0.9, "opacity": 0.9, "fill": True,
     "fillColor": "#000000", "fillOpacity": 0},
    {"color": _UNASSIGNED_OUTLINE, "weight": 1.2, "opacity": 0.9, "dashArray": "4 3",
     "fill": True, "fillColor": _UNASSIGNED_FILL, "fillOpacity": 0.3},
]


def _compound_styling(rows: Rows, *, pkg_of: pd.Series | None,
                      packages: gpd.GeoDataFrame | None, label_zoom: int | None,
                      search: bool) -> Styling:
    text, n = rows.text, len(rows.ids)
    keys = [None] * n
    if pkg_of is not None:
        keys = [None if is_missing(k) else str(k) for k in pkg_of.to_numpy()[rows.disp.rows]]
    unassigned = [pkg_of is not None and k is None for k in keys]
    points = rows.disp.points or [None] * n
    extras = [{"n": id_text(nm) or None, "k": k, "p": p}
              for nm, k, p in zip(rows.column("name"), keys, points)]
    spec = {}
    if label_zoom is not None:
        spec["labels"] = {"min": label_zoom, "cls": "sr-label-cmp"}
    if search:
        spec["search"] = {"placeholder": text["search"], "empty": text["no_match"]}
    if pkg_of is not None:
        spec["related"] = _related(rows, keys, packages)
    return Styling(_COMPOUND_STYLES, [int(u) for u in unassigned],
                   _compound_legend(text, unassigned, label_zoom), extras, spec)


COMPOUNDS = LayerSpec("compounds", _compound_styling, id_column=schema.COMPOUND_ID,
                      hover={"weight": 2.5, "color": "#000000", "fillOpacity": 0.08})


def add_compounds_layer(
    m: folium.Map,
    compounds: gpd.GeoDataFrame,
    *,
    labels: pd.Series | None = None,
    packages: gpd.GeoDataFrame | None = None,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    label_zoom: int | None = COMPOUND_LABEL_ZOOM,
    search: bool = True,
    simplify_m: float = SIMPLIFY_M,
) -> folium.Map:
    """Add compound outlines with names from zoom ``label_zoom`` and a search box.

    Tooltips show the name and package; popups the compound's figures (``street``,
    ``district``, ``community``, ``households``, ``floor_area_m2``, ``build_year``,
    ``illegal_area_m2``, ``gas_aged_m``, ``cost_total``, those present) and, when
    ``packages`` is given, its package's (``n_compounds``, ``households``,
    ``cost_total``, ``illegal_area_m2``, ``gas_aged_m``, ``must_tender``, ``plan_year``).
    The package of each compound comes from ``labels``, a ``package_id`` column, or the
    package polygon it lies in; compounds in no package are drawn dashed grey. The search
    box (``search=True``) finds a compound by name or id, zooms to it and opens its popup.
    Returns ``m``.
    """
    compounds = check_layer_input(compounds, "compounds", stage="add_compounds_layer")
    if packages is not None:
        packages = check_layer_input(packages, "packages", stage="add_compounds_layer")
    pkg_of = compound_packages(compounds, labels, packages)
    return add_layer(m, compounds, COMPOUNDS, name=name, lang=lang, show=show,
                     simplify_m=simplify_m, label_points=label_zoom is not None, checked=True,
                     pkg_of=pkg_of, packages=packages, label_zoom=label_zoom, search=search)


# --------------------------------------------------------------------------------------
# illegal structures
# --------------------------------------------------------------------------------------
def _as_points(illegal: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygon footprints replaced by a point inside each."""
    polygonal = illegal.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not polygonal.any():
        return illegal
    kept = metric(illegal.geometry)
    reps = gpd.GeoSeries(shapely.point_on_surface(np.asarray(kept.values)),
                         index=illegal.index, crs=kept.crs).to_crs(illegal.crs)
    geometry = illegal.geometry.where(~polygonal, reps)
    return gpd.GeoDataFrame(illegal.drop(columns=illegal.geometry.name), geometry=geometry,
                            crs=illegal.crs)


def _radius(area) -> float:
    if is_missing(area):
        return _RADIUS_UNKNOWN
    size = _RADIUS_BASE + math.sqrt(max(float(area), 0.0)) / _RADIUS_DIVISOR
    return round(float(np.clip(size, _RADIUS_MIN, _RADIUS_MAX)), 1)


def _illegal_styling(rows: Rows) -> Styling:
    text, lang = rows.text, rows.lang
    statuses = rows.codes("status", "illegal_status")
    used = _ordered(statuses, list(_STATUS_COLORS))
    styles = [{"color": "#ffffff", "weight": 1, "opacity": 1,
               "fillColor": _STATUS_COLORS.get(s, _OTHER), "fillOpacity": 0.9,
               "radius": _LEGEND_RADIUS} for s in used]
    legend = {
        "title": text["illegal"],
        "items": [
            {"shape": "circle", "fill": _STATUS_COLORS.get(s, _OTHER), "radius": _LEGEND_RADIUS,
             "label": (schema.value_label("illegal_status", s, lang) if s else text["unknown"])
             + f" ({statuses.count(s):,})"}
            for s in used
        ],
        "note": text["size_note"],
    }
    return Styling(styles, _style_numbers(statuses, used), legend,
                   [{"r": _radius(a)} for a in rows.column("area_m2")])


ILLEGAL = LayerSpec("illegal", _illegal_styling, id_column="structure_id", title="kind",
                    hover={"weight": 2, "color": "#000000"}, prepare=_as_points)


def add_illegal_layer(
    m: folium.Map,
    illegal: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
) -> folium.Map:
    """Add illegal structures (违法建设) as circles coloured by ``status`` and sized by
    ``area_m2`` (polygons are drawn at a point inside their footprint). Popups show the
    structure id, kind, area, status and compound; nothing else (no ``party``, no case
    number) is written into the map. Returns ``m``."""
    return add_layer(m, illegal, ILLEGAL, name=name, lang=lang, show=show, simplify_m=0)


# --------------------------------------------------------------------------------------
# gas pipes
# --------------------------------------------------------------------------------------
def _aged(gas: gpd.GeoDataFrame) -> np.ndarray:
    if "aged" not in gas.columns:
        return np.zeros(len(gas), dtype=bool)
    return np.array([False if is_missing(v) else bool(v) for v in gas["aged"]], dtype=bool)


def _aged_last(gas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The pipes with the aged ones last, so they are drawn on top."""
    return gas.iloc[np.argsort(_aged(gas), kind="stable")]


def _pipe_lengths(gas: gpd.GeoDataFrame, disp: Display) -> dict:
    if "length_m" in gas.columns:
        return {}
    return {"length_m": np.asarray(disp.metric.length.to_numpy(), dtype=float)}


def _pipe_style(cls, is_aged: bool) -> dict:
    style = {"color": _AGED_COLOR if is_aged else _PIPE_COLORS.get(cls, _OTHER),
             "weight": _AGED_WEIGHT if is_aged else _PIPE_WEIGHT,
             "opacity": 0.95 if is_aged else 0.85}
    if cls == "overhead":
        style["dashArray"] = "6 3"
    return style


def _gas_legend(rows: Rows, classes: list, aged: np.ndarray) -> dict:
    text = rows.text
    items = [
        {"shape": "line", "color": _PIPE_COLORS.get(c, _OTHER), "weight": _PIPE_WEIGHT,
         "dash": c == "overhead",
         "label": schema.value_label("pipe_class", c, rows.lang) if c else text["unknown"]}
        for c in _ordered(classes, list(_PIPE_COLORS))
    ]
    if aged.any():
        items.append({"shape": "line", "color": _AGED_COLOR, "weight": _AGED_WEIGHT,
                      "label": f"{text['aged']} ({int(aged.sum()):,})"})
    legend = {"title": text["gas"], "items": items}
    if "aged" not in rows.frame.columns:
        legend["note"] = text["no_aged"]
    return legend


def _gas_styling(rows: Rows) -> Styling:
    classes = rows.codes("pipe_class", "pipe_class")
    aged = _aged(rows.frame)[rows.disp.rows]
    keys = list(zip(classes, aged.tolist()))
    class_order = [c for c in _ordered(classes, list(_PIPE_COLORS)) if c is not None]

    def rank(key):
        cls, is_aged = key
        return is_aged, class_order.index(cls) if cls in class_order else len(class_order)

    used = sorted(set(keys), key=rank)
    return Styling([_pipe_style(cls, is_aged) for cls, is_aged in used],
                   _style_numbers(keys, used), _gas_legend(rows, classes, aged))


GAS = LayerSpec("gas", _gas_styling, id_column="segment_id", title="pipe_class",
                hover={"weight": 6}, prepare=_aged_last, computed=_pipe_lengths)


def add_gas_layer(
    m: folium.Map,
    gas: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    simplify_m: float = SIMPLIFY_M,
) -> folium.Map:
    """Add gas pipes coloured by ``pipe_class``; aged pipes (``aged`` true, from the
    overlay's ageing rules) are drawn thick and red on top. Returns ``m``."""
    return add_layer(m, gas, GAS, name=name, lang=lang, show=show, simplify_m=simplify_m)


# --------------------------------------------------------------------------------------
# barriers and admin boundaries
# --------------------------------------------------------------------------------------
def _rank_in(known: Sequence) -> Callable:
    return lambda code: known.index(code) if code in known else _UNKNOWN_RANK


def _barrier_style(kind: str, polygonal: bool) -> dict:
    style = dict(_BARRIER_STYLES.get(kind, _BARRIER_STYLES["other"]))
    fill = style.pop("fillColor", style["color"])
    if polygonal:
        style.update(fill=True, fillColor=fill, fillOpacity=0.35, weight=1.5)
    else:
        style["fill"] = False
    return style


def _barrier_styling(rows: Rows) -> Styling:
    types = [t or "other" for t in rows.codes("barrier_type", "barrier_type")]
    polygonal = [t in ("Polygon", "MultiPolygon")
                 for t in rows.frame.geom_type.to_numpy()[rows.disp.rows]]
    keys = list(zip(types, polygonal))
    rank = _rank_in(list(_BARRIER_STYLES))
    used = sorted(set(keys), key=lambda k: (rank(k[0]), k[0], k[1]))
    items = []
    for t in dict.fromkeys(t for t, _ in used):
        style = _BARRIER_STYLES.get(t, _BARRIER_STYLES["other"])
        items.append({"shape": "line", "color": style["color"], "weight": style["weight"],
                      "dash": "dashArray" in style,
                      "label": schema.value_label("barrier_type", t, rows.lang)})
    names = [id_text(n) or None for n in rows.column("name")]
    return Styling([_barrier_style(t, poly) for t, poly in used], _style_numbers(keys, used),
                   {"title": rows.text["barriers"], "items": items}, [{"n": nm} for nm in names])


BARRIERS = LayerSpec("barriers", _barrier_styling, title="barrier_type",
                     hover={"opacity": 1, "weight": 5})


def _admin_styling(rows: Rows) -> Styling:
    text = rows.text
    levels = rows.codes("level", "admin_level")
    rank = _rank_in(list(_ADMIN_WEIGHT))
    used = sorted(set(levels), key=lambda lv: (rank(lv), lv or ""))
    styles = [{"color": _ADMIN_COLOR, "weight": _ADMIN_WEIGHT.get(lv, _DEFAULT_ADMIN_WEIGHT),
               "opacity": 0.8, "dashArray": "8 5", "fill": False} for lv in used]
    legend = {
        "title": text["admin"],
        "items": [{"shape": "line", "color": _ADMIN_COLOR,
                   "weight": _ADMIN_WEIGHT.get(lv, _DEFAULT_ADMIN_WEIGHT), "dash": True,
                   "label": schema.value_label("admin_level", lv, rows.lang) if lv
                   else text["admin"]}
                  for lv in used],
    }
    names = [id_text(n) or None for n in rows.column("name")]
    return Styling(styles, _style_numbers(levels, used), legend, [{"n": nm} for nm in names])


# admin boundaries may come as lines as well as polygons
ADMIN = LayerSpec("admin", _admin_styling, id_column="admin_code", hover={"opacity": 1},
                  allowed=POLYGONAL + LINEAL)

#: the layer kinds, in drawing order
SPECS: dict[str, LayerSpec] = {s.kind: s for s in (PACKAGES, COMPOUNDS, ILLEGAL, GAS,
                                                   BARRIERS, ADMIN)}


def add_barriers_layer(
    m: folium.Map,
    barriers: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    simplify_m: float = SIMPLIFY_M,
) -> folium.Map:
    """Add barriers (arterial roads, rivers, railways, walls) styled by ``barrier_type``,
    with their ``name``. Returns ``m``."""
    return add_layer(m, barriers, BARRIERS, name=name, lang=lang, show=show,
                     simplify_m=simplify_m)


def add_admin_layer(
    m: folium.Map,
    admin: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    lang: str | None = None,
    show: bool = True,
    simplify_m: float = ADMIN_SIMPLIFY_M,
) -> folium.Map:
    """Add administrative boundaries (区, 街道, 社区) as dashed lines (no fill, so they do
    not cover the packages), weighted by ``level``. Returns ``m``."""
    return add_layer(m, admin, ADMIN, name=name, lang=lang, show=show, simplify_m=simplify_m)
