"""Which gas pipe is aged: the replaceable rules, the vocabularies they name, and the year
ages are counted to.

A rule is data (:class:`AgedRule`, :class:`OccupationRule`); :data:`DEFAULT_AGED_RULES`
follows the national plan for renewing aged urban gas pipes 2022–2025 (DOMAIN.md §6.1).
Ages are counted to an explicit ``as_of_year``, never to the clock's year, so the same
input gives the same aged pipe on any day (:func:`require_as_of_year`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .. import schema
from ..errors import ConfigError
from ._join import isin

__all__ = [
    "PIPE_CLASSES", "MATERIALS", "KINDS", "STATUSES", "AgedRule", "OccupationRule",
    "DEFAULT_AGED_RULES", "AgedMarks", "coerce_rules", "require_as_of_year", "mark_aged",
    "as_codes",
]

#: the vocabularies the overlays count by (codes; Chinese labels are read as these)
PIPE_CLASSES: tuple[str, ...] = tuple(schema.VOCABULARIES["pipe_class"])
MATERIALS: tuple[str, ...] = tuple(schema.VOCABULARIES["pipe_material"])
KINDS: tuple[str, ...] = tuple(schema.VOCABULARIES["illegal_kind"])
STATUSES: tuple[str, ...] = tuple(schema.VOCABULARIES["illegal_status"])

#: a point structure stands for a small shed of this radius when it occupies pipe (metres)
OCCUPATION_POINT_RADIUS_M = 1.0
#: separator of the rule codes in ``aged_rule`` (``"CI_ALL;OCC"``)
RULE_SEPARATOR = ";"


def as_codes(value, vocab: str, what: str) -> tuple[str, ...] | None:
    """Vocabulary codes of ``value`` (a code, a Chinese label, or several); None stays None.

    >>> from spatialreno.overlay.rules import as_codes
    >>> as_codes("灰口铸铁", "pipe_material", "demo")
    ('grey_cast_iron',)
    """
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    out = []
    for item in items:
        code = schema.canonical_value(vocab, item)
        if code is None:
            allowed = ", ".join(schema.VOCABULARIES[vocab])
            raise ConfigError(f"{what}: unknown {vocab} {item!r}; expected one of {allowed}.")
        out.append(code)
    return tuple(out)


@dataclass(frozen=True)
class AgedRule:
    """One rule that marks gas pipe as aged (老化).

    A segment matches when its material is in ``material`` (any material when None), its
    pipe class is in ``pipe_class`` (any class when None) and its age in years
    (``as_of_year - install_year``) is at least ``min_age`` (no age test when None; a
    segment without ``install_year`` never matches an age rule). Materials and classes
    are vocabulary codes or their Chinese labels (``"灰口铸铁"`` → ``grey_cast_iron``).

    Attributes
    ----------
    code : str
        Short code written to ``aged_rule`` (``"CI_ALL"``); codes of several matching
        rules are joined with ``;``.
    description_zh : str
        What the rule says, in Chinese, for the audit and the map legend.
    material, pipe_class : tuple of str or None
    min_age : float or None
    source : str
        Where the rule comes from.

    Examples
    --------
    >>> from spatialreno.overlay import AgedRule
    >>> AgedRule("DI30", "球墨铸铁运行30年以上", material="球墨铸铁", min_age=30).material
    ('ductile_iron',)
    """

    code: str
    description_zh: str = ""
    material: tuple[str, ...] | None = None
    pipe_class: tuple[str, ...] | None = None
    min_age: float | None = None
    source: str = ""

    def __post_init__(self):
        if not self.code or RULE_SEPARATOR in self.code:
            raise ConfigError(f"AgedRule code must be a non-empty string without "
                              f"{RULE_SEPARATOR!r}, got {self.code!r}.")
        object.__setattr__(self, "material", as_codes(self.material, "pipe_material", self.code))
        object.__setattr__(self, "pipe_class", as_codes(self.pipe_class, "pipe_class", self.code))
        if self.min_age is not None and not np.isfinite(float(self.min_age)):
            raise ConfigError(f"{self.code}: min_age must be a number of years, got {self.min_age!r}.")

    @property
    def needs_age(self) -> bool:
        """Whether the rule counts years (and so needs ``as_of_year``)."""
        return self.min_age is not None

    def matches(self, pipe_class: np.ndarray, material: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Boolean array: which segments this rule marks (arrays of codes and ages)."""
        hit = np.ones(len(pipe_class), dtype=bool)
        if self.material is not None:
            hit &= isin(material, self.material)
        if self.pipe_class is not None:
            hit &= isin(pipe_class, self.pipe_class)
        if self.min_age is not None:
            with np.errstate(invalid="ignore"):
                hit &= np.nan_to_num(age, nan=-np.inf) >= float(self.min_age)
        return hit


