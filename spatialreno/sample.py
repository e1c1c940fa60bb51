"""The sample district on disk: ``write_sample`` and ``python -m spatialreno.sample``.

The generator itself lives with the bundled data, in :mod:`spatialreno.datasets.synthetic`
(:func:`~spatialreno.datasets.sample_district`, :func:`~spatialreno.datasets.load_sample`);
its names are re-exported here, so ``from spatialreno.sample import sample_district`` keeps
working. :func:`write_sample` writes a district as a GeoPackage and as GBK shapefiles (the
one shapefile writer of :mod:`spatialreno.export`, with .cpg and LDID) for QGIS/ArcGIS;
``python -m spatialreno.sample OUT_DIR`` does the same from the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pyogrio

from ._outdir import OutputFolder
from .datasets.synthetic import (  # noqa: F401  (CRS, KINDS: names the tests and notebooks use)
    CRS,
    KINDS,
    District,
    load_sample,
    read_district,
    sample_district,
)
from .errors import ExportError, SpatialRenoError

__all__ = ["District", "sample_district", "load_sample", "read_district", "write_sample", "main"]


#: the sample's split shapefiles are named by geometry type: barriers_linestring.shp
_SHP_PART_NAMES = {"point": "point", "line": "linestring", "polygon": "polygon"}
#: the .cpg the sample has always written (GDAL and QGIS read it; the LDID byte says GBK too)
_SHP_CPG = "GBK"


def write_sample(out_dir: str | os.PathLike, district: District | None = None, *,
                 overwrite: bool = False, interface: str = "python") -> dict[str, Path]:
    """Write a district as ``sample_district.gpkg`` and as GBK shapefiles under ``shp/``.

    The GeoPackage has one layer per kind with canonical column names (the id as a column).
    The shapefiles are written by the export's shapefile writer
    (:func:`spatialreno.export.write_shapefile`): ASCII field names from the schema's
    shapefile codes (``hh_cnt``), text in GBK with a ``.cpg`` naming it, the DBF
    language-driver byte of GBK (0x4D) and a ``.prj``; layers that mix points and
    polygons (``illegal``) or lines and polygons (``barriers``) are split by geometry type
    (``illegal_point.shp``, ``illegal_polygon.shp``). Files are written to a hidden
    staging folder first and moved into place (see :class:`spatialreno._outdir.OutputFolder`:
    a ``manifest.json`` lists what was written; an existing folder is replaced only where
    spatialreno wrote it, and a folder with other files is refused).

    Parameters
    ----------
    out_dir : path
        Folder to write into; created if needed. It must be new, empty, or a folder an
        earlier ``write_sample`` wrote (then ``overwrite=True`` is needed).
    district : District, optional
        Defaults to ``sample_district()``.
    overwrite : bool, default False
        Replace the sample an earlier run wrote there (only its own files).
    interface : {"python", "cli"}
        Whether refusals name Python arguments or command-line options.

    Returns
    -------
    dict
        Output name → path: ``"gpkg"`` and one entry per shapefile.

    Raises
    ------
    ExportError
        If a file could not be written or its ``.cpg``/``.prj`` is missing.
    EncodingError
        If a text of the district cannot be written in GBK (nothing is written then).
    """
    district = sample_district() if district is None else district
    out_dir = Path(out_dir)
    folder = OutputFolder(out_dir, overwrite=overwrite, kind="sample",
                          expected=("sample_district.gpkg", "shp"), interface=interface).check()
    try:
        with folder as tmp:
            _write_gpkg(district, tmp / "sample_district.gpkg")
            shp_names = _write_shapefiles(district, tmp / "shp")
            folder.manifest = {"kind": "sample district", "layers": shp_names}
    except SpatialRenoError:
        raise
    except Exception as exc:   # pragma: no cover - depends on the file system
        raise ExportError(f"could not write the sample district to {out_dir}: {exc}") from exc
    written: dict[str, Path] = {"gpkg": out_dir / "sample_district.gpkg"}
    for name in shp_names:
        written[name] = out_dir / "shp" / f"{name}.shp"
    return written


def _write_shapefiles(district: District, shp_dir: Path) -> list[str]:
    """Every layer as GBK shapefiles in ``shp_dir`` (created); returns the file stems."""
    from .export import write_shapefile

    shp_dir.mkdir()
    names = []
    for kind, gdf in district.layers().items():
        paths = write_shapefile(shp_dir, kind, gdf, encoding="GBK", part_names=_SHP_PART_NAMES,
                                cpg=_SHP_CPG)
        names.extend(path.stem for path in paths)
    return names


def _write_gpkg(district: District, path: Path) -> None:
    if path.exists():
        path.unlink()
    for kind, gdf in district.layers().items():
        pyogrio.write_dataframe(gdf.reset_index(), path, layer=kind, driver="GPKG")


def main(argv: list[str] | None = None) -> int:
    """``python -m spatialreno.sample OUT_DIR [--n N] [--seed S] [--bundle]``."""
    parser = argparse.ArgumentParser(
        prog="python -m spatialreno.sample",
        description="Write the synthetic sample district as a GeoPackage and GBK shapefiles.",
    )
    parser.add_argument("out_dir", nargs="?", help="output folder (gpkg + shp/)")
    parser.add_argument("--n", type=int, default=200, help="number of compounds (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a sample an earlier run wrote in OUT_DIR (only its files)")
    parser.add_argument("--bundle", action="store_true",
                        help="also refresh spatialreno/datasets/sample_district.gpkg (n=200, seed=0)")
    args = parser.parse_args(argv)
    if args.out_dir is None and not args.bundle:
        parser.error("give OUT_DIR or --bundle")
    district = sample_district(args.n, seed=args.seed)
    if args.out_dir is not None:
        for name, path in write_sample(args.out_dir, district, overwrite=args.overwrite,
                                       interface="cli").items():
            sys.stdout.write(f"{name}: {path}\n")
    if args.bundle:
        bundled = district if (args.n, args.seed) == (200, 0) else sample_district()
        dest = Path(__file__).resolve().parent / "datasets" / "sample_district.gpkg"
        tmp = dest.with_suffix(".tmp.gpkg")
        _write_gpkg(bundled, tmp)
        os.replace(tmp, dest)
        sys.stdout.write(f"bundled: {dest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
