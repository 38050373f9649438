"""From scored candidates to posts: selection, and the posting loop as a state machine (dry run
by default; one writer per Drive; never posts a reply twice, even after a crash, a lost ledger or
a second tab). The review file lives in `helpers.live.review`, the ledger in `helpers.live.ledger`, the
lease in `helpers.live.lease`; their names are re-exported here.

States of one approved reply (its ledger `key` is the parent comment id), all in `TRANSITIONS`:

    (none)/dry_run --checks pass--> posting --Reddit answers with the reply--> posted
                                    posting --refused for good (403, DELETED_COMMENT...)--> failed (retry false)
                                    posting --429, 401, RATELIMIT, 5xx, dropped, crash--> failed (retry true)
    failed (retry true) --next run: our reply found on Reddit--> posted
    failed (retry true) --next run: checks pass, attempts left--> posting
    failed (retry true) --MAX_ATTEMPTS posts sent--> gave_up
    (none) --our reply found on Reddit (another machine, lost ledger)--> posted

Checks that refuse a row before anything is sent (`Poster.OFFLINE`: not proposed, guards,
thread answered, budgets; `Poster.LIVE`, after the pause: STOP, lease, banned, our comments,
parent gone, ours or locked) are reported per run (`OUTCOMES`), not written to the ledger: a
person may fix the row and the next run checks it again.
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

from helpers.live import guards
from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import REPLIED, Ledger, parse_time
from helpers.core.reddit_terms import PREDICTION_COLUMNS, blank, clean_id
from helpers.live.review import approved

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
            "thread locked", "thread already replied", "banned", "over budget", "queued", "unresolved",
            "refused by reddit")


def stop_files(stop_path: Path) -> list[Path]:
    """STOP switches for `stop_path` (ledger/STOP): any file of that name in its folder, whatever the case
    or extension (Drive's web page makes a Google Doc, seen as STOP.gdoc on the mount, or uploads STOP.txt)."""
    stem = stop_path.name.split(".")[0].strip().lower()
    try:
        return sorted(p for p in stop_path.parent.iterdir() if p.name.split(".")[0].strip().lower() == stem)
    except OSError:
        return []


class StopPosting(Exception):
    """A person asked to stop (the STOP file or parameter)."""


def READ_ERRORS() -> tuple:
    """What praw raises when Reddit fails a request (imported late: praw is optional for dry runs)."""
    import praw
    import prawcore

    return praw.exceptions.PRAWException, prawcore.exceptions.PrawcoreException


def move(ledger: Ledger, key: str, to: str, current: str | None, **fields) -> dict:
    """Record the transition of `key` from `current` to `to` (refused if TRANSITIONS has no such arrow)."""
    if to not in TRANSITIONS.get(current, ()):
        raise RuntimeError(f"posting state machine: no transition {current} -> {to} for {key}")
    return ledger.append(to, key, **fields)


# ----- selection -----
def select_replies(scored: pd.DataFrame, *, min_prob_real: float, max_chars: int,
                   reply_col: str = "candidate") -> pd.DataFrame:
    """As the original: keep replies with prob_real above `min_prob_real` and shorter than
    `max_chars`, then the one with the highest expected rating bin per post."""
    ok = scored[(scored["prob_real"] > min_prob_real) & (scored[reply_col].str.len() < max_chars)]
    best = ok.sort_values("expected_rating_bin", ascending=False, kind="stable").drop_duplicates("submission_id")
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


def retry_after(error) -> float | None:
    """The retry-after of a 429 (seconds), None when Reddit sent none."""
    value = getattr(error, "retry_after", None) or getattr(getattr(error, "response", None), "headers", {}).get("retry-after")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


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
        wait = retry_after(error)
        return "429 too many requests" + (f" (Reddit asks to wait {wait:.0f} s)" if wait else ""), True, False
    if status == 401 or isinstance(error, prawcore.exceptions.InvalidToken):
        return "401 unauthorized (the token expired; praw logs in again on the next request)", True, False
    if isinstance(error, prawcore.exceptions.Forbidden):
        return f"403 forbidden (thread locked, banned or private): {error}", False, False
    if isinstance(error, (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException)):
        return f"server or connection error: {error}", True, True
    return f"refused: {error}", False, False


def live_check(reddit, key: str, thread: str, me: str) -> tuple[str | None, str, str]:
    """Reddit's view just before a post: (outcome refusing it or None, detail, parent body)."""
    from helpers.core.reddit_terms import DELETED

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
    from helpers.live.reddit import answered, find_reply, my_recent_comments

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


@dataclass
class PostOptions:
    """The knobs of a posting run (notebook 07's parameters)."""

    dry_run: bool = True
    max_posts: int = 3  # per run
    max_posts_per_day: int | None = 10  # any 24 hours, from the ledger
    max_posts_per_subreddit_per_day: int | None = 3
    max_attempts: int = 3  # sends of one reply hit by transient errors, then gave_up
    pause_minutes: tuple[float, float] = (1.0, 11.0)
    footer: str | None = DEFAULT_FOOTER
    ratelimit_max_wait: float = 11 * 60  # seconds of RATELIMIT waited out; longer stops the run
    blocklist: tuple = guards.DEFAULT_BLOCKLIST
    stop: bool = False  # the STOP parameter
    stop_file: Path | str | None = None  # default ledger/STOP
    lease_settle: float = 3.0  # seconds for Drive to show a competing lease write


@dataclass
class Item:
    """One approved row on its way through the states."""

    row: pd.Series
    key: str
    thread: str
    subreddit: str
    prior: dict  # its merged ledger record ({} if none)
    proposed: dict | None = None  # notebook 07's record of it
    text: str = ""  # the reply as the person left it (no footer)
    parent_body: str = ""

    @property
    def state(self) -> str | None:
        return self.prior.get("state")

    @property
    def base(self) -> dict:
        return {"submission_id": self.thread, "subreddit": self.subreddit}


def post_approved(review: pd.DataFrame, ledger: Ledger, reddit=None, *, proposals: pd.DataFrame | None = None,
                  lease: Lease | None = None, sleep=time.sleep, rng: random.Random | None = None, log=print,
                  **options) -> PostRun:
    """Post the approved rows of `review`, each checked again right before its post (`Poster`'s
    CHECKS): it is in `proposals` (what notebook 07 proposed), its text as the person left it
    passes the guards, the parent exists and is not ours, the thread is not locked and has no
    reply of ours (our account's recent comments, re-read before each post), we are not banned
    there, the budgets allow it and no STOP. `options` are PostOptions' fields.

    Dry run (the default) sends nothing and records "dry_run". A real run holds the posting
    `lease` (default ledger/lease.json) so one run posts per Drive; an overlapping run stops
    with a message. Transient errors are retried by later runs, at most `max_attempts` sends in
    all. A RATELIMIT up to `ratelimit_max_wait` seconds is waited out; a longer one, or a 429,
    stops the run (the rest stays queued).
    """
    opts = PostOptions(**options)
    if not opts.dry_run:
        if reddit is None:
            raise ValueError("DRY_RUN is off but there is no Reddit client: connect with helpers.live.reddit.connect()")
        if proposals is None:
            raise ValueError("posting needs the proposals notebook 07 made (helpers.live.review.read_proposals)")
    poster = Poster(ledger, reddit, opts, proposals, lease, sleep, rng or random.Random(), log)
    return poster.run_all(approved(review))


class Poster:
    """One posting run. `run_all` takes the lease, settles the ledger against Reddit, then moves
    each approved row through CHECKS (offline first, live after the pause) to `send`."""

    OFFLINE = ("check_row", "check_ledger", "check_proposed", "check_on_reddit", "check_guards",
               "check_thread", "check_caps")
    LIVE = ("check_stop_and_lease", "check_banned", "check_our_comments", "check_parent")

    def __init__(self, ledger, reddit, opts: PostOptions, proposals, lease, sleep, rng, log):
        self.ledger, self.reddit, self.opts, self.sleep, self.rng, self.log = ledger, reddit, opts, sleep, rng, log
        self.offered = None if proposals is None else {  # comment id -> what notebook 07 proposed
            clean_id(k, "t1_"): r for k, r in
            proposals.drop_duplicates("comment_id").set_index("comment_id").to_dict("index").items()}
        self.stop_path = Path(opts.stop_file) if opts.stop_file else ledger.path.parent / "STOP"
        self.lease = lease or Lease(ledger.path.parent / "lease.json", settle=opts.lease_settle,
                                    max_extra=max(opts.pause_minutes[1] * 60, opts.ratelimit_max_wait) + 60)
        self.run = PostRun()
        self.me = ""
        self.mine_replies: dict[str, str] = {}  # parent comment id -> our reply id (Reddit's view)
        self.threads: set[str] = set()  # threads with a reply of ours (or maybe)
        self.banned: dict[str, bool] = {}
        self.made = 0
        self.hold_until = None  # the end of the longest wait Reddit asked of this account (from the ledger)

    # ----- the run -----
    def run_all(self, rows: pd.DataFrame) -> PostRun:
        if self.opts.dry_run:
            return self._rows(rows)
        try:
            self.lease.acquire()
        except LeaseBusy as busy:
            self.stopped(str(busy))
            for _, row in rows.iterrows():
                self.run.add(row, "queued", "another run holds the posting lease")
            return self.run
        try:
            try:
                self.me = self.reddit.user.me().name
                self.sync()
                self.run.counts["recovered"] = recover(self.reddit, self.ledger, self.me, self.mine_replies, self.log)
            except READ_ERRORS() as error:
                why = self.read_failed(error, "reading our account and recent comments")
                for _, row in rows.iterrows():
                    self.run.add(row, "queued", why)
                return self.run
            return self._rows(rows)
        finally:
            self.lease.release()

    def read_failed(self, error, doing: str) -> str:
        """Reddit failed a read around a post (429, 5xx, a dropped connection): stop, nothing is lost."""
        reason = classify(error)[0]
        self.stopped(f"stopped: Reddit answered {reason} while {doing}; nothing more was sent, the rest stays "
                     "queued for the next run (run this cell again in a few minutes)")
        return self.run.stopped

    def _rows(self, rows: pd.DataFrame) -> PostRun:
        latest = self.ledger.merged()
        self.threads |= self.ledger.replied_threads()
        holds = [parse_time(e.get("not_before")) for e in self.ledger.entries() if e.get("not_before")]
        self.hold_until = max((t for t in holds if t), default=None)  # Reddit's wait applies to the account
        for _, row in rows.iterrows():
            key = clean_id(row["comment_id"], "t1_")
            item = Item(row, key, clean_id(row["submission_id"], "t3_"), str(row["subreddit"]).strip(), latest.get(key, {}))
            self.step(item)
        return self.run

    def step(self, item: Item) -> None:
        """One row: the offline checks, then (dry run) record it, or pause, the live checks, send."""
        if self.refused(item, self.OFFLINE):
            return
        text = item.text + (self.opts.footer or "")
        if self.opts.dry_run:
            self.log(f"DRY RUN, would reply to comment {item.key} in r/{item.subreddit}:\n{text}\n")
            move(self.ledger, item.key, "dry_run", item.state, text=text, dry_run=True, **item.base)
            self.run.add(item.row, "dry run")
            self.made += 1
            self.threads.add(item.thread)
            return
        if self.refused(item, self.LIVE):
            return
        move(self.ledger, item.key, "posting", item.state, text=text, reply=item.text, parent_body=item.parent_body,
             **prediction(item.row, item.proposed or {}), **item.base)
        outcome, detail = self.send(item, text)
        self.run.add(item.row, outcome, detail)
        if outcome == "posted":
            self.made += 1
        if outcome == "posted" or outcome == "retry later" and "uncertain" in detail:
            self.threads.add(item.thread)  # a 5xx may hide a success: no second reply in this thread this run

    def refused(self, item: Item, checks) -> bool:
        for name in checks:
            try:
                verdict = getattr(self, name)(item)
            except READ_ERRORS() as error:
                reason, retry, _ = classify(error)
                if retry:
                    verdict = "queued", self.read_failed(error, f"checking comment {item.key} before its post")
                else:  # a 403/404 on a read: this row cannot be checked, the others may
                    verdict = "refused by reddit", f"{reason} while checking comment {item.key} in r/{item.subreddit}"
            if verdict:
                self.run.add(item.row, *verdict)
                return True
        return False

    def stopped(self, why: str) -> None:
        self.run.stopped = why
        self.log(why)

    def sync(self) -> None:
        """Reddit's view of our replies: the account's recent comments (as ssi-bot syncs at start)."""
        from helpers.live.reddit import answered, my_recent_comments

        self.mine_replies, mine_threads = answered(my_recent_comments(self.reddit, self.me))
        self.threads |= mine_threads

    # ----- offline checks: each returns (outcome, detail) to refuse the row, or None -----
    def check_row(self, item: Item):
        if not item.key or blank(item.thread):
            return "invalid row", "blank comment_id or submission_id"

    def check_ledger(self, item: Item):
        prior, state = item.prior, item.state
        if state == "posted":
            return "already posted", prior.get("reply_id", "")
        if state == "gave_up":
            return "gave up", prior.get("reason", "")
        if state == "failed" and not prior.get("retry"):
            return "failed before", prior.get("reason", "")
        if state == "posting":  # only in a dry run: a real run settled it in `recover`
            return "unresolved", "an earlier post was interrupted; a real run checks Reddit first"
        if state == "failed" and not self.opts.dry_run and self.ledger.attempts(item.key) >= self.opts.max_attempts:
            move(self.ledger, item.key, "gave_up", state, **item.base,
                 reason=f"{self.opts.max_attempts} sends failed; last: {prior.get('reason', '')}")
            return "gave up", prior.get("reason", "")

    def check_on_reddit(self, item: Item):
        if item.key in self.mine_replies:  # another machine, a lost ledger
            move(self.ledger, item.key, "posted", item.state, reply_id=self.mine_replies[item.key], recovered=True, **item.base)
            self.threads.add(item.thread)
            return "already posted", f"already on Reddit: {self.mine_replies[item.key]}"

    def check_proposed(self, item: Item):
        item.proposed = self.offered.get(item.key) if self.offered is not None else {}
        if item.proposed is None or clean_id(item.proposed.get("submission_id", item.thread), "t3_") != item.thread:
            return "not proposed", "no notebook proposed this reply (a row added or edited by hand)"

    def check_guards(self, item: Item):
        item.text = "" if blank(item.row["reply"]) else str(item.row["reply"])
        parent = str(item.proposed.get("comment", item.row.get("comment", "")))
        failed = guards.check(item.text, parent, self.opts.blocklist)
        if failed:
            return "refused by guards", ";".join(failed)

    def check_thread(self, item: Item):
        if item.thread in self.threads:
            return "thread already replied", "a reply of ours is (or may be) in this thread"

    def check_caps(self, item: Item):
        if self.run.stopped:
            return "queued", self.run.stopped
        if self.made >= self.opts.max_posts:
            return "queued", f"cap of {self.opts.max_posts} posts per run reached"
        if not self.opts.dry_run and self.hold_until and self.hold_until > self.ledger.clock():
            self.stopped(f"Reddit asked this account to wait until {self.hold_until.isoformat(timespec='seconds')} "
                         "(UTC) before posting again (a 429 with retry-after, or a RATELIMIT); nothing was sent, "
                         "run this cell again after that time")
            return "queued", self.run.stopped
        over = over_budget(self.ledger, item.subreddit, self.opts.max_posts_per_day, self.opts.max_posts_per_subreddit_per_day)
        if over:
            return "over budget", over

    # ----- live checks, right before the post -----
    def check_stop_and_lease(self, item: Item):
        """The pause first; then STOP and the lease (a person may set STOP during the pause)."""
        wait = pause_before(self.ledger, self.made, self.opts.pause_minutes, self.rng)
        try:
            if self.made or wait > 0:
                self.lease.check(extra_seconds=wait)  # the lease outlives the pause
                if wait:
                    self.log(f"pausing {wait / 60:.1f} min before the next post (STOP or interrupt now to end the run)")
                self.sleep(wait)
            found = stop_files(self.stop_path)
            if self.opts.stop or found:
                where = "STOP parameter" if self.opts.stop else f"{found[0].name} file on Drive: delete it to post again"
                raise StopPosting(f"stopped by the STOP switch ({where}); the rest stays queued")
            self.lease.check()
        except (StopPosting, LeaseBusy) as why:
            self.stopped(str(why))
            return "queued", str(why)
        if self.ledger.merged().get(item.key, {}).get("state") in REPLIED:
            return "already posted", "another run posted it meanwhile"

    def check_banned(self, item: Item):
        from helpers.live.reddit import is_banned

        if item.subreddit not in self.banned:
            self.banned[item.subreddit] = is_banned(self.reddit, item.subreddit)
        if self.banned[item.subreddit]:
            return "banned", f"our account is banned from r/{item.subreddit}"

    def check_our_comments(self, item: Item):
        self.sync()
        if item.key in self.mine_replies:
            return self.check_on_reddit(item)
        if item.thread in self.threads:
            return "thread already replied", "a reply of ours is already in this thread (live)"

    def check_parent(self, item: Item):
        refusal, detail, item.parent_body = live_check(self.reddit, item.key, item.thread, self.me)
        if refusal:
            return refusal, detail

    # ----- the post: "posting" is written; now "posted" or "failed" -----
    def send(self, item: Item, text: str) -> tuple[str, str]:
        """Send one reply (waiting out a short RATELIMIT); record "posted" or "failed"; the row's outcome."""
        import praw
        import prawcore

        for attempt in range(3):
            try:
                with sent_once(self.reddit):
                    reply = self.reddit.comment(item.key).reply(text)
            except (praw.exceptions.RedditAPIException, prawcore.exceptions.PrawcoreException) as error:
                reason, retry, uncertain = classify(error)
                wait = ratelimit_seconds(reason) if "RATELIMIT" in reason else None
                if wait is not None and wait <= self.opts.ratelimit_max_wait and attempt < 2:
                    self.log(f"Reddit asks us to wait {wait:.0f} s; waiting")
                    try:
                        self.lease.check(extra_seconds=wait)  # the lease outlives the wait
                        self.sleep(wait)
                        continue
                    except LeaseBusy as busy:
                        self.stopped(str(busy))
                hold = {}
                if wait is None and reason.startswith("429"):
                    wait = retry_after(error)
                if wait:  # not sent again before Reddit allows it (a rerun would spend an attempt for nothing)
                    hold["not_before"] = (self.ledger.clock() + timedelta(seconds=wait)).isoformat(timespec="seconds")
                move(self.ledger, item.key, "failed", "posting", reason=reason, retry=retry, uncertain=uncertain,
                     **hold, **item.base)
                if ("RATELIMIT" in reason or reason.startswith("429")) and not self.run.stopped:
                    self.stopped(f"stopped on {reason}; the rest stays queued for the next run")
                if retry:
                    return "retry later", reason + ("; uncertain: checked on Reddit next run" if uncertain else "")
                return "failed", reason
            reply_id = reply.id if reply is not None else ""
            move(self.ledger, item.key, "posted", "posting", reply_id=reply_id, **item.base)
            self.log(f"posted reply {reply_id} to comment {item.key} in r/{item.subreddit}")
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
