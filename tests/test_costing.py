"""Tests of spatialreno.costing: rates and their TOML errors, cost arithmetic, funding, tender."""

from __future__ import annotations

import dataclasses
import warnings
from decimal import Decimal
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

import spatialreno as sr
from spatialreno import ConfigError, DataError, SchemaError, SpatialRenoWarning
from spatialreno.costing import (
    FUNDING_ITEMS,
    FUNDING_SOURCES,
    CostRates,
    FundingShares,
    TenderThresholds,
    estimate_costs,
    fund_packages,
    package_adjacency,
)

DATASETS = Path(sr.__file__).parent / "datasets"
FUNDS = [f"fund_{s}" for s in FUNDING_SOURCES]


def write(tmp_path: Path, text: str, name: str = "rates.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


# ======================================================================================
# CostRates
# ======================================================================================
def test_public_names_resolve_lazily():
    assert sr.CostRates is CostRates
    assert sr.FundingShares is FundingShares
    assert sr.estimate_costs is estimate_costs
    assert sr.fund_packages is fund_packages


def test_defaults_and_sources():
    r = CostRates()
    assert (r.renovation_basic, r.renovation_improve, r.renovation_upgrade) == (200, 450, 700)
    assert r.gas_per_household == 0.72
    assert r.elevator_per_unit == 50
    assert "demolition.per_m2" in r.assumptions
    assert "gas.courtyard_buried_per_m" in r.assumptions
    assert "renovation.improve" not in r.assumptions
    table = r.describe()
    assert table.loc["demolition.per_m2", "assumption"]
    assert "Hanyang" in table.loc["renovation.improve", "source"]
    # overriding an assumed rate takes it off the list
    assert "demolition.per_m2" not in CostRates(demolition_per_m2=80).assumptions


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CostRates().renovation_basic = 1  # type: ignore[misc]


def test_bundled_files_are_the_defaults():
    assert CostRates.from_toml(DATASETS / "rates_default.toml") == CostRates()
    assert FundingShares.from_toml(DATASETS / "funding_default.toml") == FundingShares()


def test_round_trip_dict():
    r = CostRates(renovation_basic=210, gas_method="household", services_share=0.05)
    assert CostRates.from_dict(r.to_dict()) == r
    assert r.to_dict()["renovation"]["basic"] == {"value": 210.0, "unit": "元/㎡"}
    t = TenderThresholds(construction=300)
    assert TenderThresholds.from_dict(t.to_dict()) == t


def test_from_toml_partial_and_unit_conversion(tmp_path):
    path = write(tmp_path, """
[renovation]
basic = { value = 0.025, unit = "万元/m2", source = "2024 bid" }
[gas]
per_household = { value = 7200, unit = "元/户" }
courtyard_buried_per_m = { value = 0.12, unit = "万元/延米" }
[procurement]
services_share = { value = 5, unit = "%" }
""")
    r = CostRates.from_toml(path)
    assert r.renovation_basic == pytest.approx(250)
    assert r.gas_per_household == pytest.approx(0.72)
    assert r.gas_courtyard_buried_per_m == pytest.approx(1200)
    assert r.services_share == pytest.approx(0.05)
    assert r.renovation_improve == 450  # untouched keys keep their default
    assert "gas.courtyard_buried_per_m" not in r.assumptions


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[renovation]\nbasix = { value = 200, unit = "元/㎡" }\n', r"unknown key 'renovation\.basix'"),
        ('[painting]\nwalls = 3\n', r"unknown key 'painting\.walls'"),
        ('[renovation]\nbasic = { value = -5, unit = "元/㎡" }\n', r"renovation\.basic: must be ≥ 0"),
        ('[renovation]\nimprove = { value = 450, unit = "元/m" }\n', r"renovation\.improve: wrong unit '元/m'"),
        ('[elevator]\nper_unit = { value = 50, unit = "万元/户" }\n', r"elevator\.per_unit: wrong unit"),
        ('[gas]\nriser_per_m = { value = 500, unit = "美元/m" }\n', r"gas\.riser_per_m: wrong unit"),
        ('[demolition]\nper_m2 = 150\n', r"demolition\.per_m2: needs an explicit unit"),
        ('[demolition]\nper_m2 = { value = "150", unit = "元/㎡" }\n', r"demolition\.per_m2: expected a number"),
        ('[demolition]\nper_m2 = { unit = "元/㎡" }\n', r"demolition\.per_m2: the table has no 'value'"),
        ('[demolition]\nper_m2 = { value = 1, unit = "元/㎡", colour = "red" }\n', r"demolition\.per_m2: unknown field"),
        ('[procurement]\nservices_share = 1.5\n', r"procurement\.services_share: a share must be between 0 and 1"),
        ('[procurement]\nservices_share = { value = 6, unit = "元" }\n', r"procurement\.services_share: unit '元' is not a share"),
        ('[procurement]\ngoods_share_elevator = 0.97\n', r"goods_share_elevator .* exceed 1"),
        ('[renovation]\ndefault_class = "deluxe"\n', r"renovation\.default_class: expected one of"),
        ('[gas]\nmethod = "guess"\n', r"gas\.method: expected one of"),
    ],
)
def test_rate_file_errors_name_key_and_file(tmp_path, text, match):
    path = write(tmp_path, text, "bad_rates.toml")
    with pytest.raises(ConfigError, match=match) as info:
        CostRates.from_toml(path)
    assert "bad_rates.toml" in str(info.value)


