"""Notebook 08: how the posted replies did, against what the models predicted at posting time.

The posting ledger (`ledger/posted.jsonl`, written by 07) says which replies went out and carries
the prediction made then (`prob_real`, `p0..p3`, `expected_rating_bin`, the model runs, the text as
posted, the parent's body). `fetch` asks Reddit, 100 replies per request, how each one is doing:
its score, whether moderators removed it, whether its author account is suspended, how many
replies it drew, the state of its parent and thread, and the scores of the human replies to the
same parent. Each fetch is appended to `feedback/<source>_fetches.csv` (one row per reply per fetch), so
a reply can be followed over time and a rerun adds rows, never rewrites them. `figures` compares
the latest state with the predictions; `training_rows` turns the replies into labelled pairs
(`prepared/bert_feedback_<source>.csv`) that notebook 05 adds to its training split when asked.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import runtime
from helpers.core.exchange import atomic_path
from helpers.live.ledger import Ledger
from helpers.core.paths import Paths
from helpers.core.reddit_terms import BOTS, DEFAULT_RATING_EDGES, SCORE_COLUMNS, rating

MODEL_RUNS = ("realism_model", "upvotes_model", "gpt2_run")
# One row of the ledger's posted replies (what `posted_replies` returns).
POSTED_COLUMNS = ["key", "reply_id", "submission_id", "subreddit", "posted_at", *SCORE_COLUMNS, *MODEL_RUNS,
                  "text", "reply", "parent_body"]
# One row per reply per fetch (feedback/<source>_fetches.csv).
FETCH_COLUMNS = [
    "fetched_at", "reply_id", "key", "submission_id", "subreddit", "posted_at", "age_hours",
    "status",  # ok | removed | deleted | missing (Reddit did not return it)
    "score", "removed_by", "author", "author_suspended", "replies",
    "locked",  # no one can reply any more: the reply or its thread is locked
    "parent_status",  # ok | deleted | removed | missing | unknown (Reddit kept failing: 5xx or no connection)
    "thread_status",  # ok | locked | archived | removed | deleted | missing
    "human_replies", "human_median_score", "source",
]
FOOTER = re.compile(r"\n\n---\n(?:(?!\n\n---\n).)*\Z", re.S)  # a disclosure footer after a horizontal rule
SOURCES = ("reddit", "sample")  # where 08's fetches come from; each has its own table and training rows
SAMPLE_FILE = runtime.SAMPLE_DIR / "feedback_sample.json"


# ----- the ledger -----
def read_ledger(path: Path | str) -> list[dict]:
    """The ledger's entries in order, read as posting reads them (`Ledger.entries`): a missing file is
    empty, a torn line (a crash mid-write) or an entry without key or state is skipped."""
    return Ledger(path).entries()


def _number(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def posted_replies(entries: list[dict]) -> pd.DataFrame:
    """One row per reply the ledger says is on Reddit (a "posted" entry with a reply id).

    The entries of one key are merged in order, later fields overriding earlier ones, so the
    prediction written with "posting" survives into "posted"; dry runs are ignored. A reply that
    a later run found on Reddit ("posted", recovered) dates from its last "posting" attempt. Older entries
    without the prediction fields give NaN predictions and "" model runs (shown as unknown)."""
    merged: dict[str, dict] = {}
    for e in entries:
        if e.get("state") == "dry_run" or e.get("dry_run"):
            continue
        row = merged.setdefault(str(e["key"]), {})
        row.update(e)
        if e.get("state") == "posting":
            row["_attempt_at"] = e.get("at") or e.get("time") or ""
        if e.get("state") == "posted" and e.get("reply_id"):
            # a reply recovered by a later run was made by the last attempt, not when it was found
            row["posted_at"] = (e.get("recovered") and row.get("_attempt_at")) or e.get("at") or e.get("time") or ""
            row["_posted"] = True
    rows = []
    for key, e in merged.items():
        if not e.get("_posted") or not e.get("reply_id"):
            continue
        row = {"key": key.removeprefix("t1_"), "reply_id": str(e["reply_id"]).removeprefix("t1_"),
               "submission_id": str(e.get("submission_id") or "").removeprefix("t3_"), "subreddit": str(e.get("subreddit") or ""),
               "posted_at": e["posted_at"]}
        row.update({name: _number(e.get(name)) for name in SCORE_COLUMNS})
        row.update({name: str(e.get(name) or "") for name in (*MODEL_RUNS, "text", "parent_body")})
        # the reply without its footer: the ledger says it (any FOOTER the person chose), older entries are guessed
        row["reply"] = str(e["reply"]) if e.get("reply") else strip_footer(row["text"])
        rows.append(row)
    out = pd.DataFrame(rows, columns=POSTED_COLUMNS)
    out["posted_at"] = pd.to_datetime(out["posted_at"], utc=True, errors="coerce", format="ISO8601")
    return out.astype({name: "float64" for name in SCORE_COLUMNS})


def fetch_time(text: str = "") -> pd.Timestamp:
    """The time of this fetch as a UTC timestamp: `text` in ISO 8601 (UTC when it names no zone), or now."""
    try:
        at = pd.Timestamp(text) if text else pd.Timestamp.now(tz="UTC")
    except ValueError:
        raise ValueError(f"FETCH_TIME must be ISO 8601, like 2030-01-10T12:00 (UTC) or empty for now; got {text!r}") from None
    return at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")


def due(posted: pd.DataFrame, now: datetime, min_age_hours: float = 48, follow_days: float = 0) -> pd.DataFrame:
    """The replies old enough to judge (`min_age_hours`) and, with `follow_days` > 0, still young
    enough to follow; a reply with an unknown posting time counts as old enough."""
    age = (pd.Timestamp(now) - posted["posted_at"]) / pd.Timedelta(hours=1)
    keep = age.isna() | (age >= min_age_hours)
    if follow_days:
        keep &= age.isna() | (age <= follow_days * 24)
    return posted[keep].reset_index(drop=True)


def strip_footer(text: str) -> str:
    """The reply as GPT-2 wrote it: the text as posted without its disclosure footer."""
    return FOOTER.sub("", text or "").strip()


# ----- fetching from Reddit -----
def _fields(thing) -> dict:
    """A praw object's data without triggering a lazy fetch."""
    return vars(thing) if thing is not None else {}


