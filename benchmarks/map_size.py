"""Size and speed of the offline review map against geopandas ``.explore()``, by scale.

For each district size (default 200 and 2,073 compounds, the bundled sample's generator)
the same layers (packages, compounds, illegal structures, gas, barriers, admin) are drawn
by :func:`spatialreno.maps.explore_packages` and by geopandas ``.explore()`` (one call per
layer on one folium map), saved, and measured: HTML bytes, the ratio, the time to build
and to save. With ``--browser`` the saved spatialreno map is also opened in headless
Chromium with networking off and the time until every layer is drawn is reported (the
``.explore()`` map cannot draw offline: it loads Leaflet from CDNs).

    python benchmarks/map_size.py                       # 200 and 2,073 compounds
    python benchmarks/map_size.py --sizes 200 --browser
    python benchmarks/map_size.py --screenshot docs/img/review_map.png   # README image

Packages come from the real pipeline stages when asked (``--partition``: adjacency and
``partition_packages``, slow on 2,073 compounds); by default compounds are grouped into
runs of about six per 社区 in west-to-east order, which gives packages of the same size
and shape class for measuring the map. Overlays and costs use the real ``overlay`` and
``costing`` stages when they import, so popups carry the figures a planner sees.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatialreno import maps  # noqa: E402
from spatialreno.errors import SpatialRenoWarning  # noqa: E402

READY = "window.spatialreno && window.spatialreno.layers.length > 0"


@dataclass
class Inputs:
    compounds: object
    labels: pd.Series
    packages: object
    illegal: object
    gas: object
    barriers: object
    admin: object
    how: str


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _group_labels(compounds) -> pd.Series:
    """About six compounds per package, in west-to-east runs within each 社区."""
    pts = compounds.geometry.representative_point()
    frame = pd.DataFrame({"community": compounds.get("community", "all"), "x": pts.x},
                         index=compounds.index).sort_values(["community", "x"])
    rank = frame.groupby("community").cumcount() // 6
    codes = frame["community"].astype("category").cat.codes
    labels = pd.Series([f"P{c:03d}-{r:02d}" for c, r in zip(codes, rank)], index=frame.index,
                       name="package_id")
    return labels.reindex(compounds.index)


def district_inputs(n: int, *, partition: bool = False) -> Inputs:
    """The sample district of ``n`` compounds with overlays, costs and packages."""
    from spatialreno.sample import sample_district

    d = sample_district(n, seed=0)
    compounds, illegal, gas = d.compounds, d.illegal, d.gas
    how = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpatialRenoWarning)
        if _has("spatialreno.overlay"):
            from spatialreno.overlay import overlay_gas, overlay_illegal

            io = overlay_illegal(compounds, illegal)
            go = overlay_gas(compounds, gas, illegal=illegal)
            extra = [c for c in io.compounds.columns if c not in go.compounds.columns]
            compounds = go.compounds.join(io.compounds[extra])
            illegal, gas = io.illegal, go.gas
            how.append("overlay")
        if _has("spatialreno.costing"):
            from spatialreno.costing import estimate_costs

            compounds = estimate_costs(compounds).compounds
            how.append("costing")
        if partition:
            from spatialreno.adjacency import build_adjacency
            from spatialreno.partition import partition_packages

            G = build_adjacency(compounds, tolerance_m=15, barriers=d.barriers,
                                node_attrs=["households"])
            labels = partition_packages(G, limits={"compounds": (1, 8),
                                                   "households": (None, 6000)}, seed=0)
            how.append("partition")
        else:
            labels = _group_labels(compounds)
            how.append("grouped labels")
    packages = maps._packages_from_labels(compounds, labels)
    if "construction_cost" in packages.columns:
        packages["must_tender"] = (packages["construction_cost"] >= 400).astype(int)
    return Inputs(compounds, labels, packages, illegal, gas, d.barriers, d.admin,
                  ", ".join(how))


def build_ours(inp: Inputs, path: Path, **kwds) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    m = maps.explore_packages(inp.compounds, inp.packages, labels=inp.labels,
                              illegal=inp.illegal, gas=inp.gas, barriers=inp.barriers,
                              admin=inp.admin, **kwds)
    html = m.get_root().render()  # rendering is part of building
    t1 = time.perf_counter()
    path.write_text(html, encoding="utf-8")  # comparable with explore's save below
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, path.stat().st_size


def build_explore(inp: Inputs, path: Path) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    compounds = inp.compounds.assign(package_id=inp.labels)
    m = inp.packages.explore(name="packages")
    compounds.explore(m=m, name="compounds")
    for name in ("illegal", "gas", "barriers", "admin"):
        getattr(inp, name).explore(m=m, name=name)
    html = m.get_root().render()
    t1 = time.perf_counter()
    path.write_text(html, encoding="utf-8")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, path.stat().st_size


def _chromium():
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import Chromium, find_chromium  # tests/browser.py

    return Chromium, find_chromium()


def browser_draw_time(path: Path) -> float | None:
    Chromium, exe = _chromium()
    if exe is None:
        return None
    with Chromium(exe) as browser:
        t0 = time.perf_counter()
        page = browser.open(path, wait=READY, timeout=300)
        t1 = time.perf_counter()
        if page.console_errors or page.external_requests:
            raise RuntimeError(f"{path}: {page.console_errors} {page.external_requests}")
    return t1 - t0


def has_cjk_font() -> bool:
    """Whether fontconfig knows a font with Chinese glyphs (else Chinese renders as boxes)."""
    if shutil.which("fc-list") is None:
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def write_readme_screenshot(path: str | Path = ROOT / "docs" / "img" / "review_map.png", *,
                            n_compounds: int = 200, lang: str | None = None,
                            width: int = 1280, height: int = 800) -> Path:
    """Draw the sample district's review map in headless Chromium and save a PNG.

    ``lang=None`` picks Chinese when a CJK font is installed (``fonts-noto-cjk``) and
    English otherwise, so the README image never shows empty boxes.
    """
    Chromium, exe = _chromium()
    if exe is None:
        raise RuntimeError("no Chromium found; install chromium or set $SPATIALRENO_CHROMIUM")
    cjk = has_cjk_font()
    if lang is None:
        lang = "zh" if cjk else "en"
        if not cjk:
            print("no CJK font installed (apt-get install fonts-noto-cjk): English screenshot",
                  file=sys.stderr)
    try:  # contiguous packages from the real stages read best; grouped runs otherwise
        inp = district_inputs(n_compounds, partition=True)
    except Exception as exc:  # noqa: BLE001 - any failure of another stage: fall back
        print(f"partition failed ({exc}); grouped labels instead", file=sys.stderr)
        inp = district_inputs(n_compounds)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "review_map.html"
        m = maps.explore_packages(inp.compounds, inp.packages, labels=inp.labels,
                                  illegal=inp.illegal, gas=inp.gas, barriers=inp.barriers,
                                  admin=inp.admin, lang=lang)
        maps.save_map(m, html)
        with Chromium(exe, width=width, height=height) as browser:
            page = browser.open(html, wait=READY)
            if cjk:  # show a popup near the centre, as in a review meeting
                page.evaluate("""(() => {
                  const c = spatialreno.layers.find(l => l.kind === 'compounds');
                  const centre = c.map.getCenter();
                  let best = null, bestD = Infinity;
                  for (const it of c.items) {
                    const d = it.layer.getBounds().getCenter().distanceTo(centre);
                    if (d < bestD) { best = it; bestD = d; }
                  }
                  best.layer.openPopup();
                })()""")
                page.evaluate("new Promise(r => setTimeout(r, 400))")
            page.screenshot(path)
            if page.console_errors:
                raise RuntimeError(f"console errors: {page.console_errors}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2073])
    parser.add_argument("--browser", action="store_true", help="time drawing in Chromium")
    parser.add_argument("--partition", action="store_true",
                        help="packages from build_adjacency + partition_packages (slow)")
    parser.add_argument("--keep", type=Path, help="keep the HTML files in this folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--screenshot", type=Path, help="write the README screenshot and exit")
    args = parser.parse_args(argv)

    if args.screenshot:
        print(write_readme_screenshot(args.screenshot))
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            inp = district_inputs(n, partition=args.partition)
            ours = build_ours(inp, out / f"spatialreno_{n}.html")
            theirs = build_explore(inp, out / f"explore_{n}.html")
            row = {
                "compounds": n, "packages": len(inp.packages), "illegal": len(inp.illegal),
                "gas": len(inp.gas), "inputs": inp.how,
                "spatialreno_bytes": ours[2], "explore_bytes": theirs[2],
                "ratio": round(theirs[2] / ours[2], 2),
                "spatialreno_build_s": round(ours[0], 2), "spatialreno_save_s": round(ours[1], 3),
                "explore_build_s": round(theirs[0], 2), "explore_save_s": round(theirs[1], 3),
            }
            if args.browser:
                drawn = browser_draw_time(out / f"spatialreno_{n}.html")
                row["chromium_draw_s"] = None if drawn is None else round(drawn, 2)
            rows.append(row)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    head = ("| compounds | packages | spatialreno map | .explore() | explore ÷ ours "
            "| build + save (ours) | build + save (.explore()) |")
    if args.browser:
        head += " drawn in Chromium (ours) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = (
            f"| {r['compounds']:,} | {r['packages']:,} | {r['spatialreno_bytes'] / 1e6:.2f} MB "
            f"| {r['explore_bytes'] / 1e6:.2f} MB | {r['ratio']:.1f}× "
            f"| {r['spatialreno_build_s']:.2f} s + {r['spatialreno_save_s']:.2f} s "
            f"| {r['explore_build_s']:.2f} s + {r['explore_save_s']:.2f} s |"
        )
        if args.browser:
            drawn = r.get("chromium_draw_s")
            line += f" {drawn:.2f} s |" if drawn is not None else " n/a |"
        print(line)
    print(f"\ninputs: {rows[0]['inputs'] if rows else ''}; illegal/gas features: "
          + ", ".join(f"{r['illegal']:,}/{r['gas']:,}" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
