"""The posting checks: plain functions of the facts (helpers.live.posting_facts) and the config that
return a `Verdict` refusing the row, or None. They write, sleep and send nothing; a verdict may ask
for a ledger record (`Record`) or for the run to stop, and `helpers.live.posting` does that.

Order: `BEFORE_PAUSE` (row, ledger, proposed, our account's comments, guards, thread, limits),
then after the pause `before_send` (ledger now, ban, our reply under the parent, thread, parent), or
`read_refused` when Reddit failed those reads; after the send, our duplicates; at a run's start, `settle`."""
from __future__ import annotations

from dataclasses import dataclass, field

from helpers.core.reddit_terms import clean_id
from helpers.live import guards
from helpers.live.ledger import REPLIED
from helpers.live.posting_config import PostingConfig
from helpers.live.posting_facts import LiveFacts, RowFacts
from helpers.live.sender import SendError, earliest


@dataclass(frozen=True)
class Record:
    """A ledger transition a verdict asks for: the row's key moves to `state` with `fields`."""

    state: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """A row's outcome (one of posting.OUTCOMES) and why; what to record; whether the run stops."""

    outcome: str
    detail: str = ""
    record: Record | None = None
    stop: str | None = None  # the run stops, with this message
    thread_taken: bool = False  # a reply of ours is in the row's thread from now on


# ----- before the pause -----
def row_is_valid(f: RowFacts, cfg: PostingConfig):
    if not f.key or not f.thread:
        return Verdict("invalid row", "blank comment_id or submission_id")


def ledger_allows(f: RowFacts, cfg: PostingConfig):
    prior, state = f.prior, f.state
    if state == "posted":
        return Verdict("already posted", prior.get("reply_id", ""))
    if state == "gave_up":
        return Verdict("gave up", prior.get("reason", ""))
    if state == "failed" and not prior.get("retry"):
        return Verdict("failed before", prior.get("reason", ""))
    if state == "posting":  # a real run settled it at its start: only a dry run sees this
        return Verdict("unresolved", "an earlier post was interrupted; a real run checks Reddit first")
    if state == "failed" and f.run.sends and f.attempts >= cfg.max_attempts:
        reason = prior.get("reason", "")
        return Verdict("gave up", reason, Record("gave_up", {"reason": f"{cfg.max_attempts} sends failed; last: {reason}"}))


def was_proposed(f: RowFacts, cfg: PostingConfig):
    if f.proposed is None or clean_id(f.proposed.get("submission_id", f.thread), "t3_") != f.thread:
        return Verdict("not proposed", "no notebook proposed this reply (a row added or edited by hand)")


def found_on_reddit(reply_id: str | None):
    """Our reply is already under the parent (another machine, a lost ledger): record it as posted."""
    if reply_id:
        return Verdict("already posted", f"already on Reddit: {reply_id}",
                       Record("posted", {"reply_id": reply_id, "recovered": True}), thread_taken=True)


def not_on_reddit(f: RowFacts, cfg: PostingConfig):
    return found_on_reddit(f.our_reply)


def passes_guards(f: RowFacts, cfg: PostingConfig):
    failed = guards.check(f.text, f.parent_text, cfg.blocked)
    if failed:
        return Verdict("refused by guards", ";".join(failed))


def thread_is_free(f: RowFacts, cfg: PostingConfig):
    if f.thread_replied:
        return Verdict("thread already replied", "a reply of ours is (or may be) in this thread")


def over_budget(f: RowFacts, per_day: int | None, per_sub: int | None) -> str:
    """Why the budgets spanning runs (last 24 hours, from the ledger) refuse one more post, or ""."""
    if per_day is not None and f.posts_last_day >= per_day:
        return f"budget of {per_day} posts per day (MAX_POSTS_PER_DAY) used: {f.posts_last_day} in the last 24 hours"
    if per_sub is not None and f.posts_last_day_here >= per_sub:
        return (f"budget of {per_sub} posts per day in r/{f.subreddit} (MAX_POSTS_PER_SUBREDDIT_PER_DAY) used: "
                f"{f.posts_last_day_here} in the last 24 hours")
    return ""


