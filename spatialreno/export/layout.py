"""What a bundle holds and where: file names, layer and sheet names, option sets, and the
limits of the shapefile format."""

from __future__ import annotations

from typing import Literal

__all__ = ["Format", "FieldNames", "Lang", "FORMATS", "FIELD_NAMES", "LANGS", "GPKG_NAME",
           "XLSX_NAME", "SHP_DIR", "DICTIONARY_CSV", "VOCABULARY_CSV", "MANIFEST_NAME",
           "BUNDLE_FORMAT", "LAYER_NAMES", "SHEETS", "DICT_SHEET", "LAYER_ORDER",
           "SHP_MAX_BYTES", "FIELD_NAME_MAX_BYTES", "MAX_FIELDS"]

Format = Literal["gpkg", "shp", "xlsx"]
FieldNames = Literal["code", "chinese"]
Lang = Literal["zh", "en"]
FORMATS: tuple[str, ...] = ("gpkg", "shp", "xlsx")
FIELD_NAMES: tuple[str, ...] = ("code", "chinese")
LANGS: tuple[str, ...] = ("zh", "en")

GPKG_NAME = "spatialreno.gpkg"
XLSX_NAME = "spatialreno.xlsx"
SHP_DIR = "shp"
DICTIONARY_CSV = "字段说明.csv"
VOCABULARY_CSV = "代码表.csv"
MANIFEST_NAME = "manifest.json"
BUNDLE_FORMAT = "spatialreno-bundle"

#: Chinese and English name of each layer (GeoPackage identifiers, dictionary).
LAYER_NAMES: dict[str, tuple[str, str]] = {
    "packages": ("片区", "Packages"),
    "compounds": ("小区", "Compounds"),
    "illegal": ("违法建设", "Illegal structures"),
    "gas": ("燃气管段", "Gas segments"),
    "barriers": ("障碍", "Barriers"),
    "admin": ("行政区划", "Admin areas"),
    "roads": ("道路", "Roads"),
}
#: workbook sheets, in order: layer → (Chinese title, English title)
SHEETS: dict[str, tuple[str, str]] = {
    "packages": ("片区汇总", "Packages"),
    "compounds": ("小区明细", "Compounds"),
    "illegal": ("违建明细", "Illegal structures"),
    "gas": ("燃气管段", "Gas segments"),
}
DICT_SHEET = ("字段说明", "Data dictionary")
#: the order layers are written in
LAYER_ORDER = ("packages", "compounds", "illegal", "gas", "barriers", "admin", "roads")

#: dBASE/Esri text width in bytes; GDAL cuts longer values silently
SHP_MAX_BYTES = 254
#: dBASE field-name width in bytes
FIELD_NAME_MAX_BYTES = 10
#: a dBASE table holds at most 255 fields
MAX_FIELDS = 255