def test_rate_file_not_toml_or_missing(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        CostRates.from_toml(write(tmp_path, "[renovation\nbasic = 1"))
    with pytest.raises(ConfigError, match="no such rates file"):
        CostRates.from_toml(tmp_path / "nope.toml")


def test_constructor_validates():
    with pytest.raises(ConfigError, match=r"renovation\.basic"):
        CostRates(renovation_basic=-1)
    with pytest.raises(ConfigError, match=r"procurement\.services_share"):
        CostRates(services_share=2)
    with pytest.raises(ConfigError, match=r"gas\.method"):
        CostRates(gas_method="litre")
    with pytest.raises(ConfigError, match="construction"):
        TenderThresholds(construction=-400)
    assert isinstance(ConfigError("x"), ValueError)


# ======================================================================================
# estimate_costs
# ======================================================================================
@pytest.fixture
def compounds() -> pd.DataFrame:
    """Three compounds with hand-checkable figures."""
    return pd.DataFrame(
        {
            "floor_area_m2": [10_000.0, 5_000.0, 8_000.0],
            "renovation_class": ["improve", "基础", "提升"],
            "households": [100, 40, None],
            "elevators_planned": [2, 0, 0],
            "illegal_area_m2": [200.0, 0.0, 0.0],
            "gas_aged_m": [150.0, 50.0, 0.0],
            "gas_aged_courtyard_buried_m": [100.0, 0.0, 0.0],
            "gas_aged_riser_m": [20.0, 0.0, 0.0],
            "gas_aged_municipal_m": [30.0, 0.0, 0.0],
        },
        index=pd.Index(["a", "b", "c"], name="compound_id"),
    )


def test_cost_arithmetic_by_hand(compounds):
    before = compounds.copy()
    est = estimate_costs(compounds)
    out = est.compounds
    pd.testing.assert_frame_equal(compounds, before)  # input untouched
    a, b, c = (out.loc[k] for k in "abc")
    # a: 10,000 ㎡ × 450 元 = 450 万; gas 100 m × 1000 + 20 m × 500 + 100 户 × 0.066 万 = 17.6 万
    #    plus municipal 30 m × 1500 = 4.5 万 (utility); 2 elevators × 50 万; 200 ㎡ × 150 元 = 3 万
    assert a.cost_renovation == 450.0
    assert a.cost_gas == pytest.approx(22.1)
    assert a.cost_gas_utility == pytest.approx(4.5)
    assert a.cost_elevator == 100.0
    assert a.cost_demolition == 3.0
    assert a.cost_total == pytest.approx(575.1)
    # procurement: services ⌊6 % × 575.10⌋ = 34.50; goods 45 % × 100 = 45; construction the rest
    assert (a.services_cost, a.goods_cost) == (34.5, 45.0)
    assert a.construction_cost == pytest.approx(495.6)
    # b: 5,000 ㎡ 基础 × 200 = 100 万; 50 aged metres in no class → other 500 元/m = 2.5 万 + 40 × 0.066
    assert b.cost_renovation == 100.0
    assert b.cost_gas == pytest.approx(5.14)
    assert b.cost_total == pytest.approx(105.14)
    assert b.services_cost == 6.30 and b.construction_cost == pytest.approx(98.84)
    # c: 8,000 ㎡ 提升 × 700 = 560 万, no gas work
    assert c.cost_renovation == 560.0 and c.cost_gas == 0.0 and c.cost_total == 560.0
    assert out.attrs == {}  # results never travel in attrs
    assert est.rates == CostRates()
    notes = " ".join(est.notes)
    assert "households is empty" in notes
    assert "demolition.per_m2 = 150 元/㎡" in notes
    assert "gas.courtyard_buried_per_m" in notes


def test_sums_are_exact_in_cents(compounds):
    rng = np.random.default_rng(3)
    big = pd.concat([compounds] * 30, ignore_index=True)
    big.index = pd.Index([f"c{i}" for i in range(len(big))], name="compound_id")
    big["floor_area_m2"] = rng.uniform(1000, 90000, len(big)).round(1)
    big["illegal_area_m2"] = rng.uniform(0, 999, len(big)).round(1)
    out = estimate_costs(big).compounds
    items = out[["cost_renovation", "cost_gas", "cost_elevator", "cost_demolition"]]
    for cid in out.index:
        total = dec(out.at[cid, "cost_total"])
        assert sum(dec(v) for v in items.loc[cid]) == total
        split = out.loc[cid, ["construction_cost", "goods_cost", "services_cost"]]
        assert sum(dec(v) for v in split) == total


def test_household_method(compounds):
    out = estimate_costs(compounds, CostRates(gas_method="household")).compounds
    assert out.at["a", "cost_gas"] == pytest.approx(100 * 0.72 + 4.5)
    assert out.at["b", "cost_gas"] == pytest.approx(40 * 0.72)
    assert out.at["c", "cost_gas"] == 0.0


def test_rates_from_path_and_dict(compounds, tmp_path):
    path = write(tmp_path, '[demolition]\nper_m2 = { value = 300, unit = "元/㎡" }\n')
    assert estimate_costs(compounds, path).compounds.at["a", "cost_demolition"] == 6.0
    assert estimate_costs(compounds, str(path)).compounds.at["a", "cost_demolition"] == 6.0
    as_dict = {"demolition": {"per_m2": {"value": 300, "unit": "元/㎡"}}}
    assert estimate_costs(compounds, as_dict).compounds.at["a", "cost_demolition"] == 6.0
    with pytest.raises(ConfigError, match="rates"):
        estimate_costs(compounds, 3)


def test_missing_overlay_columns_warn_and_count_zero():
    plain = pd.DataFrame({"floor_area_m2": [1000.0]}, index=pd.Index(["x"], name="compound_id"))
    with pytest.warns(SpatialRenoWarning, match="illegal_area_m2") as rec:
        est = estimate_costs(plain)
    out = est.compounds
    message = str(rec[0].message)
    assert "gas_aged_m" in message and "renovation_class" in message
    assert out.at["x", "cost_total"] == 45.0  # default class improve
    assert out.at["x", "cost_gas"] == 0.0 and out.at["x", "cost_demolition"] == 0.0
    assert "counted as 0" in est.notes[0]


def test_empty_class_uses_default_and_unknown_class_fails(compounds):
    compounds.loc["a", "renovation_class"] = None
    est = estimate_costs(compounds, CostRates(renovation_default_class="basic"))
    assert est.compounds.at["a", "cost_renovation"] == 200.0
    assert any("renovation_class is empty" in n for n in est.notes)
    compounds.loc["b", "renovation_class"] = "deluxe"
    with pytest.raises(DataError, match=r"unknown renovation_class 'deluxe' in rows 'b'"):
        estimate_costs(compounds)


def test_bad_figures_fail(compounds):
    with pytest.raises(SchemaError, match="floor_area_m2"):
        estimate_costs(compounds.drop(columns="floor_area_m2"))
    neg = compounds.copy()
    neg.loc["b", "illegal_area_m2"] = -3.0
    with pytest.raises(DataError, match=r"'illegal_area_m2' is negative in rows 'b'"):
        estimate_costs(neg)
    text = compounds.astype({"gas_aged_m": object})
    text.loc["c", "gas_aged_m"] = "lots"
    with pytest.raises(DataError, match="non-numeric"):
        estimate_costs(text)
    with pytest.raises(DataError, match="must be a DataFrame"):
        estimate_costs([1, 2])
    dup = compounds.rename(index={"b": "a"})
    with pytest.raises(DataError, match="must be unique"):
        estimate_costs(dup)


def test_class_columns_above_total_warn(compounds):
    compounds.loc["a", "gas_aged_m"] = 10.0
    with pytest.warns(SpatialRenoWarning, match="add up to more than gas_aged_m"):
        out = estimate_costs(compounds).compounds
    assert out.at["a", "cost_gas"] == pytest.approx(22.1)


def test_geodataframe_stays_geodataframe(compounds):
    gdf = gpd.GeoDataFrame(
        compounds, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=4547
    )
    out = estimate_costs(gdf).compounds
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == gdf.crs
    assert "cost_total" not in gdf.columns


# ======================================================================================
# FundingShares
# ======================================================================================
def test_funding_defaults():
    fs = FundingShares()
    assert fs.balance == "municipal"
    assert fs.share("gas", "central") == 0.45
    assert fs.share("renovation", "municipal") == pytest.approx(1 - 0.38 - 0.0016 - 0.05)
    assert fs.share("demolition", "municipal") == 1.0
    assert fs.assumptions == ("shares.renovation.residents",)
    assert FundingShares.from_dict(fs.to_dict()) == fs
    east = FundingShares.for_region("east")
    assert east.shares["gas"]["central"] == 0.30 and east.caps["gas"]["central"] == 0.30
    assert FundingShares.from_dict({"region": "west"}).caps["gas"]["central"] == 0.60


def test_funding_file_replaces_an_item_and_keeps_the_rest(tmp_path):
    path = write(tmp_path, """
balance = "bond"
[shares.renovation]
central = { value = 30, unit = "%" }
""", "funding.toml")
    fs = FundingShares.from_toml(path)
    assert fs.balance == "bond"
    assert dict(fs.shares["renovation"]) == {"central": 0.30}
    assert dict(fs.shares["elevator"]) == {"residents": 0.70}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"shares": {"gas": {"central": 0.5}}}, r"shares\.gas\.central: 0\.5 is above its cap caps\.gas\.central = 0\.45"),
        ({"shares": {"renovation": {"central": 0.7, "residents": 0.4}}}, r"shares\.renovation: the shares add up to 1\.1"),
        ({"shares": {"renovation": {"city": 0.1}}}, r"shares\.renovation\.city: unknown funding source"),
        ({"shares": {"painting": {"central": 0.1}}}, r"shares\.painting: unknown cost item"),
        ({"shares": {"renovation": {"municipal": 0.1}}}, r"shares\.renovation\.municipal: 'municipal' is the balancing source"),
        ({"shares": {"renovation": {"central": -0.1}}}, r"shares\.renovation\.central: must be ≥ 0"),
        ({"caps": {"gas": {"central": 1.5}}}, r"caps\.gas\.central: a share must be between 0 and 1"),
        ({"balance": "bank"}, r"balance: unknown funding source 'bank'"),
        ({"balance": "central"}, r"caps\.gas\.central: 'central' is the balancing source"),
        ({"shares": {"renovation": {"central": 0.3}}, "colour": 1}, r"unknown key\(s\) 'colour'"),
        ({"region": "mars"}, r"region: expected one of"),
    ],
)
def test_funding_errors_name_the_key(tmp_path, data, match):
    with pytest.raises(ConfigError, match=match):
        FundingShares.from_dict(data)


