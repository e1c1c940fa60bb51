"""Time spatialreno's overlays next to the plain geopandas way, on sample districts.

For each size the bundled sample district (``spatialreno.sample.sample_district``: about 5
illegal structures and 5–6 gas segments per compound, structures in lanes and far away,
municipal mains in the streets) is built once; then, each in its own forked process so
that peak memory is measured per method:

* ``overlay_illegal`` (every breakdown, assignment table, reconciliation) against
  ``gpd.sjoin(structures, compounds, predicate="intersects")`` + a groupby count/area;
* ``overlay_gas`` with the occupation rule (structures over pipes) against
  ``gpd.overlay(pipes, compounds, how="intersection")`` + a groupby length by class;
* ``flag_fire_lanes`` (no plain counterpart).

Peak memory is the rise of the process's resident set over its size at the start: the
child first returns freed heap pages to the OS (glibc ``malloc_trim``; otherwise reused
free memory would not show), then ``/proc/self/clear_refs`` resets the high-water mark
and ``VmHWM`` reads it at the end. The table also shows what the plain way loses or
double counts against the layer totals.

Usage::

    python benchmarks/overlay.py --sizes 2000 20000 200000
    python benchmarks/overlay.py --quick            # 200 and 2,000 compounds
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import warnings

import geopandas as gpd
import numpy as np
import shapely
from _measure import fmt_seconds, peak_mb, reset_peak, trim

_DATA: dict = {}


def _child(conn, task: str) -> None:
    try:
        trim()
        base = reset_peak()
        t0 = time.perf_counter()
        info = TASKS[task]()
        seconds = time.perf_counter() - t0
        peak = peak_mb(base)
        conn.send(("ok", seconds, peak, info))
    except Exception as exc:  # report, don't hang the parent
        conn.send(("error", float("nan"), float("nan"), {"error": f"{type(exc).__name__}: {exc}"}))
    finally:
        conn.close()


def _run(task: str, timeout: float) -> tuple[float, float, dict]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, task))
    proc.start()
    child.close()
    if parent.poll(timeout):
        status, seconds, peak, info = parent.recv()
    else:
        status, seconds, peak, info = "timeout", float("inf"), float("nan"), {}
        proc.kill()
    proc.join()
    if status == "error":
        print(f"  {task}: {info['error']}", file=sys.stderr)
    return seconds, peak, info


# --------------------------------------------------------------------------------------
# the tasks (run in the child; read the district from _DATA)
# --------------------------------------------------------------------------------------
def _sr_illegal() -> dict:
    from spatialreno.overlay import overlay_illegal

    d = _DATA
    res = overlay_illegal(d["compounds"], d["illegal_flagged"])
    return {"ok": bool(res.totals()["ok"].all())}


def _plain_sjoin() -> dict:
    d = _DATA
    ill = d["illegal"]
    j = gpd.sjoin(ill[["area_m2", "kind", "status", "geometry"]], d["compounds"][["geometry"]],
                  how="inner", predicate="intersects")
    by = j.groupby("compound_id").agg(n=("kind", "size"), area=("area_m2", "sum"))
    by_kind = j.pivot_table(index="compound_id", columns="kind", values="area_m2", aggfunc="sum")
    dup = int(j.index.duplicated().sum())
    return {"count": float(by["n"].sum()), "area": float(by["area"].sum()),
            "n_total": len(ill), "area_total": float(ill["area_m2"].sum()),
            "double": dup, "missed": int(len(ill) - j.index.nunique()), "_": len(by_kind)}


def _plain_sjoin_overlay() -> dict:
    """The plain way to the same per-compound area: sjoin the points, overlay the polygons
    (the issue's "sjoin plus overlay per layer"); still no lanes, no nearest, no audit."""
    d = _DATA
    ill = d["illegal"][["area_m2", "kind", "status", "geometry"]]
    comp = d["compounds"][["geometry"]]
    is_poly = ill.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    pts = gpd.sjoin(ill[~is_poly], comp, how="inner", predicate="intersects")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        polys = ill[is_poly].reset_index()
        polys["footprint"] = polys.area
        pieces = gpd.overlay(polys, comp.reset_index(), how="intersection", keep_geom_type=True)
    pieces["area_share"] = pieces["area_m2"] * pieces.area / pieces["footprint"]
    by_pts = pts.groupby("compound_id")["area_m2"].sum()
    by_poly = pieces.groupby("compound_id")["area_share"].sum()
    by_kind = pieces.pivot_table(index="compound_id", columns="kind", values="area_share",
                                 aggfunc="sum")
    return {"area": float(by_pts.sum() + by_poly.sum()), "_": len(by_kind)}


def _sr_gas_no_occ() -> dict:
    from spatialreno.overlay import overlay_gas

    d = _DATA
    res = overlay_gas(d["compounds"], d["gas"], as_of_year=2024)
    return {"ok": bool(res.totals()["ok"].all())}


def _sr_gas() -> dict:
    from spatialreno.overlay import overlay_gas

    d = _DATA
    res = overlay_gas(d["compounds"], d["gas"], illegal=d["illegal"], as_of_year=2024)
    return {"ok": bool(res.totals()["ok"].all())}


def _plain_overlay() -> dict:
    d = _DATA
    gas = d["gas"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces = gpd.overlay(gas.reset_index()[["segment_id", "pipe_class", "geometry"]],
                             d["compounds"].reset_index()[["compound_id", "geometry"]],
                             how="intersection", keep_geom_type=True)
    pieces["length_m"] = pieces.length
    by = pieces.pivot_table(index="compound_id", columns="pipe_class", values="length_m",
                            aggfunc="sum")
    return {"length": float(pieces["length_m"].sum()),
            "length_total": float(shapely.length(gas.geometry.values).sum()), "_": len(by)}


def _sr_fire() -> dict:
    from spatialreno.overlay import flag_fire_lanes

    d = _DATA
    out = flag_fire_lanes(d["illegal"], d["roads"])
    return {"blocked": int(out["blocks_fire_lane"].fillna(0).sum())}


TASKS = {
    "sr_illegal": _sr_illegal,
    "plain_sjoin": _plain_sjoin,
    "plain_sjoin_overlay": _plain_sjoin_overlay,
    "sr_gas": _sr_gas,
    "sr_gas_no_occ": _sr_gas_no_occ,
    "plain_overlay": _plain_overlay,
    "sr_fire": _sr_fire,
}


def _load(n: int, seed: int) -> float:
    from spatialreno.overlay import flag_fire_lanes
    from spatialreno.sample import sample_district

    t0 = time.perf_counter()
    d = sample_district(n, seed=seed)
    _DATA.clear()
    _DATA.update(compounds=d.compounds, illegal=d.illegal, gas=d.gas, roads=d.roads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _DATA["illegal_flagged"] = flag_fire_lanes(d.illegal, d.roads)
    return time.perf_counter() - t0


def _ratio(ours: float, plain: float) -> str:
    if not np.isfinite(ours) or np.isnan(plain):
        return "–"
    if plain == float("inf"):
        return "< " + f"{ours / TIMEOUT[0]:.2f}"
    return f"{ours / plain:.2f}"


TIMEOUT = [900.0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 200000])
    ap.add_argument("--quick", action="store_true", help="200 and 2,000 compounds only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per method and size")
    ap.add_argument("--out", help="also write the markdown table to this file")
    args = ap.parse_args(argv)
    sizes = [200, 2000] if args.quick else args.sizes
    TIMEOUT[0] = args.timeout

    header = ("| compounds | structures | gas segments | overlay_illegal s (MB) | sjoin s (MB) | ratio "
              "| sjoin + overlay s (MB) | ratio "
              "| overlay_gas s (MB) | without 占压 s | gpd.overlay s (MB) | ratio (without 占压) "
              "| flag_fire_lanes s "
              "| spatialreno total s | reconciles | plain sjoin: missed / double | plain overlay: length kept |")
    sep = "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"
    rows = []
    # warm up in this process (imports, caches) so the forked children time the work only
    _load(200, args.seed)
    for task in TASKS.values():
        task()
    print(f"python {sys.version.split()[0]}, geopandas {gpd.__version__}, shapely {shapely.__version__} "
          f"(GEOS {shapely.geos_version_string}), {os.cpu_count()} cores", file=sys.stderr)
    for n in sizes:
        t_load = _load(n, args.seed)
        d = _DATA
        print(f"n={n}: district built in {t_load:.1f} s ({len(d['illegal'])} structures, "
              f"{len(d['gas'])} segments)", file=sys.stderr)
        res = {task: _run(task, args.timeout) for task in TASKS}
        for task, (s, mb, _) in res.items():
            print(f"  {task:14s} {fmt_seconds(s):>8s} s  {mb:8.0f} MB", file=sys.stderr)
        si, mi, ii = res["sr_illegal"]
        sj, mj, ij = res["plain_sjoin"]
        sjo, mjo, _ = res["plain_sjoin_overlay"]
        sg, mg, ig = res["sr_gas"]
        sgn, _, _ = res["sr_gas_no_occ"]
        so, mo, io = res["plain_overlay"]
        sf, _, _ = res["sr_fire"]
        ok = ii.get("ok") and ig.get("ok")
        missed = (f"{ij['missed'] / ij['n_total']:.1%} / {ij['double']}" if "missed" in ij else "–")
        kept = f"{io['length'] / io['length_total']:.1%}" if "length" in io else "–"
        rows.append(
            f"| {n:,} | {len(d['illegal']):,} | {len(d['gas']):,} "
            f"| {fmt_seconds(si)} ({mi:.0f}) | {fmt_seconds(sj)} ({mj:.0f}) | {_ratio(si, sj)} "
            f"| {fmt_seconds(sjo)} ({mjo:.0f}) | {_ratio(si, sjo)} "
            f"| {fmt_seconds(sg)} ({mg:.0f}) | {fmt_seconds(sgn)} | {fmt_seconds(so)} ({mo:.0f}) "
            f"| {_ratio(sg, so)} ({_ratio(sgn, so)}) "
            f"| {fmt_seconds(sf)} | {fmt_seconds(si + sg + sf)} | {'yes' if ok else 'NO'} | {missed} | {kept} |"
        )
    table = "\n".join([header, sep, *rows])
    print(table)
    print("\nratio = spatialreno / plain geopandas (below 1: spatialreno is faster). "
          "spatialreno total = overlay_illegal + overlay_gas (with occupation) + flag_fire_lanes.")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