def _comment_status(fields: dict | None) -> tuple[str, str]:
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


def _thread_status(fields: dict | None) -> str:
    if not fields:
        return "missing"
    by = str(fields.get("removed_by_category") or "")
    if by in ("deleted", "author") or fields.get("selftext") == "[deleted]" and str(fields.get("author")) == "None":
        return "deleted"
    if by or fields.get("selftext") == "[removed]":
        return "removed"
    return "locked" if fields.get("locked") else "archived" if fields.get("archived") else "ok"


def _author(fields: dict) -> str:
    author = fields.get("author")
    return "" if author is None else str(author)


def _batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class TooManyRequestsError(RuntimeError):
    """Reddit kept answering 429 (too many requests); nothing of this fetch was written."""


def patiently(call, *, sleep=time.sleep, tries: int = 3, max_wait: float = 120.0):
    """`call()`, waiting out a 429 (Reddit's retry-after, else 60 s) up to `tries` times."""
    import prawcore

    for attempt in range(tries):
        try:
            return call()
        except prawcore.exceptions.TooManyRequests as error:
            wait = min(float(error.retry_after or 60), max_wait)
            if attempt == tries - 1:
                raise TooManyRequestsError(
                    f"Reddit answered 429 (too many requests) {tries} times in a row; nothing of this fetch was "
                    "written: run the notebook again later."
                ) from None
            sleep(wait)