def test_funding_file_error_names_file(tmp_path):
    path = write(tmp_path, "[shares.gas]\ncentral = 0.6\n", "my_funding.toml")
    with pytest.raises(ConfigError, match=r"my_funding\.toml: shares\.gas\.central"):
        FundingShares.from_toml(path)


# ======================================================================================
# fund_packages: splits
# ======================================================================================
def packages_frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame(cols, index=pd.Index([f"P{i + 1}" for i in range(n)], name="package_id"))


def test_default_split_by_hand():
    pk = packages_frame(
        cost_renovation=[1000.0], cost_gas=[100.0], cost_gas_utility=[20.0],
        cost_elevator=[50.0], cost_demolition=[10.0], cost_total=[1160.0],
    )
    before = pk.copy()
    res = fund_packages(pk)
    out = res.packages
    pd.testing.assert_frame_equal(pk, before)
    row = out.iloc[0]
    assert row.fund_central == pytest.approx(380 + 0.45 * 80)  # 416
    assert row.fund_provincial == pytest.approx(1.6)
    assert row.fund_residents == pytest.approx(50 + 35)
    assert row.fund_utility == pytest.approx(20)
    assert row.fund_bond == 0 and row.fund_social == 0
    # municipal: 1000 − 380 − 1.6 − 50 + 80 × 0.55 + 50 × 0.3 + 10
    assert row.fund_municipal == pytest.approx(568.4 + 44 + 15 + 10)
    assert sum(dec(row[c]) for c in FUNDS) == dec(1160.0)


