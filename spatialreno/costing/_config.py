"""The config machinery shared by CostRates, TenderThresholds and PriorityWeights.

A config class is a frozen dataclass that lists its keys as :class:`_Key` records (field,
dotted TOML key, canonical unit, source of the default) and mixes in :class:`_Config`, which
gives it ``from_dict`` / ``from_toml`` / ``to_dict`` / ``assumptions`` / ``describe``. Money
rates need an explicit unit in a file and are converted to the field's unit; shares accept a
fraction or a percentage; a wrong key or unit is a :class:`~spatialreno.ConfigError` that
names the key and the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from .._toml import load_toml
from ..errors import ConfigError

_MONEY_UNITS = {"元": 1.0, "yuan": 1.0, "cny": 1.0, "rmb": 1.0,
                "万元": 1e4, "万": 1e4, "10kyuan": 1e4, "10kcny": 1e4}
_PER_UNITS = {
    "m2": "m2", "平方米": "m2", "平米": "m2", "sqm": "m2",
    "m": "m", "米": "m", "延米": "m", "metre": "m", "meter": "m",
    "户": "household", "household": "household", "hh": "household",
    "部": "elevator", "台": "elevator", "elevator": "elevator", "unit": "elevator",
}
_PER_LABEL = {"m2": "floor area (㎡)", "m": "pipe length (m)", "household": "household (户)",
              "elevator": "elevator (部)", None: "nothing (a sum of money)"}
_SHARE_UNITS = {"share": 1.0, "fraction": 1.0, "": 1.0, "%": 0.01, "percent": 0.01}

#: slack allowed when a sum of shares is compared with 1
SHARE_TOLERANCE = 1e-9


def _norm_unit(unit: str) -> str:
    return unicodedata.normalize("NFKC", unit).replace(" ", "").lower()


def _parse_money_unit(unit: str) -> tuple[float, str | None] | None:
    """``"元/㎡"`` → ``(1.0, "m2")``; ``"万元"`` → ``(1e4, None)``; None when not understood."""
    num, _, per = _norm_unit(unit).partition("/")
    if num not in _MONEY_UNITS:
        return None
    if not per:
        return _MONEY_UNITS[num], None
    if per not in _PER_UNITS:
        return None
    return _MONEY_UNITS[num], _PER_UNITS[per]


@dataclass(frozen=True)
class _Key:
    """One configurable value: dataclass field, dotted TOML key, canonical unit, source."""

    field: str
    path: str
    unit: str  # a money unit ("元/㎡", "万元/户", ...), "share", "weight" or "choice"
    source: str = ""
    assumed: bool = False
    choices: tuple[str, ...] = ()


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _split_table(spec: _Key, raw: Any, where: str) -> tuple[Any, str | None]:
    """A value or a ``{value, unit}`` table → (value, unit or None)."""
    key = spec.path
    if not isinstance(raw, Mapping):
        return raw, None
    extra = set(raw) - {"value", "unit", "source", "note"}
    if extra:
        raise ConfigError(
            f"{where}{key}: unknown field(s) {', '.join(sorted(map(repr, extra)))}; a value "
            'table holds value, unit and optionally source/note, e.g. { value = 200, unit = "元/㎡" }'
        )
    if "value" not in raw:
        raise ConfigError(f"{where}{key}: the table has no 'value'")
    unit = raw.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise ConfigError(f"{where}{key}: unit must be a string, got {unit!r}")
    return raw["value"], unit


def _parse_share(key: str, value: float, unit: str | None, where: str) -> float:
    scale = _SHARE_UNITS.get(_norm_unit(unit)) if unit is not None else 1.0
    if scale is None:
        raise ConfigError(
            f"{where}{key}: unit {unit!r} is not a share; give a fraction (0.06) or "
            '{ value = 6, unit = "%" }'
        )
    share = float(value) * scale
    if share > 1:
        raise ConfigError(f"{where}{key}: a share must be between 0 and 1, got {share:g}")
    return share


def _parse_money(spec: _Key, value: float, unit: str | None, where: str) -> float:
    key = spec.path
    want = _parse_money_unit(spec.unit)
    if want is None:  # a programming error in a _KEYS table
        raise ConfigError(f"{key}: unknown canonical unit {spec.unit!r}")
    if unit is None:
        raise ConfigError(
            f"{where}{key}: needs an explicit unit; write {key.split('.')[-1]} = "
            f'{{ value = {value}, unit = "{spec.unit}" }}'
        )
    got = _parse_money_unit(unit)
    if got is None or got[1] != want[1]:
        raise ConfigError(
            f"{where}{key}: wrong unit {unit!r}; this rate is money per {_PER_LABEL[want[1]]}, "
            f'e.g. unit = "{spec.unit}"'
        )
    return float(value) * got[0] / want[0]


def _parse_value(spec: _Key, raw: Any, where: str) -> Any:
    """Turn a TOML value into the field's canonical unit; ConfigError names the key."""
    key = spec.path
    if spec.unit == "choice":
        if not isinstance(raw, str) or raw not in spec.choices:
            raise ConfigError(
                f"{where}{key}: expected one of {', '.join(map(repr, spec.choices))}, got {raw!r}"
            )
        return raw
    value, unit = _split_table(spec, raw, where)
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"{where}{key}: expected a number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}{key}: must be ≥ 0, got {value!r}")
    if spec.unit == "weight":
        if unit is not None:
            raise ConfigError(f"{where}{key}: a weight has no unit; write {key.split('.')[-1]} = {value}")
        return float(value)
    if spec.unit == "share":
        return _parse_share(key, value, unit, where)
    return _parse_money(spec, value, unit, where)


