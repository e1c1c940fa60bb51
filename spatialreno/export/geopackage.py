"""The bundle's GeoPackage: every layer with canonical column names, plus plain tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .fields import text_field
from .layout import LAYER_NAMES
from .ogr import write_ogr

__all__ = ["write_gpkg", "write_tables_gpkg"]


def write_gpkg(path: Path, prepared, plans) -> dict[str, int]:
    """Every prepared layer as a GeoPackage layer named by its kind (identifier 片区
    packages, ...); returns the row count of each."""
    counts = {}
    for kind, (df, _) in prepared.items():
        zh, en = LAYER_NAMES[kind]
        write_ogr(path, df, plans[kind], layer=kind, driver="GPKG", crs=df.crs,
                  layer_options={"IDENTIFIER": f"{zh} {kind}", "DESCRIPTION": en})
        counts[kind] = len(df)
    return counts


def write_tables_gpkg(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Plain text tables (no geometry) in the GeoPackage, e.g. ``data_dictionary``."""
    for name, table in tables.items():
        fields = [text_field(c) for c in table.columns]
        write_ogr(path, table.astype(object).where(table.notna(), None), fields, layer=name,
                  driver="GPKG", crs=None, spatial=False)
