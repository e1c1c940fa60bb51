"""The command line: version, help, check, sample; one-line errors and exit codes."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pytest
import shapely

from spatialreno import __version__
from spatialreno.cli import main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "spatialreno.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_has_examples():
    out = _run("--help")
    assert out.returncode == 0
    assert "spatialreno demo --out" in out.stdout and "spatialreno plan" in out.stdout


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_check_clean_file(tmp_path, capsys):
    path = tmp_path / "compounds.gpkg"
    gpd.GeoDataFrame({"cmp_id": ["a", "b"], "hh_cnt": [10, 20]},
                     geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
                     crs=4547).pipe(lambda g: g.set_geometry(g.translate(525_000, 3_384_000))).to_file(path)  # in Wuhan: plausible
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 compounds rows" in out and "0 problem(s)" in out


def test_check_reports_problems_with_exit_3(tmp_path, capsys):
    path = tmp_path / "compounds.gpkg"
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    gpd.GeoDataFrame({"cmp_id": ["a", "a"], "hh_cnt": [10, 20]},
                     geometry=[bowtie, shapely.box(20, 0, 30, 10)],
                     crs=4547).pipe(lambda g: g.set_geometry(g.translate(525_000, 3_384_000))).to_file(path)
    assert main(["check", str(path)]) == 3
    out = capsys.readouterr().out
    assert "invalid geometry" in out and "duplicate id" in out


def test_bad_file_is_one_line_on_stderr_without_traceback(tmp_path):
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"not a geopackage at all")
    out = _run("check", str(bad))
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1
    assert "broken.gpkg" in out.stderr and "Traceback" not in out.stderr
    debug = _run("--debug", "check", str(bad))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_unreadable_real_file(real_data):
    out = _run("check", str(real_data / "wuhan-communities-hgwr" / "wuhan_districts.geojson"),
               "--kind", "admin")
    assert out.returncode == 1
    assert "wuhan_districts.geojson" in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


def test_sample_writes_a_district_that_checks_clean(tmp_path):
    out = _run("sample", str(tmp_path / "d"), "--n", "60", "--seed", "3")
    assert out.returncode == 0, out.stderr
    gpkg = tmp_path / "d" / "sample_district.gpkg"
    assert gpkg.exists()
    shp = tmp_path / "d" / "shp" / "compounds.shp"
    assert shp.with_suffix(".cpg").exists()
    checked = _run("check", str(shp))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "60 compounds rows" in checked.stdout
