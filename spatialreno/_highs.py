"""Quiet HiGHS: scipy's MILP without the solver's stray output, and why a run stopped
(used by partition and phasing)."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["quiet_stdout", "milp_stop"]


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


def milp_stop(res) -> str:
    """Why a ``scipy.optimize.milp`` run stopped: ``"optimal"``, ``"infeasible"``,
    ``"unbounded"``, ``"node_limit"`` (the count-based ``node_limit`` option; HiGHS reports
    it as its solution/node limit), ``"time_limit"`` (the wall-clock ``time_limit`` option)
    or ``"other"``. scipy folds several HiGHS stops into one status code, so the message
    decides between the two limits."""
    status = getattr(res, "status", None)
    message = str(getattr(res, "message", "")).lower()
    if status == 0:
        return "optimal"
    if status == 2:
        return "infeasible"
    if status == 3:
        return "unbounded"
    if "time limit" in message:
        return "time_limit"
    if "node limit" in message or "solution limit" in message or status == 4:
        return "node_limit"
    return "other"
