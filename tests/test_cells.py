"""Spreadsheet-safe text: formula neutralising and the atomic CSV writer (issue 12)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat

import numpy as np
import pandas as pd
import pytest

import spatialreno as sr
from spatialreno._cells import FORMULA_PREFIXES, neutralise, neutralise_frame, write_csv

PAYLOADS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1",
            "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_starts_get_an_apostrophe(payload):
    assert neutralise(payload) == "'" + payload


@pytest.mark.parametrize("value", [-5, -1.5, 0, 3, np.int64(-2), np.float64(-0.5), True, None,
                                   "钢花村小区", "", "a=1", " =1", "'=1", "—", "－1", "#N/A",
                                   dt.date(2024, 2, 29)])
def test_other_values_are_unchanged(value):
    got = neutralise(value)
    assert got is value or got == value
    assert type(got) is type(value)


def test_text_that_looks_like_a_negative_number_is_text():
    # the column is text: "-5" could as well be the start of "-5+cmd|..."
    assert neutralise("-5") == "'-5"
    assert neutralise(-5) == -5
    assert FORMULA_PREFIXES == ("=", "+", "-", "@", "\t", "\r")


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "name": PAYLOADS,
        "=header": ["ok"] * 8,
        "delta": [-1.5, np.nan, -3.0, 0.0, 2.25, -0.01, 7.0, -100.0],
        "n": pd.array([-4, None, 0, 5, -1, 2, 3, -9], dtype="Int64"),
        "flag": [True, False] * 4,
        "mixed": [-1, "-1", None, 2.5, ["=x"], "=y", np.nan, "z"],
        "cat": pd.Categorical(["=a", "b"] * 4),
        "string": pd.array(["@x", None, "y", "+z", "w", "v", "u", "t"], dtype="string"),
    })


def _rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh, quoting=csv.QUOTE_NONE))


def test_write_csv_neutralises_text_and_keeps_numbers(tmp_path):
    df = _table()
    before = df.copy()
    path = write_csv(df, tmp_path / "audit.csv")
    assert path == tmp_path / "audit.csv"
    pd.testing.assert_frame_equal(df, before)  # the input is not changed
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel on Chinese Windows reads UTF-8
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == ["name", "'=header", "delta", "n", "flag", "mixed", "cat",
                                  "string"]
    assert back["name"].tolist() == ["'" + p for p in PAYLOADS]
    assert back["cat"].tolist() == ["'=a", "b"] * 4
    assert back["string"].tolist() == ["'@x", "", "y", "'+z", "w", "v", "u", "t"]
    assert back["mixed"].tolist()[1] == "'-1" and back["mixed"].tolist()[5] == "'=y"
    # numbers are written unquoted, negative ones included; NaN/NA are empty
    lines = raw.decode("utf-8-sig").split("\n")
    first = lines[1]
    assert first.startswith('"\'=1+1",') and ",-1.5,-4,True,-1," in first
    second = next(csv.reader([lines[2]]))
    assert second[2] == "" and second[3] == ""
    numbers = pd.read_csv(path, encoding="utf-8-sig")
    assert numbers["delta"].dtype == "float64" and numbers["delta"].isna().tolist()[1]
    np.testing.assert_allclose(numbers["delta"].dropna(), df["delta"].dropna())
    assert numbers["n"].dropna().astype(int).tolist() == [-4, 0, 5, -1, 2, 3, -9]
    # every cell of the file: no text cell starts a formula
    for row in csv.reader(raw.decode("utf-8-sig").splitlines()):
        for v in row:
            try:
                float(v)
                continue
            except ValueError:
                assert not v.startswith(FORMULA_PREFIXES), v


def test_write_csv_quotes_text_so_a_separator_cannot_split_a_cell(tmp_path):
    path = write_csv(pd.DataFrame({"a": ["x;=1+1", 'he said "=1"'], "b": [1, 2]}),
                     tmp_path / "t.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines() == ['"a","b"', '"x;=1+1",1', '"he said ""=1""",2']


def test_write_csv_index(tmp_path):
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["=P1", "P2"], name="package_id"))
    back = pd.read_csv(write_csv(df, tmp_path / "t.csv", index=True), encoding="utf-8-sig")
    assert back["package_id"].tolist() == ["'=P1", "P2"] and back["v"].tolist() == [1, 2]
    assert list(pd.read_csv(write_csv(df, tmp_path / "u.csv"), encoding="utf-8-sig")) == ["v"]


def test_neutralise_frame_leaves_numeric_columns_alone():
    df = _table()
    out = neutralise_frame(df)
    for col in ("delta", "n", "flag"):
        pd.testing.assert_series_equal(out[col], df[col])
    assert out["mixed"].tolist()[:4] == [-1, "'-1", None, 2.5]
    assert out["mixed"].tolist()[4] == "['=x']"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_write_csv_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_write_csv_replaces_atomically_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "violations.csv"
    path.write_text("old content", encoding="utf-8")
    write_csv(pd.DataFrame({"a": ["new"]}), path)
    assert path.read_text(encoding="utf-8-sig") == '"a"\n"new"\n'
    # a failure while writing keeps the old file and removes the temporary one
    with pytest.raises(sr.EncodingError, match=r"violations\.csv.*'😀'.*gbk"):
        write_csv(pd.DataFrame({"a": ["ok", "😀"]}), path, encoding="gbk")
    assert path.read_text(encoding="utf-8-sig") == '"a"\n"new"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["violations.csv"]


def test_write_csv_file_system_errors_are_export_errors(tmp_path):
    (tmp_path / "audit.csv").mkdir()
    with pytest.raises(sr.ExportError, match=r"audit\.csv: writing the CSV failed"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "audit.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.csv"]
    with pytest.raises(sr.ExportError, match=r"no_such_folder.*cannot write the CSV there"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "no_such_folder" / "audit.csv")
