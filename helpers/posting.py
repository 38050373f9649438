"""From scored candidates to posts: selection, the review file a person approves, the posting
ledger, and the posting loop (dry run by default; never posts a reply twice, even after a crash).
"""
from __future__ import annotations

import contextlib
import html
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import exchange
from .paths import Paths

DEFAULT_FOOTER = "\n\n---\n^(I am a bot: GPT-2 wrote this reply and a person read it before it was posted.)"
REVIEW_COLUMNS = ["subreddit", "submission_id", "title", "comment_id", "comment", "reply", "prob_real",
                  "expected_upvotes", "approved"]
YES = {"yes", "y", "true", "1", "x", "approved", "ok"}


# ----- selection -----
def select_replies(scored: pd.DataFrame, *, min_prob_real: float = 0.9, max_chars: int = 1000,
                   reply_col: str = "candidate") -> pd.DataFrame:
    """As the original: keep replies with prob_real above `min_prob_real` and shorter than
    `max_chars`, then the one with the highest expected upvotes per post."""
    ok = scored[(scored["prob_real"] > min_prob_real) & (scored[reply_col].str.len() < max_chars)]
    best = ok.sort_values("expected_upvotes", ascending=False, kind="stable").drop_duplicates("submission_id")
    return best.reset_index(drop=True)


# ----- review file -----
def is_yes(value) -> bool:
    return str(value).strip().lower() in YES


def proposals(selected: pd.DataFrame, reply_col: str = "candidate") -> pd.DataFrame:
    """The review table for `selected`: every row starts not approved ("no")."""
    out = selected.rename(columns={reply_col: "reply"}).assign(approved="no")
    return out[REVIEW_COLUMNS].reset_index(drop=True)


def write_review(paths: Paths, date: str, new: pd.DataFrame) -> pd.DataFrame:
    """Write runs/<date>/review.csv. Rows already there stay exactly as the person left them
    (approval and any edit of the reply); proposals for posts not in the file yet are added below."""
    path = paths.file("review", date=date)
    if path.is_file():
        old = exchange.read_table(paths, "review", allow_empty=True, date=date)
        new = pd.concat([old, new[~new["submission_id"].isin(old["submission_id"])]], ignore_index=True)
    exchange.write_table(new, paths, "review", date=date)
    return exchange.read_table(paths, "review", allow_empty=True, date=date)


def read_review(paths: Paths, date: str) -> pd.DataFrame:
    return exchange.read_table(paths, "review", allow_empty=True, date=date)


def approved(review: pd.DataFrame) -> pd.DataFrame:
    """The rows a person approved (`approved` set to yes/true/1/x)."""
    return review[review["approved"].map(is_yes)].reset_index(drop=True)


def review_widget(paths: Paths, date: str):
    """An ipywidgets form (for Colab): each proposed reply with its scores, an editable text and
    an "approve" box; "Save" writes the same review.csv a person could edit by hand."""
    import ipywidgets as w

    review = read_review(paths, date)
    boxes, texts, rows = [], [], []
    for row in review.itertuples():
        head = w.HTML(
            f"<b>r/{html.escape(row.subreddit)}</b>: {html.escape(row.title)}<br>"
            f"<i>comment:</i> {html.escape(row.comment)}<br>"
            f"realism {row.prob_real:.2f} · expected upvotes {row.expected_upvotes:.2f}"
        )
        text = w.Textarea(value=row.reply, layout=w.Layout(width="100%"))
        box = w.Checkbox(value=is_yes(row.approved), description="approve")
        boxes.append(box)
        texts.append(text)
        rows.append(w.VBox([head, text, box]))
    status = w.HTML()
    save = w.Button(description="Save review.csv", button_style="primary")

    def on_save(_=None):
        current = read_review(paths, date)
        current["approved"] = ["yes" if b.value else "no" for b in boxes]
        current["reply"] = [t.value for t in texts]
        exchange.write_table(current, paths, "review", date=date)
        status.value = f"saved: {sum(b.value for b in boxes)} of {len(boxes)} approved"

    save.on_click(on_save)
    form = w.VBox(rows + [w.HBox([save, status])])
    form.checkboxes, form.texts, form.save_button, form.status = boxes, texts, save, status
    return form


