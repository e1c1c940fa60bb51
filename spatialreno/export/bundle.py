"""The export bundle: :func:`export_bundle` writes one folder (GeoPackage, shapefiles,
workbook, data dictionary, manifest) through :class:`~spatialreno._outdir.OutputFolder`;
:func:`read_bundle` reads it back to canonical layers."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from .. import schema
from .._cells import write_csv
from .._outdir import Interface, OutputFolder
from ..errors import EncodingError, ExportError, SpatialRenoError
from .dictionary import data_dictionary, localised, vocabulary_table
from .encoding import ShapefileEncoding, resolve_encoding
from .fields import normalise, plan_fields
from .geopackage import write_gpkg, write_tables_gpkg
from .layers import collect_layers, prepare_layer
from .layout import (
    BUNDLE_FORMAT,
    DICTIONARY_CSV,
    FIELD_NAMES,
    FORMATS,
    GPKG_NAME,
    LANGS,
    MANIFEST_NAME,
    SHP_DIR,
    VOCABULARY_CSV,
    XLSX_NAME,
    FieldNames,
    Format,
    Lang,
)
from .ogr import crs_text
from .shapefile import check_shapefile_fields, write_layer_shapefiles
from .workbook import write_workbook

__all__ = ["export_bundle", "read_bundle", "read_manifest"]


def read_manifest(path: str | os.PathLike) -> dict:
    """The ``manifest.json`` of a bundle folder (files, row counts, CRS, encoding, fields).

    Raises
    ------
    ExportError
        The folder holds no manifest, or the manifest is not a spatialreno bundle's.
    """
    path = Path(path)
    manifest = path / MANIFEST_NAME if path.is_dir() else path
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: not a spatialreno bundle (no {MANIFEST_NAME})") from None
    if data.get("format") != BUNDLE_FORMAT:
        raise ExportError(f"{manifest}: not a spatialreno bundle manifest")
    return data


def export_bundle(
    layers_or_plan,
    out_dir: str | os.PathLike,
    *,
    formats: tuple[Format, ...] | list[Format] = ("gpkg", "shp", "xlsx"),
    encoding: str = "GBK",
    crs="EPSG:4547",
    field_names: FieldNames = "code",
    overwrite: bool = False,
    mask_personal: bool = True,
    lang: Lang = "zh",
    inputs=(),
    interface: Interface = "python",
) -> Path:
    """Write the GIS and tender bundle of a plan: GeoPackage, shapefiles, Excel workbook.

    Parameters
    ----------
    layers_or_plan : dict, or an object with ``export_layers()`` or ``layers()``
        ``{kind: GeoDataFrame}`` with kinds among ``packages``, ``compounds``, ``illegal``,
        ``gas``, ``barriers``, ``admin``, ``roads`` (absent or ``None`` layers are skipped).
        Duck typing: any object whose ``export_layers()`` method (a
        :class:`~spatialreno.plan.Plan`: compounds with overlays and costs, packages, ...)
        or else ``layers()`` method (a :class:`~spatialreno.sample.District`) returns such a
        dict. Each layer is indexed by its id (``schema.ID_COLUMNS``; a column of that name
        is used instead when present) and has a CRS. Columns outside the schema are
        exported too, with a generated ≤10-byte code recorded in the data dictionary.
    out_dir : path
        The bundle folder to create. Its parent is created if needed.
    formats : tuple of {"gpkg", "shp", "xlsx"}, default ("gpkg", "shp", "xlsx")
        What to write. The manifest is always written.
    encoding : {"GBK", "GB18030", "UTF-8"}, default "GBK"
        Shapefile text encoding (``.cpg`` ``936`` / ``GB18030`` / ``UTF-8``). GBK is what
        Chinese city GIS offices and ArcGIS/SuperMap on Chinese Windows expect; GB18030 also
        holds rare characters (䶮, 𠀀) that GBK lacks; UTF-8 is the ArcGIS Pro default but
        takes 3 bytes per Chinese character. The GeoPackage and workbook are always UTF-8.
    crs : CRS or None, default "EPSG:4547"
        Every layer is reprojected to it (None keeps each layer's own CRS).
    field_names : {"code", "chinese"}, default "code"
        Shapefile field names: the schema's ≤10-byte ASCII codes (``hh_cnt``), or the
        ≤5-character Chinese short names (``户数``; GBK/GB18030 only).
    overwrite : bool, default False
        Replace an existing bundle at ``out_dir``: only the entries its ``manifest.json``
        lists (files spatialreno wrote) are replaced, any other file there is kept. The old
        entries are renamed away, the new ones renamed in, and only then the old ones
        deleted (put back if a rename fails).
    mask_personal : bool, default True
        Mask personal data (``party`` and columns like ID card / phone / person's name):
        ``张三`` → ``张*``. False writes them as they are (for the enforcement office only).
    lang : {"zh", "en"}, default "zh"
        Language of the workbook (sheet names, headers, coded values) and the dictionary.
    inputs : iterable of paths, optional
        Files the bundle is made from; ``out_dir`` may not be one of them, nor contain one
        in an entry it would replace.
    interface : {"python", "cli"}, default "python"
        Whether refusal messages name Python arguments or command-line options.

    Returns
    -------
    Path
        ``out_dir``. Its ``manifest.json`` (:func:`read_manifest`) lists every file with
        its row count, the CRS, the encoding and the field map.

    Raises
    ------
    EncodingError
        A text the shapefile encoding cannot hold or a text of the data that is over 254
        bytes (names layer, id and column, and the encoding to use), or Chinese field
        names with UTF-8. spatialreno's own long texts are shortened instead.
    OutputFolderError (an ExportError)
        ``out_dir`` holds a bundle and ``overwrite`` is False, or holds files spatialreno
        did not write, or is an input; raised before anything is written.
    ExportError
        Writing failed; nothing partial is left and an existing bundle is kept.
    CRSError, SchemaError
        A layer without CRS, an unknown layer kind, or a layer that is not a GeoDataFrame.

    See Also
    --------
    read_bundle : read a bundle back to canonical layers.
    field_table : the data dictionary without writing anything.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely import box
    >>> from spatialreno.export import export_bundle, read_bundle
    >>> compounds = gpd.GeoDataFrame(
    ...     {"name": ["钢花村小区", "建设新村"], "households": [320, 210]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
    ...     index=pd.Index(["C1", "C2"], name="compound_id"),
    ...     crs="EPSG:4547",
    ... )
    >>> out = export_bundle({"compounds": compounds}, Path(tempfile.mkdtemp()) / "bundle")
    >>> sorted(p.name for p in (out / "shp").iterdir())[:5]
    ['compounds.cpg', 'compounds.dbf', 'compounds.prj', 'compounds.shp', 'compounds.shx']
    >>> (out / "shp" / "compounds.cpg").read_text()
    '936'
    >>> back = read_bundle(out, source="shp")["compounds"]
    >>> back.loc["C1", "name"], int(back.loc["C2", "households"])
    ('钢花村小区', 210)
    """
    settings = _settings(formats, encoding, crs, field_names, mask_personal, lang)
    folder = OutputFolder(out_dir, overwrite=overwrite, kind="bundle",
                          expected=settings.expected_entries(), inputs=inputs,
                          interface=interface).check()
    # everything that can be refused is refused before a byte is written
    prepared, plans = _prepare_layers(collect_layers(layers_or_plan), settings)
    with folder as tmp:
        folder.manifest = _write_all(tmp, prepared, plans, settings)
    return Path(out_dir)


@dataclass(frozen=True)
class _Settings:
    """The checked options of one export."""

    formats: tuple[str, ...]
    enc: ShapefileEncoding
    crs: CRS | None
    field_names: str
    mask_personal: bool
    lang: str

    def expected_entries(self) -> list[str]:
        """The top-level entries of the bundle folder these formats write."""
        names = (("gpkg", GPKG_NAME), ("shp", SHP_DIR), ("xlsx", XLSX_NAME))
        return [name for fmt, name in names if fmt in self.formats]


def _settings(formats, encoding, crs, field_names, mask_personal, lang) -> _Settings:
    """Check every option (ValueError / EncodingError) before anything is read or written."""
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")
    if field_names not in FIELD_NAMES:
        raise ValueError(f"field_names must be 'code' or 'chinese', got {field_names!r}")
    if lang not in LANGS:
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    enc = resolve_encoding(encoding)
    if field_names == "chinese" and "shp" in formats and not enc.two_byte_han:
        raise EncodingError(
            f"field_names='chinese' needs a 2-byte encoding: in {enc.name} a Chinese character "
            "takes 3 bytes, so a 5-character name (10 bytes in GBK) is cut mid-character and "
            "the shapefile cannot be read back. Use encoding='GBK' or encoding='GB18030', or "
            "field_names='code'."
        )
    target_crs = CRS.from_user_input(crs) if crs is not None else None
    return _Settings(formats, enc, target_crs, field_names, mask_personal, lang)


def _prepare_layers(layers: dict[str, gpd.GeoDataFrame], settings: _Settings):
    """Each layer reprojected, masked and normalised (``{kind: (df, masked)}``) and its
    fields (``{kind: [Field]}``); what a shapefile cannot hold is refused here."""
    prepared = {kind: prepare_layer(gdf, kind, settings.crs, settings.mask_personal)
                for kind, gdf in layers.items()}
    plans = {}
    for kind, (df, _) in prepared.items():
        plans[kind] = plan_fields(kind, df, settings.field_names)
        for f in plans[kind]:
            df[f.name] = normalise(df[f.name], f.dtype)
        if "shp" in settings.formats:
            check_shapefile_fields(kind, df, plans[kind], settings.enc, settings.field_names)
    return prepared, plans


def _write_all(tmp: Path, prepared, plans, settings: _Settings) -> dict:
    """Write every format into the staging folder ``tmp``; returns the manifest. A failure
    that is not spatialreno's own error becomes an ExportError."""
    formats, lang = settings.formats, settings.lang
    try:
        files, shp_files = ((_write_shp(tmp, prepared, plans, settings)) if "shp" in formats
                            else ([], {}))
        dictionary = data_dictionary(plans, shp_files, formats, lang)
        vocabulary = vocabulary_table(lang)
        if "shp" in formats:
            files.extend(_write_csv_tables(tmp, localised(dictionary, lang), vocabulary))
        if "gpkg" in formats:
            files.insert(0, _write_geopackage(tmp, prepared, plans, dictionary, vocabulary))
        if "xlsx" in formats:
            sheets = write_workbook(tmp / XLSX_NAME, prepared, plans, dictionary, lang)
            files.append({"path": XLSX_NAME, "format": "xlsx", "sheets": sheets,
                          "bytes": (tmp / XLSX_NAME).stat().st_size})
    except SpatialRenoError:
        raise
    except Exception as exc:
        raise ExportError(f"writing the bundle failed: {type(exc).__name__}: {exc}") from exc
    return _manifest(prepared, plans, settings, files)


def _write_shp(tmp: Path, prepared, plans, settings: _Settings):
    """Every layer's shapefiles under ``shp/``: manifest entries, and the file names of
    each layer (for the dictionary)."""
    shp_dir = tmp / SHP_DIR
    shp_dir.mkdir()
    files: list[dict] = []
    shp_files: dict[str, list[str]] = {}
    for kind, (df, _) in prepared.items():
        entries = write_layer_shapefiles(shp_dir, kind, df, plans[kind], settings.enc,
                                         formats=settings.formats, lang=settings.lang)
        shp_files[kind] = [Path(e["path"]).name for e in entries]
        files.extend(entries)
    return files, shp_files


def _write_csv_tables(tmp: Path, dictionary: pd.DataFrame, vocabulary: pd.DataFrame) -> list:
    """字段说明.csv and 代码表.csv beside the shapefiles, neutralised for spreadsheets."""
    entries = []
    for name, table in ((DICTIONARY_CSV, dictionary), (VOCABULARY_CSV, vocabulary)):
        write_csv(table, tmp / SHP_DIR / name)
        entries.append({"path": f"{SHP_DIR}/{name}", "format": "csv", "rows": len(table),
                        "bytes": (tmp / SHP_DIR / name).stat().st_size})
    return entries


def _write_geopackage(tmp: Path, prepared, plans, dictionary: pd.DataFrame,
                      vocabulary: pd.DataFrame) -> dict:
    counts = write_gpkg(tmp / GPKG_NAME, prepared, plans)
    write_tables_gpkg(tmp / GPKG_NAME, {"data_dictionary": dictionary, "vocabulary": vocabulary})
    return {"path": GPKG_NAME, "format": "gpkg", "layers": counts,
            "tables": ["data_dictionary", "vocabulary"],
            "bytes": (tmp / GPKG_NAME).stat().st_size}


def _manifest(prepared, plans, settings: _Settings, files: list[dict]) -> dict:
    """What :func:`read_bundle` reads: files, row counts, CRS, encoding, field map.

    ``created`` is the clock time of the export, so two exports of the same plan differ
    in this one value.
    """
    import pyogrio

    from .. import __version__

    gdal = pyogrio.__gdal_version__
    return {
        "format": BUNDLE_FORMAT,
        "version": 1,
        "spatialreno": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gdal": pyogrio.__gdal_version_string__,
        "crs": crs_text(settings.crs) if settings.crs is not None else None,
        "encoding": settings.enc.name,
        "cpg": settings.enc.cpg,
        "field_names": settings.field_names,
        "mask_personal": settings.mask_personal,
        "lang": settings.lang,
        "shapefile_aliases": (
            "not written: pyogrio cannot set field aliases" if gdal >= (3, 13, 0)
            else f"not written: GDAL {pyogrio.__gdal_version_string__} < 3.13 has no .shp.xml aliases"
        ),
        "layers": {
            kind: {
                "rows": len(df),
                "id": schema.ID_COLUMNS[kind],
                "crs": crs_text(df.crs),
                "masked": masked,
                "columns": [{"name": f.name, "field": f.field, "dtype": f.dtype}
                            for f in plans[kind]],
            }
            for kind, (df, masked) in prepared.items()
        },
        "files": files,
    }


def read_bundle(
    path: str | os.PathLike,
    *,
    source: Literal["gpkg", "shp"] | None = None,
    engine: Literal["pyogrio", "fiona"] = "pyogrio",
) -> dict[str, gpd.GeoDataFrame]:
    """Read a bundle written by :func:`export_bundle` back into canonical layers.

    Parameters
    ----------
    path : path
        The bundle folder (holding ``manifest.json``).
    source : {"gpkg", "shp"} or None
        Which copy to read; default the GeoPackage when present, else the shapefiles.
        Shapefile fields are mapped back to canonical names through the manifest (so
        generated codes and Chinese field names round-trip), split layers are joined.
    engine : {"pyogrio", "fiona"}, default "pyogrio"

    Returns
    -------
    dict
        ``{kind: GeoDataFrame}`` indexed by each layer's id, columns in export order,
        integers as ``Int64``, booleans as ``boolean``, dates as ``datetime64``.
    """
    path = Path(path)
    manifest = read_manifest(path)
    formats = {f["format"] for f in manifest["files"]}
    source = source or ("gpkg" if "gpkg" in formats else "shp")
    if source not in formats:
        raise ExportError(f"{path}: the bundle has no {source} files (it has {sorted(formats)})")
    return {kind: _read_layer(path, manifest, kind, info, source, engine)
            for kind, info in manifest["layers"].items()}


def _read_layer(path: Path, manifest: dict, kind: str, info: dict, source: str,
                engine: str) -> gpd.GeoDataFrame:
    """One layer of a bundle: its GeoPackage layer, or its shapefiles renamed back to
    canonical names and joined; dtypes restored, indexed by its id."""
    columns = info["columns"]
    if source == "gpkg":
        frames = [gpd.read_file(path / GPKG_NAME, layer=kind, engine=engine)]
    else:
        frames = [gpd.read_file(path / f["path"], engine=engine) for f in manifest["files"]
                  if f["format"] == "shp" and f["layer"] == kind]
        rename = {c["field"]: c["name"] for c in columns}
        frames = [fr.rename(columns=rename) for fr in frames]
    gdf = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=frames[0].crs)
    for c in columns:
        gdf[c["name"]] = _restore(gdf[c["name"]], c["dtype"])
    id_col = info["id"]
    return gdf.set_index(id_col)[[c["name"] for c in columns if c["name"] != id_col]
                                 + ["geometry"]]


def _restore(s: pd.Series, dtype: str) -> pd.Series:
    """A column read back as the dtype the manifest records."""
    if dtype in ("int", "bool"):
        s = pd.to_numeric(s).astype("Int64")
        return s.astype("boolean") if dtype == "bool" else s
    if dtype == "float":
        return pd.to_numeric(s).astype("float64")
    if dtype in ("date", "datetime"):
        return pd.to_datetime(s)
    return s.astype(object).where(s.notna(), None)
