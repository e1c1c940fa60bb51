"""Time spatialreno's adjacency graph next to libpysal's fuzzy contiguity, on sample districts.

For each size the sample district (``spatialreno.sample.sample_district``: compounds that
share walls or stand 3-15 m apart across lanes; arterials, a railway and the river as
barriers) is drawn once, then every method runs in a fresh (spawned) process that first
warms the method up on a 200-compound district, loads the district and times one call:

* ``spatialreno``: ``build_adjacency(compounds, tolerance_m=TOL, barriers=barriers)``, the
  barrier test included, returning a networkx graph with ``gap_m``/``shared_m`` edges and
  the cap columns on the nodes;
* ``spatialreno (no barriers)``: the same without barriers;
* ``libpysal Graph``: ``libpysal.graph.Graph.build_fuzzy_contiguity(gdf, buffer=TOL / 2)``;
* ``libpysal W``: ``libpysal.weights.fuzzy_contiguity(gdf, buffering=True, buffer=TOL / 2)``.

A buffer of TOL / 2 on both polygons joins the same pairs as a gap of at most TOL (up to
the arcs GEOS draws as chords), so the edge counts are comparable; libpysal has no
barriers, so its count includes the edges that cross them. Two ratios, each the fastest
libpysal builder's time divided by spatialreno's (above 1, spatialreno is faster): "same
work" against spatialreno without barriers (same input, same tolerance, no barrier test),
and against spatialreno with barriers (which does the barrier test on top). The stopwatch
covers the build call alone; the edge count is read from its result afterwards. Peak
memory is the rise of the process's resident set over its size once the district is
loaded (``/proc/self/clear_refs`` resets the high-water mark, ``VmHWM`` reads it when the
build returns). Each method runs ``--repeat`` times (best kept), once if a run takes
over 30 s; a run longer than ``--timeout`` seconds (default 300) is stopped and shown as
a timeout; a method that fails shows "error", its message goes to stderr and the exit
status is 1.

    python benchmarks/adjacency.py                          # 2,000, 20,000 and 200,000
    python benchmarks/adjacency.py --sizes 2000 20000
    python benchmarks/adjacency.py --quick                  # 2,000 and 20,000, one run each
    python benchmarks/adjacency.py --tolerance 60           # reach across arterials

Districts are cached (pickled) under the system temp folder (``spatialreno-bench``), keyed
by size, seed and a hash of ``sample.py``; ``--no-cache`` draws them into a temporary
folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import inspect
import multiprocessing as mp
import os
import pickle
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _measure import fmt_seconds, peak_mb, reset_peak  # noqa: E402

from spatialreno.adjacency import build_adjacency  # noqa: E402

_DATA: dict = {}
TOL = [15.0]
CLOCKS = {"wall": "Wall-clock seconds", "cpu": "CPU seconds of the method's process"}


# --------------------------------------------------------------------------------------
# the methods: (build, edge count). The stopwatch times the build alone; the edge count
# is read from its result afterwards.
# --------------------------------------------------------------------------------------
def _ours():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isolates are reported, not an error
        return build_adjacency(_DATA["compounds"], tolerance_m=TOL[0], barriers=_DATA["barriers"])


def _ours_no_barriers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_adjacency(_DATA["compounds"], tolerance_m=TOL[0])


def _nx_edges(G) -> int:
    return G.number_of_edges()


def _libpysal_graph():
    from libpysal.graph import Graph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Graph.build_fuzzy_contiguity(_DATA["compounds"], buffer=TOL[0] / 2)


def _graph_edges(g) -> int:
    adj = g.adjacency
    focal = adj.index.get_level_values(0)
    neighbor = adj.index.get_level_values(1)
    return int((focal != neighbor).sum()) // 2


def _libpysal_w():
    from libpysal import weights

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return weights.fuzzy_contiguity(_DATA["compounds"], buffering=True, buffer=TOL[0] / 2)


def _w_edges(w) -> int:
    return int(sum(w.cardinalities.values())) // 2


TASKS = {
    "spatialreno": (_ours, _nx_edges),
    "spatialreno (no barriers)": (_ours_no_barriers, _nx_edges),
    "libpysal Graph": (_libpysal_graph, _graph_edges),
    "libpysal W": (_libpysal_w, _w_edges),
}
ERRORS: list[str] = []


# --------------------------------------------------------------------------------------
# running one method in a fresh process
# --------------------------------------------------------------------------------------
def _child(conn, task: str, path: str, warmup: str, tol: float) -> None:
    """Warm the method up on a small district, load the district, then time the method."""
    try:
        TOL[0] = tol
        build, edge_count = TASKS[task]
        _set_data(warmup)
        build()  # imports, first-call costs
        _set_data(path)
        gc.collect()
        base = reset_peak()
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = build()
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        peak = peak_mb(base)
        conn.send(("ok", seconds, cpu, peak, edge_count(result)))
    except Exception as exc:  # noqa: BLE001 - reported in the row as "error", exit status 1
        conn.send(
            ("error", float("nan"), float("nan"), float("nan"), f"{type(exc).__name__}: {exc}")
        )
    finally:
        conn.close()


def _run(task: str, path: Path, warmup: Path, timeout: float) -> tuple[float, float, float, object]:
    ctx = mp.get_context("spawn")  # a clean process: no memory shared with the parent
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, task, str(path), str(warmup), TOL[0]))
    proc.start()
    child.close()
    timed_out = ("timeout", float("inf"), float("inf"), float("nan"), None)
    if parent.poll(timeout + 120):  # loading and warming up come on top of the run
        status, seconds, cpu, peak, edges = parent.recv()
        if status == "ok" and seconds > timeout:
            status, seconds, cpu, peak, edges = timed_out
    else:
        status, seconds, cpu, peak, edges = timed_out
        proc.kill()
    proc.join()
    if status == "error":
        print(f"  {task}: {edges}", file=sys.stderr)
        ERRORS.append(f"{task}: {edges}")
        edges = None
    return seconds, cpu, peak, edges


def _best(task: str, path: Path, warmup: Path, timeout: float, repeat: int):
    """Best (lowest wall time) of `repeat` runs; a run over 30 s or a timeout is not repeated."""
    best = None
    for _ in range(repeat):
        res = _run(task, path, warmup, timeout)
        if best is None or res[0] < best[0]:
            best = res
        if not res[0] < 30:
            break
    return best


# --------------------------------------------------------------------------------------
# districts
# --------------------------------------------------------------------------------------
def _sample_version() -> str:
    """A hash of the source of the module that draws the sample district (wherever it lives)."""
    from spatialreno.sample import sample_district

    src = Path(inspect.getsourcefile(sample_district)).read_bytes()
    return hashlib.sha1(src).hexdigest()[:10]


def _district(n: int, seed: int, cache_dir: Path, fresh: bool) -> tuple[Path, float]:
    """Path of the pickled (compounds, barriers) of a sample district, drawn if needed."""
    from spatialreno.sample import sample_district

    t0 = time.perf_counter()
    path = cache_dir / f"district-{n}-{seed}-{_sample_version()}.pkl"
    if fresh or not path.exists():
        d = sample_district(n, seed=seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps((d.compounds, d.barriers), protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
    return path, time.perf_counter() - t0


def _set_data(path: str) -> None:
    compounds, barriers = pickle.loads(Path(path).read_bytes())
    _DATA.clear()
    _DATA.update(compounds=compounds, barriers=barriers)


def _fmt_cell(res) -> str:
    seconds, _cpu, peak, _edges = res
    if not np.isfinite(seconds):
        return fmt_seconds(seconds)
    return f"{fmt_seconds(seconds)} ({peak:,.0f} MB)"


def _fmt_edges(res) -> str:
    return f"{res[3]:,}" if res[3] is not None else "–"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 200000])
    ap.add_argument("--quick", action="store_true", help="2,000 and 20,000 compounds, one run each")
    ap.add_argument(
        "--tolerance", type=float, default=15.0, help="gap bridged, m (libpysal buffer = half)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per method (best kept; one if over 30 s)"
    )
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per method and size")
    ap.add_argument("--no-cache", action="store_true", help="draw the districts afresh")
    ap.add_argument("--out", help="also write the markdown table to this file")
    ap.add_argument("--clock", choices=CLOCKS, default="wall",
                    help="seconds in the table: wall clock, or the method process's CPU time "
                         "(steadier on a shared machine)")
    args = ap.parse_args(argv)
    sizes = [2000, 20000] if args.quick else args.sizes
    repeat = 1 if args.quick else args.repeat
    TOL[0] = args.tolerance

    if args.no_cache:
        with tempfile.TemporaryDirectory(prefix="spatialreno-bench-") as tmp:
            return _bench(args, sizes, repeat, Path(tmp))
    return _bench(args, sizes, repeat, Path(tempfile.gettempdir()) / "spatialreno-bench")


def _bench(args, sizes: list[int], repeat: int, cache_dir: Path) -> int:
    import libpysal

    warmup, _ = _district(200, args.seed, cache_dir, fresh=False)
    print(
        f"python {sys.version.split()[0]}, geopandas {gpd.__version__}, shapely {shapely.__version__} "
        f"(GEOS {shapely.geos_version_string}), libpysal {libpysal.__version__}, "
        f"{os.cpu_count()} cores; tolerance {TOL[0]:g} m (libpysal buffer {TOL[0] / 2:g} m)",
        file=sys.stderr,
    )
    header = (
        "| compounds | spatialreno s (MB) | edges (cut by barriers) | spatialreno, no barriers s (MB) "
        "| libpysal Graph.build_fuzzy_contiguity s (MB) | libpysal weights.fuzzy_contiguity s (MB) "
        "| libpysal edges | ratio, same work (no barriers) | ratio, ours with barriers |"
    )
    sep = "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"
    rows = []
    for n in sizes:
        path, t_load = _district(n, args.seed, cache_dir, fresh=args.no_cache)
        print(f"n={n}: district ready in {t_load:.1f} s ({path})", file=sys.stderr)
        res = {task: _best(task, path, warmup, args.timeout, repeat) for task in TASKS}
        for task, (s, cpu, mb, e) in res.items():
            print(
                f"  {task:26s} {fmt_seconds(s):>8s} s  cpu {fmt_seconds(cpu):>8s} s  {mb:8.0f} MB  "
                f"{e if e is not None else '-'} edges",
                file=sys.stderr,
            )
        if args.clock == "cpu":
            res = {task: (cpu, cpu, mb, e) for task, (_s, cpu, mb, e) in res.items()}
        rows.append(_row(n, res, args.timeout))
    table = "\n".join([header, sep, *rows])
    print(table)
    print(
        f"\n{CLOCKS[args.clock]} (peak resident memory rise), best of {repeat} runs (one for runs "
        f"over 30 s). Tolerance {TOL[0]:g} m; libpysal buffer {TOL[0] / 2:g} m. "
        "ratio = fastest libpysal builder's time / spatialreno's (above 1: spatialreno is "
        "faster); 'same work' compares with spatialreno without barriers (libpysal has none)."
    )
    if args.out:
        Path(args.out).write_text(table + "\n", encoding="utf-8")
    if ERRORS:
        print("\nerrors (shown as 'error' in the table):\n  " + "\n  ".join(ERRORS),
              file=sys.stderr)
    return 1 if ERRORS else 0


def _ratio(theirs: float, ours: float, timeout: float) -> str:
    """``theirs / ours`` as shown in the table; a bound when theirs timed out."""
    if not np.isfinite(ours) or np.isnan(theirs):
        return "–"
    if theirs == float("inf"):
        return f"> {timeout / ours:.1f}"
    return f"{theirs / ours:.1f}×"


def _row(n: int, res: dict, timeout: float) -> str:
    ours, nob = res["spatialreno"], res["spatialreno (no barriers)"]
    lg, lw = res["libpysal Graph"], res["libpysal W"]
    fastest = min(lg[0], lw[0])
    cut = nob[3] - ours[3] if ours[3] is not None and nob[3] is not None else None
    lp_edges = lg[3] if lg[3] is not None else lw[3]
    return (
        f"| {n:,} | {_fmt_cell(ours)} | {_fmt_edges(ours)} ({cut if cut is not None else '–'}) "
        f"| {_fmt_cell(nob)} | {_fmt_cell(lg)} | {_fmt_cell(lw)} "
        f"| {f'{lp_edges:,}' if lp_edges is not None else '–'} "
        f"| {_ratio(fastest, nob[0], timeout)} | {_ratio(fastest, ours[0], timeout)} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