# ----- ledger -----
class Ledger:
    """Append-only JSONL: one line per event ("posting", "posted", "failed", "dry_run"), each
    flushed to disk before the next step. A torn last line (a crash mid-write) is ignored."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def entries(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def append(self, state: str, key: str, **fields) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "state": state, "key": key, **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with open(self.path, "ab+") as f:
            if f.tell() and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                line = "\n" + line  # close a line torn by a crash, so this entry stands alone
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        return entry

    def last(self) -> dict[str, dict]:
        """The latest entry of each key (the comment answered), ignoring dry runs."""
        latest = {}
        for e in self.entries():
            if e["state"] != "dry_run":
                latest[e["key"]] = e
        return latest

    def replied_threads(self) -> set[str]:
        """Submission ids we posted in, or may have (an unresolved "posting")."""
        return {e["submission_id"] for e in self.last().values() if e["state"] in ("posted", "posting")}

    def unresolved(self) -> list[dict]:
        """Entries whose post may or may not have reached Reddit: a "posting" never closed
        (a crash), or a failure that may hide a success (a 5xx)."""
        return [e for e in self.last().values()
                if e["state"] == "posting" or (e["state"] == "failed" and e.get("uncertain"))]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.entries())


# ----- posting loop -----
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


@dataclass
class PostRun:
    """What a posting run did: counts, one outcome per approved row, and why it stopped early."""

    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[dict] = field(default_factory=list)
    stopped: str | None = None

    def add(self, row, outcome: str, detail: str = "") -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.outcomes.append({"submission_id": row["submission_id"], "comment_id": row["comment_id"],
                              "outcome": outcome, "detail": detail})

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.outcomes, columns=["submission_id", "comment_id", "outcome", "detail"])


def recover(reddit, ledger: Ledger, me: str, log=print) -> int:
    """Settle unresolved ledger entries against Reddit before anything is retried: if our reply
    is under the parent, record "posted"; otherwise record a retryable "failed". Returns how
    many were found posted."""
    from .reddit import find_reply

    found = 0
    for e in ledger.unresolved():
        base = {k: e.get(k) for k in ("submission_id", "subreddit")}
        reply_id = find_reply(reddit, e["key"], me)
        if reply_id:
            ledger.append("posted", e["key"], reply_id=reply_id, recovered=True, **base)
            log(f"recovered: the reply to comment {e['key']} was posted before the interruption ({reply_id})")
            found += 1
        else:
            ledger.append("failed", e["key"], reason="not on Reddit after an interrupted post", retry=True, **base)
    return found


def post_approved(review: pd.DataFrame, ledger: Ledger, reddit=None, *, dry_run: bool = True,
                  max_posts: int = 3, pause_minutes: tuple[float, float] = (1.0, 11.0),
                  footer: str | None = DEFAULT_FOOTER, ratelimit_max_wait: float = 11 * 60,
                  sleep=time.sleep, rng: random.Random | None = None, log=print) -> PostRun:
    """Post the approved rows of `review` (see `approved`), at most `max_posts`, one per thread,
    with a random pause of `pause_minutes` (low, high) between posts.

    Dry run (the default) posts nothing: it prints each reply and records a "dry_run" entry.
    Otherwise each post gets a "posting" ledger entry first and "posted"/"failed" after; on
    start, unresolved entries are checked against Reddit (`recover`). A RATELIMIT up to
    `ratelimit_max_wait` seconds is waited out, a longer one stops the run (the rest stays
    queued for the next run); 403, deleted parents and 5xx are recorded and the loop goes on.
    """
    import praw
    import prawcore

    rng = rng or random.Random()
    run = PostRun()
    rows = approved(review)
    if not dry_run:
        if reddit is None:
            raise ValueError("DRY_RUN is off but there is no Reddit client: connect with helpers.reddit.connect()")
        me = reddit.user.me().name
        run.counts["recovered"] = recover(reddit, ledger, me, log)
    latest = ledger.last()
    threads = ledger.replied_threads()
    made = 0
    for _, row in rows.iterrows():
        key, thread = row["comment_id"], row["submission_id"]
        base = {"submission_id": thread, "subreddit": row["subreddit"]}
        prior = latest.get(key)
        if prior and prior["state"] == "posted":
            run.add(row, "already posted", prior.get("reply_id", ""))
            continue
        if prior and prior["state"] == "failed" and not prior.get("retry"):
            run.add(row, "failed before", prior.get("reason", ""))
            continue
        if prior and prior["state"] == "posting":  # only in a dry run: recovery needs Reddit
            run.add(row, "unresolved", "an earlier post was interrupted; a real run checks Reddit first")
            continue
        if thread in threads:
            run.add(row, "thread already replied")
            continue
        if made >= max_posts:
            run.add(row, "queued", f"cap of {max_posts} posts per run reached")
            continue
        if run.stopped:
            run.add(row, "queued", run.stopped)
            continue
        text = row["reply"] + (footer or "")
        if dry_run:
            log(f"DRY RUN, would reply to comment {key} in r/{row['subreddit']}:\n{text}\n")
            ledger.append("dry_run", key, text=text, dry_run=True, **base)
            run.add(row, "dry run")
            made += 1
            threads.add(thread)
            continue
        if made:
            low, high = pause_minutes
            sleep(rng.uniform(low, high) * 60)
        ledger.append("posting", key, text=text, **base)
        for attempt in range(3):
            try:
                with sent_once(reddit):
                    reply = reddit.comment(key).reply(text)
            except praw.exceptions.RedditAPIException as error:
                limit = next((it for it in error.items if it.error_type == "RATELIMIT"), None)
                wait = ratelimit_seconds(limit.message) if limit else None
                if limit and wait is not None and wait <= ratelimit_max_wait and attempt < 2:
                    log(f"Reddit asks us to wait {wait:.0f} s; waiting")
                    sleep(wait)
                    continue
                reason = "; ".join(f"{it.error_type}: {it.message}" for it in error.items)
                ledger.append("failed", key, reason=reason, retry=bool(limit), **base)
                if limit:
                    run.stopped = f"stopped on RATELIMIT ({limit.message})"
                    run.add(row, "queued", run.stopped)
                    log(run.stopped + "; the rest stays queued for the next run")
                else:
                    run.add(row, "failed", reason)
                break
            except prawcore.exceptions.Forbidden as error:
                reason = f"403 forbidden (thread locked, banned or private): {error}"
                ledger.append("failed", key, reason=reason, retry=False, **base)
                run.add(row, "failed", reason)
                break
            except (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException) as error:
                reason = f"server or connection error: {error}"
                ledger.append("failed", key, reason=reason, retry=True, uncertain=True, **base)
                run.add(row, "failed", reason)
                break
            except prawcore.exceptions.ResponseException as error:  # other refusals (404, 400, ...)
                reason = f"refused: {error}"
                ledger.append("failed", key, reason=reason, retry=False, **base)
                run.add(row, "failed", reason)
                break
            else:
                reply_id = reply.id if reply is not None else ""
                ledger.append("posted", key, reply_id=reply_id, **base)
                run.add(row, "posted", reply_id)
                made += 1
                threads.add(thread)
                log(f"posted reply {reply_id} to comment {key} in r/{row['subreddit']}")
                break
    return run