def test_residue_goes_to_the_balancing_source():
    pk = packages_frame(cost_renovation=[0.03, 333.33], cost_total=[0.03, 333.33])
    shares = {"shares": {"renovation": {"central": 1 / 3, "provincial": 1 / 3}}, "balance": "bond"}
    res = fund_packages(pk, shares)
    out = res.packages
    assert out["fund_central"].tolist() == [0.01, 111.11]
    assert out["fund_provincial"].tolist() == [0.01, 111.11]
    assert out["fund_bond"].tolist() == [0.01, 111.11]
    assert out["fund_municipal"].tolist() == [0.0, 0.0]
    for _, row in out.iterrows():
        assert sum(dec(row[c]) for c in FUNDS) == dec(row.cost_total)


def test_unitemised_cost_goes_to_balance_and_note():
    pk = packages_frame(cost_renovation=[100.0], cost_total=[150.0])
    res = fund_packages(pk)
    out = res.packages
    assert out.at["P1", "fund_central"] == 38.0
    assert out.at["P1", "fund_municipal"] == pytest.approx(150 - 38 - 0.16 - 5)
    assert any("not in the cost_<item> columns" in n for n in res.notes)


def test_only_cost_total_is_funded_as_renovation():
    res = fund_packages(packages_frame(cost_total=[200.0]))
    out = res.packages
    assert out.at["P1", "fund_central"] == 76.0
    assert any("funded as renovation" in n for n in res.notes)


