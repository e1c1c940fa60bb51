"""The main job end to end: a :class:`Plan` ties read → validate → overlay → costing →
adjacency → partition → funding → phasing together, and shows, maps, exports and edits it.

::

    import spatialreno as sr
    plan = sr.Plan.sample().run()             # or Plan.from_files(...) / Plan.from_config(...)
    plan                                      # a summary table in Jupyter
    plan.explore()                            # the review map
    plan.export("out")                        # GeoPackage, GBK shapefiles, Excel workbook
    edited = plan.move("420105-0012", plan.labels["420105-0013"])
    plan.diff(edited)

A plan is configured by a nested dict (or a TOML file) whose sections mirror the stages;
:data:`DEFAULT_CONFIG` lists every key with its default, and unknown keys fail with the
key named.
"""

from __future__ import annotations

import copy
import html
import math
import os
import time
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_args

import geopandas as gpd
import pandas as pd

from . import schema
from ._cells import write_csv
from ._outdir import OutputFolder, atomic_write_bytes
from .adjacency import BOUNDARY_POLICIES, RULES
from .errors import ConfigError, SpatialRenoWarning
from .export.layout import FIELD_NAMES, FORMATS
from .io import Engine, split_layer_spec
from .maps.basemaps import BASEMAPS as _BASEMAPS
from .maps.text import LANGS
from .partition import Method, Objective, OnInfeasible

__all__ = ["Plan", "PlanResult", "DEFAULT_CONFIG", "load_config"]

LAYER_KINDS = ("compounds", "illegal", "gas", "barriers", "admin", "roads")

#: Every config key with its default. ``None`` means "not set".
DEFAULT_CONFIG: dict[str, dict[str, Any]] = {
    "inputs": {
        "compounds": None, "illegal": None, "gas": None, "barriers": None, "admin": None,
        "roads": None,
        "crs": None,          # CRS of files that carry none
        "to_crs": None,       # target CRS; default: keep projected, lon/lat → Gauss-Krüger zone
        "encoding": None,     # shapefile text encoding; default from .cpg or detected
        "engine": "pyogrio",
        "id_column": None,    # compounds' id column when it is not an alias of compound_id
    },
    "adjacency": {
        "tolerance_m": 15.0,
        "rule": "rook",
        "use_barriers": True,
        "boundary": "street",
        "boundary_policy": "forbid",
    },
    "packages": {
        "limits": {"compounds": [2, 8], "households": [None, 6000]},
        "objective": "fewest",
        "target_packages": None,
        "method": "auto",
        "time_limit_s": None,
        "seed": 0,
        "on_infeasible": "report",
        "locked": {},
        "must_link": [],
        "cannot_link": [],
    },
    "overlay": {
        "max_distance_m": 15.0,
        "as_of_year": None,   # year pipe ages count to; unset: the first [phasing] budgets year
        "min_fire_lane_m": 4.0,
    },
    "costs": {"rates": None},          # path to a rates TOML, or an inline table
    "funding": {"shares": None},       # path to a shares TOML, or an inline table
    "phasing": {"budgets": {}, "weights": None},
    "map": {"basemap": "none", "tianditu_key": None, "lang": "zh"},
    "export": {
        "out_dir": None,
        "formats": ["gpkg", "shp", "xlsx"],
        "encoding": "GBK",
        "crs": "EPSG:4547",
        "field_names": "code",
        "mask_personal": True,
    },
}

#: keys whose value is itself a free-form table (not checked key by key)
_FREE_TABLES = {("packages", "limits"), ("packages", "locked"), ("costs", "rates"),
                ("funding", "shares"), ("phasing", "budgets"), ("phasing", "weights")}


def _merge_config(user: Mapping[str, Any], *, source: str = "config") -> dict[str, dict[str, Any]]:
    """Defaults overlaid with ``user``; unknown sections or keys raise ConfigError naming them."""
    cfg = copy.deepcopy(DEFAULT_CONFIG)
    for section, values in user.items():
        if section not in cfg:
            raise ConfigError(
                f"{source}: unknown section [{section}]; sections are {', '.join(cfg)}"
            )
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table of keys")
        for key, value in values.items():
            if key not in cfg[section]:
                raise ConfigError(
                    f"{source}: unknown key {section}.{key}; [{section}] takes "
                    f"{', '.join(cfg[section])}"
                )
            cfg[section][key] = copy.deepcopy(value)
    _check_config(cfg, source)
    for section, key in (("inputs", "crs"), ("inputs", "to_crs"), ("inputs", "encoding"),
                         ("inputs", "id_column"), ("map", "tianditu_key")):
        if cfg[section][key] == "":  # TOML has no null: "" means unset
            cfg[section][key] = None
    return cfg


#: the year the sample plan counts pipe ages to (its first budget year)
SAMPLE_AS_OF_YEAR = 2025

#: plausible calendar years for a renovation programme (fixed, not the clock's year, so a
#: config that loads today loads next year too)
YEAR_RANGE = (1949, 2100)

#: closed option sets, read from the stage that owns each one
_CHOICES = {
    ("adjacency", "rule"): RULES,
    ("adjacency", "boundary_policy"): BOUNDARY_POLICIES,
    ("packages", "objective"): get_args(Objective),
    ("packages", "method"): get_args(Method),
    ("packages", "on_infeasible"): get_args(OnInfeasible),
    ("inputs", "engine"): get_args(Engine),
    ("map", "lang"): LANGS,
    ("export", "field_names"): FIELD_NAMES,
}
_FORMATS = FORMATS


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_config(cfg: dict, source: str) -> None:
    """Type- and range-check every key; all problems in one ConfigError, one line each."""
    check = _ConfigCheck(cfg)
    for section_check in (_check_choices, _check_inputs, _check_adjacency, _check_packages,
                          _check_overlay, _check_money, _check_phasing, _check_map,
                          _check_export):
        section_check(check)
    if check.problems:
        n = len(check.problems)
        head = ("" if source == "config" else f"{source}: ") + \
            f"{n} config problem{'s' if n > 1 else ''}"
        raise ConfigError(head + ":\n" + "\n".join(f"  - {p}" for p in check.problems))


