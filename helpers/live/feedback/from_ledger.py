"""The posted replies, from the posting ledger (`ledger/`, one file per run of 07, read as one), with the
prediction made when each was posted (`prob_real`, `p0..p3`, `expected_rating_bin`, the model runs,
the text as posted, the parent's body)."""
from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from helpers.core.reddit_terms import SCORE_COLUMNS
from helpers.live.ledger import Ledger

MODEL_RUNS = ("realism_model", "upvotes_model", "gpt2_run")
# One row of the ledger's posted replies (what `posted_replies` returns).
POSTED_COLUMNS = ["key", "reply_id", "submission_id", "subreddit", "posted_at", *SCORE_COLUMNS, *MODEL_RUNS,
                  "text", "reply", "parent_body"]
FOOTER = re.compile(r"\n\n---\n(?:(?!\n\n---\n).)*\Z", re.S)  # a disclosure footer after a horizontal rule


def read_ledger(path: Path | str) -> list[dict]:
    """The ledger's entries in order, read as posting reads them (`Ledger.entries`): a missing file is
    empty, a torn line (a crash mid-write) or an entry without key or state is skipped.
    The one place 08 reads the ledger."""
    return Ledger(path).entries()


def _number(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def strip_footer(text: str) -> str:
    """The reply as GPT-2 wrote it: the text as posted without its disclosure footer."""
    return FOOTER.sub("", text or "").strip()


def posted_replies(entries: list[dict]) -> pd.DataFrame:
    """One row per reply the ledger says is on Reddit (a "posted" entry with a reply id).

    The entries of one key are merged in order, later fields overriding earlier ones, so the
    prediction written with "posting" survives into "posted"; dry runs are ignored. A reply that
    a later run found on Reddit ("posted", recovered) dates from its last "posting" attempt. Older entries
    without the prediction fields give NaN predictions and "" model runs (shown as unknown)."""
    merged: dict[str, dict] = {}
    for e in entries:
        if e.get("state") == "dry_run" or e.get("dry_run"):
            continue
        row = merged.setdefault(str(e["key"]), {})
        row.update(e)
        if e.get("state") == "posting":
            row["_attempt_at"] = e.get("at") or e.get("time") or ""
        if e.get("state") == "posted" and e.get("reply_id"):
            # a reply recovered by a later run was made by the last attempt, not when it was found
            row["posted_at"] = (e.get("recovered") and row.get("_attempt_at")) or e.get("at") or e.get("time") or ""
            row["_posted"] = True
    rows = []
    for key, e in merged.items():
        if not e.get("_posted") or not e.get("reply_id"):
            continue
        row = {"key": key.removeprefix("t1_"), "reply_id": str(e["reply_id"]).removeprefix("t1_"),
               "submission_id": str(e.get("submission_id") or "").removeprefix("t3_"), "subreddit": str(e.get("subreddit") or ""),
               "posted_at": e["posted_at"]}
        row.update({name: _number(e.get(name)) for name in SCORE_COLUMNS})
        row.update({name: str(e.get(name) or "") for name in (*MODEL_RUNS, "text", "parent_body")})
        # the reply without its footer: the ledger says it (any FOOTER the person chose), older entries are guessed
        row["reply"] = str(e["reply"]) if e.get("reply") else strip_footer(row["text"])
        rows.append(row)
    out = pd.DataFrame(rows, columns=POSTED_COLUMNS)
    out["posted_at"] = pd.to_datetime(out["posted_at"], utc=True, errors="coerce", format="ISO8601")
    return out.astype({name: "float64" for name in SCORE_COLUMNS})


def due(posted: pd.DataFrame, now: datetime, min_age_hours: float = 48, follow_days: float = 0) -> pd.DataFrame:
    """The replies old enough to judge (`min_age_hours`) and, with `follow_days` > 0, still young
    enough to follow; a reply with an unknown posting time counts as old enough."""
    age = (pd.Timestamp(now) - posted["posted_at"]) / pd.Timedelta(hours=1)
    keep = age.isna() | (age >= min_age_hours)
    if follow_days:
        keep &= age.isna() | (age <= follow_days * 24)
    return posted[keep].reset_index(drop=True)