def info(reddit, fullnames: list[str], batch: int = 100, desc: str = "", progress: bool = True,
         sleep=time.sleep) -> dict[str, dict]:
    """id -> data of each thing Reddit returns for `fullnames`, `batch` per request (Reddit's limit is 100)."""
    from tqdm.auto import tqdm

    out = {}
    unique = list(dict.fromkeys(fullnames))
    for chunk in tqdm(list(_batches(unique, batch)), desc=desc, disable=not progress or not unique):
        for thing in patiently(lambda: list(reddit.info(fullnames=chunk)), sleep=sleep):
            out[thing.fullname] = dict(_fields(thing))
    return out


def suspended_accounts(reddit, names, sleep=time.sleep) -> dict[str, bool | None]:
    """name -> is the account suspended: its page says `is_suspended`, or Reddit refuses the page (403)
    or no longer knows it (404: suspended or shadowbanned; an account deleted by its owner leaves no
    name on its comments, so it is never asked about)."""
    import prawcore

    out = {}
    for name in sorted({n for n in names if n and n != "[deleted]"}):
        try:
            out[name] = bool(patiently(lambda: getattr(reddit.redditor(name), "is_suspended", False), sleep=sleep))
        except (prawcore.exceptions.NotFound, prawcore.exceptions.Forbidden):
            out[name] = True
    return out


def parent_view(reddit, key: str, submission_id: str, reply_id: str, me: str, more_replies: int | None = 0,
                sleep=time.sleep) -> dict:
    """The parent comment with its replies: its status, how many replies our reply drew, and the
    human replies to the same parent (not ours, not bots, not deleted or removed, score not hidden)."""
    import praw
    import prawcore

    parent = reddit.comment(key)
    parent.submission = reddit.submission(submission_id)
    try:
        patiently(parent.refresh, sleep=sleep)
        patiently(lambda: parent.replies.replace_more(limit=more_replies), sleep=sleep)
    except (praw.exceptions.ClientException, prawcore.exceptions.NotFound, prawcore.exceptions.Forbidden):
        return {"parent_status": "missing", "replies": math.nan, "human_replies": 0, "human_scores": []}
    except (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException):  # after praw's own retries
        return {"parent_status": "unknown", "replies": math.nan, "human_replies": 0, "human_scores": []}
    status, _ = _comment_status(_fields(parent))
    ours, humans = None, []
    bots = {b.lower() for b in BOTS} | {me.lower()}
    for child in parent.replies:
        if not isinstance(child, praw.models.Comment):  # "load more" links left unexpanded
            continue
        data = _fields(child)
        if child.id == reply_id:
            ours = child
        elif _comment_status(data)[0] == "ok" and _author(data).lower() not in bots and not data.get("score_hidden"):
            humans.append(int(data.get("score") or 0))
    replies = math.nan if ours is None else sum(1 for c in ours.replies if isinstance(c, praw.models.Comment))
    return {"parent_status": status, "replies": replies, "human_replies": len(humans), "human_scores": humans}


