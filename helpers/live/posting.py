"""From scored candidates to posts: selection, and the posting loop as a state machine (dry run
by default; one writer per Drive; never posts a reply twice, even after a crash, a lost ledger or
a second tab, and at most one reply of ours survives under a comment when two machines race).

States of one approved reply (its ledger `key` is the parent comment id), all in `TRANSITIONS`:

    (none)/dry_run --checks pass--> posting --Reddit answers with the reply--> posted
                                    posting --refused for good (403, DELETED_COMMENT...)--> failed (retry false)
                                    posting --429, 401, RATELIMIT, 5xx, dropped, crash--> failed (retry true)
    failed (retry true) --next run: our reply found on Reddit--> posted
    failed (retry true) --next run: checks pass, attempts left--> posting
    failed (retry true) --MAX_ATTEMPTS posts sent--> gave_up
    (none) --our reply found on Reddit (another machine, lost ledger)--> posted
    posted --read back: an older reply of ours is there too (another machine); ours deleted--> posted
           (reply_id: the one that stays, deleted_duplicate: ours)

How a row is decided: `posting_facts` reads the facts (pure reads), `posting_checks` judges them
(plain functions returning a Verdict), and `Poster` below is the one place that writes the ledger,
pauses and sends, through a sender (`sender.RedditSender`, or `sender.DryRunSender` for a dry run).
Refusals before anything is sent are reported per run (`OUTCOMES`), not written to the ledger: a
person may fix the row and the next run checks it again.
"""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd

from helpers.core.reddit_terms import PREDICTION_COLUMNS, clean_id
from helpers.live import posting_checks as checks
from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import Ledger, LedgerView, parse_time
from helpers.live.posting_config import DEFAULT_FOOTER, Effects, PostingConfig
from helpers.live.posting_facts import RowFacts, RunSoFar, live_facts, row_facts
from helpers.live.reddit import REQUEST_ERRORS, answered
from helpers.live.review import approved
from helpers.live.sender import DryRunSender, RedditSender, SendError, Sent, classify

__all__ = ["STATES", "TRANSITIONS", "OUTCOMES", "move", "select_replies", "post_approved", "PostRun",
           "PostingConfig", "Effects", "DEFAULT_FOOTER", "stop_files", "pause_before"]

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
    "posted": ("posted",),  # only to name the reply that stays after our duplicate was deleted
    "gave_up": (),
}
# Outcomes of one approved row in one run (PostRun.counts), beyond the states above.
OUTCOMES = ("posted", "dry run", "already posted", "failed", "retry later", "gave up", "failed before",
            "invalid row", "not proposed", "refused by guards", "parent gone", "parent is ours",
            "thread locked", "thread already replied", "banned", "over budget", "queued", "unresolved",
            "refused by reddit", "duplicate deleted")
RATELIMIT_WAITS = 2  # RATELIMITs waited out for one reply in one run (then it is left to a later run)


def move(ledger: Ledger, key: str, to: str, current: str | None, **fields) -> dict:
    """Record the transition of `key` from `current` to `to` (refused if TRANSITIONS has no such arrow)."""
    if to not in TRANSITIONS.get(current, ()):
        raise RuntimeError(f"posting state machine: no transition {current} -> {to} for {key}")
    return ledger.append(to, key, **fields)


def stop_files(stop_path: Path) -> list[Path]:
    """STOP switches for `stop_path` (ledger/STOP): any file of that name in its folder, whatever the case
    or extension (Drive's web page makes a Google Doc, seen as STOP.gdoc on the mount, or uploads STOP.txt)."""
    stem = stop_path.name.split(".")[0].strip().lower()
    try:
        return sorted(p for p in stop_path.parent.iterdir() if p.name.split(".")[0].strip().lower() == stem)
    except OSError:
        return []


