"""The posting ledger, `ledger/`: JSON lines, appended and flushed before the next step, never rewritten.

Drive syncs whole files between machines and keeps the newest copy, so one file appended from two
machines loses one side's lines. Each run therefore writes a file of its own,
`ledger/posted-<UTC time>-<host>-<random>.jsonl`, and readers read every `posted*.jsonl` of the
folder as one ledger (the single `posted.jsonl` older versions wrote included; it is never written
again). A copy Drive makes of a file in a conflict ("posted-... (1).jsonl") is read too; an entry
found twice counts once.

Each entry has `state`, `key` (the parent comment id), `at` (UTC, ISO 8601, milliseconds since this version), `submission_id` and
`subreddit`; readers merge the entries of one key in time order (later fields override earlier
ones), so the prediction written with "posting" survives into "posted". States are named in
`helpers.live.posting.STATES`.

`read_entries(folder or path)` is the reading API (notebook 08's `feedback.read_ledger` goes
through `Ledger(path).entries()`, which is the same).
"""
from __future__ import annotations

import heapq
import json
import os
import platform
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from helpers.core.reddit_terms import upgrade_record

# States that mean "a reply of ours is, or may be, on Reddit".
REPLIED = ("posting", "posted")
DEFAULT_NAME = "posted"  # ledger/posted.jsonl: the one file of older versions, the stem of each run's file
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _folder_and_stem(path: Path | str) -> tuple[Path, str]:
    path = Path(path)
    if path.suffix != ".jsonl" or path.is_dir():
        return path, DEFAULT_NAME
    return path.parent, path.stem


def ledger_files(path: Path | str) -> list[Path]:
    """The files of the ledger named by `path` (its folder, or a file such as ledger/posted.jsonl):
    the old single file, each run's file and Drive's conflict copies of either, in name order."""
    folder, stem = _folder_and_stem(path)
    try:
        names = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        return []
    pattern = re.compile(rf"{re.escape(stem)}(?:-[^/]*| \(\d+\))?\.jsonl")
    return [p for p in names if pattern.fullmatch(p.name)]


