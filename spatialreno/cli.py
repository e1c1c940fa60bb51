"""The ``spatialreno`` command line: sample, check, plan, demo.

Errors that spatialreno raises on purpose (bad files, bad config, infeasible limits) print
one line on stderr and exit 1; ``--debug`` shows the traceback. Usage errors exit 2.
"""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
import warnings
from pathlib import Path

from . import __version__
from .errors import SpatialRenoError

__all__ = ["main"]

_EPILOG = """\
examples:
  spatialreno demo --out demo_output
      run the whole pipeline on the bundled sample district (map, bundle, workbook, audit)
  spatialreno plan district.toml --out results
      run a plan described by a TOML config (see README, "Config reference")
  spatialreno plan --compounds compounds.shp --illegal illegal.gpkg --gas gas.gpkg \\
                   --barriers roads.gpkg --as-of-year 2025 --out results
      the same with defaults for everything but the input files (pipe ages count to 2025)
  spatialreno sample my_district --n 2000 --seed 1
      write a synthetic district (GeoPackage + GBK shapefiles)
  spatialreno check compounds.shp illegal.gpkg:illegal --kind compounds
      read and validate files, print the problem table (exit 3 when problems are found)
"""


def _add_plan_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--compounds", metavar="FILE", help="compound polygons (小区)")
    p.add_argument("--illegal", metavar="FILE", help="illegal structures (违法建设)")
    p.add_argument("--gas", metavar="FILE", help="gas network segments (燃气管网)")
    p.add_argument("--barriers", metavar="FILE", help="arterials, rivers, railways")
    p.add_argument("--admin", metavar="FILE", help="administrative areas (区/街道)")
    p.add_argument("--roads", metavar="FILE", help="lanes with width_m, for the fire-lane check")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spatialreno",
        description="Contiguous area packages (片区) for old-compound renovation (老旧小区改造).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"spatialreno {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("sample", help="write the synthetic sample district",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  spatialreno sample my_district --n 200 --seed 0")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--n", type=int, default=200, help="number of compounds (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true",
                   help="replace a sample an earlier run wrote there (only its own files)")

    p = sub.add_parser("check", help="read and validate layers, print the problem table",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  spatialreno check gis_data/shp/compounds.shp\n"
                              "  spatialreno check district.gpkg:illegal --kind illegal")
    p.add_argument("files", nargs="+", help="files; FILE:LAYER picks a layer of a GeoPackage")
    p.add_argument("--kind", default=None,
                   choices=["compounds", "illegal", "gas", "barriers", "admin", "roads"],
                   help="layer kind (default: guessed from the layer or file name, else compounds)")
    p.add_argument("--crs", default=None, help="CRS of data whose file has none, e.g. EPSG:4547")
    p.add_argument("--encoding", default=None, help="text encoding of shapefiles, e.g. GBK")
    p.add_argument("--engine", default="pyogrio", choices=["pyogrio", "fiona"])

    p = sub.add_parser("plan", help="run a plan from a TOML config or from input files",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    p.add_argument("config", nargs="?", type=Path, help="TOML config (optional)")
    _add_plan_inputs(p)
    p.add_argument("--out", type=Path, help="output folder (map, bundle, workbook, audit)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of an earlier run in --out (only the files "
                        "spatialreno wrote there; other files are kept)")
    p.add_argument("--lang", default=None, choices=["zh", "en"], help="language of outputs")
    _add_as_of_year(p)

    p = sub.add_parser("demo", help="run the whole pipeline on the bundled sample district",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  spatialreno demo --out demo_output")
    p.add_argument("--out", type=Path, default=Path("demo_output"), help="output folder")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of an earlier demo in --out (only its own files)")
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    _add_as_of_year(p)
    return parser


def _add_as_of_year(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of-year", type=int, default=None, metavar="YEAR",
                   help="year gas pipe ages are counted to ([overlay] as_of_year; default: "
                        "the config's, else the first [phasing] budgets year)")


_KIND_HINTS = {
    "compounds": ("compound", "小区", "cmp", "xq"),
    "illegal": ("illegal", "违建", "违法", "wj"),
    "gas": ("gas", "燃气", "pipe", "管"),
    "barriers": ("barrier", "障碍", "arterial"),
    "admin": ("admin", "行政", "街道", "district"),
    "roads": ("road", "道路", "lane"),
}


def _guess_kind(spec: str) -> str:
    name = Path(spec).name.lower()
    for kind, hints in _KIND_HINTS.items():
        if any(h in name for h in hints):
            return kind
    return "compounds"


def _cmd_sample(args) -> int:
    from ._outdir import OutputFolder
    from .sample import sample_district, write_sample

    OutputFolder(args.out, overwrite=args.overwrite, kind="sample",
                 expected=("sample_district.gpkg", "shp"), interface="cli").check()
    district = sample_district(args.n, seed=args.seed)
    paths = write_sample(args.out, district, overwrite=args.overwrite, interface="cli")
    print(f"wrote a district of {args.n} compounds (seed {args.seed}) to {args.out}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0


def _cmd_check(args) -> int:
    import pandas as pd

    from .io import read, split_layer_spec
    from .validate import check_layer

    total = 0
    for spec in args.files:
        path, layer = split_layer_spec(spec)
        kind = args.kind or _guess_kind(f"{path}{':' + layer if layer else ''}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = read(path, kind, layer=layer, crs=args.crs, encoding=args.encoding,
                       engine=args.engine)
        gdf = got.frame
        problems = check_layer(gdf, kind)
        total += len(problems)
        print(f"{spec}: {len(gdf)} {kind} rows, CRS {gdf.crs.to_string()}, "
              f"{len(problems)} problem(s)")
        for note in got.notes:
            print(f"  note: {note}")
        for w in caught:
            print(f"  warning: {w.message}")
        if len(problems):
            with pd.option_context("display.max_rows", 200, "display.width", 160,
                                   "display.max_colwidth", 80):
                print(problems.to_string(index=False))
    return 3 if total else 0


def _cmd_plan(args) -> int:
    from .plan import Plan

    if args.config is not None:
        overrides = {k: getattr(args, k) for k in ("compounds", "illegal", "gas", "barriers",
                                                    "admin", "roads") if getattr(args, k)}
        plan = Plan.from_config(args.config, inputs=overrides or None)
    else:
        if not args.compounds:
            raise SystemExit("spatialreno plan: give a CONFIG.toml or at least --compounds FILE")
        plan = Plan.from_files(compounds=args.compounds, illegal=args.illegal, gas=args.gas,
                               barriers=args.barriers, admin=args.admin, roads=args.roads)
    if args.lang:
        plan = plan.with_options(lang=args.lang)
    if args.as_of_year is not None:
        plan = plan.with_options(overlay={"as_of_year": args.as_of_year})
    out = args.out or plan.config.get("export", {}).get("out_dir")
    if out:   # refused here, before any work, or never
        plan.output_folder(out, overwrite=args.overwrite, interface="cli")
    plan = plan.run()
    print(plan.report())
    _print_notes(plan)
    if out:
        written = plan.write_outputs(out, overwrite=args.overwrite, interface="cli")
        print(f"\noutputs in {written}")
    return 0 if not len(plan.violations) else 4


def _print_notes(plan, limit: int = 8) -> None:
    """What reading, adjacency, packaging and funding noticed (the full list is in summary.txt)."""
    if not plan.notes:
        return
    print(f"\nnotes ({len(plan.notes)}; all in summary.txt, every affected row in audit.csv):")
    for note in plan.notes[:limit]:
        text = str(note)
        print(f"  - {text if len(text) <= 200 else text[:197] + '...'}")


def _cmd_demo(args) -> int:
    from .plan import Plan

    plan = Plan.sample().with_options(lang=args.lang)
    if args.as_of_year is not None:
        plan = plan.with_options(overlay={"as_of_year": args.as_of_year})
    plan.output_folder(args.out, overwrite=args.overwrite, interface="cli")
    plan = plan.run()
    print(plan.report())
    _print_notes(plan)
    written = plan.write_outputs(args.out, overwrite=args.overwrite, interface="cli")
    print(f"\noutputs in {written}")
    return 0


def _os_error(exc: OSError) -> str:
    """A file-system error as what happened to which file and what to do."""
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    reason = exc.strerror or str(exc)
    hints = {
        "EACCES": "you lack permission there; choose a folder you can write to or ask its owner",
        "EPERM": "the operation is not permitted there; choose another folder",
        "ENOSPC": "the disk is full; free some space or choose another disk",
        "EROFS": "the disk is read-only; choose a folder on a writable disk",
        "ENOENT": "it does not exist; check the path",
        "EISDIR": "it is a folder where a file was expected; check the path",
        "ENOTDIR": "a part of the path is a file, not a folder; check the path",
    }
    hint = hints.get(errno.errorcode.get(exc.errno or 0, ""), "")
    return f"file system:{where}: {reason}" + (f"; {hint}" if hint else "")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"spatialreno: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"sample": _cmd_sample, "check": _cmd_check, "plan": _cmd_plan,
               "demo": _cmd_demo}[args.command]
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return handler(args)
    except SpatialRenoError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"spatialreno {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"spatialreno {args.command}: error: {_os_error(exc)}", file=sys.stderr)
        return 1
    except ValueError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"spatialreno {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
