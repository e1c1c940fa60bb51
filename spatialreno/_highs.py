"""Why a scipy ``milp`` (HiGHS) run stopped (used by partition and phasing).

HiGHS output is switched off through scipy's public option ``disp=False`` (every MILP in
spatialreno passes it); nothing touches file descriptors or other process-wide state.
``tests/test_determinism.py::test_milp_prints_nothing`` captures file descriptor 1 around
the MILPs to prove it stays silent with the installed scipy.
"""

from __future__ import annotations

__all__ = ["HIGHS_QUIET", "milp_stop"]

#: The scipy ``milp`` options that keep HiGHS silent.
HIGHS_QUIET: dict[str, object] = {"disp": False}


def milp_stop(res) -> str:
    """Why a ``scipy.optimize.milp`` run stopped: ``"optimal"``, ``"infeasible"``,
    ``"unbounded"``, ``"node_limit"`` (the count-based ``node_limit`` option; HiGHS reports
    it as its solution/node limit), ``"time_limit"`` (the wall-clock ``time_limit`` option)
    or ``"other"``. scipy folds several HiGHS stops into one status code, so the message
    decides between the two limits.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> milp_stop(SimpleNamespace(status=0, message="Optimization terminated successfully."))
    'optimal'
    >>> milp_stop(SimpleNamespace(status=1, message="Time limit reached. (HiGHS Status 13)"))
    'time_limit'
    """
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