@dataclass
class _ConfigCheck:
    """The problems found in a config so far, and the checks of one kind of value."""

    cfg: dict
    problems: list[str] = field(default_factory=list)

    def bad(self, key: str, value, expected: str) -> None:
        self.problems.append(f"{key} = {value!r}: expected {expected}")

    def number(self, section, key, *, lo=0.0, lo_open=False, optional=False, unit="") -> None:
        v = self.cfg[section][key]
        if v is None and optional:
            return
        ok = _is_number(v) and math.isfinite(v) and (v > lo if lo_open else v >= lo)
        if not ok:
            self.bad(f"{section}.{key}", v, f"a finite number {'>' if lo_open else '≥'} {lo:g}"
                     + (f" ({unit})" if unit else "") + (" or leave it unset" if optional else ""))

    def year(self, key, v) -> bool:
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v)
        if not (isinstance(v, int) and not isinstance(v, bool)
                and YEAR_RANGE[0] <= v <= YEAR_RANGE[1]):
            self.bad(key, v, f"a year from {YEAR_RANGE[0]} to {YEAR_RANGE[1]}")
            return False
        return True

    def text(self, section, key, *, optional=True) -> None:
        v = self.cfg[section][key]
        if (v is None or v == "") and optional:  # TOML has no null: "" means unset
            return
        if not isinstance(v, str | os.PathLike) or (isinstance(v, str) and not v.strip()):
            self.bad(f"{section}.{key}", v,
                     "a text value" + (" or leave it unset" if optional else ""))

    def boolean(self, section, key) -> None:
        v = self.cfg[section][key]
        if not isinstance(v, bool):
            self.bad(f"{section}.{key}", v, "true or false")

    def crs(self, section, key) -> None:
        v = self.cfg[section][key]
        if v is None or v == "":
            return
        from pyproj import CRS
        from pyproj.exceptions import CRSError as _PyprojCRSError

        try:
            CRS.from_user_input(v)
        except (_PyprojCRSError, TypeError, ValueError):
            self.bad(f"{section}.{key}", v, "a CRS such as 'EPSG:4547' (CGCS2000 / 3-degree "
                     "Gauss-Kruger CM 114E) or 'EPSG:4490'")

    def codec(self, section, key, *, optional=True) -> None:
        v = self.cfg[section][key]
        if (v is None or v == "") and optional:
            return
        import codecs

        try:
            codecs.lookup(v)
        except (LookupError, TypeError):
            self.bad(f"{section}.{key}", v,
                     "a text encoding such as 'GBK', 'GB18030' or 'UTF-8'")


def _check_choices(c: _ConfigCheck) -> None:
    for (section, key), allowed in _CHOICES.items():
        if c.cfg[section][key] not in allowed:
            c.bad(f"{section}.{key}", c.cfg[section][key],
                  "one of " + ", ".join(map(repr, allowed)))


def _check_inputs(c: _ConfigCheck) -> None:
    for kind in LAYER_KINDS:
        v = c.cfg["inputs"][kind]
        if v is not None and not isinstance(v, str | os.PathLike) and not hasattr(v, "geometry"):
            c.bad(f"inputs.{kind}", v, "a file path (or a GeoDataFrame from Python)")
    c.crs("inputs", "crs")
    c.crs("inputs", "to_crs")
    c.codec("inputs", "encoding")
    c.text("inputs", "id_column")


#: the largest adjacency tolerance: compounds farther apart are not neighbours
MAX_TOLERANCE_M = 500


def _check_adjacency(c: _ConfigCheck) -> None:
    c.number("adjacency", "tolerance_m", unit="metres")
    tol = c.cfg["adjacency"]["tolerance_m"]
    if _is_number(tol) and math.isfinite(tol) and tol > MAX_TOLERANCE_M:
        c.bad("adjacency.tolerance_m", tol,
              f"at most {MAX_TOLERANCE_M} metres (compounds that far apart are not neighbours)")
    c.boolean("adjacency", "use_barriers")
    c.text("adjacency", "boundary")


def _check_packages(c: _ConfigCheck) -> None:
    pk = c.cfg["packages"]
    limits = pk["limits"]
    if not isinstance(limits, Mapping) or not limits:
        c.bad("packages.limits", limits, "a table like {compounds = [2, 8]}")
        limits = {}
    for name, bounds in limits.items():
        _check_limit(c, name, bounds)
    tp = pk["target_packages"]
    if tp is not None and not (isinstance(tp, int) and not isinstance(tp, bool) and tp >= 1):
        c.bad("packages.target_packages", tp, "a whole number ≥ 1 or leave it unset")
    c.number("packages", "time_limit_s", lo=0.0, lo_open=True, optional=True, unit="seconds")
    seed = pk["seed"]
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        c.bad("packages.seed", seed, "a whole number ≥ 0")
    locked = pk["locked"]
    if not isinstance(locked, Mapping) or not all(
            isinstance(k, str | int) and isinstance(v, str | int) and str(v).strip()
            for k, v in locked.items()):
        c.bad("packages.locked", locked, 'a table of compound id = "package label"')
    for key in ("must_link", "cannot_link"):
        pairs = pk[key]
        if not isinstance(pairs, list | tuple) or not all(
                isinstance(p, list | tuple) and len(p) == 2
                and all(isinstance(x, str | int) and str(x) for x in p) for p in pairs):
            c.bad(f"packages.{key}", pairs, 'a list of id pairs like [["C-1", "C-2"]]')


def _check_limit(c: _ConfigCheck, name: str, bounds) -> None:
    key = f"packages.limits.{name}"
    if not (isinstance(bounds, list | tuple) and len(bounds) == 2):
        c.bad(key, bounds, "[min, max] (leave a bound out with an empty string \"\", or "
              "leave the attribute out, for no bound)")
        return
    lo, hi = (None if b in (None, "", "none") else b for b in bounds)
    for which, b in (("min", lo), ("max", hi)):
        if b is None:
            continue
        if not (_is_number(b) and math.isfinite(b) and b >= 0):
            c.bad(key, list(bounds), f"a {which} that is a finite number ≥ 0")
            return
        if name == "compounds" and b != int(b):
            c.bad(key, list(bounds), "whole numbers of compounds")
            return
    if lo is not None and hi is not None and lo > hi:
        c.bad(key, list(bounds), "min ≤ max")
    elif hi is not None and hi == 0:
        c.bad(key, list(bounds), "a max > 0 (no package could hold a compound)")


