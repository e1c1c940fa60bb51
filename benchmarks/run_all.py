"""Run every benchmark in turn (``make bench``); each prints its own markdown table.

    python benchmarks/run_all.py [--quick]

``--quick`` passes ``--quick`` to the benchmarks that have it (small sizes only).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ("sample.py", []),
    ("adjacency.py", ["--quick"]),
    ("partition.py", ["--quick"]),
    ("overlay.py", ["--quick"]),
    ("map_size.py", []),
    ("plan.py", []),
]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for script, quick_args in BENCHMARKS:
        print(f"\n## {script}\n", flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), *(quick_args if quick else [])])
        if code:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