def _flatten(data: Mapping, known: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables → {dotted key: leaf}; a known key, or a table with ``value``, is a leaf."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in known and "value" not in value:
            out.update(_flatten(value, known, dotted + "."))
        else:
            out[dotted] = value
    return out


class _Config:
    """Mixin: ``from_dict`` / ``from_toml`` / ``to_dict`` / ``assumptions`` from ``_KEYS``."""

    _KEYS: ClassVar[tuple[_Key, ...]] = ()
    #: what the file is, for the messages of :func:`spatialreno._toml.load_toml`
    _WHAT: ClassVar[str] = "config"

    @classmethod
    def _by_path(cls) -> dict[str, _Key]:
        return {k.path: k for k in cls._KEYS}

    def _check_fields(self) -> None:
        """Validate the field values (the constructor path): plain numbers in the stored unit."""
        for spec in self._KEYS:
            kind = spec.unit if spec.unit in ("choice", "share") else "weight"
            value = _parse_value(dataclasses.replace(spec, unit=kind), getattr(self, spec.field), "")
            object.__setattr__(self, spec.field, value)

    @classmethod
    def from_dict(cls, data: Mapping, *, source: str | None = None):
        """Build from nested tables as in the TOML file; missing keys keep their default.

        Parameters
        ----------
        data : mapping
            ``{"section": {"key": value}}``; money rates as ``{"value": v, "unit": "元/㎡"}``.
        source : str, optional
            Where the data came from (a file name), for error messages.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{_where(source)}expected a table of settings, got {type(data).__name__}")
        where = _where(source)
        known = cls._by_path()
        kwargs: dict[str, Any] = {}
        for dotted, raw in _flatten(data, known).items():
            spec = known.get(dotted)
            if spec is None:
                section = dotted.rpartition(".")[0]
                near = sorted(p for p in known if p.rpartition(".")[0] == section) or sorted(known)
                raise ConfigError(f"{where}unknown key {dotted!r}; known keys: {', '.join(near)}")
            kwargs[spec.field] = _parse_value(spec, raw, where)
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike):
        """Read a TOML file (see ``spatialreno/datasets/``); errors name the key and the file."""
        return cls.from_dict(load_toml(path, what=cls._WHAT), source=str(path))

    def to_dict(self) -> dict:
        """Nested tables with explicit units; ``from_dict(x.to_dict()) == x``."""
        out: dict[str, Any] = {}
        for spec in self._KEYS:
            section, _, key = spec.path.rpartition(".")
            table = out
            for part in filter(None, section.split(".")):
                table = table.setdefault(part, {})
            value = getattr(self, spec.field)
            if spec.unit in ("share", "weight", "choice"):
                table[key] = value
            else:
                table[key] = {"value": value, "unit": spec.unit}
        return out

    @property
    def assumptions(self) -> tuple[str, ...]:
        """Dotted keys still at a default that has no published source (an assumption)."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return tuple(
            k.path for k in self._KEYS if k.assumed and getattr(self, k.field) == defaults[k.field]
        )

    def describe(self) -> pd.DataFrame:
        """One row per key: value, unit, whether it is an assumption, and the default's source."""
        assumed = set(self.assumptions)
        rows = [{
            "key": spec.path,
            "value": getattr(self, spec.field),
            "unit": "" if spec.unit in ("weight", "choice") else spec.unit,
            "assumption": spec.path in assumed,
            "source": spec.source,
        } for spec in self._KEYS]
        return pd.DataFrame(rows).set_index("key")


def _coerce(cls, value, name: str):
    """None → defaults; instance → itself; mapping → from_dict; path → from_toml."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return cls.from_dict(value)
    if isinstance(value, str | os.PathLike):
        return cls.from_toml(value)
    raise ConfigError(
        f"`{name}` must be a {cls.__name__}, a dict or a TOML path, got {type(value).__name__}"
    )