def _check_overlay(c: _ConfigCheck) -> None:
    c.number("overlay", "max_distance_m", unit="metres")
    c.number("overlay", "min_fire_lane_m", unit="metres")
    if c.cfg["overlay"]["as_of_year"] is not None:
        c.year("overlay.as_of_year", c.cfg["overlay"]["as_of_year"])


def _check_money(c: _ConfigCheck) -> None:
    for section, key in (("costs", "rates"), ("funding", "shares")):
        v = c.cfg[section][key]
        if v is not None and not isinstance(v, str | os.PathLike | Mapping) \
                and not hasattr(v, "unit_costs") and not hasattr(v, "shares"):
            c.bad(f"{section}.{key}", v, "a TOML file path or an inline table")


def _check_phasing(c: _ConfigCheck) -> None:
    budgets = c.cfg["phasing"]["budgets"]
    if not isinstance(budgets, Mapping):
        c.bad("phasing.budgets", budgets, "a table of year = 万元")
        budgets = {}
    for y, amount in budgets.items():
        c.year(f"phasing.budgets key {y!r}", y)
        if not (_is_number(amount) and math.isfinite(amount) and amount >= 0):
            c.bad(f"phasing.budgets.{y}", amount, "万元 as a finite number ≥ 0")
    weights = c.cfg["phasing"]["weights"]
    if weights is None:
        return
    if not isinstance(weights, Mapping):
        c.bad("phasing.weights", weights, "a table of criterion = weight")
        return
    for k, w in weights.items():
        if not (_is_number(w) and math.isfinite(w) and w >= 0):
            c.bad(f"phasing.weights.{k}", w, "a finite number ≥ 0")


def _check_map(c: _ConfigCheck) -> None:
    bm = c.cfg["map"]["basemap"]
    if not (isinstance(bm, str) and (bm in _BASEMAPS
                                     or all(t in bm for t in ("{z}", "{x}", "{y}")))):
        c.bad("map.basemap", bm, "'none', 'tianditu', 'gaode', 'osm' or an XYZ URL template "
              "with {z}, {x} and {y}")
    c.text("map", "tianditu_key")


def _check_export(c: _ConfigCheck) -> None:
    c.text("export", "out_dir")
    formats = c.cfg["export"]["formats"]
    if isinstance(formats, str):
        formats = [formats]
    if not (isinstance(formats, list | tuple) and formats
            and all(f in _FORMATS for f in formats)):
        c.bad("export.formats", c.cfg["export"]["formats"],
              "a list of " + ", ".join(map(repr, _FORMATS)))
    c.codec("export", "encoding", optional=False)
    c.crs("export", "crs")
    c.boolean("export", "mask_personal")


def _limits_from_config(limits: Mapping[str, Any]) -> dict[str, tuple]:
    out = {}
    for name, (lo, hi) in limits.items():
        out[name] = (None if lo in (None, "", "none") else lo, None if hi in (None, "", "none") else hi)
    return out


