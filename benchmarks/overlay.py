"""Time spatialreno's overlays next to the plain geopandas way, on sample districts.

For each size the bundled sample district (``spatialreno.sample.sample_district``: about 5
illegal structures and 5–6 gas segments per compound, structures in lanes and far away,
municipal mains in the streets) is built once; then, each in its own forked process so
that peak memory is measured per method:

* ``overlay_illegal`` (count and area per compound, area per kind, count per status,
  assignment table, unassigned structures with reasons) against
  ``gpd.sjoin(structures, compounds, predicate="intersects")`` and against sjoin for the
  points + ``gpd.overlay`` for the polygons (to split their area), each ending in the
  same per-compound table (count and area, area per kind, count per status);
* ``overlay_gas`` with and without the occupation rule (structures over pipes) against
  ``gpd.overlay(pipes, compounds, how="intersection")`` + length per compound, per class
  and per material (the plain way has no aged rules and no occupation);
* ``flag_fire_lanes`` (no plain counterpart).

Every method reads the same layers (the district as drawn, all columns; the plain way
selects the columns it needs inside its stopwatch). The stopwatch covers exactly the
method's work; the checks run after it: whether spatialreno's totals reconcile, and
what the plain way loses or double counts against the layer totals (the last columns).

Peak memory is the rise of the process's resident set over its size at the start: the
child first returns freed heap pages to the OS (glibc ``malloc_trim``; otherwise reused
free memory would not show), then ``/proc/self/clear_refs`` resets the high-water mark
and ``VmHWM`` reads it when the work ends. A method that fails shows "error" in its
cells, its message goes to stderr and the exit status is 1.

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
import pandas as pd
import shapely
from _measure import fmt_seconds, peak_mb, reset_peak, trim

_DATA: dict = {}
ERRORS: list[str] = []
#: the year pipe ages are counted to (explicit, so the rows do not change on 1 January)
AS_OF_YEAR = 2024


def _child(conn, task: str) -> None:
    """Time exactly the task's work; its checks (reconciliation, what the plain way loses)
    run after the stopwatch and the memory reading have stopped."""
    try:
        work, check = TASKS[task]
        trim()
        base = reset_peak()
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = work()
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        peak = peak_mb(base)
        conn.send(("ok", seconds, peak, {"cpu": cpu, **check(out)}))
    except Exception as exc:  # noqa: BLE001 - reported in the row as "error", exit status 1
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
        ERRORS.append(f"{task}: {info['error']}")
    return seconds, peak, info


# --------------------------------------------------------------------------------------
# the tasks: (work, check). The work is what the stopwatch times; every method ends with
# the same kind of per-compound table (count and area, area per kind, count per status
# for the structures; length per class and per material for the pipes), so the rows
# compare like with like. The checks read the results afterwards, untimed.
# --------------------------------------------------------------------------------------
ILLEGAL_COLUMNS = ["area_m2", "kind", "status", "geometry"]
GAS_COLUMNS = ["pipe_class", "material", "geometry"]


def _per_compound(frame, value: str, count: str | None, *by: str):
    """One row per compound: the sum of ``value`` (and of ``count``), then the sum of
    ``value`` per code of each column in ``by``, side by side."""
    parts = [frame.groupby("compound_id")[[value] + ([count] if count else [])].sum()]
    parts += [frame.pivot_table(index="compound_id", columns=col, values=value, aggfunc="sum",
                                observed=True).add_prefix(f"{col}_")
              for col in by]
    return pd.concat(parts, axis=1)


def _sr_illegal():
    from spatialreno.overlay import overlay_illegal

    return overlay_illegal(_DATA["compounds"], _DATA["illegal"])


def _plain_sjoin():
    ill = _DATA["illegal"][ILLEGAL_COLUMNS]
    joined = gpd.sjoin(ill, _DATA["compounds"][["geometry"]], how="inner",
                       predicate="intersects").assign(n=1)
    table = pd.concat([_per_compound(joined, "area_m2", "n", "kind"),
                       joined.pivot_table(index="compound_id", columns="status", values="n",
                                          aggfunc="sum", observed=True).add_prefix("n_")],
                      axis=1)
    return joined, table


def _plain_sjoin_overlay():
    """The plain way to the same per-compound area: sjoin the points, overlay the polygons
    (the issue's "sjoin plus overlay per layer"); still no lanes, no nearest, no audit."""
    ill = _DATA["illegal"][ILLEGAL_COLUMNS]
    comp = _DATA["compounds"][["geometry"]]
    is_poly = ill.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    pts = gpd.sjoin(ill[~is_poly], comp, how="inner", predicate="intersects").assign(n=1.0)
    polys = ill[is_poly].reset_index()
    polys["footprint"] = polys.area
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces = gpd.overlay(polys, comp.reset_index(), how="intersection", keep_geom_type=True)
    share = pieces.area / pieces["footprint"]
    pieces = pieces.assign(area_m2=pieces["area_m2"] * share, n=share)
    both = pd.concat([pts[["area_m2", "n", "kind", "status"]].rename_axis("structure_id")
                      .reset_index().assign(compound_id=pts["compound_id"].to_numpy()),
                      pieces[["compound_id", "area_m2", "n", "kind", "status"]]],
                     ignore_index=True)
    return pd.concat([_per_compound(both, "area_m2", "n", "kind"),
                      both.pivot_table(index="compound_id", columns="status", values="n",
                                       aggfunc="sum", observed=True).add_prefix("n_")], axis=1)


def _sr_gas_no_occ():
    from spatialreno.overlay import overlay_gas

    return overlay_gas(_DATA["compounds"], _DATA["gas"], as_of_year=AS_OF_YEAR)


def _sr_gas():
    from spatialreno.overlay import overlay_gas

    return overlay_gas(_DATA["compounds"], _DATA["gas"], illegal=_DATA["illegal"],
                       as_of_year=AS_OF_YEAR)


def _plain_overlay():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces = gpd.overlay(_DATA["gas"].reset_index()[["segment_id", *GAS_COLUMNS]],
                             _DATA["compounds"].reset_index()[["compound_id", "geometry"]],
                             how="intersection", keep_geom_type=True)
    pieces["length_m"] = pieces.length
    return pieces, _per_compound(pieces, "length_m", None, "pipe_class", "material")


def _sr_fire():
    from spatialreno.overlay import flag_fire_lanes

    return flag_fire_lanes(_DATA["illegal"], _DATA["roads"])


def _reconciles(res) -> dict:
    return {"ok": bool(res.totals()["ok"].all())}


def _sjoin_losses(out) -> dict:
    joined, _table = out
    n_total = len(_DATA["illegal"])
    return {"n_total": n_total, "double": int(joined.index.duplicated().sum()),
            "missed": int(n_total - joined.index.nunique())}


def _length_kept(out) -> dict:
    pieces, _table = out
    return {"length": float(pieces["length_m"].sum()),
            "length_total": float(shapely.length(_DATA["gas"].geometry.values).sum())}


def _nothing(_out) -> dict:
    return {}


TASKS = {
    "sr_illegal": (_sr_illegal, _reconciles),
    "plain_sjoin": (_plain_sjoin, _sjoin_losses),
    "plain_sjoin_overlay": (_plain_sjoin_overlay, _nothing),
    "sr_gas": (_sr_gas, _reconciles),
    "sr_gas_no_occ": (_sr_gas_no_occ, _reconciles),
    "plain_overlay": (_plain_overlay, _length_kept),
    "sr_fire": (_sr_fire, _nothing),
}


def _load(n: int, seed: int) -> float:
    """Draw the district into ``_DATA``: every method reads the same layers."""
    from spatialreno.sample import sample_district

    t0 = time.perf_counter()
    d = sample_district(n, seed=seed)
    _DATA.clear()
    _DATA.update(compounds=d.compounds, illegal=d.illegal, gas=d.gas, roads=d.roads)
    return time.perf_counter() - t0


def _ratio(ours: float, plain: float) -> str:
    if not np.isfinite(ours) or np.isnan(plain):
        return "–"
    if plain == float("inf"):
        return "< " + f"{ours / TIMEOUT[0]:.2f}"
    return f"{ours / plain:.2f}"


TIMEOUT = [900.0]
CLOCKS = {"wall": "wall clock", "cpu": "CPU time of the method's process"}


HEADER = ("| compounds | structures | gas segments | overlay_illegal s (MB) | sjoin s (MB) | ratio "
          "| sjoin + overlay s (MB) | ratio "
          "| overlay_gas s (MB) | without 占压 s | gpd.overlay s (MB) | ratio (without 占压) "
          "| flag_fire_lanes s "
          "| spatialreno total s | reconciles | plain sjoin: missed / double "
          "| plain overlay: length kept |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 200000])
    ap.add_argument("--quick", action="store_true", help="200 and 2,000 compounds only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per method and size")
    ap.add_argument("--out", help="also write the markdown table to this file")
    ap.add_argument("--clock", choices=CLOCKS, default="wall",
                    help="seconds in the table: wall clock, or this process's CPU time (steadier "
                         "on a shared machine)")
    args = ap.parse_args(argv)
    sizes = [200, 2000] if args.quick else args.sizes
    TIMEOUT[0] = args.timeout
    _warm_up(args.seed)
    print(f"python {sys.version.split()[0]}, geopandas {gpd.__version__}, shapely {shapely.__version__} "
          f"(GEOS {shapely.geos_version_string}), {os.cpu_count()} cores", file=sys.stderr)
    rows = [_row(n, _on_clock(_measure(n, args.seed, args.timeout), args.clock)) for n in sizes]
    table = "\n".join([HEADER, "|" + "|".join(["---"] * (HEADER.count("|") - 1)) + "|", *rows])
    print(table)
    print(f"\nseconds: {CLOCKS[args.clock]}. "
          "ratio = spatialreno / plain geopandas (below 1: spatialreno is faster). "
          "spatialreno total = overlay_illegal + overlay_gas (with occupation) + flag_fire_lanes.")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table + "\n")
    if ERRORS:
        print("\nerrors (shown as 'error' in the table):\n  " + "\n  ".join(ERRORS),
              file=sys.stderr)
    return 1 if ERRORS else 0


def _warm_up(seed: int) -> None:
    """Every task once on a small district in this process (imports, caches), so that the
    forked children time the work only."""
    _load(200, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for work, check in TASKS.values():
            check(work())


def _measure(n: int, seed: int, timeout: float) -> dict[str, tuple[float, float, dict]]:
    """Every task on the ``n``-compound district, each in its own process."""
    t_load = _load(n, seed)
    print(f"n={n}: district built in {t_load:.1f} s ({len(_DATA['illegal'])} structures, "
          f"{len(_DATA['gas'])} segments)", file=sys.stderr)
    res = {task: _run(task, timeout) for task in TASKS}
    for task, (s, mb, info) in res.items():
        print(f"  {task:20s} {fmt_seconds(s):>8s} s  cpu {fmt_seconds(info.get('cpu', np.nan)):>8s} s"
              f"  {mb:8.0f} MB", file=sys.stderr)
    return res


def _on_clock(res: dict[str, tuple[float, float, dict]], clock: str
              ) -> dict[str, tuple[float, float, dict]]:
    """The results with the seconds of ``clock`` (CPU time: inf for a timeout, nan for an error)."""
    if clock == "wall":
        return res
    return {task: (info.get("cpu", s), mb, info) for task, (s, mb, info) in res.items()}


def _row(n: int, res: dict[str, tuple[float, float, dict]]) -> str:
    si, mi, ii = res["sr_illegal"]
    sj, mj, ij = res["plain_sjoin"]
    sjo, mjo, _ = res["plain_sjoin_overlay"]
    sg, mg, ig = res["sr_gas"]
    sgn, _, ign = res["sr_gas_no_occ"]
    so, mo, io = res["plain_overlay"]
    sf, _, _ = res["sr_fire"]
    ok = ii.get("ok") and ig.get("ok") and ign.get("ok")
    missed = (f"{ij['missed'] / ij['n_total']:.1%} / {ij['double']}" if "missed" in ij else "–")
    kept = f"{io['length'] / io['length_total']:.1%}" if "length" in io else "–"
    return (
        f"| {n:,} | {len(_DATA['illegal']):,} | {len(_DATA['gas']):,} "
        f"| {fmt_seconds(si)} ({mi:.0f}) | {fmt_seconds(sj)} ({mj:.0f}) | {_ratio(si, sj)} "
        f"| {fmt_seconds(sjo)} ({mjo:.0f}) | {_ratio(si, sjo)} "
        f"| {fmt_seconds(sg)} ({mg:.0f}) | {fmt_seconds(sgn)} | {fmt_seconds(so)} ({mo:.0f}) "
        f"| {_ratio(sg, so)} ({_ratio(sgn, so)}) "
        f"| {fmt_seconds(sf)} | {fmt_seconds(si + sg + sf)} | {'yes' if ok else 'NO'} "
        f"| {missed} | {kept} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
