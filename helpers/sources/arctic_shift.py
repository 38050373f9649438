"""Arctic Shift's public Reddit archive API as a source: no account, no key, no download by hand.

API: https://github.com/ArthurHeitmann/arctic_shift/blob/master/api/README.md. `GET
/api/posts/search` and `/api/comments/search` with `subreddit`, `after`, `before` (epoch seconds),
`limit` (at most 100) and `sort=asc`; the answer is `{"data": [...]}` (or `{"data": null, "error": "..."}`),
sorted by `created_utc`, with no score sort and no cursor: the next page starts at the last
item's second (whether `after` is inclusive or not, nothing is lost or kept twice; only more than
100 items created in one second, rare within one subreddit, cannot all be paged).

Per subreddit and month: the comments first, then the posts up to the same time. Each page is
stored (trimmed to the fields the join needs) under raw/arctic_shift/<sub>/<YYYY-MM>/ as it
arrives, so a rerun resumes where the last one stopped (a month fetched before it was over, or less
than 36 hours after, when the API's scores settle, is fetched on, then again once settled). Polite
by default: at most one request per `min_interval` seconds; timeouts, 429, 5xx, "slow down" and
"Query timed out" answers are retried after a growing pause (Retry-After or X-RateLimit-Reset when
given; a server-side timeout with half the page size, as the API's docs advise), and after `tries`
a (subreddit, month) fails with a message that says what to do; the others go on. `max_items` caps the posts and the comments fetched per
subreddit and month: a busy subreddit then gives the month's first part, from its start to a cut
time that the report names. Rows come out in the raw schema of the dump reader (same cleaning).
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from helpers.sources.dumps import month_ranges, normalize_row
from helpers.core.exchange import write_json
from helpers.sources.pairs import COMMENT_COLUMNS, SUBMISSION_COLUMNS

BASE_URL = "https://arctic-shift.photon-reddit.com"
ENDPOINTS = {"comments": "/api/comments/search", "submissions": "/api/posts/search"}
PAGE_LIMIT = 100  # the API's maximum per request
# Fields kept in the stored pages (the API sends many more).
FIELDS = {"comments": COMMENT_COLUMNS, "submissions": SUBMISSION_COLUMNS + ("domain", "url")}
RETRY_STATUS = {429, 500, 502, 503, 504}
# The API's own "try again" answers (any status): "Timeout. Maybe slow down a bit" (HTTP 422) and the
# documented "Query timed out"; both are retried with half the page size (at least MIN_PAGE_LIMIT).
SERVER_TIMEOUT = ("slow down", "timed out", "timeout")
MIN_PAGE_LIMIT = 10
# The API archives items as they are posted and updates them about 36 hours later (score, edits): the
# pages of a month are final only when fetched that long after its end. Earlier ones are fetched on at the
# next run (while the month goes on) and fetched again once it has settled.
SETTLE_SECONDS = 36 * 3600
USER_AGENT = "gpt2-bert-reddit-bot notebook 01 (https://github.com/gpt2-bert-reddit-bot/gpt2-bert-reddit-bot)"


class ArcticShiftError(RuntimeError):
    """The API refused a request, or kept failing after every retry."""


class ArcticShift:
    """The API at `base_url` (default: $ARCTIC_SHIFT_URL, else the public one). A polite client: one
    request at a time, at most one per `min_interval` seconds, retries with back-off on timeouts, 429,
    5xx, "slow down" and "Query timed out" answers. `requests` counts the requests sent."""

    def __init__(self, base_url: str | None = None, *, min_interval: float = 1.0, tries: int = 5,
                 timeout: float = 60.0, backoff: float = 4.0, max_wait: float = 120.0, sleep=time.sleep):
        import requests

        self.base_url = (base_url or os.environ.get("ARCTIC_SHIFT_URL") or BASE_URL).rstrip("/")
        self.min_interval, self.tries, self.timeout = min_interval, tries, timeout
        self.backoff, self.max_wait, self.sleep = backoff, max_wait, sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.requests = 0
        self.last_limit = None  # the `limit` of the last answered request (smaller after a server timeout)
        self.retries: Counter = Counter()
        self._last = 0.0

    def _pace(self):
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()

    def search(self, kind: str, **params) -> list[dict]:
        """One page of `kind` ("comments" or "submissions") matching `params`."""
        import requests

        url = self.base_url + ENDPOINTS[kind]
        params = dict(params)
        problem = ""
        for attempt in range(self.tries):
            if attempt:
                self.sleep(min(self.max_wait, wait))
            self._pace()
            self.requests += 1
            wait = self.backoff * 2 ** attempt
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
                self.retries["timeout"] += 1
                self._smaller_page(params)
                continue
            except requests.ConnectionError as error:
                problem = f"connection failed ({type(error).__name__})"
                self.retries["connection"] += 1
                continue
            try:
                body = response.json()
            except ValueError:
                body = {}
            message = str(body.get("error") or "") if isinstance(body, dict) else ""
            overloaded = any(word in message.lower() for word in SERVER_TIMEOUT)
            if response.status_code in RETRY_STATUS or overloaded:
                problem = f"HTTP {response.status_code}" + (f": {message}" if message else "")
                self.retries[str(response.status_code)] += 1
                limited = response.status_code == 429 or str(response.headers.get("X-RateLimit-Remaining", "")).strip() == "0"
                wait = max(wait, self._reset_wait(response.headers, retry_after=True, reset=limited))
                if overloaded:
                    self._smaller_page(params)
                continue
            if response.status_code >= 400 or message:
                raise ArcticShiftError(f"the API refused {kind} search {params}: HTTP {response.status_code} "
                                       f"{message or response.text[:200]}")
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise ArcticShiftError(f"unexpected answer to {kind} search (no 'data' list): {response.text[:200]}")
            self.last_limit = params.get("limit")
            self._respect_rate_limit(response.headers)
            return data
        raise ArcticShiftError(f"gave up after {self.tries} tries ({problem})")

    @staticmethod
    def _smaller_page(params):
        """The docs' advice for a query that timed out: a smaller `limit`, and try again."""
        if isinstance(params.get("limit"), int):
            params["limit"] = max(MIN_PAGE_LIMIT, params["limit"] // 2)

    def _respect_rate_limit(self, headers):
        """If the API says no requests are left, wait for its reset (at most `max_wait`)."""
        remaining = str(headers.get("X-RateLimit-Remaining") or "").strip()
        try:
            if remaining == "" or float(remaining) > 0:
                return
        except ValueError:
            return
        wait = self._reset_wait(headers)
        self.sleep(min(self.max_wait, wait if wait > 0 else self.backoff))

    @staticmethod
    def _reset_wait(headers, retry_after: bool = False, reset: bool = True) -> float:
        """Seconds until the API's X-RateLimit-Reset (or Retry-After, if asked and given): seconds to wait,
        an epoch time in seconds or milliseconds, or a date (HTTP or ISO 8601); 0 if absent or unreadable."""
        values = ([headers.get("Retry-After")] if retry_after else []) + ([headers.get("X-RateLimit-Reset")] if reset else [])
        for value in values:
            value = str(value or "").strip()
            if not value:
                continue
            try:
                number = float(value)
            except ValueError:
                number = _date_seconds(value)
                if number is None:
                    continue
            if number > 1e11:  # epoch milliseconds
                number /= 1000
            return max(number - time.time() if number > 1e9 else number, 0.0)
        return 0.0


def _date_seconds(value: str) -> float | None:
    """Epoch seconds of an HTTP date ('Wed, 21 Oct 2015 07:28:00 GMT') or ISO 8601 date; None if neither."""
    from email.utils import parsedate_to_datetime

    for parse in (parsedate_to_datetime, lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))):
        try:
            when = parse(value)
        except (TypeError, ValueError, IndexError):
            continue
        if when is not None:
            return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    return None