def load_config(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read a plan config TOML; input paths are resolved relative to the file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            user = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    cfg = _merge_config(user, source=str(path))
    base = path.resolve().parent
    for kind in LAYER_KINDS:
        spec = cfg["inputs"][kind]
        if isinstance(spec, str) and spec:
            file_part, layer = split_layer_spec(spec, base)
            cfg["inputs"][kind] = f"{file_part}::{layer}" if layer else file_part
    for section, key in (("costs", "rates"), ("funding", "shares")):
        spec = cfg[section][key]
        if isinstance(spec, str) and not Path(spec).is_absolute():
            cfg[section][key] = str(base / spec)
    out_dir = cfg["export"]["out_dir"]
    if isinstance(out_dir, str) and not Path(out_dir).is_absolute():
        cfg["export"]["out_dir"] = str(base / out_dir)
    return cfg


#: What one run of a plan produces; each is a read-only attribute of :class:`Plan` too.
RESULT_FIELDS = ("compounds", "graph", "labels", "partition", "packages", "layers", "audit",
                 "violations", "notes", "reconciliation", "funding", "phasing")


@dataclass(frozen=True, eq=False)
class PlanResult:
    """The results of :meth:`Plan.run` (or of an edit): plain and immutable.

    ``compounds`` (repaired, with overlay, cost and ``package_id``), ``graph``, ``labels``,
    ``partition`` (the :class:`~spatialreno.partition.PartitionResult`), ``packages``,
    ``layers`` (read-only mapping), ``audit``, ``violations``, ``notes`` (tuple of str),
    ``reconciliation``, ``funding`` (:class:`~spatialreno.costing.FundingResult`) and
    ``phasing`` (:class:`~spatialreno.phasing.PhasingResult` or None).
    """

    compounds: Any = None
    graph: Any = None
    labels: Any = None
    partition: Any = None
    packages: Any = None
    layers: Mapping[str, Any] = field(default_factory=dict)
    audit: Any = None
    violations: Any = None
    notes: tuple[str, ...] = ()
    reconciliation: Any = None
    funding: Any = None
    phasing: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", MappingProxyType(dict(self.layers)))
        object.__setattr__(self, "notes", tuple(self.notes))


class _ResultField:
    """A Plan attribute that the stages write while the plan is built and that is
    read-only afterwards (it reads ``plan.result``)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if obj._work is None:
            return getattr(obj._result, self.name)
        return obj._work.get(self.name)

    def __set__(self, obj, value) -> None:
        if obj._work is None:
            raise AttributeError(
                f"Plan.{self.name} is read-only (part of plan.result); use plan.move(...) for "
                "a checked edit or plan.with_options(...).run() for a new plan")
        obj._work[self.name] = value


def _empty_work() -> dict[str, Any]:
    return {"compounds": None, "graph": None, "labels": None, "partition": None,
            "packages": None, "layers": {}, "audit": pd.DataFrame(columns=AUDIT_COLUMNS),
            "violations": pd.DataFrame(), "notes": [], "reconciliation": pd.DataFrame(),
            "funding": None, "phasing": None}


#: Columns of :attr:`Plan.audit`.
AUDIT_COLUMNS = ["stage", "layer", "id", "action", "detail"]


class Plan:
    """A district's renovation packaging plan: inputs, options and (after :meth:`run`) results.

    Attributes after :meth:`run`
    ----------------------------
    compounds : GeoDataFrame — repaired compounds with overlay, cost and ``package_id``.
    graph : networkx.Graph — the adjacency graph packaging ran on.
    labels : Series ``package_id`` indexed by ``compound_id``.
    packages : GeoDataFrame indexed by ``package_id`` — geometry, sums, cost, funding,
        tender flag, ``plan_year``.
    layers : dict of the other layers (illegal with ``compound_id``, gas pieces, ...).
    audit : DataFrame ``stage, layer, id, action, detail`` — every row that was repaired,
        dropped, left unassigned, or flagged.
    violations : DataFrame — limits a package breaks (empty when every cap holds).
    """

    def __init__(self, inputs: Mapping[str, Any], config: Mapping[str, Any] | None = None):
        self.config = _merge_config(config or {})
        self.inputs = {k: v for k, v in inputs.items() if v is not None}
        if "compounds" not in self.inputs:
            raise ConfigError("a plan needs compounds (inputs.compounds)")
        self._result = PlanResult(**{k: v for k, v in _empty_work().items()})
        self._work: dict[str, Any] | None = None  # the stages' working state during a run

    compounds = _ResultField()
    graph = _ResultField()
    labels = _ResultField()
    partition = _ResultField()
    packages = _ResultField()
    layers = _ResultField()
    audit = _ResultField()
    violations = _ResultField()
    notes = _ResultField()
    reconciliation = _ResultField()
    funding = _ResultField()
    phasing = _ResultField()

    @property
    def result(self) -> PlanResult:
        """The frozen results of the last :meth:`run` (empty before it)."""
        return self._result

    def _freeze(self) -> None:
        """Working state → :class:`PlanResult`; the attributes become read-only."""
        work, self._work = self._work, None
        self._result = PlanResult(**work)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_files(cls, *, compounds, illegal=None, gas=None, barriers=None, admin=None,
                   roads=None, config: Mapping[str, Any] | None = None, **sections) -> Plan:
        """A plan from input files (or GeoDataFrames); ``config`` / keyword sections set options.

        ``Plan.from_files(compounds="c.shp", packages={"limits": {"compounds": [2, 6]}})``
        """
        cfg = dict(config or {})
        cfg.update(sections)
        inputs = {"compounds": compounds, "illegal": illegal, "gas": gas, "barriers": barriers,
                  "admin": admin, "roads": roads}
        cfg.setdefault("inputs", {})
        cfg["inputs"] = {**cfg["inputs"], **{k: (str(v) if isinstance(v, os.PathLike) else v)
                                             for k, v in inputs.items()
                                             if isinstance(v, str | os.PathLike)}}
        return cls(inputs, cfg)

    @classmethod
    def from_config(cls, path: str | os.PathLike, *, inputs: Mapping[str, Any] | None = None) -> Plan:
        """A plan from a TOML config; ``inputs`` overrides its [inputs] files."""
        cfg = load_config(path)
        for kind, value in (inputs or {}).items():
            if kind not in LAYER_KINDS:
                raise ConfigError(f"unknown input {kind!r}; inputs are {', '.join(LAYER_KINDS)}")
            cfg["inputs"][kind] = str(value)
        files = {k: cfg["inputs"][k] for k in LAYER_KINDS}
        if not files["compounds"]:
            raise ConfigError(f"{path}: inputs.compounds is not set")
        return cls(files, cfg)

    @classmethod
    def sample(cls, n_compounds: int | None = None, *, seed: int = 0,
               config: Mapping[str, Any] | None = None) -> Plan:
        """A plan on the bundled sample district (or a generated one of ``n_compounds``)."""
        from .datasets import load_sample, sample_district

        district = load_sample() if n_compounds is None and seed == 0 else sample_district(
            n_compounds or 200, seed=seed)
        cfg = copy.deepcopy(dict(config or {}))
        cfg.setdefault("phasing", {}).setdefault("budgets", {2025: 30000, 2026: 30000, 2027: 30000})
        cfg.setdefault("overlay", {}).setdefault("as_of_year", SAMPLE_AS_OF_YEAR)
        return cls(district.layers(), cfg)

    def with_options(self, **sections) -> Plan:
        """A new (not yet run) plan with options changed: ``plan.with_options(map={"lang": "en"})``
        or the shortcut ``plan.with_options(lang="en")``."""
        cfg = copy.deepcopy(self.config)
        for key, value in sections.items():
            if key == "lang":
                cfg["map"]["lang"] = value
                continue
            if key not in cfg or not isinstance(value, Mapping):
                raise ConfigError(f"unknown option section {key!r}; sections are {', '.join(cfg)}")
            for k, v in value.items():
                if k not in cfg[key]:
                    raise ConfigError(f"unknown key {key}.{k}; [{key}] takes {', '.join(cfg[key])}")
                cfg[key][k] = copy.deepcopy(v)
        return Plan(self.inputs, cfg)

    # ------------------------------------------------------------------ running
    #: the stages of :meth:`run`, in order
    STAGES = ("read", "validate", "overlay", "costing", "adjacency", "partition",
              "funding and phasing")

    def run(self, *, progress: bool = True, until: str | None = None) -> Plan:
        """Run every stage (or the stages up to and including ``until``, one of
        :attr:`STAGES`); results land in :attr:`result`, and this plan is returned.

        Every run starts again from the inputs, so running twice gives identical notes,
        audit and packages. ``plan.timings`` holds the seconds per stage (for information;
        no result depends on it)."""
        from tqdm.auto import tqdm

        if until is not None and until not in self.STAGES:
            raise ConfigError(f"`until` must be one of {', '.join(map(repr, self.STAGES))}, "
                              f"got {until!r}")
        steps = dict(zip(self.STAGES, (
            self._read, self._validate, self._overlay, self._costing, self._adjacency,
            self._partition, self._finish), strict=True))
        names = self.STAGES[:self.STAGES.index(until) + 1] if until else self.STAGES
        if "gas" in self.inputs and "overlay" in names and self.as_of_year is None:
            self._gas_as_of_year()  # refused before any work, not after reading the files
        self._work = _empty_work()  # every run starts from the inputs: run() is idempotent
        self.timings: dict[str, float] = {}
        bar = tqdm(names, desc="spatialreno", unit="stage", disable=not progress, leave=False)
        try:
            for name in bar:
                bar.set_postfix_str(name)
                t0 = time.perf_counter()
                steps[name]()
                self.timings[name] = time.perf_counter() - t0
        except BaseException:
            self._work = None  # a failed run leaves the previous result as it was
            raise
        finally:
            bar.close()
        self._freeze()
        return self

    def _audit(self, stage: str, frame: pd.DataFrame | None) -> None:
        if frame is None or len(frame) == 0:
            return
        frame = frame.copy()
        frame.insert(0, "stage", stage)
        for col in ("layer", "id", "action", "detail"):
            if col not in frame:
                frame[col] = None
        frame = frame[["stage", "layer", "id", "action", "detail"]]
        self.audit = pd.concat([self.audit, frame], ignore_index=True) if len(self.audit) else frame.reset_index(drop=True)

    def _read(self) -> None:
        from .io import read

        opts = self.config["inputs"]
        target = opts["to_crs"]
        for kind in LAYER_KINDS:
            spec = self.inputs.get(kind)
            if spec is None:
                continue
            path, layer = split_layer_spec(spec)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SpatialRenoWarning)
                got = read(
                    path, kind, layer=layer, crs=opts["crs"], to_crs=target,
                    encoding=opts["encoding"], engine=opts["engine"],
                    id_column=opts["id_column"] if kind == "compounds" else None,
                )
            for w in caught:
                self.notes.append(f"{kind}: {w.message}")
            if target is None:
                target = got.frame.crs
            for note in got.notes:
                self.notes.append(f"{kind}: {note}")
            self.layers[kind] = got.frame

    def _validate(self) -> None:
        from .validate import repair_layer

        for kind, gdf in list(self.layers.items()):
            fixed, audit = repair_layer(gdf, kind)
            self.layers[kind] = fixed
            self._audit("validate", audit)

    @property
    def as_of_year(self) -> int | None:
        """The year pipe ages are counted to: ``[overlay] as_of_year``, else the first year
        of ``[phasing] budgets``; None when neither is set. Never the clock's year."""
        year = self.config["overlay"]["as_of_year"]
        if year is not None:
            return int(year)
        budgets = self.config["phasing"]["budgets"]
        return min(int(y) for y in budgets) if budgets else None

    def _gas_as_of_year(self) -> int:
        """:attr:`as_of_year` for the gas overlay, with a note when it is the first budget
        year; a ConfigError naming both ways to set it when there is none."""
        year = self.as_of_year
        if year is None:
            raise ConfigError(
                "a gas layer is given but [overlay] as_of_year is not set (and there are no "
                "[phasing] budgets to take the first year from): set the year pipe ages are "
                "counted to, e.g. as_of_year = 2025 in [overlay] of the config, or "
                "--as-of-year 2025 on the command line")
        if self.config["overlay"]["as_of_year"] is None:
            self.notes.append(f"overlay: as_of_year not set: pipe ages counted to {year}, "
                              "the first budget year")
        return year

    def _overlay(self) -> None:
        from . import overlay

        cfg = self.config["overlay"]
        compounds = self.layers["compounds"]
        illegal = self.layers.get("illegal")
        gas = self.layers.get("gas")
        roads = self.layers.get("roads")
        recon = []
        # order: fire lanes flag the structures, the gas overlay marks pipes built over by
        # them (占压), then the structures are counted per compound with both flags
        if illegal is not None and roads is not None:
            illegal = overlay.flag_fire_lanes(illegal, roads, min_clear_m=cfg["min_fire_lane_m"])
        if gas is not None:
            res = overlay.overlay_gas(compounds, gas, illegal=illegal,
                                      as_of_year=self._gas_as_of_year())
            compounds = res.compounds
            self.layers["gas_pieces"] = res.pieces
            if res.illegal is not None:
                illegal = res.illegal
            outside = res.outside
            self._audit("overlay", pd.DataFrame({
                "layer": "gas", "id": outside["segment_id"].to_numpy(), "action": "outside compounds",
                "detail": [f"{c} {m:.1f} m outside every compound" for c, m in
                           zip(outside["pipe_class"], outside["length_m"])],
            }))
            recon.append(res.reconcile())
        if illegal is not None:
            res = overlay.overlay_illegal(compounds, illegal, max_distance_m=cfg["max_distance_m"])
            compounds = res.compounds
            self.layers["illegal"] = res.illegal
            self.illegal_assignments = res.assignments
            unassigned = res.unassigned
            self._audit("overlay", pd.DataFrame({
                "layer": "illegal", "id": unassigned.index.to_numpy(),
                "action": "unassigned", "detail": unassigned["reason"].to_numpy(),
            }))
            recon.append(res.reconcile())
        self.layers["compounds"] = compounds
        self.reconciliation = pd.concat(recon, ignore_index=True) if recon else pd.DataFrame()

    def _costing(self) -> None:
        from .costing import estimate_costs

        with warnings.catch_warnings():  # every costing warning is also in est.notes
            warnings.simplefilter("ignore", SpatialRenoWarning)
            est = estimate_costs(self.layers["compounds"], self.config["costs"]["rates"])
        self.rates = est.rates
        self.layers["compounds"] = est.compounds
        self.notes.extend(f"costing: {note}" for note in est.notes)

    def _adjacency(self) -> None:
        from .adjacency import build_adjacency

        cfg = self.config["adjacency"]
        compounds = self.layers["compounds"]
        boundary = cfg["boundary"] if cfg["boundary"] in compounds.columns else None
        if cfg["boundary"] and boundary is None:
            self.notes.append(f"adjacency: no {cfg['boundary']!r} column; boundary policy not applied")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpatialRenoWarning)
            self.graph = build_adjacency(
                compounds, tolerance_m=cfg["tolerance_m"], rule=cfg["rule"],
                barriers=self.layers.get("barriers") if cfg["use_barriers"] else None,
                boundary=boundary, boundary_policy=cfg["boundary_policy"],
            )
        for w in caught:
            self.notes.append(f"adjacency: {w.message}")

    def _partition(self) -> None:
        from .partition import partition_packages

        cfg = self.config["packages"]
        limits = _limits_from_config(cfg["limits"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpatialRenoWarning)
            result = partition_packages(
                self.graph, limits=limits, objective=cfg["objective"],
                target_packages=cfg["target_packages"], locked=cfg["locked"] or None,
                must_link=[tuple(p) for p in cfg["must_link"]] or None,
                cannot_link=[tuple(p) for p in cfg["cannot_link"]] or None,
                method=cfg["method"], time_limit_s=cfg["time_limit_s"], seed=cfg["seed"],
                on_infeasible=cfg["on_infeasible"],
            )
        for w in caught:
            self.notes.append(f"partition: {w.message}")
        self._set_labels(result)

    def _set_labels(self, result) -> None:
        """Take a PartitionResult: labels on the compounds, violations in the audit."""
        labels = result.labels
        self.partition = result
        self.labels = labels
        self.violations = result.violations.copy()
        compounds = self.layers["compounds"].copy()
        compounds["package_id"] = labels.reindex(compounds.index)
        self.layers["compounds"] = compounds
        self.compounds = compounds
        if len(self.violations):
            v = self.violations
            self._audit("partition", pd.DataFrame({
                "layer": "packages",
                "id": v["compound_id"].where(v["compound_id"].notna(), v["package_id"]).to_numpy(),
                "action": v["limit"].map(lambda lim: f"limit broken: {lim}").to_numpy(),
                "detail": (v["problem"].astype(str) + " — fix: " + v["fix"].astype(str)).to_numpy(),
            }))

    def _finish(self) -> None:
        from .costing import fund_packages
        from .packages import dissolve_packages
        from .phasing import assign_phases

        packages = dissolve_packages(self.compounds, self.labels)
        budgets = {int(y): float(v) for y, v in self.config["phasing"]["budgets"].items()}
        with warnings.catch_warnings():  # every funding/phasing warning is also in .notes
            warnings.simplefilter("ignore", SpatialRenoWarning)
            funded = fund_packages(packages, self.config["funding"]["shares"],
                                   graph=self.graph, labels=self.labels)
            phased = assign_phases(funded.packages, budgets=budgets,
                                   priority=self.config["phasing"]["weights"]) if budgets else None
        self.funding, self.phasing = funded, phased
        # funding and phasing are redone after an edit: replace their notes and audit rows
        mine = ("funding", "phasing")
        self.notes = [n for n in self.notes if not n.startswith(tuple(f"{m}: " for m in mine))]
        self.audit = self.audit[~self.audit["stage"].isin(mine)].reset_index(drop=True)
        self.notes.extend(f"funding: {note}" for note in funded.notes)
        if phased is not None:
            self.notes.extend(f"phasing: {note}" for note in phased.notes)
        packages = funded.packages if phased is None else phased.packages
        self.packages = packages
        self.layers["packages"] = packages
        self._audit_funding(funded)
        if phased is not None:
            self._audit_phasing(phased)

    def _audit_funding(self, funded) -> None:
        """One audit row per package in a 化整为零 group."""
        split = funded.packages[funded.packages["split_warning"] != ""]
        self._audit("funding", pd.DataFrame({
            "layer": "packages", "id": split.index.to_numpy(),
            "action": "possible split to avoid tendering (化整为零)",
            "detail": split["split_warning"].astype(str).to_numpy(),
        }))

    def _audit_phasing(self, phased) -> None:
        """The plan year onto the compounds, and one audit row per package not phased."""
        compounds = self.compounds.copy()
        compounds["plan_year"] = phased.packages["plan_year"].reindex(self.labels).to_numpy()
        self.compounds = compounds
        self.layers["compounds"] = compounds
        unphased = phased.unphased
        if len(unphased):
            self._audit("phasing", pd.DataFrame({
                "layer": "packages", "id": unphased.index.to_numpy(), "action": "not phased",
                "detail": unphased["phase_reason"].to_numpy(),
            }))

    # ------------------------------------------------------------------ results
    def _require_run(self) -> None:
        if self.labels is None:
            raise ConfigError("the plan has not been run yet: call plan.run() first")

    def summary(self) -> pd.Series:
        """The figures of the Wuhan progress report, as a labelled Series."""
        self._require_run()
        c, p = self.compounds, self.packages
        lang = self.config["map"]["lang"]
        figures = {
            "compounds": len(c),
            "households": int(c["households"].fillna(0).sum()) if "households" in c else 0,
            "floor_area_m2": float(c["floor_area_m2"].fillna(0).sum()) if "floor_area_m2" in c else 0.0,
            "packages": len(p),
            "cost_total": float(p["cost_total"].sum()) if "cost_total" in p else 0.0,
            "illegal_count": float(c.get("illegal_count", pd.Series(dtype=float)).sum()),
            "illegal_area_m2": float(c.get("illegal_area_m2", pd.Series(dtype=float)).sum()),
            "gas_aged_m": float(c.get("gas_aged_m", pd.Series(dtype=float)).sum()),
            "must_tender": int(p["must_tender"].sum()) if "must_tender" in p else 0,
            "violations": self._n_violating(),
        }
        for col in p.columns:
            if col.startswith("fund_"):
                figures[col] = float(p[col].sum())
        labels = {k: _figure_label(k, lang) for k in figures}
        return pd.Series(figures).rename(index=labels)

    def _n_violating(self) -> int:
        v = self.violations
        return int(v["package_id"].nunique()) if len(v) and "package_id" in v else len(v)

    def report(self) -> str:
        """A text summary in the form of the Wuhan report (Chinese by default)."""
        self._require_run()
        lang = self.config["map"]["lang"]
        c, p = self.compounds, self.packages
        hh = int(c["households"].fillna(0).sum()) if "households" in c else 0
        gfa = float(c["floor_area_m2"].fillna(0).sum()) / 1e4 if "floor_area_m2" in c else 0.0
        cost = float(p["cost_total"].sum()) if "cost_total" in p else 0.0
        ill_n = float(c.get("illegal_count", pd.Series(dtype=float)).sum())
        ill_a = float(c.get("illegal_area_m2", pd.Series(dtype=float)).sum())
        aged = float(c.get("gas_aged_m", pd.Series(dtype=float)).sum())
        funds = {col: float(p[col].sum()) for col in p.columns if col.startswith("fund_")}
        sizes = p["n_compounds"] if "n_compounds" in p else c.groupby("package_id").size()
        tender = int(p["must_tender"].sum()) if "must_tender" in p else 0
        if lang == "en":
            lines = [
                f"Compounds: {len(c)}, households: {hh:,}, floor area: {gfa:,.2f} × 10k m²",
                f"Packages: {len(p)} ({int(sizes.min())}–{int(sizes.max())} compounds each), "
                f"{tender} must be publicly tendered",
                f"Estimated investment: {cost:,.2f} × 10k CNY",
                "Funding: " + "; ".join(f"{_figure_label(k, 'en')} {v:,.2f}" for k, v in funds.items()),
                f"Illegal structures: {ill_n:,.0f}, {ill_a:,.1f} m² to demolish",
                f"Aged gas pipe to renew: {aged / 1000:,.2f} km",
                f"Packages breaking a limit: {self._n_violating()} (see plan.violations)",
            ]
        else:
            lines = [
                f"纳入改造小区 {len(c)} 个，涉及居民 {hh:,} 户，建筑面积 {gfa:,.2f} 万㎡",
                f"划分片区 {len(p)} 个（每片 {int(sizes.min())}–{int(sizes.max())} 个小区），"
                f"其中依法必须招标 {tender} 个",
                f"估算总投资 {cost:,.2f} 万元",
                "资金来源：" + "；".join(f"{_figure_label(k, 'zh')} {v:,.2f} 万元" for k, v in funds.items()),
                f"拆除违法建设 {ill_n:,.0f} 处、{ill_a:,.1f} ㎡",
                f"更新改造老化燃气管道 {aged / 1000:,.2f} 公里",
                f"违反约束的片区 {self._n_violating()} 个（详见 violations 表）",
            ]
        if "gas_pieces" in self.layers:  # the gas overlay ran: say which year ages count to
            lines.append(f"Gas pipe ages counted to {self.as_of_year} ([overlay] as_of_year)"
                         if lang == "en" else f"燃气管道管龄计算至 {self.as_of_year} 年")
        assumed = getattr(getattr(self, "rates", None), "assumptions", ())
        if assumed:
            lines.append(
                ("Assumed unit rates (no published figure; set them in [costs] rates): "
                 if lang == "en" else "假设单价（无公开数据，请在 [costs] rates 中设定）：")
                + ", ".join(assumed)
            )
        if "plan_year" in p:
            years = p.groupby("plan_year")["cost_total"].agg(["size", "sum"])
            for year, row in years.iterrows():
                lines.append(
                    f"{int(year)} 年：{int(row['size'])} 个片区，{row['sum']:,.2f} 万元" if lang != "en"
                    else f"{int(year)}: {int(row['size'])} packages, {row['sum']:,.2f} × 10k CNY"
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.labels is None:
            inputs = "".join(f"<li>{html.escape(k)}: {html.escape(str(v if isinstance(v, str) else type(v).__name__))}</li>"
                             for k, v in self.inputs.items())
            return f"<b>spatialreno Plan</b> (not run yet)<ul>{inputs}</ul>"
        s = self.summary()
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:right'>{html.escape(_fmt(v))}</td></tr>"
            for k, v in s.items()
        )
        return (f"<div><b>spatialreno Plan</b><table>{rows}</table>"
                f"<small>{len(self.audit)} audit rows · plan.explore() for the map</small></div>")

    def __repr__(self) -> str:
        state = "not run" if self.labels is None else f"{len(self.packages)} packages"
        return f"<spatialreno.Plan: {len(self.inputs)} input layers, {state}>"

    # ------------------------------------------------------------------ map, export
    def explore(self, **kwargs):
        """The review map (folium.Map); keyword arguments go to :func:`explore_packages`."""
        from .maps import explore_packages

        self._require_run()
        cfg = self.config["map"]
        opts = {"basemap": cfg["basemap"], "tianditu_key": cfg["tianditu_key"], "lang": cfg["lang"]}
        opts.update(kwargs)
        opts.setdefault("graph", self.graph)  # colours apart every pair the plan calls adjacent
        opts.setdefault("labels", self.labels)
        return explore_packages(
            self.compounds, self.packages, illegal=self.layers.get("illegal"),
            gas=self.layers.get("gas_pieces", self.layers.get("gas")),
            barriers=self.layers.get("barriers"), admin=self.layers.get("admin"), **opts,
        )

    def export_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers an export writes: compounds, packages, illegal, gas pieces, barriers, admin, roads."""
        self._require_run()
        out = {"compounds": self.compounds, "packages": self.packages}
        for kind in ("illegal", "barriers", "admin", "roads"):
            if kind in self.layers:
                out[kind] = self.layers[kind]
        if "gas_pieces" in self.layers:
            pieces = self.layers["gas_pieces"]
            out["gas"] = pieces
        elif "gas" in self.layers:
            out["gas"] = self.layers["gas"]
        return out

    def export(self, out_dir, **kwargs) -> Path:
        """The city-GIS bundle (GeoPackage, shapefiles, workbook); options as in
        :func:`export_bundle`, defaults from the config's [export] section."""
        from .export import export_bundle

        cfg = self.config["export"]
        opts = {"formats": tuple(cfg["formats"]), "encoding": cfg["encoding"], "crs": cfg["crs"],
                "field_names": cfg["field_names"], "mask_personal": cfg["mask_personal"],
                "lang": self.config["map"]["lang"]}
        opts.update(kwargs)
        return export_bundle(self.export_layers(), out_dir, **opts)

    #: the top-level entries :meth:`write_outputs` writes (besides ``manifest.json``)
    OUTPUT_ENTRIES = ("review_map.html", "bundle", "audit.csv", "violations.csv", "summary.txt")

    def output_folder(self, out_dir, *, overwrite: bool = False,
                      interface: str = "python") -> OutputFolder:
        """The checked output folder of :meth:`write_outputs`; call it before :meth:`run` to
        refuse a bad ``out_dir`` before any work (the command line does).

        Raises :class:`~spatialreno.errors.OutputFolderError` when ``out_dir`` is an input
        file, holds an input that would be replaced, is a non-empty folder spatialreno did not
        write, or holds earlier outputs and ``overwrite`` is False."""
        return OutputFolder(out_dir, overwrite=overwrite, inputs=self.inputs.values(),
                            kind="outputs", expected=self.OUTPUT_ENTRIES,
                            interface=interface).check()

    def write_outputs(self, out_dir, *, overwrite: bool = False,
                      interface: str = "python") -> Path:
        """Write everything for the review: ``review_map.html``, ``bundle/`` (GeoPackage,
        shapefiles, workbook), ``audit.csv``, ``violations.csv`` and ``summary.txt``, plus a
        ``manifest.json`` listing them.

        Nothing that spatialreno did not write is ever deleted: ``overwrite=True`` replaces
        only the entries of an earlier run's manifest, and other files in the folder stay.
        The outputs are written into a hidden staging folder and renamed into place at the
        end (rolled back if that fails), so a failure leaves the previous outputs as they
        were. ``interface="cli"`` makes refusals name command-line options.
        """
        from .maps import save_map

        self._require_run()
        folder = self.output_folder(out_dir, overwrite=overwrite, interface=interface)
        with folder as tmp:
            save_map(self.explore(), tmp / "review_map.html")
            self.export(tmp / "bundle", inputs=list(self.inputs.values()), interface=interface)
            write_csv(self.audit, tmp / "audit.csv")
            write_csv(self.violations, tmp / "violations.csv")
            notes = "".join(f"- {n}\n" for n in self.notes)
            atomic_write_bytes(tmp / "summary.txt", (
                self.report() + ("\n\nnotes:\n" + notes if notes else "\n")).encode("utf-8"))
            folder.manifest = {"spatialreno": _version(), "kind": "plan outputs"}
        return Path(out_dir)

    # ------------------------------------------------------------------ edits
    def _copy(self) -> Plan:
        """A plan with this plan's results as working state (for an edit)."""
        new = Plan.__new__(Plan)
        new.__dict__.update({k: (copy.copy(v) if isinstance(v, dict | list) else v)
                             for k, v in self.__dict__.items() if k not in ("_work", "_result")})
        new._result = self._result
        new._work = {k: getattr(self._result, k) for k in RESULT_FIELDS}
        new._work["layers"] = dict(self._result.layers)
        new._work["notes"] = list(self._result.notes)
        return new

    def move(self, compound_id: str, package_id: str) -> Plan:
        """A new plan with ``compound_id`` moved to ``package_id``, checked against every
        hard constraint: the limits, contiguity, ``locked``, ``must_link``, ``cannot_link``
        and the boundary policy ([adjacency] boundary with ``boundary_policy="forbid"``).

        Raises :class:`~spatialreno.errors.EditError` naming the constraint the move would
        break. Funding and phasing are redone for the new packages; the audit gets the new
        partition, funding and phasing rows in place of the old ones plus one ``edit`` row.
        This plan is left unchanged.
        """
        from .packages import move_compound

        self._require_run()
        cfg = self.config["packages"]
        column = self.config["adjacency"]["boundary"]
        moved = move_compound(
            self.partition, self.graph, compound_id, package_id,
            limits=_limits_from_config(cfg["limits"]), locked=cfg["locked"] or None,
            must_link=[tuple(p) for p in cfg["must_link"]] or None,
            cannot_link=[tuple(p) for p in cfg["cannot_link"]] or None,
            boundary=self.compounds[column] if column and column in self.compounds else None)
        new = self._copy()
        new.audit = self.audit[self.audit["stage"] != "partition"].reset_index(drop=True)
        new._set_labels(moved)
        new._finish()
        new._audit("edit", pd.DataFrame({
            "layer": "compounds", "id": [compound_id], "action": "moved",
            "detail": [f"from {self.labels[compound_id]} to {package_id}"]}))
        new.notes.append(f"edit: moved {compound_id} to {package_id}")
        new._freeze()
        return new

    def diff(self, other: Plan) -> pd.DataFrame:
        """Compounds whose package differs between this plan and ``other``."""
        from .packages import diff_packages

        self._require_run()
        other._require_run()
        return diff_packages(self.labels, other.labels)


_FIGURE_LABELS = {
    "compounds": ("小区数(个)", "Compounds"),
    "households": ("户数(户)", "Households"),
    "floor_area_m2": ("建筑面积(㎡)", "Floor area (m²)"),
    "packages": ("片区数(个)", "Packages"),
    "cost_total": ("估算投资(万元)", "Estimated cost (10k CNY)"),
    "illegal_count": ("违建(处)", "Illegal structures"),
    "illegal_area_m2": ("违建面积(㎡)", "Illegal-structure area (m²)"),
    "gas_aged_m": ("老化燃气管(m)", "Aged gas pipe (m)"),
    "must_tender": ("必须招标片区(个)", "Packages to tender"),
    "violations": ("违反约束片区(个)", "Packages breaking a limit"),
}


def _figure_label(key: str, lang: str) -> str:
    if key in _FIGURE_LABELS:
        zh, en = _FIGURE_LABELS[key]
        return en if lang == "en" else zh
    col = schema.find_column("packages", key)
    if col is not None:
        return (col.en or key) if lang == "en" else col.zh
    return key


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _version() -> str:
    from . import __version__

    return __version__