def fetch(reddit, posted: pd.DataFrame, *, now: datetime | None = None, public=None, more_replies: int | None = 0,
          batch: int = 100, progress: bool = True, sleep=time.sleep) -> pd.DataFrame:
    """Today's state of each reply in `posted` (see `posted_replies`): one row per reply, FETCH_COLUMNS.

    The replies and their threads are read 100 per request (`reddit.info`), each parent comment
    with its replies in one more request. `public` is an optional logged-out ("app-only") client:
    Reddit shows a removed comment normally to its own author, so removals are checked through
    it as well. A 429 is waited out (Reddit's retry-after) a few times, then TooManyRequestsError."""
    from tqdm.auto import tqdm

    now = now or datetime.now(timezone.utc)
    me = reddit.user.me().name if not reddit.read_only else ""
    replies = info(reddit, [f"t1_{r}" for r in posted["reply_id"]], batch, "replies", progress, sleep)
    seen_by_public = info(public, [f"t1_{r}" for r in posted["reply_id"]], batch, "public view", progress, sleep) \
        if public else {}
    threads = info(reddit, [f"t3_{s}" for s in posted["submission_id"] if s], batch, "threads", progress, sleep)
    authors = suspended_accounts(reddit, [_author(d) for d in replies.values()], sleep)
    rows = []
    for post in tqdm(list(posted.itertuples(index=False)), desc="parents", disable=not progress or posted.empty):
        data = replies.get(f"t1_{post.reply_id}")
        status, removed_by = _comment_status(data)
        public_status, public_by = _comment_status(seen_by_public.get(f"t1_{post.reply_id}"))
        if status == "ok" and public and public_status == "removed":
            status, removed_by = "removed", public_by
        parent = parent_view(reddit, post.key, post.submission_id, post.reply_id, me or _author(data or {}),
                             more_replies, sleep)
        author = _author(data or {})
        age = (pd.Timestamp(now) - post.posted_at) / pd.Timedelta(hours=1) if pd.notna(post.posted_at) else math.nan
        rows.append({
            "fetched_at": pd.Timestamp(now).isoformat(timespec="seconds"), "reply_id": post.reply_id, "key": post.key,
            "submission_id": post.submission_id, "subreddit": post.subreddit,
            "posted_at": post.posted_at.isoformat() if pd.notna(post.posted_at) else "",
            "age_hours": round(age, 2), "status": status,
            # a score the subreddit still hides (its first hours) is shown as 1: unknown, not 1
            "score": int(data["score"]) if data and data.get("score") is not None and not data.get("score_hidden")
            else math.nan,
            "removed_by": removed_by, "author": author,
            "author_suspended": authors.get(author),
            "replies": parent["replies"],
            "locked": bool((data or {}).get("locked") or threads.get(f"t3_{post.submission_id}", {}).get("locked")),
            "parent_status": parent["parent_status"],
            "thread_status": _thread_status(threads.get(f"t3_{post.submission_id}")),
            "human_replies": parent["human_replies"],
            "human_median_score": float(np.median(parent["human_scores"])) if parent["human_scores"] else math.nan,
            "source": "reddit",
        })
    return pd.DataFrame(rows, columns=FETCH_COLUMNS)


def public_client(**praw_options):
    """A logged-out ("app-only", read-only) praw client from REDDIT_CLIENT_ID/SECRET: it sees what
    everyone else sees, so a reply removed by moderators shows as removed."""
    import praw

    from helpers.core import credentials
    from helpers.live.reddit import user_agent

    secrets = credentials.get_secrets(["REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"])
    return praw.Reddit(client_id=secrets["REDDIT_CLIENT_ID"].reveal(),
                       client_secret=secrets["REDDIT_CLIENT_SECRET"].reveal(),
                       user_agent=user_agent("feedback-public-view"), check_for_updates=False, **praw_options)