@dataclass(frozen=True)
class OccupationRule:
    """The occupation rule (占压): pipe built over by an illegal structure is aged.

    A segment is occupied when a polygon structure intersects it, or a point structure
    lies within ``point_radius_m`` of it (a point has no footprint; 1 m stands for a
    small shed), or when the gas layer's own ``occupied`` column is 1. Structures of
    ``exclude_kinds`` (rooftop additions stand on roofs, not on buried pipe) or
    ``exclude_status`` (already demolished) do not occupy. The structures found are
    marked ``blocks_gas = 1``.
    """

    code: str = "OCC"
    description_zh: str = "被建构筑物占压的管道"
    point_radius_m: float = OCCUPATION_POINT_RADIUS_M
    exclude_kinds: tuple[str, ...] = ("rooftop",)
    exclude_status: tuple[str, ...] = ("demolished",)
    source: str = "城市燃气管道等老化更新改造实施方案(2022—2025年) (DOMAIN.md §6.1)"

    def __post_init__(self):
        if not (self.point_radius_m >= 0):
            raise ConfigError(f"{self.code}: point_radius_m must be ≥ 0, got {self.point_radius_m!r}.")
        object.__setattr__(self, "exclude_kinds",
                           as_codes(self.exclude_kinds, "illegal_kind", self.code) or ())
        object.__setattr__(self, "exclude_status",
                           as_codes(self.exclude_status, "illegal_status", self.code) or ())


_PLAN = "城市燃气管道等老化更新改造实施方案(2022—2025年), State Council 2022 (DOMAIN.md §6.1)"

#: Default rules, from the national plan for renewing aged urban gas pipes 2022–2025
#: (DOMAIN.md §6.1, §6.6). Ductile iron "not meeting safe-operation requirements" and
#: pipes under 20 years "with hazards" need an assessment and have no default rule; add
#: e.g. ``AgedRule("DI_ALL", "球墨铸铁", material="ductile_iron")`` when the city decides so.
#:
#: ====== ======================================================================
#: CI_ALL all grey cast iron (灰口铸铁), any class
#: AGE20  steel, galvanised steel and PE in municipal/courtyard/overhead/other
#:        pipe in service ≥ 20 years
#: RISER20 risers, service pipes and horizontal mains (立管, 引入管, 水平干管) ≥ 20 years
#: OCC    pipe built over by an illegal structure (占压), see :class:`OccupationRule`
#: ====== ======================================================================
DEFAULT_AGED_RULES: tuple[AgedRule | OccupationRule, ...] = (
    AgedRule("CI_ALL", "全部灰口铸铁管道", material=("grey_cast_iron",), source=_PLAN),
    AgedRule(
        "AGE20", "运行年限满20年的钢质、PE管道",
        material=("steel", "galvanized_steel", "pe"),
        pipe_class=("municipal", "courtyard_buried", "overhead", "other"),
        min_age=20, source=_PLAN,
    ),
    AgedRule(
        "RISER20", "运行年限满20年的立管(含引入管、水平干管)",
        pipe_class=("riser", "service", "horizontal_main"), min_age=20, source=_PLAN,
    ),
    OccupationRule(),
)


def _rule_from_mapping(rule: Mapping) -> AgedRule | OccupationRule:
    d = dict(rule)
    is_occ = d.pop("type", None) == "occupation" or d.get("code") == "OCC" or (
        "point_radius_m" in d
    )
    try:
        return OccupationRule(**d) if is_occ else AgedRule(**d)
    except TypeError as exc:
        raise ConfigError(f"aged rule {rule!r}: {exc}") from None


