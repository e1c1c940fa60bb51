"""Read the layers planners receive into clean, projected GeoDataFrames with canonical columns.

:func:`read_layer` opens anything GDAL opens (GeoPackage, shapefile — also zipped —,
GeoJSON, FlatGeobuf, ...), through pyogrio (default) or fiona, and

* maps column aliases (Chinese names such as ``户数``, shapefile codes such as ``hh_cnt``)
  to the canonical names of :mod:`spatialreno.schema`, and coded values (``庭院埋地``) to
  their codes (``courtyard_buried``);
* decodes shapefile text correctly: a ``.cpg`` is honoured (``936``, ``ANSI 936``, ``GBK``,
  ``65001`` ... are understood); with no ``.cpg`` the DBF bytes decide between UTF-8 and
  GBK and the choice is reported; text is never returned garbled silently;
* refuses a layer with no CRS unless ``crs=`` says which it is, and projects a geographic
  layer (EPSG:4326 / 4490) to its CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534–4554;
  Wuhan → EPSG:4547) unless ``to_crs=`` names another;
* sets the layer's id column (``compound_id``, ``structure_id``, ...) as a string index.

Nothing is dropped here: invalid geometry, duplicate ids and bad numbers are left for
:func:`spatialreno.check_layer` to report and :func:`spatialreno.repair_layer` to fix with an
audit row each. What reading itself decided (encoding, renamed columns, reprojection, ids
made up for a file without them) is listed in ``gdf.attrs["read_notes"]``.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from . import schema
from .errors import CRSError, LayerReadError, SchemaError, SpatialRenoWarning

__all__ = [
    "read_layer",
    "read_layers",
    "list_layers",
    "gauss_kruger_crs",
    "detect_dbf_encoding",
    "normalize_columns",
    "ensure_projected",
    "split_layer_spec",
]

Engine = Literal["pyogrio", "fiona"]
_ENGINES = ("pyogrio", "fiona")

#: .cpg contents → the encoding name Python and GDAL both understand
_CPG_ALIASES = {
    "936": "GBK", "cp936": "GBK", "ansi936": "GBK", "gbk": "GBK", "gb2312": "GBK",
    "oem": None, "gb18030": "GB18030", "54936": "GB18030",
    "65001": "UTF-8", "utf8": "UTF-8", "utf-8": "UTF-8", "utf_8": "UTF-8",
    "950": "BIG5", "cp950": "BIG5", "big5": "BIG5",
    "1252": "CP1252", "cp1252": "CP1252", "88591": "ISO-8859-1", "iso88591": "ISO-8859-1",
    "latin1": "ISO-8859-1",
}
#: DBF language-driver ids that name an encoding
_LDID = {0x4D: "GBK", 0x7A: "GBK", 0x78: "BIG5", 0x57: None, 0x00: None, 0x03: "CP1252"}


# --------------------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------------------
def gauss_kruger_crs(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Krüger CRS (no zone prefix) whose zone holds ``lon``.

    Code = 4534 + (CM − 75) / 3 for central meridians 75°E–135°E (EPSG:4534–4554); Wuhan
    (114.3°E) → EPSG:4547. Outside China's longitudes a :class:`CRSError` says to name a CRS.
    """
    cm = int(np.floor((lon + 1.5) / 3.0)) * 3
    if not 75 <= cm <= 135:
        raise CRSError(
            f"longitude {lon:.3f} is outside the CGCS2000 Gauss-Krüger zones (75°E–135°E); "
            "pass to_crs= with a projected CRS in metres (e.g. a UTM zone)"
        )
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def ensure_projected(gdf: gpd.GeoDataFrame, *, crs=None, to_crs=None, source: str = "layer"):
    """Return ``gdf`` in a projected CRS in metres, with a note of what was done.

    ``crs`` states the CRS of data that carries none (or must agree with the one it carries);
    ``to_crs`` names the target. A geographic layer goes to its Gauss-Krüger zone.
    """
    notes: list[str] = []
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{source}: the layer has no coordinate reference system; say which it is with "
                "crs= (e.g. crs='EPSG:4547' for Wuhan CGCS2000 Gauss-Krüger, 'EPSG:4490' for "
                "CGCS2000 lon/lat), or add a .prj beside the shapefile"
            )
        gdf = gdf.set_crs(crs)
        notes.append(f"CRS {CRS.from_user_input(crs).to_string()} assigned (the file had none)")
    elif crs is not None and not CRS.from_user_input(crs).equals(gdf.crs):
        raise CRSError(
            f"{source}: the file says its CRS is {gdf.crs.to_string()} but crs={crs!r} was given; "
            "crs= only states the CRS of data that has none — use to_crs= to reproject"
        )
    target = None
    if to_crs is not None:
        target = CRS.from_user_input(to_crs)
    elif gdf.crs.is_geographic:
        valid = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        if len(valid) == 0:
            raise CRSError(f"{source}: no geometry to choose a projection from; pass to_crs=")
        minx, miny, maxx, maxy = valid.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise CRSError(
                f"{source}: the CRS is geographic ({gdf.crs.to_string()}) but the coordinates "
                f"({minx:.0f}, {miny:.0f}) are not degrees; the .prj is probably wrong — pass the "
                "real CRS with crs= after removing the .prj, or fix the .prj"
            )
        target = gauss_kruger_crs((minx + maxx) / 2.0)
    if target is not None and not target.equals(gdf.crs):
        if not target.is_projected:
            raise CRSError(f"{source}: to_crs={to_crs!r} is not a projected CRS in metres")
        notes.append(f"reprojected from {gdf.crs.to_string()} to {target.to_string()}")
        gdf = gdf.to_crs(target)
    if not gdf.crs.is_projected:
        raise CRSError(f"{source}: {gdf.crs.to_string()} is not projected; pass to_crs=")
    unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise CRSError(
            f"{source}: the CRS {gdf.crs.to_string()} is in {unit}, not metres; pass to_crs= "
            "with a metric CRS (e.g. EPSG:4547)"
        )
    return gdf, notes