# ----- the feedback table on Drive -----
@contextlib.contextmanager
def locked(path: Path, wait_seconds: float = 60.0, stale_seconds: float = 600.0):
    """Hold `<path>.lock` (made with O_EXCL) so two runs (two browser tabs) never append at once;
    a lock older than `stale_seconds` was left by a crash and is taken over."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > stale_seconds:
                    lock.unlink()
                    continue
            except FileNotFoundError:
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lock} is held by another run of notebook 08 (another tab?); wait for it to "
                                   f"finish, or delete the file if no other run is going.") from None
            time.sleep(0.05)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def append_fetches(path: Path | str, rows: pd.DataFrame, wait_seconds: float = 60.0) -> int:
    """Append `rows` to the CSV at `path` (created with a header if missing). Rows already there
    stay byte for byte; a row whose (reply_id, fetched_at) is already in the file is not added
    twice. The new file replaces the old one in one rename, so a crash leaves the old table, and
    a lock keeps two runs from appending at once. Returns how many rows were added."""
    path = Path(path)
    with locked(path, wait_seconds):
        return _append(path, rows)


def _append(path: Path, rows: pd.DataFrame) -> int:
    old = read_fetches(path)
    if not old.empty:
        seen = set(zip(old["reply_id"].astype(str), old["fetched_at"].astype(str)))
        rows = rows[[(str(r), str(t)) not in seen for r, t in zip(rows["reply_id"], rows["fetched_at"])]]
    rows = rows.drop_duplicates(["reply_id", "fetched_at"])
    if rows.empty:
        return 0
    with atomic_path(path) as tmp:
        if path.is_file():
            header = pd.read_csv(path, nrows=0).columns.tolist()
            extra = [c for c in rows.columns if c not in header]
            if extra:  # a newer version added columns: rewrite the header, keep the old rows' values
                old.reindex(columns=header + extra).to_csv(tmp, index=False)
                header += extra
            else:
                data = path.read_bytes()
                tmp.write_bytes(data if data.endswith(b"\n") else data + b"\n")
            rows.reindex(columns=header).to_csv(tmp, mode="a", header=False, index=False)
        else:
            rows.reindex(columns=FETCH_COLUMNS + [c for c in rows.columns if c not in FETCH_COLUMNS]).to_csv(tmp, index=False)
    return len(rows)


def read_fetches(path: Path | str) -> pd.DataFrame:
    """The feedback table (every fetch of every reply), or an empty one."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=FETCH_COLUMNS)
    table = pd.read_csv(path, dtype={"reply_id": str, "key": str, "submission_id": str, "removed_by": str,
                                     "author": str}, keep_default_na=False, na_values=[""])
    lacking = [c for c in ("fetched_at", "reply_id", "status", "score") if c not in table]
    if lacking:
        raise ValueError(
            f"{path} is not the feedback table notebook 08 writes: it must be comma-separated with the columns "
            f"{', '.join(FETCH_COLUMNS)} (lacking {', '.join(lacking)}; a spreadsheet saved it with ';' or tabs?). "
            "Save it again as CSV with commas, or rename it and rerun 08 (which then starts a new table).")
    for column in ("reply_id", "key", "submission_id", "subreddit", "removed_by", "author", "status",
                   "parent_status", "thread_status", "source", "fetched_at", "posted_at"):
        if column in table:
            table[column] = table[column].fillna("").astype(str)
    return table


def latest(fetches: pd.DataFrame, posted: pd.DataFrame, min_age_hours: float = 0) -> pd.DataFrame:
    """The last fetch of each reply made when the reply was at least `min_age_hours` old, with the
    prediction made when it was posted (NaN if unknown)."""
    fetches = fetches[~(fetches["age_hours"].astype(float) < min_age_hours)]
    at = pd.to_datetime(fetches["fetched_at"], utc=True, format="mixed", errors="coerce")  # a spreadsheet may rewrite it
    last = (fetches.assign(_t=at).sort_values("_t", kind="stable", na_position="first")
            .drop_duplicates("reply_id", keep="last").drop(columns="_t"))
    keep = ["reply_id", *SCORE_COLUMNS, *MODEL_RUNS, "text", "reply", "parent_body"]
    return last.merge(posted[keep], on="reply_id", how="left").reset_index(drop=True)


# ----- figures -----
def predicted_bin(table: pd.DataFrame) -> pd.Series:
    """The bin the upvote model found likeliest (argmax of p0..p3); NaN when unknown."""
    probs = table[["p0", "p1", "p2", "p3"]].astype(float)
    known = probs.notna().all(axis=1)
    out = pd.Series(np.nan, index=table.index)
    if known.any():
        out[known] = probs[known].to_numpy().argmax(axis=1)
    return out


def scored(table: pd.DataFrame) -> pd.DataFrame:
    """Replies whose score means something: on Reddit (not removed, deleted or missing), score known."""
    return table[(table["status"] == "ok") & table["score"].notna()]


