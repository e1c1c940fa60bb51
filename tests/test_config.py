"""Every config key is type- and range-checked when the config loads: one ConfigError that
lists every problem, one line each naming the key; the command line prints it and returns 1."""

from __future__ import annotations

import math

import pytest

import spatialreno as sr
from spatialreno.cli import main
from spatialreno.plan import _merge_config, load_config

BAD = [
    ({"adjacency": {"tolerance_m": True}}, "adjacency.tolerance_m = True"),
    ({"adjacency": {"tolerance_m": -1}}, "adjacency.tolerance_m = -1"),
    ({"adjacency": {"tolerance_m": math.inf}}, "adjacency.tolerance_m = inf"),
    ({"adjacency": {"use_barriers": "yes"}}, "adjacency.use_barriers = 'yes'"),
    ({"adjacency": {"rule": "bishop"}}, "adjacency.rule = 'bishop'"),
    ({"packages": {"limits": {"compounds": [-3, -1]}}}, "packages.limits.compounds = [-3, -1]"),
    ({"packages": {"limits": {"compounds": [1, math.nan]}}}, "packages.limits.compounds = [1, nan]"),
    ({"packages": {"limits": {"compounds": [8, 2]}}}, "min ≤ max"),
    ({"packages": {"limits": {"households": [None, 0]}}}, "a max > 0"),
    ({"packages": {"limits": {"compounds": [2.5, 8]}}}, "whole numbers"),
    ({"packages": {"limits": {"compounds": 8}}}, "expected [min, max]"),
    ({"packages": {"time_limit_s": "fast"}}, "packages.time_limit_s = 'fast'"),
    ({"packages": {"time_limit_s": 0}}, "packages.time_limit_s = 0"),
    ({"packages": {"seed": -1}}, "packages.seed = -1"),
    ({"packages": {"seed": 1.5}}, "packages.seed = 1.5"),
    ({"packages": {"target_packages": 0}}, "packages.target_packages = 0"),
    ({"packages": {"method": "magic"}}, "packages.method = 'magic'"),
    ({"packages": {"must_link": [["C-1"]]}}, "packages.must_link"),
    ({"packages": {"locked": ["C-1"]}}, "packages.locked"),
    ({"overlay": {"as_of_year": 1800}}, "overlay.as_of_year = 1800"),
    ({"overlay": {"as_of_year": "2024x"}}, "overlay.as_of_year"),
    ({"overlay": {"max_distance_m": -5}}, "overlay.max_distance_m = -5"),
    ({"phasing": {"budgets": {"1066": 100}}}, "phasing.budgets key '1066'"),
    ({"phasing": {"budgets": {"2025": -100}}}, "phasing.budgets.2025 = -100"),
    ({"phasing": {"budgets": {"2025": math.inf}}}, "phasing.budgets.2025 = inf"),
    ({"phasing": {"weights": {"age": "high"}}}, "phasing.weights.age = 'high'"),
    ({"export": {"crs": "EPSG:99999999"}}, "export.crs = 'EPSG:99999999'"),
    ({"export": {"crs": "not a crs"}}, "export.crs = 'not a crs'"),
    ({"inputs": {"crs": "EPSG:0"}}, "inputs.crs = 'EPSG:0'"),
    ({"inputs": {"encoding": "klingon"}}, "inputs.encoding = 'klingon'"),
    ({"export": {"encoding": 936}}, "export.encoding = 936"),
    ({"export": {"formats": ["gpkg", "dwg"]}}, "export.formats"),
    ({"export": {"mask_personal": 1}}, "export.mask_personal = 1"),
    ({"map": {"basemap": "google"}}, "map.basemap = 'google'"),
    ({"map": {"lang": "fr"}}, "map.lang = 'fr'"),
]


@pytest.mark.parametrize(("user", "needle"), BAD, ids=[b[1][:40] for b in BAD])
def test_bad_value_is_one_clear_line(user, needle):
    with pytest.raises(sr.ConfigError) as info:
        _merge_config(user)
    msg = str(info.value)
    assert needle in msg
    assert "1 config problem" in msg
    assert "expected" in msg
    assert "Traceback" not in msg


def test_every_problem_is_listed_once():
    user = {"adjacency": {"tolerance_m": True}, "packages": {"time_limit_s": "fast",
            "limits": {"compounds": [-3, -1]}}, "overlay": {"as_of_year": 1800},
            "export": {"crs": "nonsense"}}
    with pytest.raises(sr.ConfigError) as info:
        _merge_config(user)
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith("  - ")]
    assert len(lines) == 5
    keys = ["adjacency.tolerance_m", "packages.time_limit_s", "packages.limits.compounds",
            "overlay.as_of_year", "export.crs"]
    for key in keys:
        assert sum(key in ln for ln in lines) == 1


@pytest.mark.parametrize("user", [
    {},
    {"adjacency": {"tolerance_m": 0}, "packages": {"limits": {"compounds": [1, 1]},
                                                   "time_limit_s": 30}},
    {"packages": {"limits": {"households": ["", 6000], "cost_total": ["none", 2000.5]}}},
    {"overlay": {"as_of_year": 2024}, "phasing": {"budgets": {"2025": 0, 2026: 1.5e4}}},
    {"inputs": {"crs": "EPSG:4490", "encoding": "GBK", "to_crs": ""}, "map": {"tianditu_key": ""}},
    {"export": {"crs": "EPSG:4549", "formats": ["gpkg"], "encoding": "GB18030"}},
], ids=["defaults", "edges", "open-bounds", "years", "empty-strings", "export"])
def test_good_values_load(user):
    cfg = _merge_config(user)
    assert cfg["inputs"]["to_crs"] is None or cfg["inputs"]["to_crs"]
    assert cfg["map"]["tianditu_key"] is None or cfg["map"]["tianditu_key"]


def test_plan_and_with_options_check_too():
    with pytest.raises(sr.ConfigError, match="packages.seed"):
        sr.Plan.sample(config={"packages": {"seed": "x"}})
    with pytest.raises(sr.ConfigError, match="adjacency.tolerance_m"):
        sr.Plan.sample().with_options(adjacency={"tolerance_m": -1})


TOML = """
[inputs]
compounds = "c.shp"
[adjacency]
tolerance_m = true
[packages]
time_limit_s = "fast"
limits = { compounds = [-3, -1] }
[overlay]
as_of_year = 1800
[phasing]
budgets = { 1066 = 100 }
[export]
crs = "EPSG:12345678"
"""


def test_toml_file_problems_name_the_file(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(TOML, encoding="utf-8")
    with pytest.raises(sr.ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: 6 config problems")
    for key in ("adjacency.tolerance_m", "packages.time_limit_s", "packages.limits.compounds",
                "overlay.as_of_year", "phasing.budgets key '1066'", "export.crs"):
        assert key in msg


def test_cli_prints_the_problems_and_returns_1(tmp_path, capsys):
    path = tmp_path / "plan.toml"
    path.write_text(TOML, encoding="utf-8")
    assert main(["plan", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "6 config problems" in err
    assert "export.crs" in err
    assert not (tmp_path / "out").exists()
