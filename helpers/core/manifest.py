"""The prepared set: notebook 01's three files, replaced as one, and the manifest that says which run
wrote them.

`write_set` writes every file to a temporary name first (a full disk or a crash there replaces
nothing), marks the manifest "being replaced", renames the files into place (a rename that fails
puts the previous files and manifest back) and completes `prepared/manifest.json` last: run id, source,
subreddits, months, rows and sha256 of each file. `verify` (called by `exchange.read_table` for
these files) checks a file against the manifest, so notebooks 02-05 know which run made what they
read, and a set that is not one run's (a crash between the renames, a file copied in by hand) is
an error instead of a silent mix. `seen()` lists what this process read; run summaries carry it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from helpers.core.files import atomic_path, write_json
from helpers.core.paths import Paths

PREPARED = ("gpt2_finetune", "gpt2_generate", "bert_real")
_SEEN: dict[str, dict] = {}  # key -> {"run_id", "rows", "ok"} of the prepared files read by this process
_HASHES: dict[tuple, str] = {}  # (path, size, mtime_ns) -> sha256: a file read twice is hashed once


class PreparedSetError(RuntimeError):
    """A prepared file does not belong to the set its manifest describes."""


def sha256(path: Path) -> str:
    stat = path.stat()
    cache_key = (str(path), stat.st_size, stat.st_mtime_ns)
    if cache_key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
        _HASHES[cache_key] = digest.hexdigest()
    return _HASHES[cache_key]


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def write_set(checked: dict[str, tuple[Path, pd.DataFrame]], paths: Paths, about: dict | None = None) -> dict:
    """Write the prepared tables (key -> (its path, the table checked against its schema)) as one
    set, then the manifest; returns the manifest."""
    tables = {key: table for key, (_, table) in checked.items()}
    manifest = {"run_id": new_run_id(), "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                **(about or {}), "files": {}}
    if "bert_real" in tables and "subreddit" in tables["bert_real"]:
        manifest["subreddits_in_data"] = sorted(tables["bert_real"]["subreddit"].dropna().astype(str).unique().tolist())
    manifest_path = paths.file("prepared_manifest")
    previous = manifest_path.read_bytes() if manifest_path.is_file() else None
    written: dict[str, tuple[Path, Path]] = {}
    try:
        for key, (path, table) in checked.items():  # every file is written before any is renamed into place
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            written[key] = (path, Path(tmp))
            table.to_csv(tmp, index=False)
            os.chmod(tmp, 0o644)
            manifest["files"][key] = {"path": paths.relative(path), "rows": len(table), "bytes": Path(tmp).stat().st_size,
                                      "sha256": sha256(Path(tmp))}
        # before the renames: a manifest saying the set is being replaced, so that a process killed between
        # them is seen by every reader (and not taken for the old set or for a set without manifest)
        write_json(manifest_path, {**manifest, "complete": False})
        _swap_in(written.values(), manifest_path, previous)
        manifest["complete"] = True
        write_json(manifest_path, manifest)
    finally:
        for _, tmp in written.values():
            if tmp.exists():
                tmp.unlink()
    return manifest


def _swap_in(files, manifest_path: Path, previous: bytes | None):
    """Rename each (path, tmp) into place, the old file kept aside; if a rename fails, put every old file
    and the old manifest back (the previous set stays usable) and raise."""
    moved: list[tuple[Path, Path | None]] = []
    try:
        for path, tmp in files:
            backup = path.with_name(f".{path.name}.previous") if path.exists() else None
            if backup is not None:  # a copy: the file is never missing, even if the process dies here
                shutil.copy2(path, backup)
            moved.append((path, backup))
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(BaseException):  # a process that is going away may not finish this
            for path, backup in reversed(moved):
                if backup is not None and backup.exists():
                    os.replace(backup, path)
                elif backup is None and path.exists():
                    path.unlink()
            if previous is None:
                manifest_path.unlink()
            else:
                with atomic_path(manifest_path) as tmp:
                    tmp.write_bytes(previous)
        raise
    for _, backup in moved:
        if backup is not None and backup.exists():
            backup.unlink()


def read(paths: Paths) -> dict | None:
    """The manifest of the prepared set, or None when there is none (files from before manifests)."""
    path = paths.file("prepared_manifest")
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def verify(paths: Paths, key: str) -> dict | None:
    """Check prepared file `key` against the manifest; record what was read (see `seen`).
    Raises PreparedSetError when the file is not the one the manifest's run wrote."""
    path, manifest = paths.file(key), read(paths)
    shown = paths.relative(path)
    if manifest is None:
        _SEEN[key] = {"run_id": None, "note": "no prepared/manifest.json (written before manifests, or by hand)"}
        return None
    if not manifest.get("complete", True):
        raise PreparedSetError(
            f"notebook 01's run {manifest.get('run_id')} stopped while replacing the prepared files, so {shown} may be "
            f"from another run than the others. Rerun 01_pull_data.")
    entry = manifest.get("files", {}).get(key)
    if entry is None or sha256(path) != entry.get("sha256"):
        raise PreparedSetError(
            f"{shown} is not the file notebook 01's run {manifest.get('run_id')} wrote (prepared/manifest.json lists "
            f"another): the prepared set is mixed, e.g. 01 stopped while replacing it or a file was copied in by hand. "
            f"Rerun 01_pull_data; if you changed the file on purpose, delete prepared/manifest.json.")
    _SEEN[key] = {"run_id": manifest.get("run_id"), "rows": entry.get("rows"), "source": manifest.get("source"),
                  "written": manifest.get("written")}
    return manifest


def seen() -> dict:
    """The prepared files this process read, with the run that wrote them (for run summaries)."""
    return {key: dict(value) for key, value in _SEEN.items()}


def untrained_subreddits(paths: Paths, subreddits) -> list[str] | None:
    """The names in `subreddits` that the prepared set has no pairs from (any case, 'r/' allowed);
    None when there is no manifest to tell."""
    from helpers.core.reddit_terms import check_subreddits

    found = read(paths)
    if not found or "subreddits_in_data" not in found:
        return None
    known = {s.lower() for s in found["subreddits_in_data"]}
    return [s for s in check_subreddits(subreddits) if s.lower() not in known]