# --------------------------------------------------------------------------------------
# shapefile encodings
# --------------------------------------------------------------------------------------
def _normalise_cpg(text: str) -> str | None:
    key = re.sub(r"[\s\-_]", "", text.strip().lower())
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    try:
        return "".join(text.split()).upper() if "".join(text.split()).encode("ascii") else None
    except UnicodeError:
        return None


def _dbf_text_bytes(dbf: Path) -> tuple[int, bytes]:
    """The LDID byte, and the raw text bytes of a DBF: field names and records.

    Only the 11-byte name of each 32-byte field descriptor is taken; the rest of a
    descriptor is binary (type, width, decimals) and would look like non-ASCII text.
    """
    data = dbf.read_bytes()
    if len(data) < 32:
        raise LayerReadError(f"{dbf}: not a DBF file (only {len(data)} bytes)")
    header_len = int.from_bytes(data[8:10], "little")
    ldid = data[29]
    names = b"".join(
        data[off:off + 11].split(b"\x00", 1)[0]
        for off in range(32, max(32, header_len - 1), 32)
        if data[off:off + 1] != b"\r"
    )
    return ldid, names + b" " + data[header_len:]


def detect_dbf_encoding(dbf: str | os.PathLike) -> tuple[str, str]:
    """Decide the text encoding of a DBF without a ``.cpg``.

    Returns ``(encoding, reason)``. Pure ASCII → UTF-8; bytes that are valid UTF-8 →
    UTF-8; otherwise bytes that decode as GB18030/GBK → GBK (the Chinese Windows code page,
    what ArcGIS ≤ 10.2 and MapGIS write); the LDID byte (0x4D = CP936) decides first when it
    names an encoding. Raises :class:`LayerReadError` when none fits.
    """
    dbf = Path(dbf)
    ldid, raw = _dbf_text_bytes(dbf)
    if _LDID.get(ldid):
        return _LDID[ldid], f"LDID byte 0x{ldid:02X} of {dbf.name}"
    high = raw.translate(None, bytes(range(128)))
    if not high:
        return "UTF-8", f"{dbf.name} holds ASCII only"
    try:
        raw.decode("utf-8")
        return "UTF-8", f"the text of {dbf.name} is valid UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gbk")
        return "GBK", f"the text of {dbf.name} is not UTF-8 and decodes as GBK"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "GB18030", f"the text of {dbf.name} decodes as GB18030"
    except UnicodeDecodeError:
        pass
    raise LayerReadError(
        f"{dbf}: cannot tell the text encoding (neither UTF-8 nor GBK); add a .cpg file "
        "naming it (e.g. 'GBK' or 'UTF-8') or pass encoding="
    )


