"""The layers an export takes: from a dict, a Plan or a District, checked, with the id as a
column, reprojected and with personal data masked."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
from pyproj import CRS

from .. import schema
from ..errors import CRSError, SchemaError
from .layout import LAYER_ORDER
from .personal import mask_text, personal_columns

__all__ = ["collect_layers", "with_id_column", "prepare_layer"]


def collect_layers(layers_or_plan) -> dict[str, gpd.GeoDataFrame]:
    """``{kind: GeoDataFrame}`` from a dict, or from an object's ``export_layers()`` (a
    Plan) or ``layers()`` (a District) method."""
    if isinstance(layers_or_plan, Mapping):
        layers = layers_or_plan
    else:
        method = next((m for m in (getattr(layers_or_plan, name, None)
                                   for name in ("export_layers", "layers")) if callable(m)), None)
        if method is None:
            raise TypeError(
                "export_bundle needs a dict {kind: GeoDataFrame} or an object with an "
                "export_layers() or layers() method (a Plan or a District), got "
                f"{type(layers_or_plan).__name__}"
            )
        layers = method()
    if not isinstance(layers, Mapping):
        raise TypeError(f".layers() must return a dict of GeoDataFrames, got {type(layers).__name__}")
    unknown = [k for k in layers if k not in schema.LAYERS]
    if unknown:
        raise SchemaError(
            f"unknown layer kind(s) {', '.join(map(repr, unknown))}; expected some of "
            f"{', '.join(schema.LAYERS)}"
        )
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind in LAYER_ORDER:
        gdf = layers.get(kind)
        if gdf is None:
            continue
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise SchemaError(f"{kind}: expected a GeoDataFrame, got {type(gdf).__name__}")
        out[kind] = gdf
    if not out:
        raise SchemaError(f"nothing to export: no layer among {', '.join(schema.LAYERS)}")
    return out


def with_id_column(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """The layer with its id as the first column and the geometry named ``geometry`` last."""
    id_col = schema.ID_COLUMNS[kind]
    df = gdf
    if df.geometry.name != "geometry":
        df = df.rename_geometry("geometry")
    if id_col not in df.columns:
        df = df.rename_axis(id_col).reset_index()
    else:
        df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    order = [id_col] + [c for c in df.columns if c not in (id_col, "geometry")] + ["geometry"]
    return df[order]


def prepare_layer(gdf: gpd.GeoDataFrame, kind: str, crs: CRS | None,
                  mask: bool) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Reprojected, id-as-column copy of a layer with personal data masked, and the names of
    the masked columns."""
    if gdf.crs is None:
        raise CRSError(
            f"{kind}: the layer has no CRS; set it first, e.g. gdf.set_crs('EPSG:4547')"
        )
    df = with_id_column(gdf, kind)
    if crs is not None and not df.crs.equals(crs):
        df = df.to_crs(crs)
    masked = personal_columns(kind, df.columns) if mask else []
    for name in masked:
        df[name] = df[name].map(mask_text, na_action="ignore").astype(object)
    return df, masked
