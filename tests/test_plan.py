"""The main job end to end: Plan, its config, edits and diffs, outputs, and the CLI's plan/demo."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyogrio
import pytest
from oracle import assert_valid_plan  # tests/oracle.py: networkx and pandas only

import spatialreno as sr
from spatialreno.plan import DEFAULT_CONFIG, Plan

LIMITS = {"compounds": [2, 8], "households": [None, 6000], "cost_total": [None, 6000]}


@pytest.fixture(scope="module")
def plan():
    return Plan.sample(config={"packages": {"limits": LIMITS}}).run(progress=False)


def test_plan_is_valid_and_reconciles(plan):
    """Every compound in one connected package, every cap held but by the flagged isolated
    compounds, and the package table's sums equal the compounds' (the independent oracle)."""
    assert_valid_plan(plan.graph, plan.labels, LIMITS, compounds=plan.compounds,
                      packages=plan.packages,
                      sum_columns=["floor_area_m2", "illegal_area_m2", "gas_aged_m"])


def test_only_isolated_packages_are_flagged(plan):
    isolated = set(sr.violations(plan.partition).query("limit == 'isolated'")["package_id"])
    # the violations name exactly the isolated single-compound packages
    assert set(plan.violations["package_id"]) == isolated
    assert (plan.packages.loc[list(isolated), "n_compounds"] == 1).all()
    assert all(plan.graph.degree(c) == 0 for c in plan.labels.index[plan.labels.isin(isolated)])


def test_totals_reconcile(plan):
    p = plan.packages
    funds = p[[col for col in p.columns if col.startswith("fund_")]].sum(axis=1)
    assert (funds - p["cost_total"]).abs().max() < 0.005 + 1e-9
    assert plan.reconciliation["ok"].all()
    # the structures outside every compound are in the audit, one row each
    unassigned = plan.audit.query("stage == 'overlay' and action == 'unassigned'")
    recon = plan.reconciliation.set_index(["layer", "quantity"])
    assert len(unassigned) == recon.loc[("illegal", "illegal_count"), "remainder"]


def test_phasing_keeps_budgets(plan):
    budgets = plan.config["phasing"]["budgets"]
    spent = plan.packages.groupby("plan_year")["fund_municipal"].sum()
    for year, amount in spent.items():
        assert amount <= budgets[int(year)] + 1e-6


def test_report_and_repr(plan):
    text = plan.report()
    assert "纳入改造小区 200 个" in text and "片区" in text and "万元" in text
    html = plan._repr_html_()
    assert "<table>" in html and "片区数" in html
    en = plan.with_options(lang="en")
    assert en.labels is None  # options make a new, not-run plan
    assert "not run" in repr(en)


def test_same_input_same_packages(plan):
    again = Plan.sample(config={"packages": {"limits": LIMITS}}).run(progress=False)
    pd.testing.assert_series_equal(plan.labels, again.labels)
    assert plan.diff(again).empty


def test_move_returns_a_new_checked_plan(plan):
    G, labels = plan.graph, plan.labels
    moved = None
    for u, v in sorted(G.edges):
        if labels[u] == labels[v]:
            continue
        try:
            edited = plan.move(u, labels[v])
        except sr.EditError:
            continue
        moved = (u, labels[u], labels[v])
        break
    assert moved is not None
    u, old, new = moved
    assert plan.labels[u] == old  # the original plan is unchanged
    assert edited.labels[u] == new
    d = plan.diff(edited)
    assert list(d.compounds["compound_id"]) == [u]
    assert edited.packages["cost_total"].sum() == pytest.approx(plan.packages["cost_total"].sum())
    assert edited.packages.loc[new, "n_compounds"] == plan.packages.loc[new, "n_compounds"] + 1


def test_move_that_breaks_contiguity_is_refused(plan):
    G, labels = plan.graph, plan.labels
    # a compound whose package is far away: not adjacent to any of its members
    pkgs = labels.groupby(labels).groups
    u = labels.index[0]
    far = next(pid for pid, members in pkgs.items()
               if pid != labels[u] and not any(G.has_edge(u, m) for m in members))
    with pytest.raises(sr.EditError):
        plan.move(u, far)


def test_write_outputs_are_complete_and_atomic(plan, tmp_path):
    out = plan.write_outputs(tmp_path / "out")
    names = {p.name for p in out.iterdir()}
    assert {"review_map.html", "bundle", "audit.csv", "violations.csv", "summary.txt"} <= names
    assert (out / "bundle" / "spatialreno.xlsx").exists()
    shp = pyogrio.read_dataframe(out / "bundle" / "shp" / "compounds.shp")
    assert len(shp) == 200
    with pytest.raises(sr.ConfigError, match="overwrite"):
        plan.write_outputs(tmp_path / "out")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- config
def test_config_unknown_key_is_named(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[inputs]\ncompounds = "x.gpkg"\n\n[adjacency]\ntolerence_m = 10\n')
    with pytest.raises(sr.ConfigError, match="adjacency.tolerence_m"):
        Plan.from_config(cfg)
    cfg.write_text('[inputs]\ncompounds = "x.gpkg"\n[mapping]\nx = 1\n')
    with pytest.raises(sr.ConfigError, match=r"\[mapping\]"):
        Plan.from_config(cfg)


def test_config_bad_choice_is_named(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[inputs]\ncompounds = "x.gpkg"\n[packages]\nobjective = "cheapest"\n')
    with pytest.raises(sr.ConfigError, match="packages.objective.*fewest"):
        Plan.from_config(cfg)


def test_default_config_lists_every_section():
    assert set(DEFAULT_CONFIG) == {"inputs", "adjacency", "packages", "overlay", "costs",
                                   "funding", "phasing", "map", "export"}


def _write_sample(tmp_path):
    from spatialreno.sample import write_sample

    write_sample(tmp_path / "data", sr.sample_district(120, seed=4))
    return tmp_path / "data" / "sample_district.gpkg"


def test_config_file_runs_from_relative_paths(tmp_path):
    gpkg = _write_sample(tmp_path)
    cfg = tmp_path / "district.toml"
    cfg.write_text(f"""
