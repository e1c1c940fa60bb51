"""The one TOML reader: a config, a rates or a shares file, with errors a planner can act on."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["load_toml"]


def load_toml(path: str | os.PathLike, *, what: str = "config") -> dict[str, Any]:
    """Read ``path`` as TOML; every failure is a :class:`ConfigError` naming the file.

    >>> load_toml("/no/such/plan.toml")
    Traceback (most recent call last):
    ...
    spatialreno.errors.ConfigError: /no/such/plan.toml: no such config file
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder; expected a {what} file (.toml)") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the {what} file (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} file is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
