"""Reddit's vocabulary, owned in one place: what a deleted body looks like, which accounts are
bots, how a reply's score becomes a rating bin, how subreddit names and ids are written, and the
names of the prediction columns carried from scoring (07) through review and the ledger into 08.

Terms (docs/glossary.md): a *post* (Reddit's "submission", the thread's top) has *comments*; a
*reply* answers a comment. A reply's *score* is Reddit's points; its *rating bin* is the score's
bin between `DEFAULT_RATING_EDGES` (0 .. 3); the upvote model predicts p0..p3, the probability of
each bin, and `expected_rating_bin` = sum of k * p_k (0 .. 3, not a number of upvotes).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Bodies Reddit shows for a deleted or removed comment, and what each means.
GONE = {"[deleted]": "deleted", "[removed]": "removed"}
DELETED = frozenset(GONE)

# Accounts that are bots (lower case): not learned from (01), not answered (06). Extend as needed.
BOTS = frozenset({
    "automoderator", "remindmebot", "wikitextbot", "totesmessenger", "sneakpeekbot", "converter-bot",
    "goodbot_badbot", "b0trank", "imguralbumbot", "timezone_bot", "repostsleuthbot", "savevideo",
    "haikusbot", "gpt2_bert_bot",
})

# ----- scores and rating bins -----
DEFAULT_RATING_EDGES = (1, 2, 5)  # bins: score < 1, 1, 2-4, >= 5 (as the original)


def rating(scores: pd.Series, edges=DEFAULT_RATING_EDGES) -> pd.Series:
    """Rating bin of each reply score: the number of `edges` at or below it (0 .. len(edges))."""
    if list(edges) != sorted(edges) or len(set(edges)) != len(edges):
        raise ValueError(f"rating edges must increase strictly, got {list(edges)}")
    return pd.Series(np.searchsorted(np.asarray(edges), scores.to_numpy(), side="right"), index=scores.index)


def bin_labels(edges=DEFAULT_RATING_EDGES) -> list[str]:
    """Score ranges of the bins, for legends: (1, 2, 5) -> ['score < 1', 'score 1', 'score 2-4', 'score >= 5']."""
    edges = list(edges)
    labels = [f"score < {edges[0]}"]
    for low, high in zip(edges, edges[1:]):
        labels.append(f"score {low}" if high == low + 1 else f"score {low}-{high - 1}")
    return labels + [f"score >= {edges[-1]}"]


# ----- the prediction made for a reply (07 -> review.csv -> ledger -> 08) -----
SCORE_COLUMNS = ("prob_real", "p0", "p1", "p2", "p3", "expected_rating_bin")
PREDICTION_COLUMNS = [*SCORE_COLUMNS, "realism_model", "upvotes_model", "gpt2_run"]
# Names earlier versions wrote into files and ledgers on users' Drives, and their names now.
RENAMED = {"expected_upvotes": "expected_rating_bin"}


def upgrade_columns(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with columns written by earlier versions under their current names."""
    old = {k: v for k, v in RENAMED.items() if k in df.columns and v not in df.columns}
    return df.rename(columns=old) if old else df


def upgrade_record(record: dict) -> dict:
    """A ledger entry or JSON record with fields written by earlier versions under their current names."""
    for old, new in RENAMED.items():
        if old in record and new not in record:
            record[new] = record.pop(old)
    return record


# ----- names and ids as people type them -----
SUBREDDIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
OLD_NAMES = frozenset({"reddit.com"})  # the main subreddit of 2005-2011: a dot in its name


def check_subreddits(subreddits) -> list[str]:
    """The subreddit names, checked and tidied: ' r/cooking ' -> 'cooking' (letters, digits, underscores;
    2-21 characters; or 'reddit.com'). A string is split at commas."""
    if isinstance(subreddits, str):
        subreddits = subreddits.split(",")
    names = [re.sub(r"^/?r/", "", str(s).strip(), flags=re.I).strip() for s in subreddits]
    names = [s for s in names if s]
    bad = [s for s in names if not (SUBREDDIT_NAME.match(s) or s.lower() in OLD_NAMES)]
    if bad:
        raise ValueError(f"not a subreddit name: {', '.join(map(repr, bad))} (use names like 'cooking', without 'r/')")
    return names


def blank(value) -> bool:
    """Nothing but whitespace (or None)."""
    return not re.sub(r"\s+", "", str(value if value is not None else ""))


def clean_id(value, prefix: str) -> str:
    """An id as a person may have typed or pasted it (" t1_abc ", "T1_abc") -> "abc"; "" when blank."""
    text = "" if blank(value) else str(value).strip()
    return text[len(prefix):].strip() if text.lower().startswith(prefix) else text