def figures(table: pd.DataFrame, edges=DEFAULT_RATING_EDGES) -> dict:
    """The headline figures from the latest state of each reply (see `latest`)."""
    from scipy.stats import spearmanr

    live = scored(table)
    known = live[live["expected_rating_bin"].notna()]
    def rank_correlation(predicted: pd.Series, score: pd.Series) -> float:
        if len(predicted) < 3 or predicted.nunique() < 2 or score.nunique() < 2:
            return math.nan
        return float(spearmanr(predicted.astype(float), score.astype(float)).statistic)

    spearman = rank_correlation(known["expected_rating_bin"], known["score"])
    bins = predicted_bin(live)
    spearman_bin = rank_correlation(bins[bins.notna()], live.loc[bins.notna(), "score"])
    humans = live[live["human_replies"].fillna(0) > 0]
    suspended = table["author_suspended"].map(lambda v: str(v).lower() == "true")
    return {
        "replies": len(table),
        "on_reddit": len(live),
        "with_prediction": len(known),
        "removed": int((table["status"] == "removed").sum()),
        "removal_rate": float((table["status"] == "removed").mean()) if len(table) else math.nan,
        "deleted": int((table["status"] == "deleted").sum()),
        "missing": int((table["status"] == "missing").sum()),
        "author_suspended": int(suspended.sum()),
        "parent_gone": int(table["parent_status"].isin(["deleted", "removed", "missing"]).sum()),
        "median_score": float(live["score"].median()) if len(live) else math.nan,
        "spearman_expected_vs_score": spearman,
        "spearman_predicted_bin_vs_score": spearman_bin,  # the likeliest bin (argmax p0..p3) instead
        "bot_median_score_vs_humans": float(humans["score"].median()) if len(humans) else math.nan,
        "human_median_score": float(humans["human_median_score"].median()) if len(humans) else math.nan,
        "bot_at_least_human_median": float((humans["score"] >= humans["human_median_score"]).mean()) if len(humans) else math.nan,
    }


def by_predicted_bin(table: pd.DataFrame) -> pd.DataFrame:
    """Per predicted bin (argmax p0..p3): how many replies, their median and mean score."""
    live = scored(table)
    live = live.assign(predicted_bin=predicted_bin(live)).dropna(subset=["predicted_bin"])
    out = live.groupby(live["predicted_bin"].astype(int))["score"].agg(replies="size", median_score="median", mean_score="mean")
    return out.reindex(range(4)).assign(replies=lambda t: t["replies"].fillna(0).astype(int)).rename_axis("predicted bin")


def calibration(table: pd.DataFrame, edges=DEFAULT_RATING_EDGES) -> pd.DataFrame:
    """Per upvote bin: the share of replies the model expected there (mean p_k) against the share
    whose real score landed there, over replies on Reddit with a known prediction."""
    live = scored(table).dropna(subset=["p0", "p1", "p2", "p3"])
    actual = rating(live["score"].astype(float), edges).value_counts(normalize=True) if len(live) else pd.Series(dtype=float)
    return pd.DataFrame({
        "predicted share": [float(live[f"p{k}"].mean()) if len(live) else math.nan for k in range(4)],
        "actual share": [float(actual.get(k, 0.0)) if len(live) else math.nan for k in range(4)],
    }, index=pd.Index(bin_labels(edges), name="score bin"))


def bin_labels(edges=DEFAULT_RATING_EDGES) -> list[str]:
    return ([f"< {edges[0]}"] + [f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}" for lo, hi in zip(edges, edges[1:])]
            + [f"≥ {edges[-1]}"])


def over_time(fetches: pd.DataFrame) -> pd.DataFrame:
    """Median score of the bot's replies and of the human replies beside them, per fetch age (hours,
    rounded to the day when older than two days), over replies on Reddit."""
    live = fetches[(fetches["status"] == "ok") & fetches["score"].notna()]
    age = live["age_hours"].astype(float)
    bucket = np.where(age < 48, np.round(age), np.round(age / 24) * 24)
    return (live.assign(age=bucket).groupby("age")
            .agg(replies=("reply_id", "nunique"), bot_median=("score", "median"), human_median=("human_median_score", "median")))


