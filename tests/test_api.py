"""The public API: every name in ``spatialreno.__all__`` imports, has a docstring and is
documented in README.md; optional-dependency skips stay per test."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import spatialreno as sr

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spatialreno"
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: Conventional names that need no docstring of their own or README entry.
CONVENTIONAL = {"__version__"}

PUBLIC = [name for name in sr.__all__ if name not in CONVENTIONAL]


def test_all_has_no_duplicates():
    assert len(sr.__all__) == len(set(sr.__all__))


@pytest.mark.parametrize("name", sr.__all__)
def test_public_name_imports(name):
    assert getattr(sr, name) is not None
    assert name in dir(sr)


def _attribute_docstrings() -> set[str]:
    """Module-level names documented by a ``#:`` comment above or a string below them."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        body = ast.parse(source).body
        for node, after in zip(body, [*body[1:], None], strict=True):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) else [])
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                comment = node.lineno >= 2 and lines[node.lineno - 2].lstrip().startswith("#:")
                string = (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                          and isinstance(after.value.value, str))
                if comment or string:
                    names.add(target.id)
    return names


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_a_docstring(name):
    obj = getattr(sr, name)
    if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
        assert (inspect.getdoc(obj) or "").strip(), f"{name} has no docstring"
    else:  # a constant: documented where it is defined
        assert name in _attribute_docstrings(), f"constant {name} has no #: comment or docstring"


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_is_in_readme(name):
    assert re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", README), \
        f"{name} is in spatialreno.__all__ but README.md does not mention it"


def test_lazy_names_live_where_the_table_says():
    for name, module in sr._LAZY.items():
        owner = __import__(f"spatialreno.{module}", fromlist=[name])
        assert getattr(owner, name) is getattr(sr, name), name


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_stage'"):
        sr.no_such_stage  # noqa: B018


def test_optional_dependency_skips_are_per_test():
    """A module-level ``pytest.importorskip`` would skip every test of a file at once."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if "importorskip" in ast.unparse(node) and not isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
