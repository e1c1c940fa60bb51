"""Output folders that never lose a user's file: one atomic folder writer for every output.

Every folder spatialreno writes (the outputs of a plan, an export bundle, a sample district)
goes through :class:`OutputFolder`::

    folder = OutputFolder(out_dir, overwrite=False, inputs=[...], kind="outputs")
    folder.check()                 # before any work: refused here or never
    with folder as staging:        # a fresh hidden folder on the same file system
        write(staging / "review_map.html")
        ...
    # committed: staging's entries are now in out_dir, with manifest.json listing them

What it guarantees:

* Nothing is deleted that spatialreno did not write. ``manifest.json`` in the folder lists
  the top-level entries a run wrote (``entries``); ``overwrite=True`` replaces exactly those
  and leaves every other file in the folder alone. An existing folder that is not empty and
  has no spatialreno manifest is refused, and so is a new entry whose name a user's file
  already has.
* An input file is never a target: ``out_dir`` may not be an input, nor may an input lie in
  an entry that the run would replace.
* Atomic with rollback: entries are staged in a hidden folder and renamed into place; if a
  rename fails, the previous entries are put back. On any failure the staging folder is
  removed. A run killed with ``kill -9`` leaves a staging folder with a marker naming its
  process; the next run for the same folder removes it when that process is gone (it only
  ever holds spatialreno's own files) and names any backup of previous outputs it finds.
* Files and folders get the user's umask (``tempfile`` would make them private, 0700/0600,
  so colleagues on a shared server could not open them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Literal

from .errors import OutputFolderError, SpatialRenoWarning

__all__ = ["OutputFolder", "atomic_path", "atomic_file", "atomic_write_bytes", "owned_entries", "MANIFEST_NAME",
           "user_mode"]

MANIFEST_NAME = "manifest.json"
#: manifest ``format`` values spatialreno writes
FORMATS = ("spatialreno-bundle", "spatialreno-outputs", "spatialreno-sample")
_STAGING_PREFIX = ".spatialreno-staging-"
_BACKUP_PREFIX = ".spatialreno-backup-"
_MARKER = ".spatialreno-run.json"

#: what version 0.1 wrote without a manifest, by folder kind (recognised, never guessed)
_LEGACY = {
    "spatialreno-outputs": {"review_map.html", "bundle", "audit.csv", "violations.csv",
                            "summary.txt"},
}

Interface = Literal["python", "cli"]


# --------------------------------------------------------------------------------------
# permissions
# --------------------------------------------------------------------------------------
def _umask() -> int:
    """The process umask, read without changing it (Linux: /proc); 0o022 if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def user_mode(*, folder: bool) -> int:
    """The mode a plain ``open``/``mkdir`` would give: 0o666 or 0o777 less the umask."""
    return (0o777 if folder else 0o666) & ~_umask()


def _chmod(path: Path, *, folder: bool) -> None:
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.chmod(path, user_mode(folder=folder))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """The one atomic file writer: a temporary path beside ``path`` to write to (by any
    writer, GDAL included); on success it is fsync'd, given the user's umask and renamed
    onto ``path`` (``os.replace``), so a reader never sees half a file; on failure it is
    removed and ``path`` is left as it was.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from spatialreno._outdir import atomic_path
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['a.txt'])
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        _chmod(tmp, folder=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                newline: str | None = None) -> Iterator[IO]:
    """An open file whose content replaces ``path`` atomically when the block ends
    without error (:func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding, newline=newline) as fh:
        yield fh


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


