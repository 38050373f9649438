"""The feedback table on Drive (`feedback/<source>_fetches.csv`): one row per reply per fetch, so a
reply can be followed over time. A rerun appends rows, never rewrites them; a lock keeps two runs
(two browser tabs) from appending at once; the new file replaces the old one in one rename."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pandas as pd

from helpers.core.files import atomic_path

# One row per reply per fetch.
FETCH_COLUMNS = [
    "fetched_at", "reply_id", "key", "submission_id", "subreddit", "posted_at", "age_hours",
    "status",  # ok | removed | deleted | missing (Reddit did not return it)
    "score", "removed_by", "author", "author_suspended", "replies",
    "locked",  # no one can reply any more: the reply or its thread is locked
    "parent_status",  # ok | deleted | removed | missing | unknown (Reddit kept failing: 5xx or no connection)
    "thread_status",  # ok | locked | archived | removed | deleted | missing
    "human_replies", "human_median_score", "source",
]


@contextlib.contextmanager
def locked(path: Path, wait_seconds: float = 60.0, stale_seconds: float = 600.0):
    """Hold `<path>.lock` (made with O_EXCL) so two runs (two browser tabs) never append at once;
    a lock older than `stale_seconds` was left by a crash and is taken over."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > stale_seconds:
                    lock.unlink()
                    continue
            except FileNotFoundError:
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lock} is held by another run of notebook 08 (another tab?); wait for it to "
                                   f"finish, or delete the file if no other run is going.") from None
            time.sleep(0.05)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def append_fetches(path: Path | str, rows: pd.DataFrame, wait_seconds: float = 60.0) -> int:
    """Append `rows` to the CSV at `path` (created with a header if missing). Rows already there
    stay byte for byte; a row whose (reply_id, fetched_at) is already in the file is not added
    twice. The new file replaces the old one in one rename, so a crash leaves the old table, and
    a lock keeps two runs from appending at once. Returns how many rows were added."""
    path = Path(path)
    with locked(path, wait_seconds):
        return _append(path, rows)


def _append(path: Path, rows: pd.DataFrame) -> int:
    old = read_fetches(path)
    if not old.empty:
        seen = set(zip(old["reply_id"].astype(str), old["fetched_at"].astype(str)))
        rows = rows[[(str(r), str(t)) not in seen for r, t in zip(rows["reply_id"], rows["fetched_at"])]]
    rows = rows.drop_duplicates(["reply_id", "fetched_at"])
    if rows.empty:
        return 0
    with atomic_path(path) as tmp:
        if path.is_file():
            header = pd.read_csv(path, nrows=0).columns.tolist()
            extra = [c for c in rows.columns if c not in header]
            if extra:  # a newer version added columns: rewrite the header, keep the old rows' values
                old.reindex(columns=header + extra).to_csv(tmp, index=False)
                header += extra
            else:
                data = path.read_bytes()
                tmp.write_bytes(data if data.endswith(b"\n") else data + b"\n")
            rows.reindex(columns=header).to_csv(tmp, mode="a", header=False, index=False)
        else:
            rows.reindex(columns=FETCH_COLUMNS + [c for c in rows.columns if c not in FETCH_COLUMNS]).to_csv(tmp, index=False)
    return len(rows)


def read_fetches(path: Path | str) -> pd.DataFrame:
    """The feedback table (every fetch of every reply), or an empty one."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=FETCH_COLUMNS)
    table = pd.read_csv(path, dtype={"reply_id": str, "key": str, "submission_id": str, "removed_by": str,
                                     "author": str}, keep_default_na=False, na_values=[""])
    lacking = [c for c in ("fetched_at", "reply_id", "status", "score") if c not in table]
    if lacking:
        raise ValueError(
            f"{path} is not the feedback table notebook 08 writes: it must be comma-separated with the columns "
            f"{', '.join(FETCH_COLUMNS)} (lacking {', '.join(lacking)}; a spreadsheet saved it with ';' or tabs?). "
            "Save it again as CSV with commas, or rename it and rerun 08 (which then starts a new table).")
    for column in ("reply_id", "key", "submission_id", "subreddit", "removed_by", "author", "status",
                   "parent_status", "thread_status", "source", "fetched_at", "posted_at"):
        if column in table:
            table[column] = table[column].fillna("").astype(str)
    return table
