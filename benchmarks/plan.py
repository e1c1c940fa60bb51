"""The main job end to end: `spatialreno plan CONFIG.toml` on a district written to files.

    python benchmarks/plan.py [--sizes 200 2073] [--seed 0]

For each size: write a sample district as a GeoPackage, write a config pointing at it,
run the command line (read → validate → overlay → costing → adjacency → partition →
funding → phasing → map + bundle + workbook) in a fresh process and time it; then time
each stage in-process. Goal (issue 9): 2,073 compounds in under 60 s on a 2-core machine.
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


def run(n: int, seed: int) -> dict:
    import spatialreno as sr
    from spatialreno.plan import Plan
    from spatialreno.sample import write_sample

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_sample(tmp / "district", sr.sample_district(n, seed=seed))
        cfg = tmp / "district.toml"
        cfg.write_text(CONFIG.format(budget=max(30000, n * 200)), encoding="utf-8")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "spatialreno", "plan", str(cfg)],
                              capture_output=True, text=True)
        cli_s = time.perf_counter() - t0
        if proc.returncode not in (0, 4):
            raise SystemExit(f"spatialreno plan failed:\n{proc.stderr}")
        stages = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = Plan.from_config(cfg).run(progress=False)  # the same stages as the CLI
            stages.update(plan.timings)
            t = time.perf_counter()
            plan.write_outputs(tmp / "out2")
            stages["map + bundle + workbook"] = time.perf_counter() - t
        return {"n": n, "cli_s": cli_s, "packages": len(plan.packages), **stages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 2073])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = [run(n, args.seed) for n in args.sizes]
    keys = [k for k in rows[0] if k not in ("n", "cli_s", "packages")]
    print("| compounds | packages | `spatialreno plan` (s) | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for r in rows:
        print(f"| {r['n']:,} | {r['packages']} | {r['cli_s']:.1f} | "
              + " | ".join(f"{r[k]:.2f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
