"""From scored candidates to posts: selection, and the posting loop as a state machine (dry run
by default; one writer per Drive; never posts a reply twice, even after a crash, a lost ledger or
a second tab). The review file lives in `helpers.review`, the ledger in `helpers.ledger`, the
lease in `helpers.lease`; their names are re-exported here.

States of one approved reply (its ledger `key` is the parent comment id), all in `TRANSITIONS`:

    (none)/dry_run --checks pass--> posting --Reddit answers with the reply--> posted
                                    posting --refused for good (403, DELETED_COMMENT...)--> failed (retry false)
                                    posting --429, 401, RATELIMIT, 5xx, dropped, crash--> failed (retry true)
    failed (retry true) --next run: our reply found on Reddit--> posted
    failed (retry true) --next run: checks pass, attempts left--> posting
    failed (retry true) --MAX_ATTEMPTS posts sent--> gave_up
    (none) --our reply found on Reddit (another machine, lost ledger)--> posted

Checks that refuse a row before anything is sent (not proposed, guards, parent gone, ours,
locked, thread answered, banned, budgets, STOP) are reported per run, not written to the
ledger: a person may fix the row and the next run checks it again.
"""
from __future__ import annotations

import contextlib
import random
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pandas as pd

from . import guards
from .lease import Lease, LeaseBusy
from .ledger import REPLIED, Ledger, parse_time
from .review import (PREDICTION_COLUMNS, REVIEW_COLUMNS, YES, ReviewFileError, approved, blank, is_yes,  # noqa: F401
                     model_ids, proposals, read_proposals, read_review, review_widget, write_review)

DEFAULT_FOOTER = "\n\n---\n^(I am a bot: GPT-2 wrote this reply and a person read it before it was posted.)"

# ----- the state machine, in one place -----
STATES = {
    "dry_run": "a dry run showed this reply; nothing was sent",
    "posting": "about to send the reply (written before the POST; unresolved if the run dies here)",
    "posted": "Reddit has our reply (reply_id)",
    "failed": "not posted: refused for good (retry false) or for now (retry true, a later run tries again)",
    "gave_up": "transient failures on MAX_ATTEMPTS posts: shown, never retried",
}
TRANSITIONS = {  # ledger state -> the states it may move to
    None: ("dry_run", "posting", "posted"),
    "dry_run": ("dry_run", "posting", "posted"),
    "posting": ("posted", "failed"),
    "failed": ("posting", "posted", "gave_up", "failed", "dry_run"),
    "posted": (),
    "gave_up": (),
}
# Outcomes of one approved row in one run (PostRun.counts), beyond the states above.
OUTCOMES = ("posted", "dry run", "already posted", "failed", "retry later", "gave up", "failed before",
            "invalid row", "not proposed", "refused by guards", "parent gone", "parent is ours",
            "thread locked", "thread already replied", "banned", "over budget", "queued", "unresolved")


class StopPosting(Exception):
    """A person asked to stop (the STOP file or parameter)."""


def move(ledger: Ledger, key: str, to: str, current: str | None, **fields) -> dict:
    """Record the transition of `key` from `current` to `to` (refused if TRANSITIONS has no such arrow)."""
    if to not in TRANSITIONS.get(current, ()):
        raise RuntimeError(f"posting state machine: no transition {current} -> {to} for {key}")
    return ledger.append(to, key, **fields)


# ----- selection -----
def select_replies(scored: pd.DataFrame, *, min_prob_real: float = 0.9, max_chars: int = 1000,
                   reply_col: str = "candidate") -> pd.DataFrame:
    """As the original: keep replies with prob_real above `min_prob_real` and shorter than
    `max_chars`, then the one with the highest expected upvotes per post."""
    ok = scored[(scored["prob_real"] > min_prob_real) & (scored[reply_col].str.len() < max_chars)]
    best = ok.sort_values("expected_upvotes", ascending=False, kind="stable").drop_duplicates("submission_id")
    return best.reset_index(drop=True)


# ----- Reddit side -----
@contextlib.contextmanager
def sent_once(reddit):
    """prawcore retries a request after a 5xx or a dropped connection, POSTs included: when Reddit
    made the comment and then failed to answer, a retry posts it twice. Inside this block requests
    go out once; the ledger and `recover` decide about retries, after checking Reddit."""
    from prawcore.sessions import FiniteRetryStrategy

    class Once(FiniteRetryStrategy):
        def _sleep_seconds(self):
            return None

    core = reddit._core  # praw's authorized prawcore session (private, but stable across praw 7-8)
    before = core._retry_strategy_class
    core._retry_strategy_class = lambda: Once(retries=0)
    try:
        yield
    finally:
        core._retry_strategy_class = before


