"""Bundled sample data: the files shipped inside the package and the synthetic district.

:func:`sample_district` generates a Wuhan-like district of any size
(:mod:`spatialreno.datasets.synthetic`); :func:`load_sample` reads the bundled one. Use
:func:`get_path` the way ``momepy.datasets.get_path`` is used::

    >>> from spatialreno import datasets
    >>> datasets.get_path("sample_district").name
    'sample_district.gpkg'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["available", "get_path", "District", "sample_district", "load_sample",
           "read_district"]

#: the generator's names, imported on first use (reading a path needs no geopandas)
_SYNTHETIC = frozenset({"District", "sample_district", "load_sample", "read_district"})


def __getattr__(name: str):
    if name in _SYNTHETIC:
        from . import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module 'spatialreno.datasets' has no attribute {name!r}")

_HERE = Path(__file__).resolve().parent

#: dataset name → file inside this folder
_FILES: dict[str, str] = {
    "sample_district": "sample_district.gpkg",
}
_ALIASES: dict[str, str] = {"sample": "sample_district", "sample_district.gpkg": "sample_district"}

#: names accepted by :func:`get_path` (any other file shipped here is found by name or stem)
available: tuple[str, ...] = tuple(_FILES)


def _bundled_files() -> dict[str, Path]:
    """Data files in this folder by stem (``rates_default`` → ``rates_default.toml``)."""
    return {p.stem: p for p in sorted(_HERE.iterdir()) if p.suffix in (".gpkg", ".toml", ".csv", ".json")}


def get_path(name: str) -> Path:
    """Path of a bundled dataset.

    Parameters
    ----------
    name : str
        ``"sample_district"`` (alias ``"sample"``): the synthetic Hanyang/Jianghan district
        of :func:`spatialreno.datasets.sample_district` (200 compounds, seed 0) as a
        GeoPackage with one layer per kind (compounds, illegal, gas, barriers, admin, roads).
        Any other file shipped in ``spatialreno/datasets`` is found by its file name or
        stem (``"rates_default"`` → ``rates_default.toml``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the available names.
    FileNotFoundError
        If the file is missing from the installation.
    """
    key = _ALIASES.get(name, name)
    if key not in _FILES:
        others = _bundled_files()
        stem = Path(key).stem
        if stem in others and key in (stem, others[stem].name):
            return others[stem]
        names = sorted({*available, *others})
        raise ValueError(f"no bundled dataset {name!r}; available: {', '.join(names)}")
    path = _HERE / _FILES[key]
    if not path.exists():
        raise FileNotFoundError(
            f"bundled dataset {key!r} is missing at {path}; regenerate it with "
            "`python -m spatialreno.sample --bundle` or reinstall spatialreno"
        )
    return path
