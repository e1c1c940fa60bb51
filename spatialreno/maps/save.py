"""Saving a map: its HTML, UTF-8, written atomically."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import folium
from branca.element import Figure

from .._outdir import atomic_write_bytes
from ..errors import ExportError

__all__ = ["save_map"]

log = logging.getLogger(__name__)


def _folder(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"cannot write the map to {str(path)!r}: folder {str(parent)!r} does "
                          "not exist; create it first.")
    return parent


def save_map(m: folium.Map | Figure, path: str | os.PathLike) -> Path:
    """Write the map's HTML (UTF-8) atomically: to a temporary file in the same folder,
    then ``os.replace`` onto ``path``, so a reader never sees half a file.

    Returns the path written.
    """
    path = Path(path)
    _folder(path)
    data = m.get_root().render().encode("utf-8")
    atomic_write_bytes(path, data)
    log.info("map: wrote %s (%d bytes)", path, len(data))
    return path
