"""No module of spatialreno changes process-wide state: the garbage collector, file
descriptors, the standard streams, the clock's year as a default, networkx's private
attributes, or code built from strings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import spatialreno

PACKAGE = Path(spatialreno.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

#: what no module may do, with why
FORBIDDEN = {
    r"\bgc\.(disable|enable|freeze)\(": "switches the garbage collector for the whole process",
    r"\bos\.dup2?\(": "redirects file descriptors (use the solver's own output options)",
    r"\bsys\.(stdout|stderr)\s*=": "replaces a standard stream",
    r"\._(node|adj|succ|pred)\b": "writes networkx's private attributes",
    r"(?<![\w.])(eval|exec)\(": "builds code from strings",
    r"\bdate\.today\(\)\.year|datetime\.now\(\)\.year": "makes a result depend on the year it runs",
}


#: reviewed exceptions: (file, pattern) → why it is not a process-wide effect on a result
ALLOWED = {
    ("validate.py", r"\bdate\.today\(\)\.year|datetime\.now\(\)\.year"):
        "check_layer's year-range report defaults to this year when no as_of_year is given; "
        "it reports, never changes data, and no plan stage calls it",
}


def test_sources_are_found():
    names = {p.relative_to(PACKAGE).as_posix() for p in SOURCES}
    assert {"__init__.py", "plan.py", "adjacency/build.py"} <= names


@pytest.mark.parametrize("pattern", list(FORBIDDEN))
def test_no_module_touches_process_state(pattern):
    rx = re.compile(pattern)
    hits = [f"{p.relative_to(PACKAGE)}:{i}: {line.strip()}"
            for p in SOURCES
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if rx.search(line) and not line.lstrip().startswith("#")
            and (p.relative_to(PACKAGE).as_posix(), pattern) not in ALLOWED]
    assert not hits, f"{FORBIDDEN[pattern]}:\n" + "\n".join(hits)


def test_the_scan_catches_what_it_looks_for():
    samples = {r"\bgc\.(disable|enable|freeze)\(": "gc.disable()",
               r"\bos\.dup2?\(": "os.dup2(fd, 1)",
               r"\bsys\.(stdout|stderr)\s*=": "sys.stdout = buf",
               r"\._(node|adj|succ|pred)\b": "G._adj = {}",
               r"(?<![\w.])(eval|exec)\(": "f = eval(src)",
               r"\bdate\.today\(\)\.year|datetime\.now\(\)\.year": "y = _dt.date.today().year"}
    assert set(samples) == set(FORBIDDEN)
    for pattern, line in samples.items():
        assert re.search(pattern, line), pattern
    assert not re.search(r"(?<![\w.])(eval|exec)\(", "shapely.is_valid(x); model.evaluate(y)")
