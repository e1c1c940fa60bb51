"""Shared fixtures: the real third-party data in ../shared/data/real (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real third-party data; skips the test when ../shared is not beside the repo."""
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL} (../shared beside the repository)")
    return REAL