def test_funding_input_errors():
    with pytest.raises(SchemaError, match="cost_total"):
        fund_packages(packages_frame(households=[1]))
    with pytest.raises(DataError, match=r"cost_total is empty for packages 'P2'"):
        fund_packages(packages_frame(cost_total=[1.0, None]))
    with pytest.raises(DataError, match="add up to more than cost_total"):
        fund_packages(packages_frame(cost_renovation=[300.0], cost_total=[200.0]))


share = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 4))


@st.composite
def funding_cases(draw):
    balance = draw(st.sampled_from([s for s in FUNDING_SOURCES if s != "central"]))
    shares = {}
    for item in FUNDING_ITEMS:
        row = {s: draw(share) for s in draw(st.sets(st.sampled_from(FUNDING_SOURCES))) if s != balance}
        total = sum(row.values())
        if total > 1:
            row = {s: int(v / total * 10_000) / 10_000 for s, v in row.items()}
        shares[item] = row
    cap = draw(st.sampled_from([0.30, 0.45, 0.60, 1.0]))
    if "central" in shares["gas"]:
        shares["gas"]["central"] = min(shares["gas"]["central"], cap)
    n = draw(st.integers(1, 6))
    fen = st.integers(0, 50_000_000)
    items = {c: [draw(fen) for _ in range(n)] for c in ("ren", "gas", "util", "elev", "dem")}
    extra = [draw(st.sampled_from([0, 0, 1, 12_345])) for _ in range(n)]
    return balance, shares, cap, items, extra


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(funding_cases())
def test_funding_sums_exactly_and_respects_caps(case):
    balance, shares, cap, items, extra = case
    fs = FundingShares(shares=shares, caps={"gas": {"central": cap}}, balance=balance)
    gas = np.add(items["gas"], items["util"])
    total = np.add.reduce([items["ren"], gas, items["elev"], items["dem"], extra])
    pk = packages_frame(
        cost_renovation=np.divide(items["ren"], 100), cost_gas=gas / 100,
        cost_gas_utility=np.divide(items["util"], 100), cost_elevator=np.divide(items["elev"], 100),
        cost_demolition=np.divide(items["dem"], 100), cost_total=total / 100,
    )
    res = fund_packages(pk, fs)
    out = res.packages
    by_item = {"renovation": items["ren"], "gas": items["gas"], "gas_utility": items["util"],
               "elevator": items["elev"], "demolition": items["dem"]}
    for i, (_, row) in enumerate(out.iterrows()):
        assert sum(dec(row[c]) for c in FUNDS) == dec(total[i] / 100)
        for source in FUNDING_SOURCES:
            value = row[f"fund_{source}"]
            assert value >= 0
            assert dec(value) == dec(round(value, 2))  # whole 0.01 万元
            if source != balance:
                exact = sum(fs.share(it, source) * by_item[it][i] for it in FUNDING_ITEMS) / 100
                assert exact - 0.01 - 1e-9 <= value <= exact + 1e-9  # rounded down
        if all(fs.share(it, "central") == 0 for it in FUNDING_ITEMS if it != "gas"):
            assert row.fund_central <= cap * items["gas"][i] / 100 + 1e-9