def plot(table: pd.DataFrame, fetches: pd.DataFrame, edges=DEFAULT_RATING_EDGES):
    """Four panels: predicted expected bin vs real score; calibration; bot vs human replies; score over time."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    live = scored(table)
    ax = axes[0, 0]
    ax.scatter(live["expected_rating_bin"], live["score"], s=18)
    ax.set(xlabel="expected upvote bin at posting (Σk·p_k)", ylabel="score now",
           title="predicted vs actual")
    ax = axes[0, 1]
    cal = calibration(table, edges)
    x = np.arange(len(cal))
    ax.bar(x - 0.2, cal["predicted share"], 0.4, label="predicted (mean p_k)")
    ax.bar(x + 0.2, cal["actual share"], 0.4, label="actual")
    ax.set(xticks=x, xticklabels=cal.index, xlabel="score bin", ylabel="share of replies", title="calibration")
    ax.legend()
    ax = axes[1, 0]
    humans = live[live["human_replies"].fillna(0) > 0]
    ax.scatter(humans["human_median_score"], humans["score"], s=18)
    if len(humans):
        top = float(max(humans["human_median_score"].max(), humans["score"].max(), 1))
        ax.plot([0, top], [0, top], "--", color="grey")
    ax.set(xlabel="median score of the human replies to the same comment", ylabel="bot reply's score",
           title="bot vs humans, same comments")
    ax = axes[1, 1]
    follow = fetches[fetches["score"].notna()].assign(age_hours=lambda t: t["age_hours"].astype(float))
    if follow["reply_id"].nunique() <= 10:  # a line per reply; an x where it was no longer on Reddit
        for reply_id, rows in follow.groupby("reply_id"):
            line, = ax.plot(rows["age_hours"], rows["score"].astype(float), marker="o", alpha=0.6, label=reply_id)
            gone = rows[rows["status"] != "ok"]
            ax.scatter(gone["age_hours"], gone["score"].astype(float), marker="x", s=80, color=line.get_color())
    medians = over_time(fetches)
    ax.plot(medians.index, medians["bot_median"], color="black", linewidth=2.5, label="bot, median")
    ax.plot(medians.index, medians["human_median"], color="grey", linewidth=2.5, linestyle="--", label="humans, median")
    ax.set(xlabel="hours since posting", ylabel="score", title="score over time (x: removed or gone)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def show(fig) -> None:
    """Show `fig` in the notebook as a PNG whatever matplotlib's backend (with MPLBACKEND=Agg, as in a
    headless run, a figure left to the backend shows nothing), then close it so it is not shown twice."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=80)
    plt.close(fig)
    display(Image(data=png.getvalue(), format="png"))


# ----- back into training (notebook 05) -----
TRAINING_COLUMNS = ["submission_id", "comment_id", "reply_id", "subreddit", "comment", "reply", "reply_score",
                    "real", "rating", "source"]


def training_rows(table: pd.DataFrame, edges=DEFAULT_RATING_EDGES) -> tuple[pd.DataFrame, dict]:
    """Pairs (parent comment, reply as GPT-2 wrote it) labelled with the reply's real score, in
    bert_real.csv's columns, from the latest state of each reply. Replies removed, deleted or
    missing, and those whose text or parent is unknown, are left out and counted."""
    text = (table["reply"] if "reply" in table else table["text"].map(strip_footer)).fillna("").astype(str).str.strip()
    parent = table["parent_body"].fillna("").astype(str).str.strip()
    reasons = {
        "not on Reddit": table["status"] != "ok",
        "score unknown": table["score"].isna(),
        "text unknown": text == "",
        "parent unknown": parent == "",
    }
    keep = pd.Series(True, index=table.index)
    drops = {}
    for reason, bad in reasons.items():
        drops[reason] = int((keep & bad).sum())
        keep &= ~bad
    rows = table[keep]
    out = pd.DataFrame({
        "submission_id": rows["submission_id"], "comment_id": rows["key"], "reply_id": rows["reply_id"],
        "subreddit": rows["subreddit"], "comment": parent[keep], "reply": text[keep],
        "reply_score": rows["score"].astype("int64"), "real": 1,
        "rating": rating(rows["score"].astype(float), edges).astype("int64"), "source": "feedback",
    }, columns=TRAINING_COLUMNS)
    return out.reset_index(drop=True), drops