# ----- selection -----
def select_replies(scored: pd.DataFrame, *, min_prob_real: float, max_chars: int,
                   reply_col: str = "candidate") -> pd.DataFrame:
    """As the original: keep replies with prob_real above `min_prob_real` and shorter than
    `max_chars`, then the one with the highest expected rating bin per post."""
    ok = scored[(scored["prob_real"] > min_prob_real) & (scored[reply_col].str.len() < max_chars)]
    best = ok.sort_values("expected_rating_bin", ascending=False, kind="stable").drop_duplicates("submission_id")
    return best.reset_index(drop=True)


def prediction(row: dict, proposed: dict) -> dict:
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


def pause_before(view: LedgerView, made: int, pause_minutes: tuple[float, float], rng: random.Random) -> float:
    """Seconds to wait before the next post: a random pause after a post of this run; before the
    first post of a run, what is left of that pause since the ledger's last post."""
    low, high = pause_minutes
    pause = rng.uniform(low, high) * 60
    if made:
        return pause
    times = [t for e in view.recent_posts(timedelta(seconds=pause + 1)) if (t := parse_time(e.get("at")))]
    if not times:
        return 0.0
    return max(0.0, pause - (view.now - max(times)).total_seconds())


# ----- a run -----
class PostRun:
    """What a posting run did: counts, one outcome per approved row, and why it stopped early."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.outcomes: list[dict] = []
        self.stopped: str | None = None

    def add(self, row, outcome: str, detail: str = "") -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.outcomes.append({"subreddit": row.get("subreddit", ""), "submission_id": row.get("submission_id", ""),
                              "comment_id": row.get("comment_id", ""), "outcome": outcome, "detail": detail})

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.outcomes, columns=["subreddit", "submission_id", "comment_id", "outcome", "detail"])


def post_approved(review: pd.DataFrame, ledger: Ledger, reddit, config: PostingConfig | None = None, *,
                  proposals: pd.DataFrame | None = None, lease: Lease | None = None,
                  effects: Effects | None = None) -> PostRun:
    """Post the approved rows of `review` as `config` says, each checked again right before its post
    (posting_checks): it is in `proposals` (what notebook 07 proposed), its text as the person left it
    passes the guards, the parent exists and is not ours, the thread is not locked and has no reply of
    ours (our account's comments, and the parent's own replies, read before each post), we are not
    banned there, the budgets allow it and no STOP (checked before every send, re-sends included).

    A dry run (the default) sends nothing and records "dry_run". A real run holds the posting `lease`
    (default ledger/lease.json) so one run posts per Drive; an overlapping run stops with a message.
    After each post the thread is read back: if an older reply of ours is under the same comment
    (another machine raced us), ours is deleted. Transient errors are retried by later runs, at most
    `max_attempts` sends in all. A RATELIMIT up to `ratelimit_max_wait_minutes` is waited out; a
    longer one, or a 429, stops the run (the rest stays queued).
    """
    config = config or PostingConfig()
    effects = effects or Effects()
    if config.dry_run:
        sender = DryRunSender(effects.log)
    else:
        if reddit is None:
            raise ValueError("DRY_RUN is off but there is no Reddit client: connect with helpers.live.reddit.connect()")
        if proposals is None:
            raise ValueError("posting needs the proposals notebook 07 made (helpers.live.review.read_proposals)")
        sender = RedditSender(reddit)
    offered = None if proposals is None else {  # comment id -> what notebook 07 proposed
        clean_id(k, "t1_"): r for k, r in
        proposals.drop_duplicates("comment_id").set_index("comment_id").to_dict("index").items()}
    folder = ledger.own_path.parent
    lease = lease or Lease(folder / "lease.json", settle=config.lease_settle,
                           max_extra=max(config.pause_minutes_max * 60, config.ratelimit_max_wait) + 60)
    stop_path = Path(config.stop_file) if config.stop_file else folder / "STOP"
    return Poster(ledger, sender, config, offered, lease, stop_path, effects).run(approved(review))


class Poster:
    """One posting run: the one place that writes the ledger, pauses and sends. `run` takes the
    lease and settles the ledger against Reddit (real runs), then takes each approved row through
    facts -> checks -> action."""

    def __init__(self, ledger: Ledger, sender, cfg: PostingConfig, offered, lease: Lease, stop_path: Path, fx: Effects):
        self.ledger, self.sender, self.cfg, self.offered = ledger, sender, cfg, offered
        self.lease, self.stop_path, self.fx = lease, stop_path, fx
        self.result = PostRun()
        self.so_far = RunSoFar(sends=sender.live)
        self.me = ""
        self.banned: dict[str, bool] = {}

    # ----- the run -----
    def run(self, rows: pd.DataFrame) -> PostRun:
        if not self.sender.live:
            return self.rows(rows)
        try:
            self.lease.acquire()
        except LeaseBusy as busy:
            self.stopped(str(busy))
            return self.queue_all(rows, "another run holds the posting lease")
        try:
            try:
                self.start({clean_id(k, "t1_") for k in rows["comment_id"]})
            except REQUEST_ERRORS as error:
                return self.queue_all(rows, self.read_failed(error, "reading our account and recent comments"))
            return self.rows(rows)
        finally:
            self.lease.release()

    def start(self, targets: set[str]) -> None:
        """Our account and its comments as far as Reddit lists them (as ssi-bot syncs at start), then
        every unresolved ledger entry settled against Reddit before anything is retried."""
        self.me = self.sender.me()
        comments = self.sender.all_comments(self.me)
        deleted = self.delete_duplicates(comments, targets)
        replies, threads = answered([c for c in comments if c["comment_id"] not in deleted])
        self.so_far = replace(self.so_far, our_replies=tuple(replies.items()), threads=self.so_far.threads | threads)
        found = 0
        for entry in self.ledger.view().unresolved():
            key = entry["key"]
            under = replies.get(key) or next((r["comment_id"] for r in self.sender.replies_of(self.me, key)), None)
            record = checks.settle(entry, under)
            self.record(key, record, entry["state"], {k: entry.get(k) for k in ("submission_id", "subreddit")})
            if record.state == "posted":
                self.fx.log(f"recovered: the reply to comment {key} was posted before the interruption ({under})")
                found += 1
        self.result.counts["recovered"] = found

    def delete_duplicates(self, comments: list[dict], targets: set[str]) -> set[str]:
        """Two replies of ours under one comment the bot answers (a race whose read-back failed):
        delete the later ones. `targets`: the approved rows' comment ids (the ledger's keys are added)."""
        deleted = set()
        merged = self.ledger.view().merged()
        for parent, keep, extra in checks.duplicates(comments, targets | set(merged)):
            self.sender.delete(extra)
            deleted.add(extra)
            self.fx.log(f"deleted our reply {extra} to comment {parent}: reply {keep} of ours was there first")
            prior = merged.get(parent, {})
            if "posted" in TRANSITIONS.get(prior.get("state"), ()):
                thread = next(c["submission_id"] for c in comments if c["comment_id"] == keep)
                base = {"submission_id": prior.get("submission_id") or thread, "subreddit": prior.get("subreddit", "")}
                self.record(parent, checks.Record("posted", {"reply_id": keep, "deleted_duplicate": extra}),
                            prior.get("state"), base)
        return deleted

    def rows(self, rows: pd.DataFrame) -> PostRun:
        for _, row in rows.iterrows():
            self.row(row)
        return self.result

    def row(self, row: pd.Series) -> None:
        """One row: facts, the checks before the pause; then a dry run shows it, a real run pauses,
        checks STOP and the lease, reads Reddit, checks again and sends."""
        facts = row_facts(row, self.ledger.view(), self.offered, self.so_far)
        verdict = checks.before_pause(facts, self.cfg)
        if verdict:
            return self.apply(facts, verdict)
        text = facts.text + self.cfg.footer_text
        if not self.sender.live:
            self.sender.send(facts.key, text, facts.subreddit)
            self.record(facts.key, checks.Record("dry_run", {"text": text, "dry_run": True}), facts.state, facts.base)
            return self.done(facts, "dry run", "", made=True)
        wait = pause_before(self.ledger.view(), self.so_far.made, self.cfg.pause_minutes, self.fx.rng)
        stop = self.pause(wait)
        if stop:
            return self.apply(facts, checks.Verdict("queued", stop, stop=stop))
        try:
            view = self.ledger.view().merged().get(facts.key, {})
            live = live_facts(self.sender, self.me, facts, view.get("state"), self.banned.get(facts.subreddit))
        except REQUEST_ERRORS as error:
            return self.apply(facts, self.read_verdict(error, facts))
        self.banned[facts.subreddit] = live.banned
        self.so_far = replace(self.so_far, threads=self.so_far.threads | live.threads_with_ours)
        verdict = checks.before_send(facts, live)
        if verdict:
            return self.apply(facts, verdict)
        self.post(facts, text, live.parent.body)

    # ----- actions -----
    def record(self, key: str, record: checks.Record, current: str | None, base: dict) -> None:
        move(self.ledger, key, record.state, current, **record.fields, **base)

    def apply(self, facts: RowFacts, verdict: checks.Verdict) -> None:
        """A verdict: its ledger record, the run's stop, the thread taken, the row's outcome."""
        if verdict.record:
            self.record(facts.key, verdict.record, facts.state, facts.base)
        if verdict.stop:
            self.stopped(verdict.stop)
        if verdict.thread_taken:
            self.so_far = replace(self.so_far, threads=self.so_far.threads | {facts.thread})
        self.result.add(facts.row, verdict.outcome, verdict.detail)

    def done(self, facts: RowFacts, outcome: str, detail: str, *, made: bool = False, thread: bool = True) -> None:
        self.so_far = replace(self.so_far, made=self.so_far.made + made,
                              threads=self.so_far.threads | ({facts.thread} if thread else set()))
        self.result.add(facts.row, outcome, detail)

    def stopped(self, why: str) -> None:
        self.result.stopped = why
        self.so_far = replace(self.so_far, stopped=why)
        self.fx.log(why)

    def queue_all(self, rows: pd.DataFrame, why: str) -> PostRun:
        for _, row in rows.iterrows():
            self.result.add(row, "queued", why)
        return self.result

    def read_failed(self, error, doing: str) -> str:
        """Reddit failed a read around a post (429, 5xx, a dropped connection): stop, nothing is lost."""
        self.stopped(f"stopped: Reddit answered {classify(error).message} while {doing}; nothing more was sent, the rest "
                     "stays queued for the next run (run this cell again in a few minutes)")
        return self.result.stopped

    def read_verdict(self, error, facts: RowFacts) -> checks.Verdict:
        problem = classify(error)
        if problem.retry:
            return checks.Verdict("queued", self.read_failed(error, f"checking comment {facts.key} before its post"))
        # a 403/404 on a read: this row cannot be checked, the others may
        return checks.Verdict("refused by reddit", f"{problem.message} while checking comment {facts.key} in r/{facts.subreddit}")

    # ----- waiting: the pause, a RATELIMIT; STOP and the lease after each -----
    def gate(self) -> str | None:
        """Right before every send: why not to send (the STOP switch, the lease lost), or None."""
        found = stop_files(self.stop_path)
        if self.cfg.stop or found:
            where = "STOP parameter" if self.cfg.stop else f"{found[0].name} file on Drive: delete it to post again"
            return f"stopped by the STOP switch ({where}); the rest stays queued"
        try:
            self.lease.check()
        except LeaseBusy as busy:
            return str(busy)
        return None

    def hold(self, seconds: float, message: str = "") -> str | None:
        """Wait `seconds` with the lease renewed to cover them, then the gate; why to stop, or None."""
        try:
            self.lease.check(extra_seconds=seconds)  # the lease outlives the wait
        except LeaseBusy as busy:
            return str(busy)
        if message:
            self.fx.log(message)
        self.fx.sleep(seconds)
        return self.gate()

    def pause(self, wait: float) -> str | None:
        """The pause before a post (none before a run's first post unless the ledger's last post was
        moments ago), then STOP and the lease (a person may set STOP during the pause)."""
        if self.so_far.made or wait > 0:
            note = f"pausing {wait / 60:.1f} min before the next post (STOP or interrupt now to end the run)" if wait else ""
            return self.hold(wait, note)
        return self.gate()

    # ----- the post: "posting" is written; now "posted" or "failed" -----
    def post(self, facts: RowFacts, text: str, parent_body: str) -> None:
        self.record(facts.key, checks.Record("posting", {
            "text": text, "reply": facts.text, "parent_body": parent_body,
            **prediction(facts.row, facts.proposed or {})}), facts.state, facts.base)
        result, stop = self.send_patiently(facts.key, text)
        if isinstance(result, Sent):
            return self.posted(facts, result.reply_id)
        if stop:
            self.stopped(stop)
        self.failed(facts, result)

    def send_patiently(self, key: str, text: str) -> tuple[Sent | SendError, str | None]:
        """Send; wait out a short RATELIMIT (at most RATELIMIT_WAITS times) and send again, unless STOP
        or the lease says otherwise after the wait. The last answer, and why the run stops (or None)."""
        result = self.sender.send(key, text)
        waits = 0
        while (isinstance(result, SendError) and result.posting_limit and result.wait is not None
               and result.wait <= self.cfg.ratelimit_max_wait and waits < RATELIMIT_WAITS):
            stop = self.hold(result.wait, f"Reddit asks us to wait {result.wait:.0f} s; waiting")
            if stop:
                return result, stop
            waits += 1
            result = self.sender.send(key, text)
        return result, None

    def failed(self, facts: RowFacts, error: SendError) -> None:
        hold = {}
        if error.wait:  # not sent again before Reddit allows it (a rerun would spend an attempt for nothing)
            hold["not_before"] = (self.ledger.clock() + timedelta(seconds=error.wait)).isoformat(timespec="seconds")
        self.record(facts.key, checks.Record("failed", {"reason": error.message, "retry": error.retry,
                                                        "uncertain": error.may_have_posted, **hold}), "posting", facts.base)
        if error.slow_down and not self.result.stopped:
            self.stopped(f"stopped on {error.message}; the rest stays queued for the next run")
        if not error.retry:
            return self.done(facts, "failed", error.message, thread=False)
        detail = error.message + ("; uncertain: checked on Reddit next run" if error.may_have_posted else "")
        self.done(facts, "retry later", detail, thread=error.may_have_posted)  # a 5xx may hide a success

    def posted(self, facts: RowFacts, reply_id: str) -> None:
        """Record the reply, then read the parent back: if an older reply of ours is there too (another
        machine posted meanwhile), delete ours so that one stays."""
        self.record(facts.key, checks.Record("posted", {"reply_id": reply_id}), "posting", facts.base)
        self.fx.log(f"posted reply {reply_id} to comment {facts.key} in r/{facts.subreddit}")
        try:
            first = checks.duplicate_of(reply_id, self.sender.replies_of(self.me, facts.key))
        except REQUEST_ERRORS as error:
            note = f"{reply_id} (not read back: {classify(error).message}; the next run looks for two replies of ours)"
            return self.done(facts, "posted", note, made=True)
        if not first:
            return self.done(facts, "posted", reply_id, made=True)
        try:
            self.sender.delete(reply_id)
        except REQUEST_ERRORS as error:
            note = (f"{reply_id}; reply {first} of ours is under comment {facts.key} too and deleting ours failed "
                    f"({classify(error).message}); the next run tries again")
            return self.done(facts, "posted", note, made=True)
        self.record(facts.key, checks.Record("posted", {"reply_id": first, "deleted_duplicate": reply_id}), "posted",
                    facts.base)
        detail = f"our reply {reply_id} deleted: reply {first} of ours (another run or machine) was there first"
        self.fx.log(detail)
        self.done(facts, "duplicate deleted", detail, made=True)