# ======================================================================================
# fund_packages: tender check
# ======================================================================================
@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("construction_cost", [399.99, 400.0, 400.01], [0, 1, 1]),
        ("goods_cost", [199.99, 200.0, 200.01], [0, 1, 1]),
        ("services_cost", [99.99, 100.0, 100.01], [0, 1, 1]),
    ],
)
def test_tender_flag_at_thresholds(column, values, expected):
    split = {"construction_cost": [0.0] * 3, "goods_cost": [0.0] * 3, "services_cost": [0.0] * 3}
    split[column] = values
    pk = packages_frame(cost_total=values, **split)
    res = fund_packages(pk)
    out = res.packages
    assert out["must_tender"].tolist() == expected
    assert out["must_tender"].dtype == "Int64"
    assert out[column].tolist() == values


def test_tender_thresholds_are_configurable():
    pk = packages_frame(cost_total=[350.0], construction_cost=[350.0], goods_cost=[0.0],
                        services_cost=[0.0])
    assert fund_packages(pk).packages.at["P1", "must_tender"] == 0
    local = {"construction": {"value": 3_000_000, "unit": "元"}}
    assert fund_packages(pk, thresholds=local).packages.at["P1", "must_tender"] == 1
    assert fund_packages(pk, thresholds=TenderThresholds(construction=350)).packages.at["P1", "must_tender"] == 1


