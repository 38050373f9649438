"""The posting ledger, `ledger/posted.jsonl`: one JSON object per line, appended and flushed
before the next step, never rewritten. Each entry has `state`, `key` (the parent comment id),
`at` (UTC, ISO 8601), `submission_id` and `subreddit`; readers merge the entries of one key in
order (later fields override earlier ones), so the prediction written with "posting" survives
into "posted". States are named in `helpers.live.posting.STATES`.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from helpers.core.reddit_terms import upgrade_record

# States that mean "a reply of ours is, or may be, on Reddit".
REPLIED = ("posting", "posted")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


class Ledger:
    """Append-only JSONL. A torn last line (a crash mid-write) and entries without a key (old
    runs wrote them for rows with a blank comment id) are ignored."""

    def __init__(self, path: Path | str, clock=utc_now):
        self.path = Path(path)
        self.clock = clock

    def entries(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and str(entry.get("key") or "").strip() and entry.get("state"):
                entry.setdefault("at", entry.get("time", ""))  # ledgers before the agreed format
                upgrade_record(entry)  # fields named by earlier versions
                out.append(entry)
        return out

    def append(self, state: str, key: str, **fields) -> dict:
        if not str(key or "").strip():
            raise ValueError("a ledger entry needs a key (the parent comment id); got a blank one")
        entry = {"at": self.clock().isoformat(timespec="seconds"), "state": state, "key": key, **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with open(self.path, "ab+") as f:
            if f.tell() and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                line = "\n" + line  # close a line torn by a crash, so this entry stands alone
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        return entry

    def merged(self, *, dry_runs: bool = False) -> dict[str, dict]:
        """Per key, all its entries merged in order (later fields override earlier ones).
        Dry runs are left out unless `dry_runs`."""
        out: dict[str, dict] = {}
        for e in self.entries():
            if e["state"] == "dry_run" and not dry_runs:
                continue
            out[e["key"]] = {**out.get(e["key"], {}), **e}
        return out

    def last(self) -> dict[str, dict]:
        """The merged record of each key (its `state` is the latest), dry runs ignored."""
        return self.merged()

    def attempts(self, key: str) -> int:
        """How many times a post to `key` was sent (its "posting" entries)."""
        return sum(1 for e in self.entries() if e["key"] == key and e["state"] == "posting")

    def replied_threads(self) -> set[str]:
        """Submission ids we posted in, or may have (an unresolved "posting")."""
        return {e.get("submission_id") for e in self.last().values() if e["state"] in REPLIED}

    def unresolved(self) -> list[dict]:
        """Entries whose post may or may not have reached Reddit: a "posting" never closed
        (a crash), or a failure that may hide a success (a 5xx, a dropped connection)."""
        return [e for e in self.last().values()
                if e["state"] == "posting" or (e["state"] == "failed" and e.get("uncertain"))]

    def recent_posts(self, within: timedelta) -> list[dict]:
        """Merged records of replies made (or maybe made) within `within` of now: the budgets'
        and the pause's view of earlier runs, from any machine that shares this ledger."""
        since = self.clock() - within
        out = []
        for e in self.last().values():
            when = parse_time(e.get("at"))
            if e["state"] in REPLIED and when and when >= since:
                out.append(e)
        return out

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.entries())
