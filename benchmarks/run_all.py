"""Run every benchmark in turn (``make bench``); each prints its own markdown table.

    python benchmarks/run_all.py [--quick] [--only adjacency.py overlay.py]

``--quick`` runs every benchmark at its smallest sizes (a few minutes in all): the sample
generator and the review map at 200 and 2,000 compounds, adjacency at 2,000 and 20,000,
overlays at 200 and 2,000, the packaging contenders on the 200- and 2,073-compound
districts and the Wuxi parcels, the main job at 200 compounds. Without it every benchmark
runs at its default sizes (up to 200,000 compounds: hours). A benchmark that fails makes
the exit status 1 and is named at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: script → its arguments in quick mode (the full run uses each script's defaults)
BENCHMARKS: dict[str, list[str]] = {
    "sample.py": ["200", "2000"],
    "adjacency.py": ["--quick"],
    "partition.py": ["--quick"],
    "overlay.py": ["--quick"],
    "map_size.py": ["--sizes", "200", "2000"],
    "plan.py": ["--sizes", "200"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes only")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="SCRIPT",
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    failed = []
    for script in args.only or BENCHMARKS:
        print(f"\n## {script}\n", flush=True)
        extra = BENCHMARKS[script] if args.quick else []
        code = subprocess.call([sys.executable, str(HERE / script), *extra])
        if code:
            failed.append(f"{script} (exit {code})")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
