"""Each posted reply's state on Reddit now, one row per reply (store.FETCH_COLUMNS): its score,
whether moderators removed it, whether its author account is suspended, how many replies it drew,
the state of its parent and thread, and the scores of the human replies to the same parent.
Reddit is read through `helpers.live.reddit` (and so through the one retry policy)."""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from helpers.core import retry
from helpers.core.reddit_terms import BOTS
from helpers.live import reddit
from helpers.live.feedback.store import FETCH_COLUMNS


class TooManyRequestsError(RuntimeError):
    """Reddit kept answering 429 (too many requests); nothing of this fetch was written."""


def fetch_time(text: str = "") -> pd.Timestamp:
    """The time of this fetch as a UTC timestamp: `text` in ISO 8601 (UTC when it names no zone), or now."""
    try:
        at = pd.Timestamp(text) if text else pd.Timestamp.now(tz="UTC")
    except ValueError:
        raise ValueError(f"FETCH_TIME must be ISO 8601, like 2030-01-10T12:00 (UTC) or empty for now; got {text!r}") from None
    return at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")


# ----- what Reddit's data says -----
def comment_status(fields: dict | None) -> tuple[str, str]:
    """(status, removed_by) of a comment's data as Reddit returned it."""
    if not fields:
        return "missing", ""
    body = str(fields.get("body", ""))
    by = str(fields.get("removed_by_category") or "")
    if by == "deleted" or body == "[deleted]" and by in ("", "author"):
        return "deleted", ""
    if by or body == "[removed]":
        return "removed", by or "unknown"
    if body.startswith("[ Removed by Reddit"):  # Reddit's own removal ("[ Removed by Reddit ]")
        return "removed", "reddit"
    if fields.get("spam"):  # the data a moderator account sees: the text kept, the removal flagged
        return "removed", "spam"
    banned_by = fields.get("banned_by") if isinstance(fields.get("banned_by"), str) else ""
    if fields.get("removed") or banned_by:
        return "removed", banned_by or "moderator"
    return "ok", ""


def thread_status(fields: dict | None) -> str:
    """ok | locked | archived | removed | deleted | missing, from a thread's data."""
    if not fields:
        return "missing"
    by = str(fields.get("removed_by_category") or "")
    if by in ("deleted", "author") or fields.get("selftext") == "[deleted]" and str(fields.get("author")) == "None":
        return "deleted"
    if by or fields.get("selftext") == "[removed]":
        return "removed"
    return "locked" if fields.get("locked") else "archived" if fields.get("archived") else "ok"


def author(fields: dict) -> str:
    name = fields.get("author")
    return "" if name is None else str(name)


def parent_view(view: reddit.CommentReplies, reply_id: str, me: str) -> dict:
    """The parent comment's status, how many replies our reply drew, and the human replies to the same
    parent (not ours, not bots, not deleted or removed, score not hidden)."""
    if view.state != "found":
        return {"parent_status": view.state, "replies": math.nan, "human_replies": 0, "human_scores": []}
    status, _ = comment_status(view.fields)
    ours, humans = False, []
    bots = {b.lower() for b in BOTS} | {me.lower()}
    for data in view.replies:
        if data.get("id") == reply_id:
            ours = True
        elif comment_status(data)[0] == "ok" and author(data).lower() not in bots and not data.get("score_hidden"):
            humans.append(int(data.get("score") or 0))
    replies = view.reply_counts.get(reply_id, 0) if ours else math.nan
    return {"parent_status": status, "replies": replies, "human_replies": len(humans), "human_scores": humans}


# ----- the fetch -----
def fetch_replies(client, posted: pd.DataFrame, *, now: datetime | None = None, public=None,
                  more_replies: int | None = 0, progress: bool = True, sleep=time.sleep) -> pd.DataFrame:
    """Today's state of each reply in `posted` (see `posted.posted_replies`): one row per reply, FETCH_COLUMNS.

    The replies and their threads are read 100 per request (`reddit.info`), each parent comment
    with its replies in one more request. `public` is an optional logged-out client
    (`reddit.public_client`): Reddit shows a removed comment normally to its own author, so removals
    are checked through it as well. A 429 is waited out under the retry policy (Reddit's retry-after,
    else a minute) a few times, then TooManyRequestsError."""
    try:
        return _fetch(client, posted, now or datetime.now(timezone.utc), public, more_replies, progress, sleep)
    except retry.GaveUp as gave_up:
        if gave_up.failure.kind != "rate_limited":
            raise
        raise TooManyRequestsError(
            f"Reddit answered 429 (too many requests) and the retry policy {gave_up}; nothing of this fetch was "
            "written: run the notebook again later.") from gave_up


def _fetch(client, posted, now, public, more_replies, progress, sleep) -> pd.DataFrame:
    from tqdm.auto import tqdm

    me = reddit.account_name(client, sleep)
    replies = reddit.info(client, [f"t1_{r}" for r in posted["reply_id"]], desc="replies", progress=progress, sleep=sleep)
    seen_by_public = reddit.info(public, [f"t1_{r}" for r in posted["reply_id"]], desc="public view",
                                 progress=progress, sleep=sleep) if public else {}
    threads = reddit.info(client, [f"t3_{s}" for s in posted["submission_id"] if s], desc="threads",
                          progress=progress, sleep=sleep)
    authors = reddit.suspended_accounts(client, [author(d) for d in replies.values()], sleep)
    rows = []
    for post in tqdm(list(posted.itertuples(index=False)), desc="parents", disable=not progress or posted.empty):
        data = replies.get(f"t1_{post.reply_id}")
        status, removed_by = comment_status(data)
        public_status, public_by = comment_status(seen_by_public.get(f"t1_{post.reply_id}"))
        if status == "ok" and public and public_status == "removed":
            status, removed_by = "removed", public_by
        view = reddit.comment_replies(client, post.key, post.submission_id, more_replies, sleep)
        parent = parent_view(view, post.reply_id, me or author(data or {}))
        name = author(data or {})
        thread = threads.get(f"t3_{post.submission_id}")
        age = (pd.Timestamp(now) - post.posted_at) / pd.Timedelta(hours=1) if pd.notna(post.posted_at) else math.nan
        rows.append({
            "fetched_at": pd.Timestamp(now).isoformat(timespec="seconds"), "reply_id": post.reply_id, "key": post.key,
            "submission_id": post.submission_id, "subreddit": post.subreddit,
            "posted_at": post.posted_at.isoformat() if pd.notna(post.posted_at) else "",
            "age_hours": round(age, 2), "status": status,
            # a score the subreddit still hides (its first hours) is shown as 1: unknown, not 1
            "score": int(data["score"]) if data and data.get("score") is not None and not data.get("score_hidden")
            else math.nan,
            "removed_by": removed_by, "author": name,
            "author_suspended": authors.get(name),
            "replies": parent["replies"],
            "locked": bool((data or {}).get("locked") or (thread or {}).get("locked")),
            "parent_status": parent["parent_status"],
            "thread_status": thread_status(thread),
            "human_replies": parent["human_replies"],
            "human_median_score": float(np.median(parent["human_scores"])) if parent["human_scores"] else math.nan,
            "source": "reddit",
        })
    return pd.DataFrame(rows, columns=FETCH_COLUMNS)