def _shapefile_encoding(path: Path, encoding: str | None) -> tuple[str | None, str | None]:
    """Encoding to read a .shp with, and the note to report (None when GDAL's default is right)."""
    if encoding is not None:
        return encoding, f"text decoded as {encoding} (encoding= given)"
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = next((p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".dbf"), dbf)
    cpg = next((p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() == ".cpg"), None)
    if cpg is not None:
        text = cpg.read_bytes().decode("ascii", "replace")
        enc = _normalise_cpg(text)
        if enc is not None:
            try:
                _, raw = _dbf_text_bytes(dbf)
                raw.decode(enc)
            except (LookupError, OSError):
                return enc, f".cpg says {text.strip()!r}"
            except UnicodeDecodeError:
                found, why = detect_dbf_encoding(dbf)
                warnings.warn(
                    f"{cpg}: the .cpg says {text.strip()!r} but the text is not {enc}; read as "
                    f"{found} ({why}). Fix the .cpg to read {found!r}.",
                    SpatialRenoWarning,
                    stacklevel=4,
                )
                return found, f".cpg {text.strip()!r} is wrong; {why}"
            return enc, f".cpg says {text.strip()!r}"
    if not dbf.exists():
        return None, None
    found, why = detect_dbf_encoding(dbf)
    return found, f"no .cpg; chose {found} because {why}"