def test_split_derived_from_items_when_columns_missing():
    # 425.53 万 of renovation: services ⌊6 %⌋ = 25.53, construction exactly 400.00 → tender
    pk = packages_frame(cost_renovation=[425.53, 425.52], cost_total=[425.53, 425.52])
    res = fund_packages(pk)
    out = res.packages
    assert out["services_cost"].tolist() == [25.53, 25.53]
    assert out["construction_cost"].tolist() == [400.0, 399.99]
    assert out["must_tender"].tolist() == [1, 0]
    assert any("derived from the cost_<item>" in n for n in res.notes)


def test_pipeline_split_matches_compound_sums(compounds):
    costed = estimate_costs(compounds).compounds
    labels = pd.Series(["P1", "P1", "P2"], index=compounds.index, name="package_id")
    pk = costed.select_dtypes("number").groupby(labels).sum()
    res = fund_packages(pk)
    out = res.packages
    assert out.at["P1", "construction_cost"] == pytest.approx(495.6 + 98.84)
    assert out.at["P1", "fund_utility"] == pytest.approx(4.5)
    assert out.at["P1", "must_tender"] == 1 and out.at["P2", "must_tender"] == 1


# ======================================================================================
# fund_packages: 化整为零
# ======================================================================================
def small(construction, contractor=None, goods=None):
    n = len(construction)
    goods = goods or [0.0] * n
    cols = dict(
        cost_total=[c + g for c, g in zip(construction, goods, strict=True)],
        construction_cost=construction, goods_cost=goods, services_cost=[0.0] * n,
    )
    if contractor is not None:
        cols["contractor"] = contractor
    return packages_frame(**cols)