# --------------------------------------------------------------------------------------
# manifests
# --------------------------------------------------------------------------------------
def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owned_entries(folder: str | os.PathLike) -> set[str] | None:
    """The top-level entries of ``folder`` that spatialreno wrote, or None when the folder
    is not one of spatialreno's (no manifest of ours, and not a recognised 0.1 layout).

    The manifest itself is included. An empty folder owns nothing (an empty set)."""
    folder = Path(folder)
    names = {p.name for p in folder.iterdir()}
    if not names:
        return set()
    manifest = _read_json(folder / MANIFEST_NAME) if MANIFEST_NAME in names else None
    if manifest is not None and manifest.get("format") in FORMATS:
        entries = manifest.get("entries")
        if isinstance(entries, list) and all(isinstance(e, str) for e in entries):
            owned = {e for e in entries if e and "/" not in e and e not in (".", "..")}
        else:  # a 0.1 bundle manifest: its files' first path parts
            files = manifest.get("files") or []
            owned = {str(f.get("path", "")).split("/")[0] for f in files if isinstance(f, dict)}
            owned.discard("")
        return (owned | {MANIFEST_NAME}) & names
    # version 0.1 wrote plan outputs without a top-level manifest
    legacy = _LEGACY["spatialreno-outputs"]
    bundle_manifest = _read_json(folder / "bundle" / MANIFEST_NAME)
    if (names & legacy and bundle_manifest is not None
            and bundle_manifest.get("format") == "spatialreno-bundle"):
        return names & legacy
    return None


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _resolve(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _input_paths(inputs: Iterable) -> list[Path]:
    """Input specs (paths, ``FILE:LAYER``, GeoDataFrames) → resolved file paths."""
    out = []
    for spec in inputs:
        if spec is None or not isinstance(spec, str | os.PathLike):
            continue
        text = os.fspath(spec)
        candidates = [text]
        head, sep, _ = text.rpartition(":")
        if sep and head and len(head) > 1:  # FILE:LAYER (not a Windows drive letter)
            candidates.append(head)
        for c in candidates:
            p = _resolve(c)
            if p.exists():
                out.append(p)
                if p.suffix.lower() == ".shp":   # its sidecars live beside it
                    out.extend(q for q in p.parent.glob(p.stem + ".*") if q != p)
                break
    return out


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


# --------------------------------------------------------------------------------------
# the writer
# --------------------------------------------------------------------------------------
class OutputFolder:
    """Write a folder of outputs safely (see the module docstring).

    Parameters
    ----------
    out_dir : path
        The folder to create or update. ``"."`` works (the current folder).
    overwrite : bool
        Replace the entries an earlier spatialreno run wrote there (only those).
    inputs : iterable of paths or ``FILE:LAYER`` specs
        Files the run reads; none of them may be a target.
    kind : {"outputs", "bundle", "sample"}
        The manifest ``format`` (``spatialreno-<kind>``).
    expected : sequence of str
        The top-level names the run will write (checked against user files up front).
    interface : {"python", "cli"}
        Whether messages name Python arguments (``overwrite=True``) or CLI options
        (``--overwrite``).
    """

    def __init__(self, out_dir: str | os.PathLike, *, overwrite: bool = False,
                 inputs: Iterable = (), kind: str = "outputs",
                 expected: Sequence[str] = (), interface: Interface = "python"):
        self.given = os.fspath(out_dir)
        self.path = _resolve(out_dir)
        self.overwrite = bool(overwrite)
        self.inputs = _input_paths(inputs)
        self.format = f"spatialreno-{kind}"
        self.expected = tuple(expected)
        self.interface = interface
        self.notes: list[str] = []
        self.staging: Path | None = None
        self.manifest: dict = {}

    # --- messages ---------------------------------------------------------------------
    def _opt(self, what: str) -> str:
        names = {"overwrite": ("overwrite=True", "--overwrite"),
                 "out": ("out_dir", "--out")}[what]
        return names[1] if self.interface == "cli" else names[0]

    def _fail(self, message: str) -> OutputFolderError:
        return OutputFolderError(f"{self.given}: {message}")

    # --- checks -----------------------------------------------------------------------
    def check(self) -> OutputFolder:
        """Refuse a target that would lose or replace a user's file; call before any work.

        Also removes staging folders left by killed runs of this folder and names backups
        of previous outputs that an interrupted run left behind."""
        path = self.path
        for inp in self.inputs:
            if inp == path:
                raise self._fail(
                    f"this is an input file of the run; {self._opt('out')} must be a folder "
                    "for the outputs, e.g. a new folder beside the inputs.")
        if path.exists() and not path.is_dir():
            raise self._fail(
                f"exists and is a file, not a folder; choose a folder for {self._opt('out')}.")
        self._clean_stale()
        owned = self._owned()
        if owned is None:
            raise self._fail(
                "exists, is not empty and was not written by spatialreno (no spatialreno "
                f"{MANIFEST_NAME}); nothing in it is replaced. Choose a new or empty folder "
                f"for {self._opt('out')}.")
        if owned - {MANIFEST_NAME} and not self.overwrite:
            raise self._fail(
                f"holds the outputs of an earlier run ({', '.join(sorted(owned))}); rerun with "
                f"{self._opt('overwrite')} to replace them (only spatialreno's own files are "
                "replaced; other files in the folder are kept), or choose another folder.")
        if path.is_dir():
            present = {p.name for p in path.iterdir()}
            clash = sorted((set(self.expected) | {MANIFEST_NAME}) & present - owned)
            if clash:
                raise self._fail(
                    f"already holds {', '.join(clash)}, which spatialreno did not write; not "
                    "replacing a file of yours. Move it, or choose another folder.")
        for inp in self.inputs:
            for entry in owned | set(self.expected):
                if _is_within(inp, path / entry):
                    raise self._fail(
                        f"the input {inp} lies in {path / entry}, which this run would "
                        "replace; copy the input elsewhere or choose another folder for "
                        f"{self._opt('out')}.")
        return self

    def _owned(self) -> set[str] | None:
        if not self.path.is_dir():
            return set()
        names = {p.name for p in self.path.iterdir()
                 if not p.name.startswith((_STAGING_PREFIX, _BACKUP_PREFIX))}
        if not names:
            return set()
        owned = owned_entries(self.path)
        if owned is None:
            return None
        manifest = _read_json(self.path / MANIFEST_NAME)
        if manifest is not None and manifest.get("format") in set(FORMATS) - {self.format}:
            raise self._fail(
                    f"holds a {manifest.get('format')} folder, not {self.format}; choose "
                    "another folder.")
        return owned

    def _clean_stale(self) -> None:
        host = socket.gethostname()
        places = [self.path.parent] + ([self.path] if self.path.is_dir() else [])
        for place in places:
            try:
                children = list(place.iterdir())
            except OSError:
                continue
            for child in children:
                name = child.name
                legacy = name.startswith((f".{self.path.name}.tmp-", f".{self.path.name}.old-"))
                if not (name.startswith((_STAGING_PREFIX, _BACKUP_PREFIX)) or legacy):
                    continue
                if not child.is_dir():
                    continue
                marker = _read_json(child / _MARKER)
                if marker is None or marker.get("target") != str(self.path):
                    if legacy:
                        self._note(f"{child} looks like a temporary folder left by an "
                                   "interrupted spatialreno 0.1 run; it is not removed "
                                   "automatically. Delete it if you do not need it.")
                    continue
                pid = marker.get("pid")
                if marker.get("host") != host or not isinstance(pid, int) or _process_alive(pid):
                    continue
                if marker.get("role") == "staging":
                    shutil.rmtree(child, ignore_errors=True)
                    self._note(f"removed {child}, a temporary folder left by an interrupted "
                               f"run (process {pid}).")
                else:
                    self._note(f"{child} holds outputs that an interrupted run (process {pid}) "
                               "was replacing; check them against the folder and delete it "
                               "when you no longer need them.")

    def _note(self, text: str) -> None:
        self.notes.append(text)
        warnings.warn(text, SpatialRenoWarning, stacklevel=4)

    # --- writing ----------------------------------------------------------------------
    def _mkdir_marked(self, where: Path, prefix: str, role: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix=prefix, dir=where))
        _chmod(d, folder=True)
        marker = {"role": role, "target": str(self.path), "pid": os.getpid(),
                  "host": socket.gethostname()}
        (d / _MARKER).write_text(json.dumps(marker), encoding="utf-8")
        return d

    def __enter__(self) -> Path:
        self.check()
        where = self.path if self.path.is_dir() else self.path.parent
        try:
            where.mkdir(parents=True, exist_ok=True)
            self.staging = self._mkdir_marked(where, _STAGING_PREFIX, "staging")
        except OSError as exc:
            raise self._fail(f"cannot create the folder: {exc.strerror or exc}; choose a "
                             f"folder you can write to for {self._opt('out')}.") from exc
        return self.staging

    def __exit__(self, exc_type, exc, tb) -> bool:
        staging, self.staging = self.staging, None
        if staging is None:
            return False
        if exc_type is not None:
            shutil.rmtree(staging, ignore_errors=True)
            return False
        try:
            self._commit(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return False

    def _commit(self, staging: Path) -> None:
        (staging / _MARKER).unlink()
        entries = sorted(p.name for p in staging.iterdir() if p.name != MANIFEST_NAME)
        manifest = dict(self.manifest)
        if (staging / MANIFEST_NAME).exists():  # the writer's own manifest (a bundle's)
            manifest = {**(_read_json(staging / MANIFEST_NAME) or {}), **manifest}
        manifest.setdefault("format", self.format)
        manifest["entries"] = entries
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                             encoding="utf-8")
        _chmod(staging / MANIFEST_NAME, folder=False)
        try:
            self._swap(staging, [*entries, MANIFEST_NAME])
        except OSError as exc:
            raise self._fail(f"could not move the outputs into place: {exc.strerror or exc}; "
                             "the previous outputs are unchanged.") from exc

    def _swap(self, staging: Path, entries: list[str]) -> None:
        path = self.path
        if not path.exists():
            os.replace(staging, path)
            return
        owned = self._owned() or set()
        clash = sorted(set(entries) & {p.name for p in path.iterdir()} - owned)
        if clash:  # a file of the user's appeared while the run worked
            raise self._fail(f"{', '.join(clash)} appeared in the folder during the run; not "
                             "replacing a file of yours. Move it and run again.")
        backup = self._mkdir_marked(path, _BACKUP_PREFIX, "backup")
        moved_out: list[str] = []
        moved_in: list[str] = []
        try:
            for name in sorted(owned):
                os.replace(path / name, backup / name)
                moved_out.append(name)
            for name in entries:
                os.replace(staging / name, path / name)
                moved_in.append(name)
        except BaseException:
            for name in moved_in:   # ours, just written: back to staging (removed by caller)
                with contextlib.suppress(OSError):
                    os.replace(path / name, staging / name)
            for name in moved_out:
                with contextlib.suppress(OSError):
                    os.replace(backup / name, path / name)
            with contextlib.suppress(OSError):
                (backup / _MARKER).unlink()
                backup.rmdir()
            raise
        shutil.rmtree(backup, ignore_errors=True)
        staging.rmdir()