# --------------------------------------------------------------------------------------
# opening files
# --------------------------------------------------------------------------------------
def _gdal_path(path: Path) -> tuple[str, Path | None]:
    """The path to hand GDAL, and the .shp inside a zip when that is what it holds."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile as exc:
            raise LayerReadError(f"{path}: not a readable zip file ({exc})") from None
        if len(shps) == 1:
            return f"/vsizip/{path}/{shps[0]}", Path(shps[0])
        return f"/vsizip/{path}", None
    return str(path), None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def list_layers(path: str | os.PathLike, *, engine: Engine = "pyogrio") -> list[str]:
    """Names of the layers in a file (one for a shapefile)."""
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: no such file")
    gdal_path, _ = _gdal_path(path)
    try:
        if engine == "fiona":
            import fiona

            return list(fiona.listlayers(gdal_path))
        import pyogrio

        return [str(n) for n in pyogrio.list_layers(gdal_path)[:, 0]]
    except Exception as exc:  # GDAL's own error classes differ between engines
        raise LayerReadError(f"{path}: GDAL cannot open it: {_one_line(exc)}") from None


def _read_raw(path: Path, *, layer, encoding, engine: Engine):
    notes: list[str] = []
    gdal_path, zipped_shp = _gdal_path(path)
    layers = list_layers(path, engine=engine)
    if layer is None:
        if len(layers) > 1:
            raise LayerReadError(
                f"{path}: holds {len(layers)} layers ({', '.join(layers)}); pass layer= with one of them"
            )
        if not layers:
            raise LayerReadError(f"{path}: holds no layer")
    elif isinstance(layer, str) and layer not in layers:
        raise LayerReadError(f"{path}: no layer {layer!r}; it holds {', '.join(layers)}")
    if encoding is None and path.suffix.lower() == ".shp":
        encoding, note = _shapefile_encoding(path, None)
        if note:
            notes.append(note)
    elif encoding is None and zipped_shp is not None:
        encoding, note = _zipped_shapefile_encoding(path, zipped_shp)
        if note:
            notes.append(note)
    elif encoding is not None:
        notes.append(f"text decoded as {encoding} (encoding= given)")
    kwargs = {"layer": layer} if layer is not None else {}
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Measured \\(M\\) geometry.*")
            gdf = gpd.read_file(gdal_path, engine=engine, **kwargs)
    except UnicodeDecodeError as exc:
        raise LayerReadError(
            f"{path}: text is not valid {encoding or 'UTF-8'} ({exc.reason} at byte {exc.start} of "
            f"{exc.object[max(0, exc.start - 8):exc.end + 8]!r}); if it is a shapefile, give the "
            "right encoding= (e.g. 'GBK'); otherwise re-export the file as UTF-8"
        ) from None
    except Exception as exc:
        raise LayerReadError(f"{path}: GDAL cannot read it: {_one_line(exc)}") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise LayerReadError(f"{path}: the layer has no geometry column")
    return gdf, notes, encoding


def _zipped_shapefile_encoding(path: Path, shp: Path) -> tuple[str | None, str | None]:
    import tempfile

    with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as tmp:
        stem = str(shp.with_suffix(""))
        for name in zf.namelist():
            if name.lower().startswith(stem.lower() + ".") and name.lower().rsplit(".", 1)[-1] in (
                "dbf", "cpg",
            ):
                target = Path(tmp) / (shp.stem + "." + name.rsplit(".", 1)[-1].lower())
                target.write_bytes(zf.read(name))
        return _shapefile_encoding(Path(tmp) / (shp.stem + ".shp"), None)


# --------------------------------------------------------------------------------------
# columns
# --------------------------------------------------------------------------------------
def normalize_columns(df: pd.DataFrame, kind: str, *, source: str = "layer") -> tuple[pd.DataFrame, list[str]]:
    """Rename alias columns to canonical names and map coded values to their codes.

    Two columns that mean the same canonical column raise :class:`SchemaError` naming both.
    Columns the schema does not know are kept unchanged.
    """
    amap = schema.alias_map(kind)
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    rename: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for col in df.columns:
        if col == geom:
            continue
        canon = amap.get(schema._norm(col))
        if canon is None:
            continue
        if canon in claimed:
            raise SchemaError(
                f"{source}: columns {claimed[canon]!r} and {col!r} both mean {canon!r} "
                f"({schema.column(kind, canon).zh}); drop or rename one of them"
            )
        claimed[canon] = col
        if canon != col:
            rename[col] = canon
    notes = [f"column {a!r} read as {b!r}" for a, b in rename.items()]
    out = df.rename(columns=rename)
    for name, col in schema.columns(kind).items():
        if name not in out.columns or name == schema.ID_COLUMNS.get(kind):
            continue
        s = out[name]
        if col.vocab:
            out[name] = schema.canonical_values(col.vocab, s.astype("object"))
        elif col.dtype in ("int", "float"):
            num = pd.to_numeric(s, errors="coerce")
            lossless = bool((num.notna() | s.isna()).all())
            if lossless:
                if col.dtype == "int" and bool((num.dropna() % 1 == 0).all()):
                    out[name] = num.astype("Int64")
                else:
                    out[name] = num.astype("float64")
        elif col.dtype == "str" and s.dtype != object and not isinstance(s.dtype, pd.StringDtype):
            out[name] = s.astype("object").where(s.notna(), None).map(
                lambda v: v if v is None else _as_text(v)
            )
    return out, notes


def _as_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _set_id_index(gdf: gpd.GeoDataFrame, kind: str, source: str, id_column: str | None = None):
    id_col = schema.ID_COLUMNS[kind]
    notes: list[str] = []
    if id_column is not None:
        if id_column not in gdf.columns:
            raise SchemaError(
                f"{source}: id_column={id_column!r} is not a column; columns are "
                f"{', '.join(map(str, gdf.columns))}"
            )
        if id_col in gdf.columns and id_col != id_column:
            gdf = gdf.drop(columns=id_col)
        gdf = gdf.rename(columns={id_column: id_col})
        notes.append(f"ids taken from column {id_column!r}")
    if id_col in gdf.columns:
        ids = gdf[id_col]
        ids = ids.astype("object").where(ids.notna(), None).map(lambda v: v if v is None else _as_text(v))
        gdf = gdf.drop(columns=id_col)
        gdf.index = pd.Index(ids, name=id_col)
    elif gdf.index.name == id_col:
        gdf.index = gdf.index.astype(str)
    else:
        prefix = {"compounds": "C", "illegal": "WJ", "gas": "GS", "barriers": "BR",
                  "admin": "AD", "roads": "RD", "packages": "PK"}[kind]
        width = max(4, len(str(len(gdf))))
        gdf.index = pd.Index([f"{prefix}-{i + 1:0{width}d}" for i in range(len(gdf))], name=id_col)
        notes.append(f"no {id_col} column: ids {prefix}-0001… made up from the row order")
        warnings.warn(
            f"{source}: no {id_col} column (or alias such as "
            f"{schema.column(kind, id_col).code!r} / {schema.column(kind, id_col).zh!r}); "
            f"made ids {prefix}-0001… from the row order. Add an id column for stable ids.",
            SpatialRenoWarning,
            stacklevel=3,
        )
    return gdf, notes


# --------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------
def read_layer(
    path: str | os.PathLike | gpd.GeoDataFrame,
    kind: str,
    *,
    layer: str | int | None = None,
    crs=None,
    to_crs=None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
    id_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer into a projected GeoDataFrame with canonical columns and id index.

    Parameters
    ----------
    path : file path (GeoPackage, shapefile, zipped shapefile, GeoJSON, anything GDAL
        opens) or an in-memory GeoDataFrame to normalise the same way.
    kind : ``"compounds" | "illegal" | "gas" | "barriers" | "admin" | "roads"``.
    layer : layer name or index in a multi-layer file; required when there are several.
    crs : the CRS of data whose file has none (a shapefile without ``.prj``).
    to_crs : target CRS; default keeps a projected CRS and projects lon/lat to the
        CGCS2000 Gauss-Krüger zone of the data (Wuhan → EPSG:4547).
    encoding : text encoding; default from the ``.cpg``, or detected from the DBF bytes.
    engine : ``"pyogrio"`` (default) or ``"fiona"``.
    id_column : the column holding the ids, when it is not one of the id aliases
        (``cmp_id``, ``小区编码``, ...). Without any, ids are made up from the row order
        and a warning says so.

    Returns
    -------
    GeoDataFrame indexed by the layer's id column (strings). ``attrs["source"]`` is the
    path and ``attrs["read_notes"]`` lists what reading decided.

    Raises
    ------
    LayerReadError : the file cannot be opened or decoded (one line: file and reason).
    CRSError : no CRS and no ``crs=``; non-metric CRS.
    SchemaError : two columns meaning the same canonical column.
    """
    if kind not in schema.LAYERS or kind == "packages":
        raise ValueError(
            f"kind must be one of {', '.join(k for k in schema.LAYERS if k != 'packages')}, got {kind!r}"
        )
    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {', '.join(_ENGINES)}, got {engine!r}")
    if isinstance(path, gpd.GeoDataFrame):
        gdf, notes, source, used_encoding = path.copy(), [], "GeoDataFrame", None
        if gdf.index.name and gdf.index.name != schema.ID_COLUMNS[kind]:
            canon = schema.canonical_name(kind, gdf.index.name)
            if canon == schema.ID_COLUMNS[kind]:
                gdf.index = gdf.index.rename(canon)
    else:
        p = Path(path)
        source = str(p)
        if not p.exists():
            raise LayerReadError(f"{p}: no such file")
        gdf, notes, used_encoding = _read_raw(p, layer=layer, encoding=encoding, engine=engine)
    gdf, col_notes = normalize_columns(gdf, kind, source=source)
    gdf, id_notes = _set_id_index(gdf, kind, source, id_column)
    gdf, crs_notes = ensure_projected(gdf, crs=crs, to_crs=to_crs, source=source)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf.attrs = {
        "source": source,
        "kind": kind,
        "encoding": used_encoding,
        "read_notes": notes + col_notes + id_notes + crs_notes,
    }
    return gdf