def test_split_warning_for_adjacent_same_contractor():
    pk = small([300.0, 200.0, 390.0], contractor=["A", "A", "B"])
    adjacency = nx.Graph([("P1", "P2"), ("P2", "P3")])
    with pytest.warns(SpatialRenoWarning, match=r"化整为零.*construction P1\+P2 = 500\.00 ≥ 400 万元"):
        res = fund_packages(pk, adjacency=adjacency)
        out = res.packages
    assert out.at["P1", "split_warning"].startswith("construction P1+P2 = 500.00")
    assert "contractor 'A'" in out.at["P2", "split_warning"]
    assert out.at["P3", "split_warning"] == ""
    assert list(res.split_groups.columns) == ["category", "contractor", "packages", "total",
                                              "threshold"]
    (group,) = res.split_groups.to_dict("records")
    assert group == {"category": "construction", "contractor": "A", "packages": ("P1", "P2"),
                     "total": 500.0, "threshold": 400.0}
    assert out.attrs == {}
    assert any(n.startswith("1 group(s) of adjacent packages") for n in res.notes)  # warned and noted
    assert out["must_tender"].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("construction", "contractor", "edges"),
    [
        ([300.0, 200.0], ["A", "B"], [("P1", "P2")]),  # different contractors
        ([300.0, 200.0], ["A", "A"], []),  # not adjacent
        ([350.0, 49.99], ["A", "A"], [("P1", "P2")]),  # together 399.99 < 400
        ([450.0, 200.0], ["A", "A"], [("P1", "P2")]),  # P1 is tendered on its own
    ],
)
def test_no_split_warning(construction, contractor, edges):
    pk = small(construction, contractor=contractor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fund_packages(pk, adjacency=edges)
        out = res.packages
    assert (out["split_warning"] == "").all()
    assert res.split_groups.empty


def test_split_warning_exactly_at_threshold_and_group_of_three():
    with pytest.warns(SpatialRenoWarning):
        res = fund_packages(small([350.0, 50.0], ["A", "A"]), adjacency=[("P1", "P2")])
        out = res.packages
    assert res.split_groups.iloc[0]["total"] == 400.0
    three = small([150.0, 150.0, 150.0], ["A", "A", "A"])
    with pytest.warns(SpatialRenoWarning, match=r"P1\+P2\+P3 = 450\.00"):
        res = fund_packages(three, adjacency=nx.path_graph(["P1", "P2", "P3"]))
        out = res.packages
    assert all(out["split_warning"] != "")


def test_split_warning_on_goods():
    pk = small([10.0, 10.0], ["A", "A"], goods=[150.0, 100.0])
    with pytest.warns(SpatialRenoWarning, match=r"goods P1\+P2 = 250\.00 ≥ 200 万元"):
        fund_packages(pk, adjacency=[("P1", "P2")])


def test_split_check_from_compound_graph_without_contractor():
    # a - b | c : compounds a, b in P1 and c in P2; the edge b–c makes P1 and P2 adjacent
    G = nx.Graph([("a", "b"), ("b", "c")])
    labels = pd.Series({"a": "P1", "b": "P1", "c": "P2"}, name="package_id")
    assert sorted(package_adjacency(["P1", "P2"], graph=G, labels=labels).edges()) == [("P1", "P2")]
    pk = small([300.0, 200.0])
    with pytest.warns(SpatialRenoWarning, match="化整为零"):
        res = fund_packages(pk, graph=G, labels=labels)
    assert any("no contractor column" in n for n in res.notes)
    # empty contractor cells count as one unknown contractor
    pk2 = small([300.0, 200.0], contractor=[None, None])
    with pytest.warns(SpatialRenoWarning):
        fund_packages(pk2, graph=G, labels=labels)


def test_split_check_skipped_without_adjacency():
    res = fund_packages(small([300.0, 200.0], ["A", "A"]))
    out = res.packages
    assert (out["split_warning"] == "").all()
    assert any("check skipped" in n for n in res.notes)


def test_adjacency_argument_errors():
    pk = small([1.0])
    with pytest.raises(ConfigError, match="labels"):
        fund_packages(pk, graph=nx.Graph())
    with pytest.raises(ConfigError, match="not both"):
        fund_packages(pk, graph=nx.Graph(), labels=pd.Series(dtype=object), adjacency=[])
    with pytest.raises(ConfigError, match="needs `graph`"):
        fund_packages(pk, labels=pd.Series(dtype=object))


# ======================================================================================
# result objects and the package layout
# ======================================================================================
def test_results_are_frozen_plain_objects(compounds):
    est = estimate_costs(compounds)
    assert isinstance(est, sr.CostEstimate)
    assert isinstance(est.notes, tuple) and all(isinstance(n, str) for n in est.notes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.notes = ()  # type: ignore[misc]
    assert repr(est).startswith("CostEstimate(3 compounds, cost_total 1,240.24 万元")
    pk = est.compounds.select_dtypes("number").groupby(["P1", "P1", "P2"]).sum()
    pk.index.name = "package_id"
    res = fund_packages(pk, adjacency=[])
    assert isinstance(res, sr.FundingResult) and res.shares == FundingShares()
    assert res.packages.attrs == {} and isinstance(res.notes, tuple)
    assert res.split_groups.empty and list(res.split_groups.columns) == [
        "category", "contractor", "packages", "total", "threshold"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.packages = pk  # type: ignore[misc]
    assert repr(res) == "FundingResult(2 packages, 2 to tender, 0 split group(s), 1 note(s))"


def test_funding_input_is_checked_by_the_contract():
    with pytest.raises(DataError, match=r"fund_packages: `packages` must be a DataFrame"):
        fund_packages({"cost_total": [1.0]})
    pk = packages_frame(cost_total=[1.0, 2.0]).rename(index={"P2": "P1"})
    with pytest.raises(DataError, match=r"package_id of `packages` must be unique"):
        fund_packages(pk)


def test_package_layout_reexports():
    import spatialreno.costing as costing
    from spatialreno.costing import estimate, funding, rates, results, tender
    from spatialreno.packages import package_adjacency as canonical

    assert costing.package_adjacency is canonical
    assert costing.CostRates is rates.CostRates
    assert costing.estimate_costs is estimate.estimate_costs
    assert costing.fund_packages is funding.fund_packages
    assert costing.TenderThresholds is tender.TenderThresholds
    assert costing.FundingResult is results.FundingResult
    for name in costing.__all__:
        assert getattr(sr, name, None) is getattr(costing, name) or name.isupper() \
            or name == "package_adjacency"
