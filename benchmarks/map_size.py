"""Size and speed of the offline review map against geopandas ``.explore()``, by scale.

For each district size (default 200 and 2,073 compounds, the bundled sample's generator)
the same layers (packages, compounds, illegal structures, gas, barriers, admin) are drawn
by :func:`spatialreno.maps.explore_packages` and by geopandas ``.explore()`` (one call per
layer on one folium map, each layer cut to the columns our popups show, which it uses as
popup and tooltip: both maps carry the same attributes), saved, and measured: HTML bytes, the ratio, the time to build
and to save. With ``--browser`` the saved spatialreno map is also opened in headless
Chromium with networking off and the time until every layer is drawn is reported (the
``.explore()`` map cannot draw offline: it loads Leaflet from CDNs).

    python benchmarks/map_size.py                       # 200 and 2,073 compounds
    python benchmarks/map_size.py --sizes 200 --browser
    python benchmarks/map_size.py --screenshot docs/img/review_map.png   # README image

Packages come from the real pipeline stages when asked (``--partition``: adjacency and
``partition_packages``, slow on 2,073 compounds); by default compounds are grouped into
runs of about six per 社区 in west-to-east order, which gives packages of the same size
and shape class for measuring the map. Overlays and costs come from the real ``overlay``
and ``costing`` stages, so popups carry the figures a planner sees; a failing stage
stops the benchmark (no fallback). Both maps are built once on a small district before the
rows are measured, so neither pays for its imports (folium, matplotlib) in a row.
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

from spatialreno.errors import SpatialRenoWarning  # noqa: E402
from spatialreno.maps import explore_packages, save_map  # noqa: E402

READY = "window.spatialreno && window.spatialreno.layers.length > 0"


#: the columns the review map's popups show per layer, in order (those present are
#: shown): a copy of ``spatialreno.maps``' popup field lists, so that ``.explore()``
#: embeds the same attributes and the sizes compare like with like
POPUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "packages": ("n_compounds", "streets", "households", "floor_area_m2", "cost_total",
                 "construction_cost", "illegal_area_m2", "gas_aged_m", "must_tender",
                 "plan_year"),
    "compounds": ("package_id", "street", "district", "community", "households",
                  "floor_area_m2", "build_year", "illegal_area_m2", "gas_aged_m",
                  "cost_total"),
    "illegal": ("kind", "area_m2", "status", "compound_id", "blocks_fire_lane", "blocks_gas"),
    "gas": ("pipe_class", "material", "diameter_mm", "install_year", "length_m", "aged",
            "aged_rule"),
    "barriers": ("barrier_type", "width_m"),
    "admin": ("level", "district"),
}
#: a district drawn and mapped both ways first, so no row pays for imports
WARMUP_COMPOUNDS = 30
#: what geopandas ``.explore()`` imports (without them its row says "not installed")
EXPLORE_NEEDS = ("folium", "matplotlib", "mapclassify")
#: the year pipe ages are counted to (explicit, so the figures do not change on 1 January)
AS_OF_YEAR = 2024
#: a package of at least this construction cost (万元) must be tendered (for the popups)
TENDER_COST = 400


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

    def layers(self) -> dict[str, object]:
        """Every layer drawn, by the name of its popup field list."""
        return {"packages": self.packages,
                "compounds": self.compounds.assign(package_id=self.labels),
                "illegal": self.illegal, "gas": self.gas, "barriers": self.barriers,
                "admin": self.admin}


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


def _partition_labels(compounds, barriers) -> pd.Series:
    from spatialreno.adjacency import build_adjacency
    from spatialreno.partition import partition_packages

    G = build_adjacency(compounds, tolerance_m=15, barriers=barriers, node_attrs=["households"])
    return partition_packages(G, limits={"compounds": (1, 8), "households": (None, 6000)},
                              seed=0).labels


def district_inputs(n: int, *, partition: bool = False) -> Inputs:
    """The sample district of ``n`` compounds with overlays, costs and packages (the real
    ``overlay`` and ``costing`` stages; packages from ``partition_packages`` or grouped)."""
    from spatialreno.costing import estimate_costs
    from spatialreno.overlay import overlay_gas, overlay_illegal
    from spatialreno.packages import dissolve_packages
    from spatialreno.sample import sample_district

    d = sample_district(n, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpatialRenoWarning)
        io = overlay_illegal(d.compounds, d.illegal)
        go = overlay_gas(d.compounds, d.gas, illegal=d.illegal, as_of_year=AS_OF_YEAR)
        extra = [c for c in io.compounds.columns if c not in go.compounds.columns]
        compounds = estimate_costs(go.compounds.join(io.compounds[extra])).compounds
        labels = (_partition_labels(compounds, d.barriers) if partition
                  else _group_labels(compounds))
    packages = dissolve_packages(compounds, labels)
    if "construction_cost" in packages.columns:
        packages["must_tender"] = (packages["construction_cost"] >= TENDER_COST).astype(int)
    how = "overlay, costing, " + ("partition" if partition else "grouped labels")
    return Inputs(compounds, labels, packages, io.illegal, go.gas, d.barriers, d.admin, how)


def build_ours(inp: Inputs, path: Path, **kwds) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    m = explore_packages(inp.compounds, inp.packages, labels=inp.labels,
                         illegal=inp.illegal, gas=inp.gas, barriers=inp.barriers,
                         admin=inp.admin, **kwds)
    html = m.get_root().render()  # rendering is part of building
    t1 = time.perf_counter()
    path.write_text(html, encoding="utf-8")  # comparable with explore's save below
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, path.stat().st_size


def explore_missing() -> list[str]:
    """The packages geopandas ``.explore()`` needs that are not installed."""
    return [m for m in EXPLORE_NEEDS if importlib.util.find_spec(m) is None]


def build_explore(inp: Inputs, path: Path) -> tuple[float, float, int]:
    """The same layers with ``.explore()`` on one folium map, each carrying exactly the
    columns our popups show (as popup and tooltip), so both maps hold the same attributes."""
    t0 = time.perf_counter()
    m = None
    for name, gdf in inp.layers().items():
        cols = [c for c in POPUP_COLUMNS[name] if c in gdf.columns]
        kw = {"m": m} if m is not None else {}
        m = gdf[[*cols, "geometry"]].explore(name=name, popup=cols or False,
                                             tooltip=cols or False, **kw)
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
    inp = district_inputs(n_compounds, partition=True)  # contiguous packages read best
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "review_map.html"
        m = explore_packages(inp.compounds, inp.packages, labels=inp.labels,
                             illegal=inp.illegal, gas=inp.gas, barriers=inp.barriers,
                             admin=inp.admin, lang=lang)
        save_map(m, html)
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

    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        _measure(WARMUP_COMPOUNDS, out, partition=False, browser=False)  # imports, untimed
        rows = [_measure(n, out, partition=args.partition, browser=args.browser)
                for n in args.sizes]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        _print_table(rows, browser=args.browser)
    return 0


def _measure(n: int, out: Path, *, partition: bool, browser: bool) -> dict:
    """One row: both maps of the ``n``-compound district built, saved and measured."""
    inp = district_inputs(n, partition=partition)
    ours = build_ours(inp, out / f"spatialreno_{n}.html")
    row = {"compounds": n, "packages": len(inp.packages), "illegal": len(inp.illegal),
           "gas": len(inp.gas), "inputs": inp.how, "spatialreno_bytes": ours[2],
           "spatialreno_build_s": round(ours[0], 2), "spatialreno_save_s": round(ours[1], 3)}
    missing = explore_missing()
    if missing:
        row["explore"] = f"not installed: {', '.join(missing)}"
    else:
        theirs = build_explore(inp, out / f"explore_{n}.html")
        row.update(explore_bytes=theirs[2], ratio=round(theirs[2] / ours[2], 2),
                   explore_build_s=round(theirs[0], 2), explore_save_s=round(theirs[1], 3))
    if browser:
        drawn = browser_draw_time(out / f"spatialreno_{n}.html")
        row["chromium_draw_s"] = None if drawn is None else round(drawn, 2)
    return row


def _print_table(rows: list[dict], *, browser: bool) -> None:
    head = ("| compounds | packages | spatialreno map | .explore() | explore ÷ ours "
            "| build + save (ours) | build + save (.explore()) |")
    if browser:
        head += " drawn in Chromium (ours) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        ours = (f"{r['spatialreno_build_s']:.2f} s + {r['spatialreno_save_s']:.2f} s")
        if "explore" in r:  # .explore() could not run: say why in the row
            theirs = f"| {r['explore']} | – | {ours} | – |"
        else:
            theirs = (f"| {r['explore_bytes'] / 1e6:.2f} MB | {r['ratio']:.1f}× | {ours} "
                      f"| {r['explore_build_s']:.2f} s + {r['explore_save_s']:.2f} s |")
        line = (f"| {r['compounds']:,} | {r['packages']:,} "
                f"| {r['spatialreno_bytes'] / 1e6:.2f} MB {theirs}")
        if browser:
            drawn = r.get("chromium_draw_s")
            line += f" {drawn:.2f} s |" if drawn is not None else " n/a |"
        print(line)
    print(f"\ninputs: {rows[0]['inputs'] if rows else ''}; illegal/gas features: "
          + ", ".join(f"{r['illegal']:,}/{r['gas']:,}" for r in rows))


if __name__ == "__main__":
    sys.exit(main())