RATELIMIT_AMOUNT = re.compile(r"([0-9]+) (milliseconds?|seconds?|minutes?)")


def ratelimit_seconds(message: str) -> float | None:
    m = RATELIMIT_AMOUNT.search(message or "")
    if not m:
        return None
    n = int(m.group(1))
    return n * 60.0 if m.group(2).startswith("minute") else n / 1000 if m.group(2).startswith("milli") else float(n)


def classify(error) -> tuple[str, bool, bool]:
    """An exception from the POST -> (reason, retry, uncertain). `retry`: a later run may try again;
    `uncertain`: Reddit may have made the comment anyway (check before retrying)."""
    import praw
    import prawcore

    if isinstance(error, praw.exceptions.RedditAPIException):
        limit = any(it.error_type == "RATELIMIT" for it in error.items)
        return "; ".join(f"{it.error_type}: {it.message}" for it in error.items), limit, False
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, prawcore.exceptions.TooManyRequests) or status == 429:
        return "429 too many requests", True, False
    if status == 401 or isinstance(error, prawcore.exceptions.InvalidToken):
        return "401 unauthorized (the token expired; praw logs in again on the next request)", True, False
    if isinstance(error, prawcore.exceptions.Forbidden):
        return f"403 forbidden (thread locked, banned or private): {error}", False, False
    if isinstance(error, (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException)):
        return f"server or connection error: {error}", True, True
    return f"refused: {error}", False, False


def live_check(reddit, key: str, thread: str, me: str) -> tuple[str | None, str, str]:
    """Reddit's view just before a post: (outcome refusing it or None, detail, parent body)."""
    from .prepare import DELETED

    things = {t.fullname: t for t in reddit.info(fullnames=[f"t1_{key}", f"t3_{thread}"])}
    parent, post = things.get(f"t1_{key}"), things.get(f"t3_{thread}")
    if parent is None or parent.author is None or (parent.body or "").strip() in DELETED \
            or getattr(parent, "removed_by_category", None):
        return "parent gone", f"comment {key} is deleted, removed or unknown", ""
    if parent.link_id != f"t3_{thread}" or post is None:
        return "invalid row", f"comment {key} is not in thread {thread} (row edited?)", parent.body
    if parent.author.name.lower() == me.lower():
        return "parent is ours", f"comment {key} is ours: the bot does not answer itself", parent.body
    if post.locked or post.archived or getattr(parent, "locked", False):
        return "thread locked", f"thread {thread} or comment {key} is locked or archived", parent.body
    return None, "", parent.body


# ----- a run -----
@dataclass
class PostRun:
    """What a posting run did: counts, one outcome per approved row, and why it stopped early."""

    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[dict] = field(default_factory=list)
    stopped: str | None = None

    def add(self, row, outcome: str, detail: str = "") -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.outcomes.append({"subreddit": row.get("subreddit", ""), "submission_id": row.get("submission_id", ""),
                              "comment_id": row.get("comment_id", ""), "outcome": outcome, "detail": detail})

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.outcomes, columns=["subreddit", "submission_id", "comment_id", "outcome", "detail"])


def recover(reddit, ledger: Ledger, me: str, mine: dict[str, str] | None = None, log=print) -> int:
    """Settle unresolved ledger entries against Reddit before anything is retried: if our reply
    is under the parent (in our recent comments `mine`, or under the parent itself), record
    "posted"; otherwise a retryable "failed". Returns how many were found posted."""
    from .reddit import answered, find_reply, my_recent_comments

    if mine is None:
        mine = answered(my_recent_comments(reddit, me))[0]
    found = 0
    for e in ledger.unresolved():
        base = {k: e.get(k) for k in ("submission_id", "subreddit")}
        reply_id = mine.get(e["key"]) or find_reply(reddit, e["key"], me)
        if reply_id:
            move(ledger, e["key"], "posted", e["state"], reply_id=reply_id, recovered=True, **base)
            log(f"recovered: the reply to comment {e['key']} was posted before the interruption ({reply_id})")
            found += 1
        else:
            move(ledger, e["key"], "failed", e["state"], reason="not on Reddit after an interrupted post",
                 retry=True, uncertain=False, **base)
    return found


