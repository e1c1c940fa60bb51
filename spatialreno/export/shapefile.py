"""The one shapefile writer: fields from the schema, text checked for the encoding, a
``.cpg`` naming it and, for GBK, the DBF language-driver byte.

:func:`write_shapefile` writes one layer of canonical columns (split by geometry family
when it mixes points, lines and polygons); the bundle (:func:`write_layer_shapefiles`)
and the sample district (:func:`spatialreno.sample.write_sample`) both write through it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import schema
from ..errors import ExportError
from .encoding import GENERATED_TEXT, ShapefileEncoding, check_text, resolve_encoding
from .fields import Field, normalise, plan_fields
from .layers import with_id_column
from .layout import GPKG_NAME, MAX_FIELDS, SHEETS, SHP_DIR, SHP_MAX_BYTES, FieldNames
from .ogr import FAMILY, FAMILY_ORDER, SHP_TYPE, families, write_ogr

__all__ = ["write_shapefile", "write_layer_shapefiles", "check_shapefile_fields", "shortened",
           "LDID_OFFSET"]

#: byte 29 of a DBF header: the language-driver id
LDID_OFFSET = 29
#: the side-car files every shapefile part must have (.prj when the layer has a CRS)
_SIDE_CARS = (".shx", ".dbf", ".cpg")


def write_shapefile(
    shp_dir: str | Path,
    kind: str,
    gdf: gpd.GeoDataFrame,
    *,
    encoding: str | ShapefileEncoding = "GBK",
    field_names: FieldNames = "code",
    part_names: Mapping[str, str] | None = None,
    cpg: str | None = None,
) -> list[Path]:
    """Write one layer as shapefiles in ``shp_dir``: ``<kind>.shp``, or one file per
    geometry family (``illegal_point.shp``, ``illegal_polygon.shp``) when it mixes them.

    Columns are written as they are (no masking, no reprojection: that is the bundle's
    work); schema columns get the schema's field codes (``hh_cnt``), others a generated
    ≤10-byte code. Text the encoding cannot hold, or over 254 bytes, raises
    :class:`~spatialreno.errors.EncodingError` before anything is written.

    Parameters
    ----------
    shp_dir : path
        An existing folder (normally the staging folder of an
        :class:`~spatialreno._outdir.OutputFolder`).
    kind : str
        The layer kind (``schema.LAYERS``); the layer is indexed by its id.
    encoding : {"GBK", "GB18030", "UTF-8"}, default "GBK"
    field_names : {"code", "chinese"}, default "code"
    part_names : mapping, optional
        Suffix of each family's file when a layer is split, e.g. ``{"line": "linestring"}``
        (default the family: ``point``, ``line``, ``polygon``).
    cpg : str, optional
        Text of the ``.cpg`` (default the encoding's: ``936`` for GBK).

    Returns
    -------
    list of Path
        The ``.shp`` files written.

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import box
    >>> from spatialreno.export import write_shapefile
    >>> c = gpd.GeoDataFrame({"name": ["钢花村小区"]}, geometry=[box(0, 0, 100, 100)],
    ...                      index=pd.Index(["C1"], name="compound_id"), crs="EPSG:4547")
    >>> [p.name for p in write_shapefile(tempfile.mkdtemp(), "compounds", c)]
    ['compounds.shp']
    """
    enc = resolve_encoding(encoding)
    df = with_id_column(gdf, kind)
    fields = plan_fields(kind, df, field_names)
    for f in fields:
        df[f.name] = normalise(df[f.name], f.dtype)
    check_shapefile_fields(kind, df, fields, enc, field_names)
    shp_dir = Path(shp_dir)
    entries = write_layer_shapefiles(shp_dir, kind, df, fields, enc, part_names=part_names,
                                     cpg=cpg)
    return [shp_dir / Path(e["path"]).name for e in entries]


def check_shapefile_fields(kind: str, df: pd.DataFrame, fields: list[Field],
                           enc: ShapefileEncoding, field_names: str) -> None:
    """Refuse, before a byte is written, what a shapefile cannot hold: more than 255
    fields, or text that ``enc`` would lose or GDAL would cut (:func:`check_text`)."""
    if len(fields) > MAX_FIELDS:
        raise ExportError(f"{kind}: {len(fields)} columns; a shapefile holds {MAX_FIELDS}")
    check_text(kind, df, fields, enc, field_names)


def write_layer_shapefiles(shp_dir: Path, kind: str, df: pd.DataFrame, fields: list[Field],
                           enc: ShapefileEncoding, *, formats=("shp",), lang: str = "zh",
                           part_names: Mapping[str, str] | None = None,
                           cpg: str | None = None) -> list[dict]:
    """One shapefile per geometry family present (normally one) of a checked, normalised
    layer (id as a column); returns the bundle manifest's entries. Generated text over 254
    bytes is shortened (the entries count it under ``shortened``)."""
    df, shortened_counts = _shapefile_text(kind, df, fields, enc, formats, lang)
    parts = _family_parts(kind, df)
    entries = []
    for family, part in parts:
        suffix = (part_names or {}).get(family, family)
        stem = f"{kind}_{suffix}" if len(parts) > 1 else kind
        path = shp_dir / f"{stem}.shp"
        write_ogr(path, part, fields, layer=stem, driver="ESRI Shapefile", crs=df.crs,
                  encoding=enc, default_type=SHP_TYPE[family])
        _write_code_page(path, enc, cpg)
        _check_written(path, has_crs=df.crs is not None)
        entries.append({
            "path": f"{SHP_DIR}/{stem}.shp", "format": "shp", "layer": kind, "rows": len(part),
            "geometry": family,
            "bytes": sum(p.stat().st_size for p in shp_dir.glob(f"{stem}.*")),
        })
        if shortened_counts:
            entries[-1]["shortened"] = dict(shortened_counts)
    return entries


def _family_parts(kind: str, df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(family, rows)`` per shapefile to write, families in :data:`FAMILY_ORDER`: one
    part when the layer holds one family (the kind's own when it has no geometry), else one
    per family, null geometries going with the first."""
    fam = families(np.asarray(df.geometry.values, dtype=object))
    present = [f for f in FAMILY_ORDER if (fam == f).any()]
    if len(present) <= 1:
        return [(present[0] if present else FAMILY[schema.GEOMETRY_TYPES[kind][0]], df)]
    fam = np.where(fam == "", present[0], fam)
    return [(family, df[fam == family]) for family in present]


def _write_code_page(path: Path, enc: ShapefileEncoding, cpg: str | None) -> None:
    """The ``.cpg`` naming the encoding and, where it has one, the DBF language-driver id,
    so a copy that lost its ``.cpg`` still reads correctly."""
    path.with_suffix(".cpg").write_text(enc.cpg if cpg is None else cpg, encoding="ascii")
    if enc.ldid:
        with open(path.with_suffix(".dbf"), "r+b") as fh:
            fh.seek(LDID_OFFSET)
            fh.write(bytes([enc.ldid]))


def _check_written(path: Path, *, has_crs: bool) -> None:
    for ext in _SIDE_CARS + ((".prj",) if has_crs else ()):
        if not path.with_suffix(ext).exists():
            raise ExportError(f"{path.with_suffix(ext)}: {ext} was not written")


def shortened(text: str, codec: str, note: str, limit: int = SHP_MAX_BYTES) -> str:
    """``text`` itself when it fits ``limit`` bytes in ``codec``, else its longest start
    (cut between characters) followed by ``note``, together at most ``limit`` bytes.

    Examples
    --------
    >>> from spatialreno.export.shapefile import shortened
    >>> shortened("汉阳区" * 3, "gbk", "…", limit=9)
    '汉阳区…'
    """
    if len(text.encode(codec)) <= limit:
        return text
    room = limit - len(note.encode(codec))
    kept, used = [], 0
    for ch in text:
        size = len(ch.encode(codec))
        if used + size > room:
            break
        kept.append(ch)
        used += size
    return "".join(kept).rstrip(" ;,；，") + note


def _full_text_note(kind: str, f: Field, formats, lang: str) -> str:
    """What a shortened shapefile text ends with: where its full text is."""
    if "xlsx" in formats and kind in SHEETS:
        sheet = SHEETS[kind][0 if lang == "zh" else 1]
        header = f.col.header_for(lang)
        return (f"…（全文见工作簿 {sheet}/{header}）" if lang == "zh"
                else f"… (full text: workbook, sheet {sheet}, column {header})")
    if "gpkg" in formats:
        return (f"…（全文见 {GPKG_NAME} 图层 {kind} 列 {f.name}）" if lang == "zh"
                else f"… (full text: {GPKG_NAME}, layer {kind}, column {f.name})")
    return ("…（已截断；导出 xlsx 或 gpkg 可得全文）" if lang == "zh"
            else "… (cut; export xlsx or gpkg for the full text)")


def _shapefile_text(kind: str, df: pd.DataFrame, fields: list[Field], enc: ShapefileEncoding,
                    formats, lang: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The layer with spatialreno's own long texts (:data:`GENERATED_TEXT`) shortened to
    fit a shapefile, and how many cells of each column were shortened."""
    generated = GENERATED_TEXT.get(kind, frozenset())
    counts: dict[str, int] = {}
    out = df
    for f in fields:
        if f.name not in generated or f.dtype != "str":
            continue
        note = _full_text_note(kind, f, formats, lang)
        short = df[f.name].map(functools.partial(shortened, codec=enc.python, note=note),
                               na_action="ignore")
        changed = int((short.notna() & (short != df[f.name])).sum())
        if changed:
            if out is df:
                out = df.copy()
            out[f.name] = short.astype(object)
            counts[f.name] = changed
    return out, counts
