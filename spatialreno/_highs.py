"""Quiet HiGHS: scipy's MILP without the solver's stray output (used by partition and phasing)."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["quiet_stdout"]


@contextlib.contextmanager
def quiet_stdout():
    """Silence file descriptor 1 while HiGHS runs: the HiGHS bundled with scipy 1.17 prints
    a debug line (``HighsMipSolverData::transformNewIntegerFeasibleSolution``) even with
    ``disp=False``. Python's own ``sys.stdout`` is flushed first, so nothing else is lost."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, AttributeError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)
