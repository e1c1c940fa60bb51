"""Saving a map: its HTML, UTF-8, written atomically."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import folium
from branca.element import Figure

from .._outdir import atomic_write_bytes
from ..errors import ExportError

__all__ = ["save_map", "render_stable"]

log = logging.getLogger(__name__)


def _folder(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"cannot write the map to {str(path)!r}: folder {str(parent)!r} does "
                          "not exist; create it first.")
    return parent


#: branca's element ids: 32 hex digits from ``os.urandom`` (``Element._generate_id``)
_ID_TOKEN = re.compile(r"[0-9a-f]{32}")


def _element_ids(root) -> list[str]:
    """The ids of every element in the tree under ``root``, in tree order (read only)."""
    ids: list[str] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        ids.append(el._id)
        stack.extend(reversed(list(getattr(el, "_children", {}).values())))
    return ids


def render_stable(m: folium.Map | Figure) -> str:
    """The map's HTML with folium's random element ids renamed in tree order
    (``00…01``, ``00…02``, …), so the same input gives the same bytes in every process.

    Only the ids of the map's own elements are renamed (random 128-bit tokens, which no
    attribute text can know in advance); every other text is left exactly as it was.
    """
    root = m.get_root()
    html = root.render()
    ids = [i for i in _element_ids(root) if _ID_TOKEN.fullmatch(i)]
    new = {old: f"{k:032x}" for k, old in enumerate(dict.fromkeys(ids), start=1)}
    return _ID_TOKEN.sub(lambda t: new.get(t.group(0), t.group(0)), html)


def save_map(m: folium.Map | Figure, path: str | os.PathLike) -> Path:
    """Write the map's HTML (UTF-8) atomically: to a temporary file in the same folder,
    then ``os.replace`` onto ``path``, so a reader never sees half a file.

    Returns the path written.
    """
    path = Path(path)
    _folder(path)
    data = render_stable(m).encode("utf-8")
    atomic_write_bytes(path, data)
    log.info("map: wrote %s (%d bytes)", path, len(data))
    return path