def read_layers(
    paths: Mapping[str, str | os.PathLike | gpd.GeoDataFrame | None] | None = None,
    *,
    crs=None,
    to_crs=None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
    **kw_paths,
) -> dict[str, gpd.GeoDataFrame]:
    """Read a set of layers (``compounds=``, ``illegal=``, ``gas=``, ``barriers=``,
    ``admin=``, ``roads=``) into one projected CRS, that of the compounds.

    A path may be ``"file.gpkg::layername"`` or ``"file.gpkg:layername"`` (or
    ``("file.gpkg", "layername")``) to pick a layer. Missing layers are simply absent from the result.
    """
    items = dict(paths or {})
    items.update(kw_paths)
    unknown = set(items) - set(schema.INPUT_LAYERS) - {"roads"}
    if unknown:
        raise ValueError(f"unknown layer kinds {sorted(unknown)}; expected {schema.INPUT_LAYERS + ('roads',)}")
    if items.get("compounds") is None:
        raise ValueError("read_layers needs compounds=")
    out: dict[str, gpd.GeoDataFrame] = {}
    target = to_crs
    for kind in ("compounds", "illegal", "gas", "barriers", "admin", "roads"):
        spec = items.get(kind)
        if spec is None:
            continue
        path, layer = split_layer_spec(spec)
        gdf = read_layer(path, kind, layer=layer, crs=crs, to_crs=target, encoding=encoding, engine=engine)
        if target is None:
            target = gdf.crs
        out[kind] = gdf
    return out


def split_layer_spec(spec, base: str | os.PathLike | None = None):
    """``"file.gpkg::layer"``, ``"file.gpkg:layer"`` or ``("file.gpkg", "layer")`` →
    ``(path, layer)``; a plain path gives ``(path, None)``. Relative paths are taken
    relative to ``base`` when given (a config file's folder)."""
    if isinstance(spec, tuple):
        path, layer = spec
    elif isinstance(spec, str | os.PathLike):
        text, layer = str(spec), None
        if "::" in text:
            text, _, layer = text.partition("::")
        elif not _exists(text, base):
            head, sep, tail = text.rpartition(":")
            if sep and head and _exists(head, base):
                text, layer = head, tail
        path = text
    else:
        return spec, None
    if base is not None and not Path(path).is_absolute():
        path = str(Path(base) / path)
    return path, layer or None


def _exists(path: str, base) -> bool:
    p = Path(path)
    return (Path(base) / p).exists() if base is not None and not p.is_absolute() else p.exists()
