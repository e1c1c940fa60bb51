"""Tests of spatialreno.phasing: priority, phasing under budgets (vs brute force), progress report."""

from __future__ import annotations

import dataclasses
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spatialreno as sr
from spatialreno import ConfigError, DataError, SchemaError, SpatialRenoWarning
from spatialreno.costing import estimate_costs, fund_packages
from spatialreno.phasing import (
    NODE_LIMIT,
    TIE_VALUE,
    PriorityWeights,
    assign_phases,
    format_report,
    priority_scores,
    progress_summary,
)


def frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame(cols, index=pd.Index([f"P{i + 1}" for i in range(n)], name="package_id"))


def quiet(fn, *args, **kwargs):
    """Call with only the warning these tests provoke in passing silenced: packages that a
    small budget leaves unphased (other tests assert it with pytest.warns)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*package\(s\) not phased", SpatialRenoWarning)
        return fn(*args, **kwargs)


def test_public_names_resolve_lazily():
    assert sr.assign_phases is assign_phases
    assert sr.progress_summary is progress_summary


# ======================================================================================
# priority
# ======================================================================================
def test_priority_by_hand():
    pk = frame(gas_aged_m=[100.0, 0.0, 50.0], illegal_area_m2=[0.0, 40.0, 20.0],
               households=[200, 100, 400], build_year=[1985, 1995, 1990])
    # P1: 0.35·1 + 0.20·0 + 0.25·0.5 + 0.20·1 = 0.675;  P2: 0 + 0.2 + 0.0625 + 0 = 0.2625
    # P3: 0.35·0.5 + 0.2·0.5 + 0.25·1 + 0.2·0.5 = 0.625
    assert priority_scores(pk).tolist() == [67.5, 26.25, 62.5]
    only_households = priority_scores(pk, {"gas_aged_m": 0, "illegal_area_m2": 0, "build_year": 0})
    assert only_households.tolist() == [50.0, 25.0, 100.0]
    assert priority_scores(pk, PriorityWeights(build_year=1, gas_aged_m=0, illegal_area_m2=0,
                                               households=0)).tolist() == [100.0, 0.0, 50.0]


def test_priority_missing_column_warns_and_rescales():
    pk = frame(households=[100, 50])
    with pytest.warns(SpatialRenoWarning, match="no 'gas_aged_m' column"):
        score = priority_scores(pk)
    assert score.tolist() == [100.0, 50.0]  # households alone, still on 0–100


def test_priority_weights_validation(tmp_path):
    with pytest.raises(ConfigError, match="households"):
        PriorityWeights(households=-1)
    with pytest.raises(ConfigError, match="at least one weight"):
        PriorityWeights(0, 0, 0, 0)
    path = tmp_path / "w.toml"
    path.write_text("households = 2\nbuild_yr = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"w\.toml: unknown key 'build_yr'"):
        PriorityWeights.from_toml(path)
    path.write_text('households = { value = 2, unit = "户" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="a weight has no unit"):
        PriorityWeights.from_toml(path)


# ======================================================================================
# assign_phases: behaviour
# ======================================================================================
def test_phases_by_priority_within_budgets():
    pk = frame(cost_total=[60.0, 50.0, 40.0, 30.0], priority=[90.0, 50.0, 40.0, 10.0])
    before = pk.copy()
    res = assign_phases(pk, budgets={2025: 100, 2026: 80}, priority="priority")
    out = res.packages
    pd.testing.assert_frame_equal(pk, before)
    assert out["plan_year"].dtype == "Int64"
    assert out["plan_year"].tolist() == [2025, 2026, 2025, 2026]
    assert (out["phase_reason"] == "").all()
    assert out.attrs == {}  # results never travel in attrs
    assert res.method == "yearly" and res.optimal and res.notes == ()
    assert res.info["budget_column"] == "cost_total"
    assert res.info["used"] == {2025: 100.0, 2026: 80.0}
    assert res.info["budgets"] == {2025: 100.0, 2026: 80.0}
    assert res.info["node_limit"] == NODE_LIMIT and res.info["time_limit"] is None


def test_unphased_reasons():
    pk = frame(cost_total=[150.0, 80.0, 70.0, None], priority=[99.0, 50.0, 40.0, 30.0])
    with pytest.warns(SpatialRenoWarning, match=r"3 package\(s\) not phased: 'P1', 'P3', 'P4'"):
        res = assign_phases(pk, budgets={2025: 100, 2026: 60}, priority="priority")
    out = res.packages
    assert out["plan_year"].tolist()[1] == 2025
    assert out["plan_year"].isna().tolist() == [True, False, True, True]
    assert "above every year's budget (largest 100.00 万元 in 2025)" in out.at["P1", "phase_reason"]
    assert out.at["P3", "phase_reason"].startswith("budgets exhausted")
    assert out.at["P4", "phase_reason"] == "no cost_total: cannot be phased"
    unphased = res.unphased
    assert list(unphased.index) == ["P1", "P3", "P4"]
    assert list(unphased.columns) == ["cost_total", "priority", "phase_reason"]


def test_budget_column_defaults_to_municipal_share():
    pk = frame(cost_total=[1000.0, 1000.0], fund_municipal=[100.0, 100.0], priority=[1.0, 2.0])
    res = assign_phases(pk, budgets={2025: 200}, priority="priority")
    assert res.info["budget_column"] == "fund_municipal"
    assert res.packages["plan_year"].tolist() == [2025, 2025]
    res = quiet(assign_phases, pk, budgets={2025: 200}, priority="priority",
                budget_column="cost_total")
    assert res.packages["plan_year"].isna().all()


def test_budgets_as_list_and_start_year():
    pk = frame(cost_total=[10.0, 10.0, 10.0], priority=[3.0, 2.0, 1.0])
    out = assign_phases(pk, budgets=[10, 10, 10], start_year=2024, priority="priority").packages
    assert out["plan_year"].tolist() == [2024, 2025, 2026]
    res = assign_phases(pk, budgets={2023: 30, 2024: 20, 2025: 10}, start_year=2024,
                        priority="priority")
    assert res.packages["plan_year"].tolist() == [2024, 2024, 2025]
    assert "2023" in res.notes[0]


def test_priority_default_series_and_weights():
    pk = frame(cost_total=[10.0, 10.0], households=[10, 100], build_year=[1990, 1990])
    out = assign_phases(pk, budgets={2025: 10, 2026: 10},
                        priority={"gas_aged_m": 0, "illegal_area_m2": 0}).packages
    assert out["plan_year"].tolist() == [2026, 2025]
    # households weigh 0.25 of 0.45: build years are equal, so that factor is 0 for both
    assert out["priority"].tolist() == [5.56, 55.56]
    series = pd.Series({"P1": 5.0, "P2": 1.0})
    assert assign_phases(pk, budgets={2025: 10, 2026: 10},
                         priority=series).packages["plan_year"].tolist() == [2025, 2026]


def test_zero_priority_package_still_funded():
    pk = frame(cost_total=[10.0, 10.0], priority=[0.0, 0.0])
    out = assign_phases(pk, budgets={2025: 20}, priority="priority").packages
    assert out["plan_year"].tolist() == [2025, 2025]


def test_global_can_fund_what_yearly_leaves_out():
    # yearly spends 2025 on P2 + P3 (80) and P1 (90) fits no later year;
    # global puts P1 in 2025 and P2 in 2026: 50.01 + 0.9·40.01 > 80.02
    pk = frame(cost_total=[90.0, 50.0, 50.0], priority=[50.0, 40.0, 40.0])
    yearly = quiet(assign_phases, pk, budgets={2025: 100, 2026: 60}, priority="priority").packages
    assert yearly["plan_year"].tolist() == [pd.NA, 2025, 2025]
    best = quiet(assign_phases, pk, budgets={2025: 100, 2026: 60}, priority="priority",
                 method="global")
    assert best.packages["plan_year"].tolist()[0] == 2025
    assert sorted(best.packages["plan_year"].dropna().tolist()) == [2025, 2026]
    assert best.optimal and best.method == "global"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"budgets": {2025: -1}}, ConfigError, r"budgets\[2025\]: must be ≥ 0"),
        ({"budgets": {"next": 10}}, ConfigError, "is not a year"),
        ({"budgets": [10, 20]}, ConfigError, "need start_year"),
        ({"budgets": {2025: "lots"}}, ConfigError, r"budgets\[2025\]: expected an amount"),
        ({"budgets": {2025: 1}, "method": "greedy"}, ConfigError, "method"),
        ({"budgets": {2025: 1}, "discount": 0}, ConfigError, "discount"),
        ({"budgets": {2025: 1}, "budget_column": "fund_bond"}, SchemaError, "fund_bond"),
        ({"budgets": {2025: 1}, "priority": "urgency"}, SchemaError, "urgency"),
    ],
)
def test_phase_argument_errors(kwargs, error, match):
    pk = frame(cost_total=[1.0], priority=[1.0])
    kwargs.setdefault("priority", "priority")
    with pytest.raises(error, match=match):
        assign_phases(pk, **kwargs)


# ======================================================================================
# assign_phases: optimality against brute force (≤ 8 packages, 2–3 years)
# ======================================================================================
@st.composite
def instances(draw):
    n = draw(st.integers(1, 8))
    years = draw(st.integers(2, 3))
    cost = [draw(st.integers(0, 5_000)) / 100 for _ in range(n)]  # 万元, 0.01 steps
    prio = [draw(st.integers(0, 10_000)) / 100 for _ in range(n)]
    budgets = {2025 + t: draw(st.integers(0, 9_000)) / 100 for t in range(years)}
    discount = draw(st.sampled_from([0.5, 0.9, 1.0]))
    return cost, prio, budgets, discount


def _assignment(out, years):
    pos = {y: t for t, y in enumerate(years)}
    return np.array([pos[y] if pd.notna(y) else -1 for y in out["plan_year"]])


def _check_budgets(cost_fen, plan, budget_fen):
    for t, b in enumerate(budget_fen):
        assert cost_fen[plan == t].sum() <= b


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_global_is_optimal_by_brute_force(case):
    cost, prio, budgets, discount = case
    pk = frame(cost_total=cost, priority=prio)
    out = quiet(assign_phases, pk, budgets=budgets, priority="priority", method="global",
                discount=discount).packages
    years = sorted(budgets)
    cost_fen = np.rint(np.array(cost) * 100).astype(int)
    budget_fen = np.rint(np.array([budgets[y] for y in years]) * 100).astype(int)
    value = np.array(prio) + TIE_VALUE
    weight = np.array([discount ** (y - years[0]) for y in years])
    plan = _assignment(out, years)
    _check_budgets(cost_fen, plan, budget_fen)
    got = sum(value[i] * weight[t] for i, t in enumerate(plan) if t >= 0)
    # every assignment of every package to no year or one of the years
    allplans = np.array(list(itertools.product(range(-1, len(years)), repeat=len(cost))))
    feasible = np.ones(len(allplans), dtype=bool)
    objective = np.zeros(len(allplans))
    for t in range(len(years)):
        chosen = allplans == t
        feasible &= chosen @ cost_fen <= budget_fen[t]
        objective += chosen @ value * weight[t]
    assert got == pytest.approx(objective[feasible].max(), abs=1e-6)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_yearly_is_optimal_each_year_by_brute_force(case):
    cost, prio, budgets, _ = case
    pk = frame(cost_total=cost, priority=prio)
    out = quiet(assign_phases, pk, budgets=budgets, priority="priority", method="yearly").packages
    years = sorted(budgets)
    cost_fen = np.rint(np.array(cost) * 100).astype(int)
    budget_fen = np.rint(np.array([budgets[y] for y in years]) * 100).astype(int)
    value = np.array(prio) + TIE_VALUE
    plan = _assignment(out, years)
    _check_budgets(cost_fen, plan, budget_fen)
    left = np.ones(len(cost), dtype=bool)
    for t in range(len(years)):
        # the best subset of the packages still left (given the years before), by brute force
        idx = np.flatnonzero(left)
        subsets = np.array(list(itertools.product([0, 1], repeat=len(idx))), dtype=bool)
        fits = subsets @ cost_fen[idx] <= budget_fen[t]
        best = (subsets @ value[idx])[fits].max()
        assert value[plan == t].sum() == pytest.approx(best, abs=1e-6)
        left &= plan != t
    # whatever is left fits in no year's leftover money
    spare = [budget_fen[t] - cost_fen[plan == t].sum() for t in range(len(years))]
    assert all(cost_fen[i] > max(spare) for i in np.flatnonzero(plan < 0))


# ======================================================================================
# progress_summary / format_report
# ======================================================================================
@pytest.fixture
def district():
    compounds = pd.DataFrame(
        {
            "households": [100, 200, 300, 400, 50],
            "renovation_status": ["completed", "在建", "planned", "reserve", "not_listed"],
            "package_id": ["P1", "P1", "P2", "P3", None],
            "district": ["汉阳", "汉阳", "江汉", "江汉", "江汉"],
        },
        index=pd.Index(list("abcde"), name="compound_id"),
    )
    packages = frame(
        plan_year=pd.array([2024, 2025, None], dtype="Int64"),
        cost_total=[100.0, 50.5, 20.0],
        fund_central=[38.0, 19.19, 7.6],
        fund_municipal=[62.0, 31.31, 12.4],
        fund_utility=[0.0, 0.0, 0.0],
    )
    return compounds, packages


def test_progress_summary_by_year(district):
    compounds, packages = district
    summary = progress_summary(compounds, packages)
    assert summary.by == "plan_year" and summary.notes == ()
    table = summary.table
    assert table.attrs == {}
    assert list(table.index) == [2024, 2025, "unscheduled", "total"]
    assert table.index.name == "plan_year"
    assert table.loc[2024, ["n_compounds", "households", "n_started", "n_completed"]].tolist() == [2, 300, 2, 1]
    assert table.loc["unscheduled", "n_compounds"] == 1  # 'd' (reserve); 'e' is not listed
    total = table.loc["total"]
    assert (total.n_compounds, total.households, total.n_planned) == (4, 1000, 3)
    assert (total.n_started, total.households_started) == (2, 300)
    assert (total.n_completed, total.households_completed) == (1, 100)
    assert table.loc[2025, "fund_central"] == 19.19
    assert total.cost_total == pytest.approx(170.5)
    assert total.fund_central + total.fund_municipal == pytest.approx(total.cost_total)


def test_progress_summary_by_district_and_compound_year(district):
    compounds, packages = district
    compounds = compounds.assign(plan_year=[2023, None, None, None, None])
    table = progress_summary(compounds, packages, by="district").table
    assert list(table.index) == ["江汉", "汉阳", "total"] or list(table.index) == ["汉阳", "江汉", "total"]
    assert table.loc["汉阳", "n_planned"] == 2  # a from its own column, b through P1
    assert "fund_central" not in table.columns
    by_year = progress_summary(compounds, packages).table
    assert by_year.loc[2023, "n_compounds"] == 1 and by_year.loc[2024, "n_compounds"] == 1


def test_progress_summary_errors(district):
    compounds, packages = district
    with pytest.raises(DataError, match="unknown renovation_status 'halfway'"):
        progress_summary(compounds.assign(renovation_status="halfway"))
    with pytest.raises(ConfigError, match="by='colour'"):
        progress_summary(compounds, packages, by="colour")


def test_format_report_zh_and_en(district):
    compounds, packages = district
    summary = progress_summary(compounds, packages)
    lines = format_report(summary)
    assert lines[0] == ("共纳入项目库小区 4 个、户数 1000 户；已列入年度计划 3 个、600 户；"
                        "已开工 2 个、300 户（含已完工）；已完工 1 个、100 户。")
    assert "2024年：小区 2 个、300 户，已开工 2 个，已完工 1 个，估算投资 100.00 万元。" in lines
    assert "未排期：小区 1 个、400 户，估算投资 20.00 万元。" in lines
    assert "资金来源：中央补助 64.79 万元、市级专项资金 105.71 万元，合计 170.50 万元。" in lines
    en = format_report(summary, lang="en")
    assert en[0].startswith("Project library: 4 compounds, 1,000 households")
    assert en[-1] == "Funding (10k CNY): central subsidy 64.79, municipal funds 105.71; total 170.50."
    with pytest.raises(TypeError, match="pass that result, not its table"):
        format_report(summary.table)  # a bare table has lost its notes
    with pytest.raises(ConfigError, match="lang"):
        format_report(summary, lang="fr")
    noted = progress_summary(compounds, packages, notes=["rates are assumptions"])
    assert format_report(noted)[-1] == "注：rates are assumptions"
    assert format_report(noted, lang="en")[-1] == "Note: rates are assumptions"


def test_pipeline_end_to_end_report():
    compounds = pd.DataFrame(
        {"floor_area_m2": [20_000.0, 30_000.0, 15_000.0, 40_000.0],
         "renovation_class": ["improve", "basic", "upgrade", "improve"],
         "households": [300, 450, 200, 600], "elevators_planned": [0, 2, 0, 1],
         "illegal_area_m2": [120.0, 0.0, 35.5, 400.0], "gas_aged_m": [300.0, 0.0, 80.0, 500.0],
         "gas_aged_courtyard_buried_m": [200.0, 0.0, 80.0, 300.0],
         "gas_aged_municipal_m": [100.0, 0.0, 0.0, 200.0],
         "build_year": [1985, 1992, 1978, 1998],
         "renovation_status": ["planned", "planned", "started", "reserve"]},
        index=pd.Index(list("abcd"), name="compound_id"),
    )
    est = estimate_costs(compounds)
    costed = est.compounds
    labels = pd.Series(["P1", "P1", "P2", "P3"], index=compounds.index, name="package_id")
    packages = costed.select_dtypes("number").groupby(labels).sum()
    funded = fund_packages(packages).packages
    budgets = {2025: 2000, 2026: 1000}
    res = assign_phases(funded, budgets=budgets)
    phased = res.packages
    assert phased["plan_year"].notna().all()
    for year, used in res.info["used"].items():
        assert used <= budgets[year]
        assert used == pytest.approx(phased.loc[phased.plan_year == year, "fund_municipal"].sum())
    summary = progress_summary(costed.assign(package_id=labels), phased, notes=est.notes)
    table = summary.table
    assert table.loc["total", "cost_total"] == pytest.approx(costed["cost_total"].sum())
    funds = [c for c in table.columns if c.startswith("fund_")]
    assert table.loc["total", funds].sum() == pytest.approx(table.loc["total", "cost_total"])
    lines = format_report(summary)
    assert lines[0].startswith("共纳入项目库小区 4 个、户数 1550 户")
    assert any(line.startswith("资金来源：中央补助") for line in lines)
    assert any("assumed rates" in line for line in lines)  # the cost notes reach the report


# ======================================================================================
# result objects, counted budgets
# ======================================================================================
def test_phasing_result_is_frozen_with_short_repr():
    pk = frame(cost_total=[60.0, 50.0], priority=[90.0, 50.0])
    res = assign_phases(pk, budgets={2025: 110}, priority="priority")
    assert isinstance(res, sr.PhasingResult)
    assert repr(res) == ("PhasingResult(2 of 2 packages phased, method='yearly', optimal=True, "
                         "0 note(s))")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.optimal = False  # type: ignore[misc]
    summary = progress_summary(pd.DataFrame({"households": [10]},
                                            index=pd.Index(["a"], name="compound_id")))
    assert isinstance(summary, sr.ProgressSummary)
    assert repr(summary).startswith("ProgressSummary(by='plan_year', 1 group(s), 1 compounds")


def test_node_limit_reached_keeps_a_feasible_plan_and_says_so():
    rng = np.random.default_rng(5)
    n = 60
    pk = frame(cost_total=rng.integers(100, 5000, n) / 100, priority=rng.integers(0, 10_000, n) / 100)
    budgets = {2025: 300, 2026: 250, 2027: 200}
    def phase():
        with pytest.warns(SpatialRenoWarning, match=r"not proven optimal \(node_limit=1\)"), \
                pytest.warns(SpatialRenoWarning, match="not phased"):
            return assign_phases(pk, budgets=budgets, priority="priority", method="global",
                                 node_limit=1)

    res = phase()
    assert not res.optimal and res.info["node_limit"] == 1
    assert any("not proven optimal" in n for n in res.notes)  # every warning is a note too
    again = phase()
    pd.testing.assert_frame_equal(res.packages, again.packages)  # a count: same plan again
    for year, used in res.info["used"].items():
        assert used <= budgets[year]


def test_inputs_checked_by_the_contract():
    with pytest.raises(DataError, match=r"assign_phases: `packages` must be a DataFrame"):
        assign_phases([1, 2], budgets={2025: 1})
    with pytest.raises(DataError, match=r"progress_summary: `compounds` must be a DataFrame"):
        progress_summary("compounds.shp")
