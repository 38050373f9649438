"""The posting loop as a state machine (dry run by default; one writer per Drive; never posts a
reply twice, even after a crash, a lost ledger or a second tab, and at most one reply of ours
survives under a comment when two machines race).

States of one approved reply (its ledger `key` is the parent comment id), all in `TRANSITIONS`:

    (none)/dry_run --checks pass--> posting --Reddit answers with the reply--> posted
                                    posting --refused for good (403, DELETED_COMMENT...)--> failed (retry false)
                                    posting --429, 401, RATELIMIT, 5xx, dropped, crash--> failed (retry true)
    (none)/failed (retry true) --a dry run: checks pass--> dry_run
    failed (retry true) --next run: our reply found on Reddit--> posted
    failed (retry true) --next run: checks pass, attempts left--> posting
    failed (retry true) --MAX_ATTEMPTS posts sent--> gave_up
    failed (retry true, uncertain) --next run: not on Reddit--> failed (retry true)
    (none) --our reply found on Reddit (another machine, lost ledger)--> posted
    posted --read back: an older reply of ours is there too (another machine); ours deleted--> posted
           (reply_id: the one that stays, deleted_duplicate: ours)

How a row is decided: `posting_facts` reads the facts (pure reads), `posting_checks` judges them
(plain functions returning a Verdict), and `Actions` below is the one place that acts on a verdict:
it writes the ledger (every transition through `move`) and the run's outcomes. `Poster` takes each
row through facts -> checks -> actions and sends through a sender (`sender.RedditSender`, or
`sender.DryRunSender` for a dry run); a real run first settles the ledger with Reddit
(`posting_recovery`) and does all its waiting through `posting_gate.Gate` (the pause, a RATELIMIT,
then STOP and the lease). Refusals before anything is sent are reported per run (`OUTCOMES`), not
written to the ledger: a person may fix the row and the next run checks it again.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd

from helpers.core.reddit_terms import clean_id
from helpers.live import posting_checks as checks
from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import Ledger
from helpers.live.posting_config import DEFAULT_FOOTER, Effects, PostingConfig
from helpers.live.posting_facts import RowFacts, RunSoFar, live_facts, row_facts
from helpers.live.posting_gate import Gate
from helpers.live.posting_recovery import Recovery, Start
from helpers.live.reddit import REQUEST_ERRORS
from helpers.live.review import approved, prediction
from helpers.live.sender import DryRunSender, RedditSender, SendError, Sent, classify

__all__ = ["STATES", "TRANSITIONS", "OUTCOMES", "move", "post_approved", "PostRun", "PostingConfig", "Effects",
           "DEFAULT_FOOTER"]

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


def move(ledger: Ledger, key: str, to: str, current: str | None, **fields) -> dict:
    """Record the transition of `key` from `current` to `to` (refused if TRANSITIONS has no such arrow).
    `fields` are the entry's data, written as given (as `Ledger.append` takes them), not options."""
    if to not in TRANSITIONS.get(current, ()):
        raise RuntimeError(f"posting state machine: no transition {current} -> {to} for {key}")
    return ledger.append(to, key, **fields)


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
    gate = Gate(lease, Path(config.stop_file) if config.stop_file else folder / "STOP", config, effects)
    return Poster(ledger, sender, config, offered, gate, effects.log).run(approved(review))


class Actions:
    """What a run does with a verdict, in one place: the ledger transition (through `move`), the
    row's outcome, the run's stop, and what the run knows so far (`so_far`, read by the next facts)."""

    def __init__(self, ledger: Ledger, log, sends: bool):
        self.ledger, self.log = ledger, log
        self.result = PostRun()
        self.so_far = RunSoFar(sends=sends)

    def record(self, key: str, record: checks.Record, current: str | None, base: dict) -> None:
        move(self.ledger, key, record.state, current, **record.fields, **base)

    def apply(self, facts: RowFacts, verdict: checks.Verdict) -> None:
        """A verdict: its ledger record, the run's stop, the thread taken, the row's outcome."""
        if verdict.record:
            self.record(facts.key, verdict.record, facts.state, facts.base)
        if verdict.stop:
            self.stopped(verdict.stop)
        if verdict.thread_taken:
            self.saw({facts.thread})
        self.result.add(facts.row, verdict.outcome, verdict.detail)

    def done(self, facts: RowFacts, outcome: str, detail: str, *, made: bool = False, thread: bool = True) -> None:
        """A row sent (or shown): `made` counts it as a post of this run, `thread` marks its thread taken."""
        self.so_far = replace(self.so_far, made=self.so_far.made + made,
                              threads=self.so_far.threads | ({facts.thread} if thread else set()))
        self.result.add(facts.row, outcome, detail)

    def stopped(self, why: str) -> None:
        self.result.stopped = why
        self.so_far = replace(self.so_far, stopped=why)
        self.log(why)

    def saw(self, threads) -> None:
        """Threads with a reply of ours (Reddit's view, or this run's): no other reply goes there."""
        self.so_far = replace(self.so_far, threads=self.so_far.threads | threads)

    def started(self, start: Start) -> None:
        """What the start of a real run learned from Reddit."""
        self.so_far = replace(self.so_far, our_replies=start.our_replies, threads=self.so_far.threads | start.threads)
        self.result.counts["recovered"] = start.recovered

    def queue_all(self, rows: pd.DataFrame, why: str) -> PostRun:
        for _, row in rows.iterrows():
            self.result.add(row, "queued", why)
        return self.result


