"""The start of a real posting run, before any row: our account and its comments as far as Reddit
lists them (as ssi-bot syncs at start), our duplicate replies deleted (two under one comment: a race
whose read-back failed), then every unresolved ledger entry (an interrupted post, a 5xx) settled
against Reddit before anything is retried. Decisions are `posting_checks.duplicates` and
`posting_checks.settle`; ledger records go through the run's `record` (`posting.move`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from helpers.live import posting_checks as checks
from helpers.live.ledger import Ledger
from helpers.live.reddit import answered
from helpers.live.sender import RedditSender

# record(key, Record, current state, base fields): the run's one writer of ledger transitions
RecordFn = Callable[[str, checks.Record, "str | None", dict], None]


@dataclass(frozen=True)
class Start:
    """What the start of a run learned: our account, our replies per parent comment (Reddit's view),
    the threads they are in, and how many unresolved posts turned out to be on Reddit."""

    me: str
    our_replies: tuple  # (parent comment id, our reply id) pairs
    threads: frozenset
    recovered: int


class Recovery:
    """Settles the ledger with Reddit at the start of a real run (reads raise praw's errors: the run
    then queues every row). `transitions`: posting.TRANSITIONS; `record`: the run's writer."""

    def __init__(self, ledger: Ledger, sender: RedditSender, transitions: dict, record: RecordFn,
                 log: Callable[[str], None]):
        self.ledger, self.sender, self.transitions, self.record, self.log = ledger, sender, transitions, record, log

    def start(self, targets: set[str]) -> Start:
        """`targets`: the approved rows' comment ids."""
        me = self.sender.me()
        comments = self.sender.all_comments(me)
        deleted = self.delete_duplicates(comments, targets)
        replies, threads = answered([c for c in comments if c["comment_id"] not in deleted])
        return Start(me, tuple(replies.items()), frozenset(threads), self.settle(me, replies))

    def delete_duplicates(self, comments: list[dict], targets: set[str]) -> set[str]:
        """Two replies of ours under one comment the bot answers: delete the later ones (the ledger's
        keys are targets too). The ids deleted."""
        deleted = set()
        merged = self.ledger.view().merged()
        for parent, keep, extra in checks.duplicates(comments, targets | set(merged)):
            self.sender.delete(extra)
            deleted.add(extra)
            self.log(f"deleted our reply {extra} to comment {parent}: reply {keep} of ours was there first")
            prior = merged.get(parent, {})
            if "posted" in self.transitions.get(prior.get("state"), ()):
                thread = next(c["submission_id"] for c in comments if c["comment_id"] == keep)
                base = {"submission_id": prior.get("submission_id") or thread, "subreddit": prior.get("subreddit", "")}
                self.record(parent, checks.Record("posted", {"reply_id": keep, "deleted_duplicate": extra}),
                            prior.get("state"), base)
        return deleted

    def settle(self, me: str, replies: dict[str, str]) -> int:
        """Each unresolved entry -> posted (our reply found: `replies` from our comments, else the
        parent's own replies) or failed (retry). How many were found posted."""
        found = 0
        for entry in self.ledger.view().unresolved():
            key = entry["key"]
            under = replies.get(key) or next((r["comment_id"] for r in self.sender.replies_of(me, key)), None)
            record = checks.settle(entry, under)
            self.record(key, record, entry["state"], {k: entry.get(k) for k in ("submission_id", "subreddit")})
            if record.state == "posted":
                self.log(f"recovered: the reply to comment {key} was posted before the interruption ({under})")
                found += 1
        return found
