"""The comment/reply join every source shares (the original BigQuery query, in pandas).

A pair is a comment, one direct reply to it, and the self post they sit under, all from one
month (as the original's per-month tables), in one of the chosen subreddits, with the reply's
author different from the comment's and the submission's.
"""
from __future__ import annotations


import pandas as pd

from helpers.core.reddit_terms import DELETED, check_subreddits

SUBMISSION_COLUMNS = ("id", "title", "selftext", "author", "subreddit", "created_utc", "score", "is_self")
COMMENT_COLUMNS = ("id", "link_id", "parent_id", "author", "body", "score", "created_utc", "subreddit")
PAIR_COLUMNS = (
    "month", "subreddit", "submission_id", "submission_title", "submission_text", "submission_author",
    "submission_score", "comment_id", "comment", "comment_author", "comment_score",
    "reply_id", "reply", "reply_author", "reply_score", "reply_created_utc",
)




class NoPairsError(RuntimeError):
    """No pairs to prepare (none pulled, every month failed, or none left after cleaning): nothing was written."""


def month_of(created_utc: pd.Series) -> pd.Series:
    """'YYYY-MM' (UTC) of epoch seconds given as numbers or numeric strings."""
    seconds = pd.to_numeric(created_utc, errors="coerce")
    return pd.to_datetime(seconds, unit="s", utc=True).dt.strftime("%Y-%m")


def join_pairs(submissions: pd.DataFrame, comments: pd.DataFrame, subreddits, top_level_only: bool = False) -> pd.DataFrame:
    """(comment, direct reply, self post) rows from raw submissions and comments, month by month.

    `top_level_only`: the comment of a pair must answer the post itself (the original's rule)."""
    wanted = {s.lower() for s in check_subreddits(subreddits)}
    subs = submissions[submissions["subreddit"].str.lower().isin(wanted) & submissions["is_self"].astype(bool)]
    subs = subs.assign(month=month_of(subs["created_utc"]))
    coms = comments[comments["subreddit"].str.lower().isin(wanted)]
    coms = coms.assign(month=month_of(coms["created_utc"]))
    a = coms.add_prefix("comment_").rename(columns={"comment_month": "month"})
    if top_level_only:
        a = a[a["comment_parent_id"] == a["comment_link_id"]]
    b = coms.add_prefix("reply_").rename(columns={"reply_month": "month"})
    s = subs.add_prefix("submission_").rename(columns={"submission_month": "month"})
    b = b.assign(reply_parent=b["reply_parent_id"].str.removeprefix("t1_"))
    a = a.assign(comment_link=a["comment_link_id"].str.removeprefix("t3_"))
    pairs = a.merge(b, left_on=["month", "comment_id"], right_on=["month", "reply_parent"])
    pairs = pairs.merge(s, left_on=["month", "comment_link"], right_on=["month", "submission_id"])
    pairs = pairs[(pairs["reply_author"] != pairs["comment_author"]) & (pairs["reply_author"] != pairs["submission_author"])]
    pairs = pairs.rename(columns={
        "submission_selftext": "submission_text", "comment_body": "comment", "reply_body": "reply",
        "submission_subreddit": "subreddit",
    })
    return pairs[list(PAIR_COLUMNS)].sort_values(["month", "submission_id", "comment_id", "reply_id"]).reset_index(drop=True)


def _best_first(df: pd.DataFrame, text: str, score: str) -> pd.DataFrame:
    """Rows ordered so that, per id, the version to keep comes first: not deleted, higher score,
    longer text, then by text (the same choice whatever order a source returned the rows in)."""
    body = df[text].fillna("").astype(str)
    key = pd.DataFrame({"deleted": body.str.strip().isin(DELETED), "score": -pd.to_numeric(df[score], errors="coerce").fillna(-1e18),
                        "length": -body.str.len(), "text": body}, index=df.index)
    return df.loc[key.sort_values(["deleted", "score", "length", "text"], kind="stable").index]


def dedupe_versions(pairs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One version of each comment, reply and post: a record seen twice with different text (an edit
    between dump snapshots, a table loaded twice) would give the same (comment_id, reply_id) twice.
    Returns (pairs, rows dropped)."""
    if pairs.empty:
        return pairs, 0
    keep = pd.Series(True, index=pairs.index)
    for prefix, text in (("comment", "comment"), ("reply", "reply"), ("submission", "submission_text")):
        ordered = _best_first(pairs, text, f"{prefix}_score")
        cols = [f"{prefix}_id", text, f"{prefix}_score", f"{prefix}_author"] + (["submission_title"] if prefix == "submission" else [])
        chosen = ordered.drop_duplicates(f"{prefix}_id")[cols]
        merged = pairs[cols].reset_index().merge(chosen, on=cols, how="left", indicator=True).set_index("index")
        keep &= merged["_merge"].reindex(pairs.index).eq("both")
    out = pairs[keep].drop_duplicates(["comment_id", "reply_id"])
    out = out.sort_values(["month", "submission_id", "comment_id", "reply_id"]).reset_index(drop=True)
    return out, len(pairs) - len(out)