def prediction(row: pd.Series, proposed: dict) -> dict:
    """The prediction made when the reply was proposed (the notebook's record first, then the
    row): numbers as floats (None when absent), model identifiers as text ("" when unknown)."""
    out = {}
    for name in PREDICTION_COLUMNS:
        value = proposed.get(name, row.get(name, ""))
        if name.endswith("_model") or name == "gpt2_run":
            out[name] = "" if value is None else str(value)
            continue
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            out[name] = None
    return out


def post_approved(review: pd.DataFrame, ledger: Ledger, reddit=None, *, proposals: pd.DataFrame | None = None,
                  dry_run: bool = True, max_posts: int = 3, max_posts_per_day: int | None = 10,
                  max_posts_per_subreddit_per_day: int | None = 3, max_attempts: int = 3,
                  pause_minutes: tuple[float, float] = (1.0, 11.0), footer: str | None = DEFAULT_FOOTER,
                  ratelimit_max_wait: float = 11 * 60, blocklist=guards.DEFAULT_BLOCKLIST,
                  stop: bool = False, stop_file: Path | str | None = None, lease: Lease | None = None,
                  lease_settle: float = 3.0, sleep=time.sleep, rng: random.Random | None = None,
                  log=print) -> PostRun:
    """Post the approved rows of `review`, each checked again right before its post: it is in
    `proposals` (what notebook 07 proposed), its text as the person left it passes the guards,
    the parent exists and is not ours, the thread is not locked and has no reply of ours (our
    account's recent comments, re-read before each post), we are not banned there, the budgets
    (`max_posts` this run, per day, per subreddit per day, counted from the ledger) allow it, and
    no STOP (`stop`, or the file `stop_file`, default ledger/STOP). A random pause of
    `pause_minutes` comes before every post but the first, and before the first too when the
    ledger's last post is more recent than the pause.

    Dry run (the default) sends nothing and records "dry_run". A real run holds the posting
    `lease` (default ledger/lease.json) so one run posts per Drive; an overlapping run stops
    with a message. Transient errors are retried by later runs, at most `max_attempts` posts in
    all. A RATELIMIT up to `ratelimit_max_wait` seconds is waited out; a longer one, or a 429,
    stops the run (the rest stays queued).
    """
    from .reddit import answered, is_banned, my_recent_comments

    rng = rng or random.Random()
    run = PostRun()
    rows = approved(review)
    offered = None if proposals is None else {  # comment id -> what notebook 07 proposed
        str(k).strip(): r for k, r in proposals.drop_duplicates("comment_id").set_index("comment_id").to_dict("index").items()}
    stop_path = Path(stop_file) if stop_file else ledger.path.parent / "STOP"
    me = ""
    if not dry_run:
        if reddit is None:
            raise ValueError("DRY_RUN is off but there is no Reddit client: connect with helpers.reddit.connect()")
        if proposals is None:
            raise ValueError("posting needs the proposals notebook 07 made (helpers.review.read_proposals)")
        lease = lease or Lease(ledger.path.parent / "lease.json", settle=lease_settle)
        try:
            lease.acquire()
        except LeaseBusy as busy:
            run.stopped = str(busy)
            log(run.stopped)
            for _, row in rows.iterrows():
                run.add(row, "queued", "another run holds the posting lease")
            return run
        me = reddit.user.me().name
    try:
        mine_replies, mine_threads = answered(my_recent_comments(reddit, me)) if not dry_run else ({}, set())
        if not dry_run:
            run.counts["recovered"] = recover(reddit, ledger, me, mine_replies, log)
        _loop(run, rows, offered, ledger, reddit, me, mine_replies, mine_threads, dry_run=dry_run,
              max_posts=max_posts, per_day=max_posts_per_day, per_sub=max_posts_per_subreddit_per_day,
              max_attempts=max_attempts, pause_minutes=pause_minutes, footer=footer,
              ratelimit_max_wait=ratelimit_max_wait, blocklist=blocklist, stop=stop, stop_path=stop_path,
              lease=lease, sleep=sleep, rng=rng, log=log, is_banned=is_banned, recent=my_recent_comments)
    finally:
        if lease is not None and not dry_run:
            lease.release()
    return run


