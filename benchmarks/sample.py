"""Time and peak memory of ``sample_district`` at large sizes (default 200 000 compounds).

Run with ``python benchmarks/sample.py [N ...] [--seed S]``; prints one line per size:
wall time, the peak rise of the process's resident memory during that call, and the row
count of every layer. A 50-compound district is drawn first (untimed) so that imports
and first-call costs are not charged to the first size; the memory high-water mark is
reset before each size (``/proc/self/clear_refs``), so a later size does not inherit an
earlier one's peak. The target is under a minute for 200 000 compounds.
"""

from __future__ import annotations

import argparse
import time

from _measure import peak_mb, reset_peak, trim

from spatialreno.sample import sample_district

WARMUP_COMPOUNDS = 50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[200_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sample_district(WARMUP_COMPOUNDS, seed=args.seed)
    for n in args.sizes:
        trim()
        base = reset_peak()
        start = time.perf_counter()
        district = sample_district(n, seed=args.seed)
        elapsed = time.perf_counter() - start
        peak = peak_mb(base)
        rows = ", ".join(f"{kind}={len(gdf):,}" for kind, gdf in district.layers().items())
        print(f"sample_district({n:,}, seed={args.seed}): {elapsed:.1f} s, "
              f"peak memory rise {peak:,.0f} MB; {rows}", flush=True)
        del district
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
