"""Back into training: the judged replies as labelled pairs for notebook 05
(`prepared/bert_feedback_<source>.csv`), and 05's switch that adds them to its training split."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.core.exchange import ExchangeError
from helpers.core.files import atomic_path
from helpers.core.paths import Paths
from helpers.core.reddit_terms import DEFAULT_RATING_EDGES, rating
from helpers.live.feedback.config import SOURCES
from helpers.live.feedback.from_ledger import strip_footer

TRAINING_COLUMNS = ["submission_id", "comment_id", "reply_id", "subreddit", "comment", "reply", "reply_score",
                    "real", "rating", "source"]


def training_rows(table: pd.DataFrame, edges=DEFAULT_RATING_EDGES) -> tuple[pd.DataFrame, dict]:
    """Pairs (parent comment, reply as GPT-2 wrote it) labelled with the reply's real score, in
    bert_real.csv's columns, from the latest state of each reply. Replies removed, deleted or
    missing, and those whose text or parent is unknown, are left out and counted."""
    text = (table["reply"] if "reply" in table else table["text"].map(strip_footer)).fillna("").astype(str).str.strip()
    parent = table["parent_body"].fillna("").astype(str).str.strip()
    reasons = {
        "not on Reddit": table["status"] != "ok",
        "score unknown": table["score"].isna(),
        "text unknown": text == "",
        "parent unknown": parent == "",
    }
    keep = pd.Series(True, index=table.index)
    drops = {}
    for reason, bad in reasons.items():
        drops[reason] = int((keep & bad).sum())
        keep &= ~bad
    rows = table[keep]
    out = pd.DataFrame({
        "submission_id": rows["submission_id"], "comment_id": rows["key"], "reply_id": rows["reply_id"],
        "subreddit": rows["subreddit"], "comment": parent[keep], "reply": text[keep],
        "reply_score": rows["score"].astype("int64"), "real": 1,
        "rating": rating(rows["score"].astype(float), edges).astype("int64"), "source": "feedback",
    }, columns=TRAINING_COLUMNS)
    return out.reset_index(drop=True), drops


def write_training_rows(paths: Paths, rows: pd.DataFrame, source: str = "reddit") -> Path:
    """prepared/bert_feedback_<source>.csv, atomically (kept apart from bert_real.csv)."""
    path = paths.file("bert_feedback", source=source)
    with atomic_path(path) as tmp:
        rows.to_csv(tmp, index=False)
    return path


def add_to_training(train: pd.DataFrame, test: pd.DataFrame, paths: Paths, source: str = "reddit",
                    label_col: str = "label") -> tuple[pd.DataFrame, int]:
    """Notebook 05's switch: `train` plus the fed-back rows of prepared/bert_feedback_<source>.csv (label =
    their rating), marked `source="feedback"`. The test split is left as it was, so held-out
    metrics with and without the switch compare; fed-back rows from test threads, and pairs
    already in the data, are not added. Returns (train, rows added)."""
    if source not in SOURCES:
        raise ValueError(f'ADD_FEEDBACK must be None (off), "reddit" or "sample", got {source!r}')
    path = paths.file("bert_feedback", source=source)
    if not path.is_file():
        raise ExchangeError(f"{paths.relative(path)} not found: run notebook 08 with SOURCE={source!r} first "
                            '(it writes the fed-back replies), or set ADD_FEEDBACK = None.')
    fed = pd.read_csv(path, dtype={"submission_id": str, "comment_id": str, "reply_id": str}, keep_default_na=False)
    missing = [c for c in ("submission_id", "comment", "reply", "rating") if c not in fed]
    if missing:
        raise ExchangeError(f"{paths.relative(path)} lacks column(s) {', '.join(missing)}: rerun notebook 08.")
    fed = fed[~fed["submission_id"].isin(set(test["submission_id"]))]
    pairs = set(zip(train["comment"], train["reply"])) | set(zip(test["comment"], test["reply"]))
    fed = fed[[(c, r) not in pairs for c, r in zip(fed["comment"], fed["reply"])]]
    fed = fed.assign(**{label_col: fed["rating"].astype(int)}, source="feedback")
    base = train.assign(source=train["source"] if "source" in train else "original")
    return pd.concat([base, fed], ignore_index=True), len(fed)
