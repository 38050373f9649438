"""The bundled synthetic sample (SOURCE="sample"): ledger entries of posted replies and their state
at several fetches, so notebook 08 runs with no account."""
from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pandas as pd

from helpers.core import runtime
from helpers.live.feedback.from_ledger import posted_replies
from helpers.live.feedback.store import FETCH_COLUMNS

SAMPLE_FILE = runtime.SAMPLE_DIR / "feedback_sample.json"


def load_sample(path: Path | str = SAMPLE_FILE) -> tuple[list[dict], pd.DataFrame]:
    """The bundled synthetic sample: ledger entries of posted replies, and their state at several
    fetches (as FETCH_COLUMNS rows; `fetched_at` is posted_at + `age_hours`)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    ledger = data["ledger"]
    posted = posted_replies(ledger).set_index("reply_id")
    rows = []
    for obs in data["fetches"]:
        post = posted.loc[obs["reply_id"]]
        at = post["posted_at"] + timedelta(hours=obs["age_hours"])
        rows.append({"fetched_at": at.isoformat(timespec="seconds"), "key": post["key"],
                     "submission_id": post["submission_id"], "subreddit": post["subreddit"],
                     "posted_at": post["posted_at"].isoformat(), "source": "sample",
                     **{k: obs.get(k, d) for k, d in (
                         ("reply_id", ""), ("age_hours", math.nan), ("status", "ok"), ("score", math.nan),
                         ("removed_by", ""), ("author", data.get("me", "")), ("author_suspended", False),
                         ("replies", 0), ("locked", False), ("parent_status", "ok"), ("thread_status", "ok"),
                         ("human_replies", 0), ("human_median_score", math.nan))}})
    return ledger, pd.DataFrame(rows, columns=FETCH_COLUMNS)
