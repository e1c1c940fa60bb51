"""The main job end to end: `spatialreno plan CONFIG.toml` on a district written to files.

    python benchmarks/plan.py [--sizes 200 2073] [--seed 0]

For each size: write a sample district as a GeoPackage, write a config pointing at it,
run the command line (read → validate → overlay → costing → adjacency → partition →
funding → phasing → map + bundle + workbook) in a fresh process and time it (imports
included: that is what a user waits for); then time each stage in-process, after a
small untimed plan has loaded every module. Pipe ages are counted to a fixed year
(``as_of_year``), so the rows do not change with the date. Goal (issue 9): 2,073
compounds in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

CONFIG = """
[inputs]
compounds = "district/sample_district.gpkg::compounds"
illegal = "district/sample_district.gpkg::illegal"
gas = "district/sample_district.gpkg::gas"
barriers = "district/sample_district.gpkg::barriers"
admin = "district/sample_district.gpkg::admin"
roads = "district/sample_district.gpkg::roads"

[overlay]
as_of_year = {as_of_year}

[adjacency]
tolerance_m = 15
boundary = "street"

[packages]
limits = {{ compounds = [2, 8], households = [0, 6000], cost_total = [0, 6000] }}

[phasing]
budgets = {{ 2025 = {budget}, 2026 = {budget}, 2027 = {budget} }}

[export]
out_dir = "out"
"""
#: the year pipe ages are counted to: explicit, so the plan is the same next year
AS_OF_YEAR = 2024
#: a 50-compound plan is run in-process first (untimed), so stages do not pay for imports
WARMUP_COMPOUNDS = 50
#: exit statuses of `spatialreno plan` that mean it ran (4: a package breaks a limit)
CLI_OK = (0, 4)


def _write_district(folder: Path, n: int, seed: int) -> Path:
    """A sample district as a GeoPackage in ``folder`` and the config pointing at it."""
    import spatialreno as sr
    from spatialreno.sample import write_sample

    write_sample(folder / "district", sr.sample_district(n, seed=seed))
    cfg = folder / "district.toml"
    cfg.write_text(CONFIG.format(budget=max(30000, n * 200), as_of_year=AS_OF_YEAR),
                   encoding="utf-8")
    return cfg


def _time_cli(cfg: Path) -> float:
    """Seconds of ``spatialreno plan CONFIG`` in a fresh process (imports included)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spatialreno", "plan", str(cfg)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in CLI_OK:
        raise SystemExit(f"spatialreno plan failed (exit {proc.returncode}):\n{proc.stderr}")
    return seconds


def _time_stages(cfg: Path, out_dir: Path) -> tuple[int, dict[str, float]]:
    """The package count and the seconds of every stage, in this process: the same stages
    as the command line, then the outputs (map + bundle + workbook)."""
    from spatialreno.plan import Plan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = Plan.from_config(cfg).run(progress=False)
        stages = dict(plan.timings)
        t0 = time.perf_counter()
        plan.write_outputs(out_dir)
        stages["map + bundle + workbook"] = time.perf_counter() - t0
    return len(plan.packages), stages


def run(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _write_district(Path(tmp), n, seed)
        cli_s = _time_cli(cfg)
        packages, stages = _time_stages(cfg, Path(tmp) / "out2")
    return {"n": n, "cli_s": cli_s, "packages": packages, **stages}


def _warm_up(seed: int) -> None:
    """One small plan in this process first, so no stage's time includes its imports."""
    with tempfile.TemporaryDirectory() as tmp:
        _time_stages(_write_district(Path(tmp), WARMUP_COMPOUNDS, seed), Path(tmp) / "out")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 2073])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    _warm_up(args.seed)
    for i, n in enumerate(args.sizes):  # each row as soon as it is measured
        r = run(n, args.seed)
        keys = [k for k in r if k not in ("n", "cli_s", "packages")]
        if i == 0:
            print("| compounds | packages | `spatialreno plan` (s) | " + " | ".join(keys) + " |")
            print("|---|---|---|" + "---|" * len(keys))
        print(f"| {r['n']:,} | {r['packages']} | {r['cli_s']:.1f} | "
              + " | ".join(f"{r[k]:.2f}" for k in keys) + " |", flush=True)


if __name__ == "__main__":
    main()
