"""The resumable CSV journal of notebooks 03 and 06: each comment's candidates are appended to the
CSV, and logged in a hidden `.progress` file beside it, as soon as they are written; a rerun skips
the comments already there and cuts off the rows of the one in flight when the last run stopped.

On Drive the journal is kept on the runtime disk and copied to Drive in batches (`DriveBatches`):
an append on the Drive mount is a new revision of the whole file, and one per comment made 1,000 of
them at 03's default."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from helpers.core import drive_sync


@dataclass
class DriveBatches:
    """Where the journal lives on Drive and how often it gets there: the CSV and its log are
    written on the runtime disk (`local_dir`) and copied to `path`'s folder every `every`
    comments or `minutes` of work, whichever comes first, at the end and on an error. A lost
    runtime costs at most that much work; a kernel restart on the same runtime costs nothing."""

    path: Path
    local_dir: Path
    every: int = 100
    minutes: float = 10.0
    usage: drive_sync.DriveUsage = field(default_factory=drive_sync.DriveUsage)

    def working_copy(self) -> drive_sync.WorkingCopy:
        path = Path(self.path)
        return drive_sync.WorkingCopy([path, progress_path(path)], self.local_dir, self.every, self.minutes, self.usage)

    def says(self) -> str:
        return (f"copied to Drive every {self.every} comments or {self.minutes:g} minutes, and at the end: a lost "
                f"runtime costs at most that much; {self.usage.says()}")


def progress_path(out_path: Path) -> Path:
    """The log beside `out_path` that records each finished comment and where its rows end."""
    return out_path.with_name(f".{out_path.name}.progress")


def _append(path: Path, data: bytes) -> int:
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
        return f.tell()


def _log_entries(log: Path) -> list[dict]:
    entries = []
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines(keepends=True):
            if line.endswith("\n"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    break
    return entries


def _start(out_path: Path, columns: list[str], key: str) -> set[str]:
    """Prepare `out_path` for appending; returns the keys already done."""
    import pandas as pd

    from helpers.core.files import atomic_path

    log = progress_path(out_path)
    header = pd.DataFrame(columns=columns).to_csv(index=False).encode("utf-8")  # as the rows are written
    if not out_path.is_file():
        log.unlink(missing_ok=True)
        with atomic_path(out_path) as tmp:
            tmp.write_bytes(header)
        _append(log, (json.dumps({"key": None, "end": len(header)}) + "\n").encode("utf-8"))
        return set()
    with open(out_path, "rb") as f:
        found = f.readline()
    if found != header:
        raise ValueError(f"{out_path} has columns {found.decode('utf-8', 'replace').strip()!r}, "
                         f"not {header.decode().strip()!r}: delete it, or write to another file")
    entries, size = _log_entries(log), out_path.stat().st_size
    if not entries or size < int(entries[-1]["end"]):
        # A file written elsewhere (or a log that is not its own): trust the keys the file holds.
        done = set(pd.read_csv(out_path, dtype=str, keep_default_na=False)[key])
        lines = [{"key": k, "end": size} for k in [None, *sorted(done)]]
        with atomic_path(log) as tmp:
            tmp.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        return done
    end = int(entries[-1]["end"])
    if size > end:  # rows of the comment in flight when the last run stopped
        with open(out_path, "r+b") as f:
            f.truncate(end)
    return {str(e["key"]) for e in entries if e["key"] is not None}


def generate_resumable(engine, items, key: str, comment_col: str, out_path, sampling, *, progress: bool = True):
    """Append each item's candidates to the CSV `out_path` (rows of `items` + `candidate` +
    `candidate_tokens`), skipping keys already there. `sampling` (a `SamplingConfig`) gives the
    candidates per comment and the chain (temperature, top-k, top-p). Comments are sampled the
    engine's `comments_per_run` at a time and each one's rows are appended, and logged, as soon as
    its run ends: a crash loses at most the comments in flight. `out_path` may be a
    `DriveBatches`: then the file is worked on at the runtime disk and reaches Drive in batches
    (and on the way out, error or not). Returns the whole file as a DataFrame."""
    import pandas as pd

    n = sampling.candidates_per_comment
    for column in (key, comment_col):
        if column not in items.columns:
            raise KeyError(f"items have no column {column!r} (columns: {', '.join(items.columns)})")
    copy = out_path.working_copy() if isinstance(out_path, DriveBatches) else None
    out_path = copy.start() if copy else Path(out_path)
    try:
        columns = [*items.columns, "candidate", "candidate_tokens"]
        done = _start(out_path, columns, key)
        todo = items.assign(**{key: items[key].astype(str)}).drop_duplicates(key)
        todo = todo[~todo[key].isin(done)]
        rows = todo.to_dict("records")
        from tqdm.auto import tqdm

        per_run = engine.comments_per_run if rows else 1
        log = progress_path(out_path)
        with tqdm(desc="comments", unit="comment", initial=len(done), total=len(done) + len(todo),
                  disable=not progress) as bar:
            for at in range(0, len(rows), per_run):
                run = rows[at:at + per_run]
                found = engine.generate([str(item[comment_col]) for item in run], n, sampling=sampling,
                                        keys=[item[key] for item in run], comments_per_run=per_run)
                for item, replies in zip(run, found):
                    chunk = pd.DataFrame([{**item, "candidate": r.text, "candidate_tokens": r.tokens} for r in replies],
                                         columns=columns)
                    end = _append(out_path, chunk.to_csv(index=False, header=False).encode("utf-8"))
                    entry = {"key": item[key], "end": end, "candidates": len(replies)}
                    _append(log, (json.dumps(entry) + "\n").encode("utf-8"))
                    if copy:
                        copy.tick()
                bar.update(len(run))
    finally:
        if copy:
            copy.flush()
    return read_candidates(out_path)


def read_candidates(out_path):
    """The CSV written by generate_resumable, all columns as text except `candidate_tokens`."""
    import pandas as pd

    df = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    return df.assign(candidate_tokens=pd.to_numeric(df["candidate_tokens"]).astype("int64"))