def _loop(run, rows, offered, ledger, reddit, me, mine_replies, mine_threads, *, dry_run, max_posts, per_day,
          per_sub, max_attempts, pause_minutes, footer, ratelimit_max_wait, blocklist, stop, stop_path, lease,
          sleep, rng, log, is_banned, recent):
    """The per-row transitions of `post_approved` (see the module docstring)."""
    from .reddit import answered

    latest = ledger.merged()
    threads = ledger.replied_threads() | mine_threads
    banned: dict[str, bool] = {}
    made = 0
    for _, row in rows.iterrows():
        key, thread, sub = str(row["comment_id"]).strip(), str(row["submission_id"]).strip(), str(row["subreddit"])
        base = {"submission_id": thread, "subreddit": sub}
        prior = latest.get(key, {})
        state = prior.get("state")
        # --- offline checks: the row itself, the ledger, the notebook's proposals, the guards
        if not key or not thread:
            run.add(row, "invalid row", "blank comment_id or submission_id")
            continue
        if state == "posted":
            run.add(row, "already posted", prior.get("reply_id", ""))
            continue
        if state == "gave_up":
            run.add(row, "gave up", prior.get("reason", ""))
            continue
        if state == "failed" and not prior.get("retry"):
            run.add(row, "failed before", prior.get("reason", ""))
            continue
        if state == "posting":  # only in a dry run: recovery needs Reddit
            run.add(row, "unresolved", "an earlier post was interrupted; a real run checks Reddit first")
            continue
        if state == "failed" and not dry_run and ledger.attempts(key) >= max_attempts:
            move(ledger, key, "gave_up", state, reason=f"{max_attempts} attempts failed; last: {prior.get('reason', '')}", **base)
            run.add(row, "gave up", prior.get("reason", ""))
            continue
        if key in mine_replies:  # our reply is there (another machine, a lost ledger)
            move(ledger, key, "posted", state, reply_id=mine_replies[key], recovered=True, **base)
            run.add(row, "already posted", f"already on Reddit: {mine_replies[key]}")
            continue
        proposed = offered.get(key) if offered is not None else {}
        if proposed is None or str(proposed.get("submission_id", thread)).strip() != thread:
            run.add(row, "not proposed", "no notebook proposed this reply (a row added or edited by hand)")
            continue
        text_as_left = "" if blank(row["reply"]) else str(row["reply"])
        failed_guards = guards.check(text_as_left, str(row.get("comment", "")), blocklist)
        if failed_guards:
            run.add(row, "refused by guards", ";".join(failed_guards))
            continue
        if thread in threads:
            run.add(row, "thread already replied", "a reply of ours is (or may be) in this thread")
            continue
        if run.stopped:
            run.add(row, "queued", run.stopped)
            continue
        if made >= max_posts:
            run.add(row, "queued", f"cap of {max_posts} posts per run reached")
            continue
        over = over_budget(ledger, sub, per_day, per_sub)
        if over:
            run.add(row, "over budget", over)
            continue
        text = text_as_left + (footer or "")
        if dry_run:
            log(f"DRY RUN, would reply to comment {key} in r/{sub}:\n{text}\n")
            move(ledger, key, "dry_run", state, text=text, dry_run=True, **base)
            run.add(row, "dry run")
            made += 1
            threads.add(thread)
            continue
        # --- the pause, then Reddit's view right before the post
        wait = pause_before(ledger, made, pause_minutes, rng)
        try:
            if made or wait > 0:
                lease.check(extra_seconds=wait)  # the lease outlives the pause
                if wait:
                    log(f"pausing {wait / 60:.1f} min before the next post (STOP or interrupt now to end the run)")
                sleep(wait)
            if stop or stop_path.exists():
                raise StopPosting(f"stopped by the STOP switch ({'STOP parameter' if stop else stop_path.name + ' file on Drive'}); "
                                  "the rest stays queued")
            lease.check()
        except (StopPosting, LeaseBusy) as why:
            run.stopped = str(why)
            log(run.stopped)
            run.add(row, "queued", run.stopped)
            continue
        latest_now = ledger.merged().get(key, {})
        if latest_now.get("state") in REPLIED:  # another run wrote it meanwhile
            run.add(row, "already posted", "another run posted it meanwhile")
            continue
        if sub not in banned:
            banned[sub] = is_banned(reddit, sub)
        if banned[sub]:
            run.add(row, "banned", f"our account is banned from r/{sub}")
            continue
        mine_replies, mine_threads = answered(recent(reddit, me))
        if key in mine_replies:
            move(ledger, key, "posted", state, reply_id=mine_replies[key], recovered=True, **base)
            run.add(row, "already posted", f"already on Reddit: {mine_replies[key]}")
            threads.add(thread)
            continue
        if thread in mine_threads:
            run.add(row, "thread already replied", "a reply of ours is already in this thread (live)")
            threads.add(thread)
            continue
        refusal, detail, parent_body = live_check(reddit, key, thread, me)
        if refusal:
            run.add(row, refusal, detail)
            continue
        # --- the post: "posting" first, then "posted" or "failed"
        move(ledger, key, "posting", state, text=text, parent_body=parent_body,
             **prediction(row, proposed or {}), **base)
        state = "posting"
        outcome, detail = _send(reddit, ledger, key, text, base, run, ratelimit_max_wait, lease, sleep, log)
        run.add(row, outcome, detail)
        if outcome == "posted":
            made += 1
        if outcome == "posted" or outcome == "retry later" and "uncertain" in detail:
            threads.add(thread)  # a 5xx may hide a success: no second reply in this thread this run