def coerce_rules(aged_rules) -> tuple[list[AgedRule], OccupationRule | None]:
    """The age and material rules, and the occupation rule (or None), of ``aged_rules``
    (None: :data:`DEFAULT_AGED_RULES`; dicts become rules)."""
    if aged_rules is None:
        aged_rules = DEFAULT_AGED_RULES
    if isinstance(aged_rules, AgedRule | OccupationRule | Mapping):
        aged_rules = [aged_rules]
    rules: list[AgedRule] = []
    occ: OccupationRule | None = None
    for rule in aged_rules:
        if isinstance(rule, Mapping):
            rule = _rule_from_mapping(rule)
        if isinstance(rule, OccupationRule):
            if occ is not None:
                raise ConfigError("aged_rules: give at most one OccupationRule.")
            occ = rule
        elif isinstance(rule, AgedRule):
            rules.append(rule)
        else:
            raise ConfigError(
                f"aged_rules: expected AgedRule, OccupationRule or dict, got {type(rule).__name__}."
            )
    codes = [r.code for r in rules] + ([occ.code] if occ else [])
    if len(set(codes)) != len(codes):
        raise ConfigError(f"aged_rules: rule codes must be unique, got {codes}.")
    return rules, occ


def require_as_of_year(as_of_year, rules: Iterable[AgedRule], *, stage: str) -> int | None:
    """``as_of_year`` as an int; None is allowed only when no rule counts years.

    Raises :class:`~spatialreno.errors.ConfigError` (a ValueError) naming ``as_of_year``
    and how to set it.

    >>> from spatialreno.overlay.rules import DEFAULT_AGED_RULES, coerce_rules, require_as_of_year
    >>> rules, _ = coerce_rules(DEFAULT_AGED_RULES)
    >>> require_as_of_year(2025, rules, stage="demo")
    2025
    >>> require_as_of_year(None, rules, stage="demo")
    Traceback (most recent call last):
    ...
    spatialreno.errors.ConfigError: demo: `as_of_year` is not set, but the aged rules AGE20, RISER20 count pipe ages; pass the year ages are counted to, e.g. as_of_year=2025 (in a plan: [overlay] as_of_year, or --as-of-year on the command line).
    """
    if as_of_year is None:
        counting = [r.code for r in rules if r.needs_age]
        if not counting:
            return None
        raise ConfigError(
            f"{stage}: `as_of_year` is not set, but the aged rules {', '.join(counting)} count "
            "pipe ages; pass the year ages are counted to, e.g. as_of_year=2025 (in a plan: "
            "[overlay] as_of_year, or --as-of-year on the command line).")
    if isinstance(as_of_year, bool) or not isinstance(as_of_year, int | np.integer | str | float):
        raise ConfigError(f"{stage}: `as_of_year` must be a year such as 2025, got {as_of_year!r}.")
    try:
        year = int(as_of_year)
    except (TypeError, ValueError):
        raise ConfigError(f"{stage}: `as_of_year` must be a year such as 2025, "
                          f"got {as_of_year!r}.") from None
    if year != float(as_of_year):
        raise ConfigError(f"{stage}: `as_of_year` must be a whole year such as 2025, "
                          f"got {as_of_year!r}.")
    return year


@dataclass(frozen=True)
class AgedMarks:
    """Per segment: ``aged`` (bool) and ``rule`` (the codes of every matching rule,
    ``"CI_ALL;OCC"``; ``""`` when none)."""

    aged: np.ndarray
    rule: np.ndarray


def mark_aged(rules: Iterable[AgedRule], occ: OccupationRule | None, *, pipe_class: np.ndarray,
              material: np.ndarray, age: np.ndarray, occupied: np.ndarray) -> AgedMarks:
    """Apply the rules in order; the occupation rule (when given) marks ``occupied`` pipe."""
    hits = [(rule.code, rule.matches(pipe_class, material, age)) for rule in rules]
    if occ is not None:
        hits.append((occ.code, np.asarray(occupied, dtype=bool)))
    n = len(pipe_class)
    aged = np.zeros(n, dtype=bool)
    codes = np.full(n, "", dtype=object)
    for code, hit in hits:
        if hit.any():
            cur = codes[hit]
            codes[hit] = np.where(cur == "", code, cur + RULE_SEPARATOR + code)
            aged |= hit
    return AgedMarks(aged, codes)