def within_limits(f: RowFacts, cfg: PostingConfig):
    if f.run.stopped:
        return Verdict("queued", f.run.stopped)
    if f.run.made >= cfg.max_posts:
        return Verdict("queued", f"cap of {cfg.max_posts} posts per run reached")
    if f.hold_until and f.hold_until > f.now:
        why = (f"Reddit asked this account to wait until {f.hold_until.isoformat(timespec='seconds')} (UTC) before "
               "posting again (a 429 with retry-after, or a RATELIMIT); nothing was sent, run this cell again after that time")
        return Verdict("queued", why, stop=why)
    over = over_budget(f, cfg.max_posts_per_day, cfg.max_posts_per_subreddit_per_day)
    if over:
        return Verdict("over budget", over)


BEFORE_PAUSE = (row_is_valid, ledger_allows, was_proposed, not_on_reddit, passes_guards, thread_is_free, within_limits)


def before_pause(f: RowFacts, cfg: PostingConfig) -> Verdict | None:
    """The first check that refuses the row, or None."""
    return next((v for check in BEFORE_PAUSE if (v := check(f, cfg))), None)


# ----- right before the send -----
def before_send(f: RowFacts, live: LiveFacts) -> Verdict | None:
    """Reddit's view just before the post (after the pause, STOP and the lease)."""
    if live.state_now in REPLIED:
        return Verdict("already posted", "another run posted it meanwhile")
    if live.banned:
        return Verdict("banned", f"our account is banned from r/{f.subreddit}")
    if live.our_reply:
        return found_on_reddit(live.our_reply)
    if f.thread in live.threads_with_ours:
        return Verdict("thread already replied", "a reply of ours is already in this thread (live)")
    if live.parent.refusal:
        return Verdict(live.parent.refusal, live.parent.detail)
    return None


def read_failed(error: SendError, doing: str) -> str:
    """Why the run stops when Reddit failed a read around a post (429, 5xx, a dropped connection):
    nothing more is sent, nothing is lost."""
    return (f"stopped: Reddit answered {error.message} while {doing}; nothing more was sent, the rest "
            "stays queued for the next run (run this cell again in a few minutes)")


def read_refused(f: RowFacts, error: SendError) -> Verdict:
    """Reddit failed the reads right before the send: a transient error stops the run (the row stays
    queued); a 403/404 means this row cannot be checked, the others may."""
    if error.retry:
        why = read_failed(error, f"checking comment {f.key} before its post")
        return Verdict("queued", why, stop=why)
    return Verdict("refused by reddit", f"{error.message} while checking comment {f.key} in r/{f.subreddit}")


# ----- after the send -----
def duplicate_of(reply_id: str, ours: list[dict]) -> str | None:
    """The reply of ours that stays when the parent shows several (the oldest), if it is not `reply_id`:
    then `reply_id` is a duplicate to delete. Every machine keeps the same one."""
    if not ours:
        return None
    first = earliest(ours)["comment_id"]
    return None if first == reply_id else first


def duplicates(comments: list[dict], keys) -> list[tuple[str, str, str]]:
    """From our account's comments: (parent comment id, the reply that stays, a reply to delete) for
    every comment among `keys` (the bot's targets: the ledger's keys, the approved rows) we answered
    more than once; the oldest stays, as `duplicate_of` decides. Other comments of the account (a
    person using it by hand) are never touched."""
    by_parent: dict[str, list[dict]] = {}
    for c in comments:
        if str(c.get("parent_id", "")).startswith("t1_") and c["parent_id"].removeprefix("t1_") in keys:
            by_parent.setdefault(c["parent_id"].removeprefix("t1_"), []).append(c)
    out = []
    for parent, ours in by_parent.items():
        keep = earliest(ours)["comment_id"]
        out += [(parent, keep, c["comment_id"]) for c in ours if c["comment_id"] != keep]
    return out


def settle(entry: dict, reply_id: str | None) -> Record:
    """An unresolved ledger entry (an interrupted post, a 5xx) against Reddit: our reply found or not."""
    if reply_id:
        return Record("posted", {"reply_id": reply_id, "recovered": True})
    return Record("failed", {"reason": "not on Reddit after an interrupted post", "retry": True, "uncertain": False})
