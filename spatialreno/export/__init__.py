"""Export a plan to the city GIS and the tender workbook: GeoPackage, shapefiles, Excel.

:func:`export_bundle` writes one folder::

    out_dir/
      manifest.json            files, row counts, CRS, encoding, field map (read by read_bundle)
      spatialreno.gpkg         every layer, canonical column names, plus the tables
                               ``data_dictionary`` and ``vocabulary``
      shp/compounds.shp ...    one shapefile per layer (.shp .shx .dbf .prj .cpg); a layer
                               holding points and polygons is split: illegal_point.shp,
                               illegal_polygon.shp
      shp/字段说明.csv          data dictionary: field, Chinese name, English name, unit, layer
      shp/代码表.csv            coded values: code, Chinese label, English label
      spatialreno.xlsx         片区汇总, 小区明细, 违建明细, 燃气管段, 字段说明

Shapefile rules (measured with GDAL 3.12 via pyogrio, 3.9 via fiona, 3.6 ogrinfo; see
../shared/DOMAIN.md §3):

* field names are the schema's ASCII codes (``hh_cnt``), at most 10 bytes, or with
  ``field_names="chinese"`` the ≤5-character Chinese short names (``户数``), which fit
  10 bytes only in GBK/GB18030 (a UTF-8 Han character takes 3 bytes);
* the ``.cpg`` says ``936`` for GBK (the Windows code page number Esri writes; GDAL, QGIS
  and ArcGIS decode it; ``ANSI 936`` is *not* understood by GDAL), ``GB18030`` for GB18030
  (``54936`` is not understood by GDAL) and ``UTF-8`` for UTF-8; GBK files also carry the
  DBF language-driver id 0x4D, so a copy that loses its ``.cpg`` still reads correctly;
* every text value is checked in Python before GDAL sees it: a character the encoding
  cannot hold (GDAL's CP936 drops it silently) or a text longer than 254 bytes (GDAL cuts
  it) raises :class:`~spatialreno.errors.EncodingError` naming layer, id and column;
  spatialreno's own texts (:data:`GENERATED_TEXT`: the 化整为零 warning, the phasing note,
  the aged-pipe rule) are not refused but shortened to 254 bytes, cut between characters
  and ending with where the full text is (``…（全文见工作簿 片区汇总/化整为零提示）``); the
  GeoPackage and the workbook hold them in full, and the manifest counts them under
  ``shortened``;
* dates are DBF Date fields, booleans 0/1 integers, integers with gaps stay integers with
  empty cells.

Text from data never runs in a spreadsheet: every text cell of the workbook is a string
cell (never a formula or an error value), and every text that starts with ``=``, ``+``,
``-``, ``@``, a tab or a CR gets a leading apostrophe in the workbook and the CSV files
(``=1+1`` → ``'=1+1``, OWASP's advice; see :mod:`spatialreno._cells`); numbers stay
numbers. The GeoPackage and the shapefiles keep the exact text.

Personal data (the illegal-structure ``party``, and any column that looks like an ID
card, phone or person's name) is masked by default: the first character is kept and every
other character becomes ``*`` (``张三`` → ``张*``, ``13812345678`` → ``1**********``).

The bundle is written into a hidden temporary folder beside ``out_dir`` and renamed into
place at the end, so an error leaves no partial bundle and an existing bundle survives.

Modules: :mod:`~spatialreno.export.bundle` (export_bundle, read_bundle, the manifest),
:mod:`~spatialreno.export.shapefile` (the one shapefile writer, also used by
:func:`spatialreno.sample.write_sample`), :mod:`~spatialreno.export.encoding` (encodings and
the text checks), :mod:`~spatialreno.export.fields` (dtypes and field names),
:mod:`~spatialreno.export.dictionary` (字段说明, 代码表), :mod:`~spatialreno.export.workbook`
(Excel), :mod:`~spatialreno.export.geopackage`, :mod:`~spatialreno.export.ogr` (GDAL
writing), :mod:`~spatialreno.export.layers` (layers in), :mod:`~spatialreno.export.personal`
(masking) and :mod:`~spatialreno.export.layout` (names and limits).
"""

from __future__ import annotations

from .bundle import export_bundle, read_bundle, read_manifest
from .dictionary import field_table
from .encoding import ENCODINGS, resolve_encoding
from .encoding import GENERATED_TEXT as GENERATED_TEXT
from .encoding import ShapefileEncoding as ShapefileEncoding
from .layout import DICTIONARY_CSV, GPKG_NAME, MANIFEST_NAME, SHP_DIR, VOCABULARY_CSV, XLSX_NAME
from .layout import LAYER_NAMES as LAYER_NAMES
from .layout import FieldNames as FieldNames
from .layout import Format as Format
from .layout import Lang as Lang
from .personal import mask_text, personal_columns
from .shapefile import shortened, write_shapefile
from .workbook import display_width

# names the tests used when this package was one module
_display_width = display_width
_resolve_encoding = resolve_encoding
_shortened = shortened

__all__ = [
    "export_bundle",
    "read_bundle",
    "read_manifest",
    "field_table",
    "mask_text",
    "personal_columns",
    "write_shapefile",
    "ENCODINGS",
    "GPKG_NAME",
    "XLSX_NAME",
    "SHP_DIR",
    "DICTIONARY_CSV",
    "VOCABULARY_CSV",
    "MANIFEST_NAME",
]