class Poster:
    """One posting run: `run` takes the lease and settles the ledger with Reddit (real runs), then
    takes each approved row through facts -> checks -> actions; `post` sends one and records how it went."""

    def __init__(self, ledger: Ledger, sender, cfg: PostingConfig, offered: dict | None, gate: Gate, log):
        self.ledger, self.sender, self.cfg, self.offered, self.gate, self.log = ledger, sender, cfg, offered, gate, log
        self.act = Actions(ledger, log, sends=sender.live)
        self.me = ""
        self.banned: dict[str, bool] = {}

    def run(self, rows: pd.DataFrame) -> PostRun:
        if not self.sender.live:
            return self.rows(rows)
        try:
            self.gate.lease.acquire()
        except LeaseBusy as busy:
            self.act.stopped(str(busy))
            return self.act.queue_all(rows, "another run holds the posting lease")
        try:
            recovery = Recovery(self.ledger, self.sender, TRANSITIONS, self.act.record, self.log)
            try:
                start = recovery.start({clean_id(k, "t1_") for k in rows["comment_id"]})
            except REQUEST_ERRORS as error:
                self.act.stopped(checks.read_failed(classify(error), "reading our account and recent comments"))
                return self.act.queue_all(rows, self.act.result.stopped)
            self.me = start.me
            self.act.started(start)
            return self.rows(rows)
        finally:
            self.gate.lease.release()

    def rows(self, rows: pd.DataFrame) -> PostRun:
        for _, row in rows.iterrows():
            self.row(row)
        return self.act.result

    def row(self, row: pd.Series) -> None:
        """One row: facts, the checks before the pause; then a dry run shows it, a real run pauses,
        checks STOP and the lease, reads Reddit, checks again and sends."""
        act = self.act
        facts = row_facts(row, self.ledger.view(), self.offered, act.so_far)
        verdict = checks.before_pause(facts, self.cfg)
        if verdict:
            return act.apply(facts, verdict)
        text = facts.text + self.cfg.footer_text
        if not self.sender.live:
            self.sender.send(facts.key, text, facts.subreddit)
            act.record(facts.key, checks.Record("dry_run", {"text": text, "dry_run": True}), facts.state, facts.base)
            return act.done(facts, "dry run", "", made=True)
        stop = self.gate.pause(self.ledger.view(), act.so_far.made)
        if stop:
            return act.apply(facts, checks.Verdict("queued", stop, stop=stop))
        try:
            view = self.ledger.view().merged().get(facts.key, {})
            live = live_facts(self.sender, self.me, facts, view.get("state"), self.banned.get(facts.subreddit))
        except REQUEST_ERRORS as error:
            return act.apply(facts, checks.read_refused(facts, classify(error)))
        self.banned[facts.subreddit] = live.banned
        act.saw(live.threads_with_ours)
        verdict = checks.before_send(facts, live)
        if verdict:
            return act.apply(facts, verdict)
        self.post(facts, text, live.parent.body)

    # ----- the post: "posting" is written; now "posted" or "failed" -----
    def post(self, facts: RowFacts, text: str, parent_body: str) -> None:
        self.act.record(facts.key, checks.Record("posting", {
            "text": text, "reply": facts.text, "parent_body": parent_body,
            **prediction(facts.row, facts.proposed or {})}), facts.state, facts.base)
        result, stop = self.gate.send_patiently(self.sender, facts.key, text)
        if isinstance(result, Sent):
            return self.posted(facts, result.reply_id)
        if stop:
            self.act.stopped(stop)
        self.failed(facts, result)

    def failed(self, facts: RowFacts, error: SendError) -> None:
        hold = {}
        if error.wait:  # not sent again before Reddit allows it (a rerun would spend an attempt for nothing)
            hold["not_before"] = (self.ledger.clock() + timedelta(seconds=error.wait)).isoformat(timespec="seconds")
        self.act.record(facts.key, checks.Record("failed", {"reason": error.message, "retry": error.retry,
                                                            "uncertain": error.may_have_posted, **hold}),
                        "posting", facts.base)
        if error.slow_down and not self.act.result.stopped:
            self.act.stopped(f"stopped on {error.message}; the rest stays queued for the next run")
        if not error.retry:
            return self.act.done(facts, "failed", error.message, thread=False)
        detail = error.message + ("; uncertain: checked on Reddit next run" if error.may_have_posted else "")
        self.act.done(facts, "retry later", detail, thread=error.may_have_posted)  # a 5xx may hide a success

    def posted(self, facts: RowFacts, reply_id: str) -> None:
        """Record the reply, then read the parent back: if an older reply of ours is there too (another
        machine posted meanwhile), delete ours so that one stays."""
        act = self.act
        act.record(facts.key, checks.Record("posted", {"reply_id": reply_id}), "posting", facts.base)
        self.log(f"posted reply {reply_id} to comment {facts.key} in r/{facts.subreddit}")
        try:
            first = checks.duplicate_of(reply_id, self.sender.replies_of(self.me, facts.key))
        except REQUEST_ERRORS as error:
            note = f"{reply_id} (not read back: {classify(error).message}; the next run looks for two replies of ours)"
            return act.done(facts, "posted", note, made=True)
        if not first:
            return act.done(facts, "posted", reply_id, made=True)
        try:
            self.sender.delete(reply_id)
        except REQUEST_ERRORS as error:
            note = (f"{reply_id}; reply {first} of ours is under comment {facts.key} too and deleting ours failed "
                    f"({classify(error).message}); the next run tries again")
            return act.done(facts, "posted", note, made=True)
        act.record(facts.key, checks.Record("posted", {"reply_id": first, "deleted_duplicate": reply_id}), "posted",
                   facts.base)
        detail = f"our reply {reply_id} deleted: reply {first} of ours (another run or machine) was there first"
        self.log(detail)
        act.done(facts, "duplicate deleted", detail, made=True)
