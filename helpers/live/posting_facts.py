"""The facts a posting decision looks at, read into small frozen values: `RowFacts` before the
pause (the row, the ledger, the proposals, the run so far; nothing from Reddit) and `LiveFacts`
right before the send (Reddit: ban, our comments, the parent's replies, the parent and its thread).
Reading them changes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from helpers.core.reddit_terms import blank, clean_id
from helpers.live.ledger import LedgerView
from helpers.live.sender import Parent, RedditSender, earliest


@dataclass(frozen=True)
class RunSoFar:
    """What this run knows and did before the row: posts made, threads with a reply of ours (or
    maybe), our replies per parent comment (Reddit's view, from our account's comments), why it stopped."""

    made: int = 0
    threads: frozenset = frozenset()
    our_replies: tuple = ()  # (parent comment id, our reply id) pairs
    stopped: str | None = None
    sends: bool = False  # this run sends to Reddit (not a dry run)


@dataclass(frozen=True)
class RowFacts:
    """One approved row, before its pause."""

    key: str  # the parent comment id ("" when the row has none)
    thread: str
    subreddit: str
    row: dict = field(repr=False)
    prior: dict  # its merged ledger record ({} if none)
    attempts: int  # posts sent for it so far (its "posting" entries)
    proposed: dict | None  # what notebook 07 proposed for it (None: nothing)
    text: str  # the reply as the person left it (no footer)
    parent_text: str  # the comment it answers, as proposed
    our_reply: str | None  # our reply under the parent, per our account's comments
    thread_replied: bool  # a reply of ours is (or may be) in the thread: this run, the ledger
    posts_last_day: int
    posts_last_day_here: int  # in this subreddit
    hold_until: datetime | None  # Reddit asked the account to wait until then
    now: datetime
    run: RunSoFar

    @property
    def state(self) -> str | None:
        return self.prior.get("state")

    @property
    def base(self) -> dict:
        return {"submission_id": self.thread, "subreddit": self.subreddit}


def row_facts(row: pd.Series, view: LedgerView, offered: dict | None, run: RunSoFar) -> RowFacts:
    """The facts of one approved `row`; `offered`: comment id -> notebook 07's proposal (None: no proposals given)."""
    key = clean_id(row["comment_id"], "t1_")
    thread = clean_id(row["submission_id"], "t3_")
    subreddit = str(row["subreddit"]).strip()
    proposed = offered.get(key) if offered is not None else {}
    day = view.recent_posts(timedelta(days=1))
    return RowFacts(
        key=key, thread=thread, subreddit=subreddit, row=row.to_dict(),
        prior=view.merged().get(key, {}) if key else {},
        attempts=view.attempts(key) if key else 0,
        proposed=proposed,
        text="" if blank(row["reply"]) else str(row["reply"]),
        parent_text=str((proposed or {}).get("comment", row.get("comment", ""))),
        our_reply=dict(run.our_replies).get(key),
        thread_replied=thread in run.threads or thread in view.replied_threads(),
        posts_last_day=len(day),
        posts_last_day_here=sum(1 for e in day if e.get("subreddit") == subreddit),
        hold_until=view.hold_until() if run.sends else None,  # a dry run sends nothing: Reddit's wait does not apply
        now=view.now, run=run,
    )


@dataclass(frozen=True)
class LiveFacts:
    """Reddit's view right before the send."""

    state_now: str | None  # the row's ledger state now (another run may have posted it meanwhile)
    banned: bool
    our_reply: str | None  # a reply of ours under the parent: our newest comments, or the parent's own replies
    threads_with_ours: frozenset  # threads where our newest comments answer a comment
    parent: Parent


def live_facts(sender: RedditSender, me: str, facts: RowFacts, state_now: str | None, banned: bool | None) -> LiveFacts:
    """Read Reddit for one row (praw's errors propagate; see sender.classify). `banned`: already known for the subreddit."""
    from helpers.live.reddit import answered

    if banned is None:
        banned = sender.banned(facts.subreddit)
    mine, threads = answered(sender.recent_comments(me))
    under = sender.replies_of(me, facts.key)
    ours = mine.get(facts.key) or (earliest(under)["comment_id"] if under else None)
    return LiveFacts(state_now, banned, ours, frozenset(threads), sender.parent(facts.key, facts.thread, me))