def _send(reddit, ledger, key, text, base, run, ratelimit_max_wait, lease, sleep, log) -> tuple[str, str]:
    """Send one reply (waiting out a short RATELIMIT); record "posted" or "failed"; the row's outcome."""
    for attempt in range(3):
        try:
            with sent_once(reddit):
                reply = reddit.comment(key).reply(text)
        except Exception as error:  # noqa: BLE001 (classified below; unknown ones are re-raised)
            import praw
            import prawcore

            if not isinstance(error, (praw.exceptions.RedditAPIException, prawcore.exceptions.PrawcoreException)):
                raise
            reason, retry, uncertain = classify(error)
            wait = ratelimit_seconds(reason) if "RATELIMIT" in reason else None
            if wait is not None and wait <= ratelimit_max_wait and attempt < 2:
                log(f"Reddit asks us to wait {wait:.0f} s; waiting")
                try:
                    lease.check(extra_seconds=wait)  # the lease outlives the wait
                except LeaseBusy as busy:
                    run.stopped = str(busy)
                    move(ledger, key, "failed", "posting", reason=reason, retry=True, uncertain=False, **base)
                    return "retry later", reason
                sleep(wait)
                continue
            move(ledger, key, "failed", "posting", reason=reason, retry=retry, uncertain=uncertain, **base)
            if "RATELIMIT" in reason or reason.startswith("429"):
                run.stopped = f"stopped on {reason}"
                log(run.stopped + "; the rest stays queued for the next run")
            return ("retry later", reason + ("; uncertain: checked on Reddit next run" if uncertain else "")) if retry \
                else ("failed", reason)
        reply_id = reply.id if reply is not None else ""
        move(ledger, key, "posted", "posting", reply_id=reply_id, **base)
        log(f"posted reply {reply_id} to comment {key} in r/{base['subreddit']}")
        return "posted", reply_id
    raise AssertionError("unreachable")


def over_budget(ledger: Ledger, subreddit: str, per_day: int | None, per_sub: int | None) -> str:
    """Why the budgets spanning runs (last 24 hours, from the ledger) refuse one more post, or ""."""
    day = ledger.recent_posts(timedelta(days=1))
    if per_day is not None and len(day) >= per_day:
        return f"budget of {per_day} posts per day (MAX_POSTS_PER_DAY) used: {len(day)} in the last 24 hours"
    in_sub = sum(1 for e in day if e.get("subreddit") == subreddit)
    if per_sub is not None and in_sub >= per_sub:
        return (f"budget of {per_sub} posts per day in r/{subreddit} (MAX_POSTS_PER_SUBREDDIT_PER_DAY) used: "
                f"{in_sub} in the last 24 hours")
    return ""


def pause_before(ledger: Ledger, made: int, pause_minutes: tuple[float, float], rng: random.Random) -> float:
    """Seconds to wait before the next post: a random pause after a post of this run; before the
    first post of a run, what is left of that pause since the ledger's last post."""
    low, high = pause_minutes
    pause = rng.uniform(low, high) * 60
    if made:
        return pause
    times = [parse_time(e.get("at")) for e in ledger.recent_posts(timedelta(seconds=pause + 1))]
    times = [t for t in times if t]
    if not times:
        return 0.0
    return max(0.0, pause - (ledger.clock() - max(times)).total_seconds())