[inputs]
compounds = "{gpkg.relative_to(tmp_path).as_posix()}::compounds"
illegal = "data/sample_district.gpkg::illegal"
gas = "data/sample_district.gpkg::gas"
barriers = "data/sample_district.gpkg::barriers"

[adjacency]
tolerance_m = 12

[packages]
limits = {{ compounds = [2, 6] }}

[phasing]
budgets = {{ 2026 = 20000 }}
""", encoding="utf-8")
    plan = Plan.from_config(cfg).run(progress=False)
    assert plan.graph.graph["tolerance_m"] == 12
    sizes = plan.packages["n_compounds"]
    isolated = set(sr.violations(plan.partition).query("limit == 'isolated'")["package_id"])
    assert sizes.drop(index=list(isolated)).between(2, 6).all()


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "spatialreno", *args], capture_output=True,
                          text=True, timeout=900, cwd=cwd)


def test_cli_plan_with_flags(tmp_path):
    gpkg = _write_sample(tmp_path)
    out = _cli("plan", "--compounds", f"{gpkg}:compounds", "--illegal", f"{gpkg}:illegal",
               "--gas", f"{gpkg}:gas", "--barriers", f"{gpkg}:barriers", "--as-of-year", "2025",
               "--out", str(tmp_path / "res"))
    assert out.returncode in (0, 4), out.stderr
    assert "纳入改造小区 120 个" in out.stdout
    assert "燃气管道管龄计算至 2025 年" in out.stdout
    assert (tmp_path / "res" / "review_map.html").exists()


def test_cli_plan_with_gas_and_no_year_is_refused_before_any_work(tmp_path):
    gpkg = _write_sample(tmp_path)
    out = _cli("plan", "--compounds", f"{gpkg}:compounds", "--gas", f"{gpkg}:gas", "--out",
               str(tmp_path / "res"))
    assert out.returncode == 1
    assert "--as-of-year" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "res").exists()


def test_cli_plan_bad_config_is_one_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[inputs]\ncompounds = "nope.gpkg"\n')
    out = _cli("plan", str(cfg))
    assert out.returncode == 1
    assert "nope.gpkg" in out.stderr and "Traceback" not in out.stderr


def test_cli_demo(tmp_path):
    out = _cli("demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert "划分片区" in out.stdout
    for name in ("review_map.html", "bundle/spatialreno.gpkg", "bundle/spatialreno.xlsx",
                 "bundle/shp/compounds.cpg", "audit.csv"):
        assert (tmp_path / "demo" / name).exists(), name


def test_report_names_the_assumed_rates(plan):
    text = plan.report()
    assert "假设单价" in text and "demolition.per_m2" in text


def test_tender_split_warnings_are_in_the_audit(plan):
    flagged = plan.packages.index[plan.packages["split_warning"].fillna("").astype(str) != ""]
    rows = plan.audit[plan.audit["action"].str.contains("化整为零")]
    assert set(rows["id"]) == set(flagged)


def test_readme_config_reference_is_a_valid_config():
    """The README's config reference names only keys and values a plan accepts."""
    import re
    import tomllib
    from pathlib import Path

    from spatialreno.plan import _merge_config

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Config reference.*?```toml\n(.*?)```", readme, re.S).group(1)
    cfg = _merge_config(tomllib.loads(block), source="README")
    sr.PriorityWeights.from_dict(cfg["phasing"]["weights"])
    assert cfg["packages"]["limits"]["households"] == [1500, 6000]