def write_training_rows(paths: Paths, rows: pd.DataFrame, source: str = "reddit") -> Path:
    """prepared/bert_feedback_<source>.csv, atomically (kept apart from bert_real.csv)."""
    path = paths.file("bert_feedback", source=source)
    with atomic_path(path) as tmp:
        rows.to_csv(tmp, index=False)
    return path


def add_to_training(train: pd.DataFrame, test: pd.DataFrame, paths: Paths, source: str = "reddit",
                    label_col: str = "label") -> tuple[pd.DataFrame, int]:
    """Notebook 05's switch: `train` plus the fed-back rows of prepared/bert_feedback_<source>.csv (label =
    their rating), marked `source="feedback"`. The test split is left as it was, so held-out
    metrics with and without the switch compare; fed-back rows from test threads, and pairs
    already in the data, are not added. Returns (train, rows added)."""
    from helpers.core.exchange import ExchangeError

    if source not in SOURCES:
        raise ValueError(f'ADD_FEEDBACK must be "" (off), "reddit" or "sample", got {source!r}')
    path = paths.file("bert_feedback", source=source)
    if not path.is_file():
        raise ExchangeError(f"{paths.relative(path)} not found: run notebook 08 with SOURCE={source!r} first "
                            '(it writes the fed-back replies), or set ADD_FEEDBACK = "".')
    fed = pd.read_csv(path, dtype={"submission_id": str, "comment_id": str, "reply_id": str}, keep_default_na=False)
    missing = [c for c in ("submission_id", "comment", "reply", "rating") if c not in fed]
    if missing:
        raise ExchangeError(f"{paths.relative(path)} lacks column(s) {', '.join(missing)}: rerun notebook 08.")
    fed = fed[~fed["submission_id"].isin(set(test["submission_id"]))]
    pairs = set(zip(train["comment"], train["reply"])) | set(zip(test["comment"], test["reply"]))
    fed = fed[[(c, r) not in pairs for c, r in zip(fed["comment"], fed["reply"])]]
    fed = fed.assign(**{label_col: fed["rating"].astype(int)}, source="feedback")
    base = train.assign(source=train["source"] if "source" in train else "original")
    return pd.concat([base, fed], ignore_index=True), len(fed)


# ----- the bundled sample (SOURCE="sample") -----
def load_sample(path: Path | str = SAMPLE_FILE) -> tuple[list[dict], pd.DataFrame]:
    """The bundled synthetic sample: ledger entries of posted replies, and their state at several
    fetches (as FETCH_COLUMNS rows; `fetched_at` is posted_at + `age_hours`)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    ledger = data["ledger"]
    posted = posted_replies(ledger).set_index("reply_id")
    rows = []
    for obs in data["fetches"]:
        post = posted.loc[obs["reply_id"]]
        at = post["posted_at"] + timedelta(hours=obs["age_hours"])
        rows.append({"fetched_at": at.isoformat(timespec="seconds"), "key": post["key"],
                     "submission_id": post["submission_id"], "subreddit": post["subreddit"],
                     "posted_at": post["posted_at"].isoformat(), "source": "sample",
                     **{k: obs.get(k, d) for k, d in (
                         ("reply_id", ""), ("age_hours", math.nan), ("status", "ok"), ("score", math.nan),
                         ("removed_by", ""), ("author", data.get("me", "")), ("author_suspended", False),
                         ("replies", 0), ("locked", False), ("parent_status", "ok"), ("thread_status", "ok"),
                         ("human_replies", 0), ("human_median_score", math.nan))}})
    return ledger, pd.DataFrame(rows, columns=FETCH_COLUMNS)
