"""The default packaging and phasing use counted budgets only: identical results on an idle
or a busy machine, and no wall-clock limit reaches HiGHS unless the user sets one."""

from __future__ import annotations

import multiprocessing as mp
import warnings

import numpy as np
import pandas as pd
import pytest

import spatialreno as sr
import spatialreno.partition.exact as exact_mod
import spatialreno.phasing as phasing_mod
from spatialreno.partition import partition_packages, solver_report
from spatialreno.plan import _limits_from_config


def _busy() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


@pytest.fixture(scope="module")
def district_graph():
    """The graph and limits the default Plan partitions for sample_district(2000, seed=3)."""
    plan = sr.Plan.sample(2000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stage in (plan._read, plan._validate, plan._overlay, plan._costing,
                      plan._adjacency):
            stage()
    cfg = plan.config["packages"]
    return plan.graph, _limits_from_config(cfg["limits"]), cfg


def _partition(graph, limits, cfg) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return partition_packages(graph, limits=limits, objective=cfg["objective"],
                                  method=cfg["method"], time_limit_s=cfg["time_limit_s"],
                                  seed=cfg["seed"], on_infeasible=cfg["on_infeasible"])


def test_default_partition_identical_beside_busy_loops(district_graph):
    graph, limits, cfg = district_graph
    assert cfg["method"] == "auto" and cfg["time_limit_s"] is None
    quiet = _partition(graph, limits, cfg)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_busy, daemon=True) for _ in range(2)]
    try:
        for p in procs:
            p.start()
        loaded = _partition(graph, limits, cfg)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)
    pd.testing.assert_series_equal(quiet, loaded)
    cols = ["component", "n_compounds", "method", "status", "n_packages", "lower_bound", "gap"]
    pd.testing.assert_frame_equal(solver_report(quiet)[cols], solver_report(loaded)[cols])
    report = solver_report(quiet)
    assert not report["status"].isin(["time_limit"]).any()
    assert (report["method"] == "exact").any()  # the MILP really ran under "auto"
    assert quiet.nunique() == 345


class _Recorder:
    def __init__(self, real):
        self.real = real
        self.options: list[dict] = []

    def __call__(self, *args, **kwargs):
        self.options.append(dict(kwargs.get("options") or {}))
        return self.real(*args, **kwargs)


def test_no_default_path_passes_a_time_limit(monkeypatch, district_graph):
    rec_part = _Recorder(exact_mod.milp)
    rec_phase = _Recorder(phasing_mod.milp)
    monkeypatch.setattr(exact_mod, "milp", rec_part)
    monkeypatch.setattr(phasing_mod, "milp", rec_phase)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = sr.Plan.sample().run(progress=False)
    # the 2,000-compound district has components where "auto" runs the MILP
    district = _partition(*district_graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a budget too small for everything, so each year's knapsack really runs
        pk = pd.DataFrame({"cost_total": np.arange(1.0, 31.0) * 10,
                           "priority": np.linspace(0, 100, 30)},
                          index=pd.Index([f"P{i}" for i in range(30)], name="package_id"))
        sr.assign_phases(pk, budgets={2025: 400, 2026: 300}, priority="priority")
        sr.assign_phases(pk, budgets={2025: 400, 2026: 300}, priority="priority",
                         method="global")
    assert plan.labels is not None
    assert (solver_report(district)["method"] == "exact").any()
    assert rec_part.options, "the sample plan should run the exact MILP on some component"
    assert rec_phase.options
    for opts in rec_part.options + rec_phase.options:
        assert "time_limit" not in opts
        assert "node_limit" in opts


def test_explicit_time_limit_is_passed(monkeypatch, district_graph):
    """A wall clock reaches HiGHS only when the user asks for one (time_limit_s)."""
    rec = _Recorder(exact_mod.milp)
    monkeypatch.setattr(exact_mod, "milp", rec)
    graph, limits, cfg = district_graph
    labels = _partition(graph, limits, {**cfg, "time_limit_s": 600.0})
    assert rec.options and all("time_limit" in o for o in rec.options)
    assert labels.nunique() == 345  # a generous limit changes nothing


def test_phasing_options_checked():
    pk = pd.DataFrame({"cost_total": [10.0]}, index=pd.Index(["P1"], name="package_id"))
    with pytest.raises(sr.ConfigError, match="time_limit"):
        sr.assign_phases(pk, budgets={2025: 5}, priority=pd.Series([1.0], index=pk.index),
                         time_limit="fast")
    with pytest.raises(sr.ConfigError, match="node_limit"):
        sr.assign_phases(pk, budgets={2025: 5}, priority=pd.Series([1.0], index=pk.index),
                         node_limit=0)
