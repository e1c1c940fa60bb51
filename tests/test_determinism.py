"""The default packaging and phasing use counted budgets only: identical results on an idle
or a busy machine, and no wall-clock limit reaches HiGHS unless the user sets one."""

from __future__ import annotations

import multiprocessing as mp

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
    plan.run(progress=False, until="adjacency")
    cfg = plan.config["packages"]
    return plan.graph, _limits_from_config(cfg["limits"]), cfg


#: What partition_packages warns on the 2,000-compound district (and on the cut-out below).
ISOLATED = r"isolated compound\(s\) form their own packages"


def _partition(graph, limits, cfg) -> sr.PartitionResult:
    with pytest.warns(sr.SpatialRenoWarning, match=ISOLATED):
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
    pd.testing.assert_series_equal(quiet.labels, loaded.labels)
    pd.testing.assert_frame_equal(quiet.violations, loaded.violations)
    cols = ["component", "n_compounds", "method", "status", "n_packages", "lower_bound", "gap"]
    pd.testing.assert_frame_equal(solver_report(quiet)[cols], solver_report(loaded)[cols])
    report = solver_report(quiet)
    assert not report["status"].isin(["time_limit"]).any()
    assert (report["method"] == "exact").any()  # the MILP really ran under "auto"
    assert quiet.labels.nunique() == 345


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
    plan = sr.Plan.sample().run(progress=False)
    # the 2,000-compound district has components where "auto" runs the MILP
    district = _partition(*district_graph)
    with pytest.warns(sr.SpatialRenoWarning, match=r"package\(s\) not phased"):
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
    res = _partition(graph, limits, {**cfg, "time_limit_s": 600.0})
    assert rec.options and all("time_limit" in o for o in rec.options)
    # Not compared with the counted run's 345 packages: the user asked for a wall clock,
    # and each component gets its share of it (a few seconds for a small component), so on
    # a loaded machine a component may stop at its share (seen: 346). Only the
    # count-based default promises the same plan on any machine.
    assert set(res.labels.index) == set(graph.nodes)


def test_phasing_options_checked():
    pk = pd.DataFrame({"cost_total": [10.0]}, index=pd.Index(["P1"], name="package_id"))
    with pytest.raises(sr.ConfigError, match="time_limit"):
        sr.assign_phases(pk, budgets={2025: 5}, priority=pd.Series([1.0], index=pk.index),
                         time_limit="fast")
    with pytest.raises(sr.ConfigError, match="node_limit"):
        sr.assign_phases(pk, budgets={2025: 5}, priority=pd.Series([1.0], index=pk.index),
                         node_limit=0)


def test_milp_prints_nothing(capfd, district_graph):
    """HiGHS stays silent on file descriptor 1 with scipy's own ``disp=False`` (no fd
    redirection in spatialreno): the 2,000-compound district runs the MILP under "auto"."""
    import inspect

    import spatialreno._highs as highs

    assert "dup2" not in inspect.getsource(highs) and "dup2" not in inspect.getsource(exact_mod)
    capfd.readouterr()
    res = _partition(*district_graph)
    with pytest.warns(sr.SpatialRenoWarning, match=ISOLATED):  # isolated in the cut-out
        exact = partition_packages(district_graph[0].subgraph(
            sorted(district_graph[0], key=str)[:30]).copy(), limits={"compounds": (2, 6)},
            method="exact", on_infeasible="report")
    out, _ = capfd.readouterr()
    assert (res.solver_report["method"] == "exact").any()
    assert len(exact.labels) == 30
    assert out == ""


_RUN_PLAN = """
import sys, warnings
warnings.simplefilter("error")  # as in the test run: the plan itself warns about nothing
import spatialreno as sr
sr.Plan.sample().run(progress=False).write_outputs(sys.argv[1])
"""


def _outputs(folder) -> dict:
    """What a plan wrote, compared by content: audit.csv and violations.csv as text, the
    workbook's cell values (the file embeds a timestamp, so not its bytes), the
    GeoPackage's attributes and geometry (not its bytes: GDAL writes timestamps),
    summary.txt as text, and the HTML map byte for byte (folium's random element ids are
    renamed in tree order when it is saved)."""
    import openpyxl
    import pyogrio

    out = {name: (folder / name).read_text(encoding="utf-8")
           for name in ("audit.csv", "violations.csv", "summary.txt")}
    out["review_map.html"] = (folder / "review_map.html").read_bytes()
    book = openpyxl.load_workbook(next((folder / "bundle").glob("*.xlsx")), read_only=True)
    out["xlsx"] = {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)]
                   for ws in book.worksheets}
    book.close()
    gpkg = next((folder / "bundle").glob("*.gpkg"))
    for layer, _ in pyogrio.list_layers(gpkg):
        frame = pyogrio.read_dataframe(gpkg, layer=layer)
        geoms = frame.geometry.to_wkb().tolist() if "geometry" in frame else None
        out[f"gpkg:{layer}"] = (frame.drop(columns="geometry", errors="ignore")
                                .astype(str).to_dict("records"), geoms)
    return out


def test_plan_identical_in_one_process_and_in_two_beside_a_busy_loop(tmp_path):
    """Issue 13 "done when": the same plan run twice in one process, and in two processes
    (one beside CPU busy loops), gives identical packages, audit and outputs."""
    import subprocess
    import sys

    plan = sr.Plan.sample()
    first = plan.run(progress=False).result
    plan.write_outputs(tmp_path / "a")
    second = plan.run(progress=False).result
    plan.write_outputs(tmp_path / "b")
    pd.testing.assert_series_equal(first.labels, second.labels)
    pd.testing.assert_frame_equal(first.audit, second.audit)
    assert first.notes == second.notes
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b")

    idle = subprocess.run([sys.executable, "-c", _RUN_PLAN, str(tmp_path / "c")],
                          capture_output=True, text=True, timeout=600)
    assert idle.returncode == 0, idle.stderr
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_busy, daemon=True) for _ in range(2)]
    try:
        for p in procs:
            p.start()
        busy = subprocess.run([sys.executable, "-c", _RUN_PLAN, str(tmp_path / "d")],
                              capture_output=True, text=True, timeout=600)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)
    assert busy.returncode == 0, busy.stderr
    expected = _outputs(tmp_path / "a")
    assert _outputs(tmp_path / "c") == expected
    assert _outputs(tmp_path / "d") == expected
