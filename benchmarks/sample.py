"""Time and peak memory of ``sample_district`` at large sizes (default 200 000 compounds).

Run with ``python benchmarks/sample.py [N ...] [--seed S]``; prints one line per size:
wall time, peak resident memory of the process, and the row count of every layer.
The target is under a minute for 200 000 compounds.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from spatialreno.sample import sample_district


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[200_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for n in args.sizes:
        start = time.perf_counter()
        district = sample_district(n, seed=args.seed)
        elapsed = time.perf_counter() - start
        rows = ", ".join(f"{kind}={len(gdf):,}" for kind, gdf in district.layers().items())
        print(
            f"sample_district({n:,}, seed={args.seed}): {elapsed:.1f} s, "
            f"peak RSS {_peak_rss_mb():,.0f} MB; {rows}",
            flush=True,
        )
        del district
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