# ---------------------------------------------------------------- results and edits
def _frame_key(frame):
    return frame.reset_index(drop=True).astype(str).to_dict("records")


def test_run_twice_is_idempotent():
    p = Plan.sample(config={"packages": {"limits": LIMITS}})
    first = p.run(progress=False).result
    second = p.run(progress=False).result
    assert first is not second
    assert second.notes == first.notes
    assert _frame_key(second.audit) == _frame_key(first.audit)
    pd.testing.assert_series_equal(second.labels, first.labels)
    pd.testing.assert_frame_equal(
        pd.DataFrame(second.packages.drop(columns="geometry")),
        pd.DataFrame(first.packages.drop(columns="geometry")))
    assert second.packages.geometry.geom_equals(first.packages.geometry).all()


def test_results_are_frozen_and_read_only(plan):
    assert isinstance(plan.result, sr.PlanResult)
    assert isinstance(plan.partition, sr.PartitionResult)
    assert plan.labels is plan.result.labels and not plan.labels.attrs
    assert isinstance(plan.notes, tuple)
    with pytest.raises(AttributeError, match="read-only"):
        plan.packages = None
    with pytest.raises(AttributeError):
        plan.result.labels = None
    with pytest.raises(TypeError):
        plan.layers["packages"] = None


def _first_move(p):
    G, labels = p.graph, p.labels
    for u, v in sorted(G.edges):
        if labels[u] != labels[v]:
            try:
                p.move(u, labels[v])
            except sr.EditError:
                continue
            return u, labels[v]
    raise AssertionError("no allowed move in the sample plan")


def test_move_appends_exactly_its_own_audit_rows(plan):
    u, target = _first_move(plan)
    edited = plan.move(u, target)
    again = edited.move(u, plan.labels[u])  # and back
    redone = ("partition", "funding", "phasing")
    for p in (edited, again):
        kept = p.audit[~p.audit["stage"].isin([*redone, "edit"])]
        assert _frame_key(kept) == _frame_key(plan.audit[~plan.audit["stage"].isin(redone)])
        for stage in ("funding", "phasing"):  # redone, never duplicated
            rows = p.audit[p.audit["stage"] == stage]
            assert not rows.duplicated().any()
    assert (edited.audit["stage"] == "edit").sum() == 1
    assert (again.audit["stage"] == "edit").sum() == 2
    pd.testing.assert_series_equal(again.labels, plan.labels)
    assert len(plan.audit[plan.audit["stage"] == "edit"]) == 0  # the original is unchanged


@pytest.mark.parametrize(("rule", "match"), [
    ("locked_source", "locked constraint"), ("locked_target", "locked constraint"),
    ("must_link", "must_link constraint"), ("cannot_link", "cannot_link constraint"),
    ("limits", "limit of the target package"),
])
def test_move_checks_every_hard_constraint(plan, rule, match):
    u, target = _first_move(plan)
    labels = plan.labels
    partner = next(c for c in labels.index[labels == labels[u]] if c != u) \
        if (labels == labels[u]).sum() > 1 else None
    member = labels.index[labels == target][0]
    packages = {}
    if rule == "locked_source":
        packages["locked"] = {u: "EPC-1"}
    elif rule == "locked_target":
        packages["locked"] = {m: "EPC-2" for m in labels.index[labels == target]}
    elif rule == "must_link":
        if partner is None:
            pytest.skip("the moved compound is alone in its package")
        packages["must_link"] = [[u, partner]]
    elif rule == "cannot_link":
        packages["cannot_link"] = [[u, member]]
    else:
        n = int((labels == target).sum())
        packages["limits"] = {**LIMITS, "compounds": [1, n]}
    cfg = {**plan.config, "packages": {**plan.config["packages"], **packages}}
    edited_cfg = Plan.__new__(Plan)
    edited_cfg.__dict__.update(plan.__dict__)
    edited_cfg.config = cfg  # same results, stricter rules: only the edit check differs
    with pytest.raises(sr.EditError, match=match):
        edited_cfg.move(u, target)


def test_move_respects_the_boundary_policy(plan):
    G, labels = plan.graph, plan.labels
    assert G.graph.get("boundary_policy") == "forbid"
    street = plan.compounds["street"]
    # no allowed move ever joins a package of another street
    u, target = _first_move(plan)
    assert {street[m] for m in labels.index[labels == target]} == {street[u]}
