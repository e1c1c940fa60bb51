"""Output folders: nothing is deleted that spatialreno did not write, inputs are never a
target, refusals come before any work, failures leave no trace, killed runs are cleaned up."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

import spatialreno as sr
from spatialreno import _outdir
from spatialreno._outdir import MANIFEST_NAME, OutputFolder, owned_entries
from spatialreno.cli import main
from spatialreno.errors import ExportError, OutputFolderError
from spatialreno.export import export_bundle
from spatialreno.sample import write_sample

USER_FILES = {"photos/site.jpg": b"\xff\xd8\xff jpeg", "thesis.docx": b"PK docx",
              "我的笔记.txt": "现场踏勘记录".encode()}


def _put_user_files(folder: Path) -> None:
    for rel, data in USER_FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


def _assert_user_files(folder: Path) -> None:
    for rel, data in USER_FILES.items():
        assert (folder / rel).read_bytes() == data, rel


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".spatialreno-"))


@pytest.fixture(scope="module")
def plan():
    return sr.Plan.sample().run(progress=False)


def _compounds(n=2):
    return gpd.GeoDataFrame(
        {"name": [f"小区{i}" for i in range(n)], "households": [100] * n},
        geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(n)],
        index=pd.Index([f"C{i}" for i in range(n)], name="compound_id"), crs="EPSG:4547")


# --------------------------------------------------------------------------------------
# plan outputs
# --------------------------------------------------------------------------------------
def test_overwrite_replaces_only_what_spatialreno_wrote(plan, tmp_path):
    out = tmp_path / "out"
    plan.write_outputs(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["format"] == "spatialreno-outputs"
    assert set(manifest["entries"]) == set(sr.Plan.OUTPUT_ENTRIES)
    _put_user_files(out)
    (out / "audit.csv").write_text("stale", encoding="utf-8")
    plan.write_outputs(out, overwrite=True)
    _assert_user_files(out)
    assert (out / "audit.csv").read_text(encoding="utf-8-sig") != "stale"
    assert (out / "review_map.html").stat().st_size > 1000
    assert _hidden(out) == [] and _hidden(tmp_path) == []


def test_earlier_outputs_need_overwrite(plan, tmp_path):
    out = tmp_path / "out"
    plan.write_outputs(out)
    before = (out / "summary.txt").read_bytes()
    with pytest.raises(OutputFolderError, match="overwrite=True"):
        plan.write_outputs(out)
    assert (out / "summary.txt").read_bytes() == before


def test_folder_of_user_files_is_refused(plan, tmp_path):
    out = tmp_path / "mine"
    _put_user_files(out)
    with pytest.raises(OutputFolderError, match="not written by spatialreno"):
        plan.write_outputs(out, overwrite=True)
    _assert_user_files(out)
    assert sorted(p.name for p in out.iterdir()) == ["photos", "thesis.docx", "我的笔记.txt"]


def test_user_file_with_an_output_name_is_never_replaced(plan, tmp_path):
    out = tmp_path / "out"
    plan.write_outputs(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["entries"].remove("summary.txt")          # as if an older run had not written it
    (out / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    (out / "summary.txt").write_text("my own summary", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="summary.txt"):
        plan.write_outputs(out, overwrite=True)
    assert (out / "summary.txt").read_text(encoding="utf-8") == "my own summary"


def test_empty_existing_folder_and_dot(plan, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    plan.write_outputs(empty)
    assert (empty / "review_map.html").exists()
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    plan.write_outputs(".")
    assert {p.name for p in here.iterdir()} == {*sr.Plan.OUTPUT_ENTRIES, MANIFEST_NAME}
    plan.write_outputs(".", overwrite=True)          # and again, in place
    assert _hidden(here) == [] and _hidden(tmp_path) == []


def test_failure_leaves_previous_outputs_and_no_staging(plan, tmp_path, monkeypatch):
    out = tmp_path / "out"
    plan.write_outputs(out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise ExportError("disk on fire")

    monkeypatch.setattr(sr.Plan, "export", broken)
    with pytest.raises(ExportError, match="disk on fire"):
        plan.write_outputs(out, overwrite=True)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert _hidden(out) == [] and _hidden(tmp_path) == []


def test_rename_failure_rolls_back(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    export_bundle({"compounds": _compounds()}, out, formats=("gpkg", "xlsx"))
    _put_user_files(out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        if Path(dst).parent == out:
            calls["n"] += 1
            if calls["n"] == 2:    # the old entries moved out, one new one moved in
                raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(_outdir.os, "replace", flaky)
    with pytest.raises(OutputFolderError, match="previous outputs are unchanged"):
        export_bundle({"compounds": _compounds(3)}, out, formats=("gpkg", "xlsx"),
                      overwrite=True)
    monkeypatch.setattr(_outdir.os, "replace", real_replace)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    _assert_user_files(out)
    assert _hidden(out) == []
    assert len(sr.read_bundle(out)["compounds"]) == 2


def test_umask_is_respected(plan, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "shared_server"
        plan.write_outputs(out)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "bundle").stat().st_mode) == 0o755
    for f in ("review_map.html", "audit.csv", "summary.txt", MANIFEST_NAME, "bundle/manifest.json",
              "bundle/spatialreno.xlsx"):
        path = out / f
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, f


# --------------------------------------------------------------------------------------
# inputs are never a target
# --------------------------------------------------------------------------------------
def test_input_file_is_never_a_target(tmp_path):
    shp_dir = tmp_path / "data"
    write_sample(shp_dir, sr.sample_district(30, seed=2))
    src = shp_dir / "shp" / "compounds.shp"
    before = src.read_bytes()
    plan = sr.Plan.from_files(compounds=src)
    with pytest.raises(OutputFolderError, match="input file"):
        plan.output_folder(src, overwrite=True)
    assert src.read_bytes() == before and src.is_file()


def test_input_inside_an_entry_to_replace(plan, tmp_path):
    out = tmp_path / "out"
    plan.write_outputs(out)
    src = out / "bundle" / "shp" / "compounds.shp"
    again = sr.Plan.from_files(compounds=src)
    with pytest.raises(OutputFolderError, match="lies in"):
        again.output_folder(out, overwrite=True)
    assert src.exists()


def test_cli_refuses_before_any_work(tmp_path, monkeypatch, capsys):
    write_sample(tmp_path / "data", sr.sample_district(30, seed=2))
    src = tmp_path / "data" / "shp" / "compounds.shp"
    mine = tmp_path / "mine"
    _put_user_files(mine)

    def no_run(self, **kwargs):
        raise AssertionError("the plan ran before the output folder was checked")

    monkeypatch.setattr(sr.Plan, "run", no_run)
    code = main(["plan", "--compounds", str(src), "--out", str(mine), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 1 and "not written by spatialreno" in err and "--out" in err
    assert "Traceback" not in err
    _assert_user_files(mine)
    code = main(["plan", "--compounds", str(src), "--out", str(src), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 1 and "input file" in err and "out_dir" not in err
    assert src.is_file()


def test_demo_does_not_overwrite_without_the_flag(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    _put_user_files(out)
    capsys.readouterr()
    assert main(["demo", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and "overwrite=True" not in err
    assert main(["demo", "--out", str(out), "--overwrite"]) == 0
    _assert_user_files(out)


# --------------------------------------------------------------------------------------
# killed runs
# --------------------------------------------------------------------------------------
def test_staging_of_a_killed_run_is_removed_next_time(tmp_path):
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import sys, time
        from spatialreno._outdir import OutputFolder
        folder = OutputFolder({str(out)!r})
        staging = folder.__enter__()
        (staging / "review_map.html").write_bytes(b"x" * 100000)
        print(staging, flush=True)
        time.sleep(60)
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                          text=True) as proc:  # closes the pipe (no ResourceWarning)
        staging = Path(proc.stdout.readline().strip())
        proc.kill()                  # kill -9: no cleanup runs
        proc.wait()
    assert staging.is_dir()
    folder = OutputFolder(out)
    with pytest.warns(sr.SpatialRenoWarning, match="interrupted run"):
        folder.check()
    assert not staging.exists()
    assert any("removed" in n for n in folder.notes)


def test_staging_of_a_live_run_is_left_alone(tmp_path):
    out = tmp_path / "out"
    first = OutputFolder(out)
    staging = first.__enter__()
    try:
        OutputFolder(out).check()
        assert staging.exists()
    finally:
        first.__exit__(RuntimeError, RuntimeError("stop"), None)
    assert not staging.exists() and not out.exists()


# --------------------------------------------------------------------------------------
# bundles and samples
# --------------------------------------------------------------------------------------
def test_bundle_keeps_user_files_on_overwrite(tmp_path):
    out = tmp_path / "bundle"
    export_bundle({"compounds": _compounds()}, out)
    _put_user_files(out)
    export_bundle({"compounds": _compounds(3)}, out, overwrite=True)
    _assert_user_files(out)
    assert len(sr.read_bundle(out)["compounds"]) == 3
    assert "thesis.docx" not in owned_entries(out)


def test_bundle_refuses_other_spatialreno_folder(plan, tmp_path):
    out = tmp_path / "out"
    plan.write_outputs(out)
    with pytest.raises(OutputFolderError, match="spatialreno-outputs"):
        export_bundle({"compounds": _compounds()}, out, overwrite=True)


def test_sample_refuses_a_user_folder_and_replaces_its_own(tmp_path):
    mine = tmp_path / "gis"
    _put_user_files(mine)
    with pytest.raises(OutputFolderError):
        write_sample(mine, sr.sample_district(20, seed=1))
    _assert_user_files(mine)
    ours = tmp_path / "ours"
    write_sample(ours, sr.sample_district(20, seed=1))
    with pytest.raises(OutputFolderError, match="overwrite"):
        write_sample(ours, sr.sample_district(20, seed=1))
    write_sample(ours, sr.sample_district(25, seed=1), overwrite=True)
    assert len(gpd.read_file(ours / "shp" / "compounds.shp")) == 25


def test_legacy_outputs_are_recognised(plan, tmp_path):
    out = tmp_path / "old"
    plan.write_outputs(out)
    (out / MANIFEST_NAME).unlink()       # what version 0.1 left: no top-level manifest
    assert owned_entries(out) == set(sr.Plan.OUTPUT_ENTRIES)
    _put_user_files(out)
    plan.write_outputs(out, overwrite=True)
    _assert_user_files(out)