def read_file(path: Path) -> list[dict]:
    """One ledger file's entries in order. A torn line (a crash mid-write) and entries without a key
    (old runs wrote them for rows with a blank comment id) or state are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and str(entry.get("key") or "").strip() and entry.get("state"):
            entry.setdefault("at", entry.get("time", ""))  # ledgers before the agreed format
            upgrade_record(entry)  # fields named by earlier versions
            out.append(entry)
    return out


def _when(entry: dict) -> datetime:
    return parse_time(entry.get("at")) or EPOCH


def merge_files(per_file: list[list[dict]]) -> list[dict]:
    """The entries of several files as one ledger: interleaved by time (each file's own order kept),
    an entry found in two files (a conflict copy) once."""
    def identity(entry: dict) -> str:
        return json.dumps(entry, sort_keys=True, default=str)

    # Identical lines within one file are separate events (two sends in one millisecond); the same
    # lines in another file are a copy of them: an entry is kept as often as one file holds it.
    allowed: Counter = Counter()
    for entries in per_file:
        allowed |= Counter(identity(e) for e in entries)
    kept, out = Counter(), []
    for entry in heapq.merge(*per_file, key=_when):
        key = identity(entry)
        if kept[key] < allowed[key]:
            kept[key] += 1
            out.append(entry)
    return out


def read_entries(path: Path | str) -> list[dict]:
    """All entries of the ledger at `path` (the ledger/ folder, or ledger/posted.jsonl): every
    machine's and run's file read as one, in time order; nothing there is an empty list."""
    return merge_files([read_file(p) for p in ledger_files(path)])


def writer_id(clock=utc_now) -> str:
    """A name for one run's ledger file: when it started (UTC), the machine, and a random part."""
    host = re.sub(r"[^A-Za-z0-9_.]+", "_", platform.node() or "host")[:40]
    return f"{clock():%Y%m%dT%H%M%S}-{host}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class LedgerView:
    """The ledger as read at one moment (all files), and what posting asks of it."""

    entries: tuple
    now: datetime

    def merged(self, *, dry_runs: bool = False) -> dict[str, dict]:
        """Per key, all its entries merged in order (later fields override earlier ones). Dry runs are
        left out unless `dry_runs`. "posted" is final: a later entry of another state (another
        machine whose clock runs behind) does not undo it."""
        out: dict[str, dict] = {}
        for e in self.entries:
            if e["state"] == "dry_run" and not dry_runs:
                continue
            before = out.get(e["key"], {})
            if before.get("state") == "posted" and e["state"] != "posted":
                continue
            out[e["key"]] = {**before, **e}
        return out

    def attempts(self, key: str) -> int:
        """How many times a post to `key` was sent (its "posting" entries)."""
        return sum(1 for e in self.entries if e["key"] == key and e["state"] == "posting")

    def replied_threads(self) -> set[str]:
        """Submission ids we posted in, or may have (an unresolved "posting")."""
        return {e.get("submission_id") for e in self.merged().values() if e["state"] in REPLIED}

    def unresolved(self) -> list[dict]:
        """Entries whose post may or may not have reached Reddit: a "posting" never closed
        (a crash), or a failure that may hide a success (a 5xx, a dropped connection)."""
        return [e for e in self.merged().values()
                if e["state"] == "posting" or (e["state"] == "failed" and e.get("uncertain"))]

    def recent_posts(self, within: timedelta) -> list[dict]:
        """Merged records of replies made (or maybe made) within `within` of now: the budgets'
        and the pause's view of earlier runs, from every machine whose files reached this folder."""
        since = self.now - within
        return [e for e in self.merged().values()
                if e["state"] in REPLIED and (when := parse_time(e.get("at"))) and when >= since]

    def hold_until(self) -> datetime | None:
        """The end of the longest wait Reddit asked of this account (a 429's retry-after, a RATELIMIT)."""
        holds = [parse_time(e.get("not_before")) for e in self.entries if e.get("not_before")]
        return max((t for t in holds if t), default=None)


class Ledger:
    """The ledger named by `path` (ledger/posted.jsonl, or its folder). Reads see every file of the
    folder; this object appends to its own file (`own_path`), made at its first entry."""

    def __init__(self, path: Path | str, clock=utc_now, writer: str | None = None):
        self.path = Path(path)
        self.clock = clock
        folder, stem = _folder_and_stem(self.path)
        self.own_path = folder / f"{stem}-{writer or writer_id(clock)}.jsonl"
        self._files: dict[Path, tuple[tuple, list[dict]]] = {}  # path -> (mtime, size), its entries
        self._merged: tuple[tuple, tuple] = ((), ())  # the files' stamps -> all entries, merged

    def files(self) -> list[Path]:
        return ledger_files(self.path)

    def _stamp(self, path: Path) -> tuple:
        try:
            st = path.stat()
        except OSError:
            return path, None
        return path, st.st_mtime_ns, st.st_size

    def _all(self) -> tuple:
        """Every file's entries merged; files are read (and merged) again only when one changed."""
        stamps = tuple(self._stamp(p) for p in self.files())
        if stamps != self._merged[0]:
            per_file = []
            for path, *stamp in stamps:
                cached = self._files.get(path)
                if cached is None or cached[0] != tuple(stamp):
                    cached = self._files[path] = (tuple(stamp), read_file(path))
                per_file.append(cached[1])
            self._merged = (stamps, tuple(merge_files(per_file)))
        return self._merged[1]

    def entries(self) -> list[dict]:
        return [dict(e) for e in self._all()]

    def view(self) -> LedgerView:
        """The whole ledger now, read once (what one posting decision looks at; treat it as read-only)."""
        return LedgerView(self._all(), self.clock())

    def append(self, state: str, key: str, **fields) -> dict:
        """Write one entry and fsync it. `fields` are the entry's data (an open record: ids, text, the
        prediction, reason...), written as given and merged by readers; keywords, not options."""
        if not str(key or "").strip():
            raise ValueError("a ledger entry needs a key (the parent comment id); got a blank one")
        entry = {"at": self.clock().isoformat(timespec="milliseconds"), "state": state, "key": key, **fields}
        self.own_path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with open(self.own_path, "ab+") as f:
            if f.tell() and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                line = "\n" + line  # close a line torn by a crash, so this entry stands alone
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        return entry

    # the questions posting and 06 ask, each on a fresh read
    def merged(self, *, dry_runs: bool = False) -> dict[str, dict]:
        return self.view().merged(dry_runs=dry_runs)

    def last(self) -> dict[str, dict]:
        """The merged record of each key (its `state` is the latest), dry runs ignored."""
        return self.view().merged()

    def attempts(self, key: str) -> int:
        return self.view().attempts(key)

    def replied_threads(self) -> set[str]:
        return self.view().replied_threads()

    def unresolved(self) -> list[dict]:
        return self.view().unresolved()

    def recent_posts(self, within: timedelta) -> list[dict]:
        return self.view().recent_posts(within)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.entries())
