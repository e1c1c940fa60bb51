"""Writing a table through GDAL (pyogrio's raw writer): field arrays, geometry type, CRS.

Both the GeoPackage and the shapefile writers go through :func:`write_ogr`, so a column
is converted for GDAL in one place.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely import GeometryType

from ..errors import EncodingError
from .encoding import ShapefileEncoding
from .fields import Field

__all__ = ["write_ogr", "crs_text", "families", "FAMILY", "FAMILY_ORDER", "SHP_TYPE"]

#: geometry family of each GDAL geometry type name
FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line",
          "MultiLineString": "line", "LinearRing": "line", "Polygon": "polygon",
          "MultiPolygon": "polygon"}
#: the order in which a layer's families get their own shapefile
FAMILY_ORDER = ("polygon", "line", "point")
#: the shapefile geometry type of each family
SHP_TYPE = {"polygon": "Polygon", "line": "LineString", "point": "Point"}
#: geometry family of each shapely type (collections and missing geometry have none)
_FAMILY_OF: dict[GeometryType, str] = {
    GeometryType.POINT: "point", GeometryType.MULTIPOINT: "point",
    GeometryType.LINESTRING: "line", GeometryType.LINEARRING: "line",
    GeometryType.MULTILINESTRING: "line",
    GeometryType.POLYGON: "polygon", GeometryType.MULTIPOLYGON: "polygon",
}
#: single-part type → its multi-part type and the shapely function that makes one
_PROMOTE = (
    (GeometryType.POINT, GeometryType.MULTIPOINT, shapely.multipoints),
    (GeometryType.LINESTRING, GeometryType.MULTILINESTRING, shapely.multilinestrings),
    (GeometryType.POLYGON, GeometryType.MULTIPOLYGON, shapely.multipolygons),
)
#: the layer geometry type GDAL is told, by shapely type
_OGR_TYPE: dict[GeometryType, str] = {
    GeometryType.POINT: "Point", GeometryType.LINESTRING: "LineString",
    GeometryType.LINEARRING: "LineString", GeometryType.POLYGON: "Polygon",
    GeometryType.MULTIPOINT: "MultiPoint", GeometryType.MULTILINESTRING: "MultiLineString",
    GeometryType.MULTIPOLYGON: "MultiPolygon",
}
#: a shapefile has no multi types: its Polygon and LineString hold several parts
_SHP_SINGLE = {"MultiPolygon": "Polygon", "MultiLineString": "LineString"}
#: the largest integer a DBF N(10) integer field holds
_INT32_MAX = 2**31 - 1

#: family of each shapely type id (index), "" for collections
_FAMILY_BY_ID = np.array([_FAMILY_OF.get(GeometryType(i), "") for i in range(8)], dtype=object)


def families(geoms: np.ndarray) -> np.ndarray:
    """The geometry family of each geometry (``""`` for collections and missing ones)."""
    types = shapely.get_type_id(geoms)
    return np.where(types >= 0, _FAMILY_BY_ID[np.clip(types, 0, len(_FAMILY_BY_ID) - 1)], "")


def _geometry_for_ogr(geoms: np.ndarray, *, shapefile: bool,
                      default: str = "Unknown") -> tuple[np.ndarray, str]:
    """WKB and the layer geometry type; single parts promoted when mixed with multis (in a
    shapefile only points: its Polygon and LineString already hold several parts)."""
    types = shapely.get_type_id(geoms)
    present = {GeometryType(t) for t in set(types[types >= 0].tolist())}
    geoms = geoms.copy()
    for single, multi, make in _PROMOTE:
        if single in present and multi in present and (
                not shapefile or single == GeometryType.POINT):
            mask = types == single.value
            geoms[mask] = make(np.atleast_2d(geoms[mask]), axis=0)
            present.discard(single)
    kinds = {_OGR_TYPE.get(t, "Unknown") for t in present}
    if shapefile:
        kinds = {_SHP_SINGLE.get(k, k) for k in kinds}
    geometry_type = kinds.pop() if len(kinds) == 1 else ("Unknown" if kinds else default)
    return shapely.to_wkb(geoms), geometry_type


def _ogr_array(s: pd.Series, dtype: str, *, shapefile: bool):
    """(values, mask) for pyogrio.raw.write: integers as N(10) int32 in a shapefile when
    they fit, booleans 0/1 there, date-times as ISO text there (DBF has no such type)."""
    mask = s.isna().to_numpy()
    if dtype == "str":
        return s.to_numpy(dtype=object), None
    if dtype in ("int", "bool"):
        data = s.astype("Int64").to_numpy(dtype="int64", na_value=0)
        if dtype == "bool" and not shapefile:
            return data.astype(bool), mask
        if shapefile and (len(data) == 0 or np.abs(data).max() < _INT32_MAX):
            data = data.astype("int32")  # N(10) integer rather than N(18) Integer64
        return data, mask
    if dtype == "float":
        return s.to_numpy(dtype="float64", na_value=np.nan), None
    if dtype == "date":
        return s.to_numpy().astype("datetime64[D]"), None
    if shapefile:  # DBF has no date-time type: keep the time as ISO text
        text = s.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return text.astype(object).where(s.notna(), None).to_numpy(dtype=object), None
    return s.to_numpy().astype("datetime64[ms]"), None


def crs_text(crs) -> str | None:
    """``EPSG:<code>`` when the CRS has one, else its WKT; None for no CRS."""
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def write_ogr(path: Path, df: pd.DataFrame, fields: list[Field], *, layer: str, driver: str,
              crs, encoding: ShapefileEncoding | None = None, layer_options=None, spatial=True,
              default_type: str = "Unknown") -> None:
    """Write ``df``'s ``fields`` (and geometry when ``spatial``) as one GDAL layer.

    A shapefile gets the fields' shapefile names, anything else their column names. GDAL's
    warning that it could not convert text is an :class:`EncodingError`; its other warnings
    are passed on, naming the file.
    """
    from pyogrio.raw import write

    shapefile = driver == "ESRI Shapefile"
    arrays = [_ogr_array(df[f.name], f.dtype, shapefile=shapefile) for f in fields]
    if spatial:
        wkb, geometry_type = _geometry_for_ogr(np.asarray(df.geometry.values, dtype=object),
                                               shapefile=shapefile, default=default_type)
    else:
        wkb, geometry_type = None, None
    kwargs = {"encoding": encoding.gdal} if encoding is not None else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write(str(path), wkb, [values for values, _ in arrays],
              [f.field if shapefile else f.name for f in fields],
              field_mask=[mask for _, mask in arrays], layer=layer, driver=driver,
              geometry_type=geometry_type, crs=crs_text(crs) if spatial else None,
              layer_options=layer_options, **kwargs)
    _pass_on_warnings(path, caught, encoding)


def _pass_on_warnings(path: Path, caught, encoding: ShapefileEncoding | None) -> None:
    for w in caught:
        message = str(w.message)
        if "converted correctly" in message:  # GDAL's iconv dropped characters
            raise EncodingError(f"{path.name}: GDAL could not convert some text to "
                                f"{encoding.name if encoding else 'UTF-8'}: {message}")
        warnings.warn(f"{path.name}: {message}", w.category, stacklevel=4)