def now() -> float:
    """The time (a function, so tests can move it)."""
    return time.time()


def _page_files(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.glob(f"{kind}_*.json"))


def _load_pages(folder: Path, kind: str) -> tuple[list[dict], list[dict]]:
    """Items of the stored pages and the pages. Pages are written atomically, so an unreadable
    one was damaged by hand (or by a sync tool): it and the pages after it are fetched again."""
    items, pages = {}, []
    files = _page_files(folder, kind)
    for n, path in enumerate(files):
        try:
            page = json.loads(path.read_text(encoding="utf-8"))
            page_items, _ = page["items"], (page["after"], page["before"], page["next_after"], page["end"])
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            for later in files[n:]:
                later.unlink()
            break
        for item in page_items:
            items[item["id"]] = item
        pages.append(page)
    return list(items.values()), pages


def fetch_kind(api: ArcticShift, folder: Path, kind: str, subreddit: str, start: int, end: int,
               max_items: int = 0, bar=None) -> dict:
    """Fetch `kind` of `subreddit` created in [start, end) into page files in `folder`, resuming
    from the pages already there; stop at `max_items` items. Returns {"items", "complete"}."""
    items, pages = _load_pages(folder, kind)
    last = pages[-1] if pages else None
    settled = now() >= end + SETTLE_SECONDS
    if settled and any(page.get("fetched_at", end + SETTLE_SECONDS) < end + SETTLE_SECONDS for page in pages):
        for path in _page_files(folder, kind):  # fetched before the month had settled: scores and items were not final
            path.unlink()
        items, last = [], None
    seen = {item["id"] for item in items}
    if last is not None and last["end"] and last["before"] >= end and settled:
        return {"items": items, "complete": True}
    after = last["next_after"] if last is not None else start - 1  # "after" may be exclusive: start a second early
    number = len(_page_files(folder, kind))
    complete = False
    while not (max_items and len(items) >= max_items):
        data = api.search(kind, subreddit=subreddit, after=after, before=end, limit=PAGE_LIMIT, sort="asc")
        fields = FIELDS[kind]
        page_items = [{k: item.get(k) for k in fields if k in item} for item in data if isinstance(item, dict)]
        times = [int(float(i["created_utc"])) for i in page_items if i.get("created_utc") is not None]
        new = [i for i in page_items if i.get("id") not in seen
               and i.get("created_utc") is not None and start <= int(float(i["created_utc"])) < end]
        seen.update(i["id"] for i in new)
        items += new
        # the next page starts at the last item's second (again: items of that second may be on the next
        # page too; the ones already seen are dropped); a page with nothing new moves past it
        if new:
            next_after = max(times) - 1
        else:
            next_after = max(max(times, default=after), after + 1)
        # a page shorter than asked ends the range (the client may have asked for less after a server timeout)
        complete = len(data) < (getattr(api, "last_limit", None) or PAGE_LIMIT)
        number += 1
        write_json(folder / f"{kind}_{number:05d}.json", {"after": after, "before": end, "next_after": next_after,
                                                           "end": complete, "fetched_at": now(), "items": new})
        if bar is not None:
            bar.update(len(new))
            bar.set_postfix_str(f"{api.requests} requests, r/{subreddit} {kind}")
        after = next_after
        if complete:
            break
    return {"items": items, "complete": complete}


def _iso(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def _cut(items: list[dict], max_items: int, complete: bool) -> int | None:
    """The cut time of a capped fetch: items from it on are dropped (its second may be partial)."""
    if complete or not max_items or len(items) < max_items:
        return None
    ordered = sorted(int(float(i["created_utc"])) for i in items)
    return ordered[max_items - 1]


def fetch(api: ArcticShift, folder, subreddits, months, *, max_items: int = 0, progress: bool = True):
    """(submissions, comments, report) for `subreddits` and `months`; pages stored under `folder`."""
    from tqdm.auto import tqdm

    folder = Path(folder)
    rows: dict[str, list[dict]] = {"submissions": [], "comments": []}
    drops: Counter = Counter()
    report = {"max_items": max_items, "fetched": [], "failed_months": [], "requests": 0}
    units = [(s, m) for m in months for s in subreddits]
    with tqdm(desc="arctic shift", unit=" items", disable=not progress) as bar:
        for subreddit, month in units:
            (start, end), = month_ranges([month])
            where = folder / subreddit.lower() / month
            before = api.requests
            try:
                comments = fetch_kind(api, where, "comments", subreddit, start, end, max_items, bar)
                cut = _cut(comments["items"], max_items, comments["complete"])
                posts = fetch_kind(api, where, "submissions", subreddit, start, cut or end, max_items, bar)
                post_cut = _cut(posts["items"], max_items, posts["complete"])
                cut = min(t for t in (cut, post_cut) if t is not None) if (cut or post_cut) else None
            except ArcticShiftError as error:
                message = (f"r/{subreddit} {month}: {error}. Run the notebook again later: it resumes from the "
                           f"pages already fetched (raw/arctic_shift/{subreddit.lower()}/{month}/).")
                report["failed_months"].append({"month": month, "subreddit": subreddit, "error": message})
                print(f"{month}: FAILED, {message}")
                continue
            finally:
                report["requests"] += api.requests - before
            kept = {}
            for kind, got in (("comments", comments), ("submissions", posts)):
                keep = [i for i in got["items"] if cut is None or int(float(i["created_utc"])) < cut]
                kept[kind] = len(keep)
                rows[kind] += [r for i in keep if (r := normalize_row(i, kind, drops)) is not None]
            fetched = len(comments["items"]) + len(posts["items"])
            settled = now() >= end + SETTLE_SECONDS
            report["fetched"].append({
                "subreddit": subreddit, "month": month, "settled": settled,
                "comments": kept["comments"], "posts": kept["submissions"],
                "requests": api.requests - before, "cut_at": _iso(cut), "dropped_after_cut": fetched - sum(kept.values()),
                "covers": f"{_iso(start)} to {_iso(cut or end)}"})
            if not settled:
                print(f"r/{subreddit} {month}: the month is not over, or ended less than 36 hours ago: its scores are "
                      f"not final yet; run again later to fetch what is new (the month is fetched again once settled)")
            if cut is not None:
                print(f"r/{subreddit} {month}: cut at {_iso(cut)} after {max_items} items (MAX_ITEMS_PER_MONTH): "
                      f"the rest of the month was not fetched")
    report["all_failed"] = bool(units) and len(report["failed_months"]) == len(units)
    report["reader_drops"] = dict(drops)
    report["retries"] = dict(api.retries)
    submissions = pd.DataFrame(rows["submissions"], columns=list(SUBMISSION_COLUMNS))
    comments = pd.DataFrame(rows["comments"], columns=list(COMMENT_COLUMNS))
    return submissions.astype({"score": "float64"}), comments.astype({"score": "float64"}), report
