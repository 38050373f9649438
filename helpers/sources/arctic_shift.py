"""Arctic Shift's public Reddit archive API as a source: no account, no key, no download by hand.

API: https://github.com/ArthurHeitmann/arctic_shift/blob/master/api/README.md. `GET
/api/posts/search` and `/api/comments/search` with `subreddit`, `after`, `before`, `limit` (1-100,
or "auto": 100-1000 items a request, by the server's capacity), `fields` (selectable for comments;
posts' `is_self`/`domain` are not, so posts come whole) and `sort`; the answer is `{"data": [...]}`
(or `{"data": null, "error": "..."}`), sorted by `created_utc`, with no cursor. Times are sent in
epoch milliseconds so that `after=s` means "created after second s" whether the API takes `after`
as inclusive or not. The next page starts at the last item's second; a full page whose items all
share one second (a "flood") is read from both ends (`sort=asc` and `sort=desc`); what neither end
reaches is counted (`.../search/aggregate`) and reported per subreddit and month, never lost silently.

Per subreddit and month: the comments first, then the posts up to the same time. Each page is
stored (trimmed to the fields the join needs) under raw/arctic_shift/<sub>/<YYYY-MM>/ as it
arrives, so a rerun resumes where the last one stopped (a month fetched before it was over, or less
than 36 hours after, when the API's scores settle, is fetched on, then again once settled). Before
the first search, each subreddit is looked up (`/api/subreddits/search`, kept in about.json): a month
before it existed fails with a message that says so, without a search; one the list does not know
that gives no items is named as unknown (the list is updated only now and then: it does not stop a fetch).

Polite by default: at most one request per `min_interval` seconds, measured at send time; failures
are retried under the project's one retry policy (helpers.core.retry): timeouts, cut or dropped
connections, a 200 whose JSON is cut short, 429, 5xx, "slow down" and "Query timed out" (the last
two, and timeouts, with half the page size, as the API's docs advise). A wait the API asks for
(Retry-After, or X-RateLimit-Reset when none are left) is honoured in full and shown on the progress
bar; one longer than `longest_wait` fails the (subreddit, month) with the time to come back. After
`tries` a (subreddit, month) fails with a message that says what to do; the others go on.
`max_items` caps the posts and the comments kept per subreddit and month: a busy subreddit then gives
the month's first part, from its start to a cut time that the report names. Rows come out in the
raw schema of the dump reader (same cleaning).
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from helpers.core import retry
from helpers.core.files import write_json
from helpers.sources.dumps import month_ranges, normalize_row
from helpers.sources.pairs import COMMENT_COLUMNS, SUBMISSION_COLUMNS

BASE_URL = "https://arctic-shift.photon-reddit.com"
ENDPOINTS = {"comments": "/api/comments/search", "submissions": "/api/posts/search"}
SUBREDDITS_ENDPOINT = "/api/subreddits/search"
MIN_AUTO_PAGE = 100  # docs: `limit=auto` gives 100-1000 items, so fewer than 100 ends the range
# Fields kept in the stored pages (the API sends many more).
FIELDS = {"comments": COMMENT_COLUMNS, "submissions": SUBMISSION_COLUMNS + ("domain", "url")}
# Fields asked for with `fields` (api/README.md, "Selectable fields"): comments only, posts' is_self is not selectable.
SELECTED = {"comments": ",".join(COMMENT_COLUMNS)}
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
    """The API refused a request, or kept failing after every retry, or asked to wait too long."""


@dataclass(frozen=True)
class Options:
    """How the client treats the API."""

    min_interval: float = 1.0  # seconds between two requests, from send to send
    tries: int = 5  # tries per request before its (subreddit, month) fails
    timeout: float = 60.0  # seconds to wait for an answer
    backoff: float = 4.0  # pause after a failure the API named no wait for; doubles each time ...
    max_backoff: float = 120.0  # ... up to this (the API's own waits are honoured in full)
    longest_wait: float = 900.0  # the API asking to wait longer fails the (subreddit, month): come back later
    page_limit: int | str = "auto"  # the API's `limit`: "auto" (100-1000 by its capacity) or 1-100
    select_fields: bool = True  # ask for the joined fields only, where the API allows (comments)

    def policy(self) -> retry.Policy:
        return retry.Policy(tries=self.tries, backoff=self.backoff, max_backoff=self.max_backoff,
                            max_wait=self.longest_wait)


def page_size(limit) -> int:
    """Items a page holds when more are left: `limit`, or 100 for "auto" (its least)."""
    return limit if isinstance(limit, int) else MIN_AUTO_PAGE


def after_ms(second: int) -> int:
    """`after` for "created after `second`", inclusive or exclusive alike (epoch ms)."""
    return second * 1000 + 999


def before_ms(second: int) -> int:
    """`before` for "created before `second`", inclusive or exclusive alike (epoch ms)."""
    return second * 1000 - 1


class ArcticShift:
    """The API at `base_url` (default: $ARCTIC_SHIFT_URL, else the public one), used as `options` say.
    `requests` counts the requests sent, `retries` the retried failures by kind, `paced` and `waited`
    the seconds spent keeping the pace and waiting out failures. `status`, if set, is told of each wait."""

    def __init__(self, base_url: str | None = None, options: Options = Options(), *, sleep=time.sleep,
                 clock=time.monotonic):
        import requests

        self.base_url = (base_url or os.environ.get("ARCTIC_SHIFT_URL") or BASE_URL).rstrip("/")
        self.options, self.sleep, self.clock = options, sleep, clock
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.requests, self.paced, self.waited = 0, 0.0, 0.0
        self.last_limit = None  # the `limit` of the last answered request (smaller after a server timeout)
        self.retries: Counter = Counter()
        self.status = None
        self._last = float("-inf")
        self._not_before, self._asked = 0.0, (0.0, 0.0)  # (seconds asked, wall clock then)
        self._key = ""

    # ----- pace and waits -----
    def _say(self, text: str):
        if self.status is not None:
            self.status(text)

    def _pace(self):
        """Wait until the pace and any wait the API asked for allow the next request."""
        now = self.clock()
        if self._not_before - now > self.options.longest_wait:
            seconds, asked_at = self._asked
            until = datetime.fromtimestamp(asked_at + seconds, timezone.utc).strftime("%H:%M UTC")
            raise ArcticShiftError(f"the API asked to wait {seconds:.0f} s (until {until}), longer than "
                                   f"{self.options.longest_wait:.0f} s: nothing was asked before it allows")
        wait = max(self._last + self.options.min_interval, self._not_before) - now
        if wait > 0:
            if self._not_before > self._last + self.options.min_interval:
                self._say(f"waiting {wait:.0f} s: the API asked (rate limit)")
                self.waited += wait
            else:
                self.paced += wait
            self.sleep(wait)
        self._not_before = 0.0
        self._last = self.clock()

    def _asks_to_wait(self, seconds: float | None):
        if seconds:
            self._not_before = self.clock() + seconds
            self._asked = (seconds, time.time())

    def _on_wait(self, failure: retry.Failure, seconds: float, attempt: int):
        self.retries[self._key] += 1
        self._say(f"waiting {seconds:.0f} s: {failure.describe()}, try {attempt + 1} of {self.options.tries}")
        self.waited += seconds
        self._not_before = 0.0  # the policy's wait covers the API's

    # ----- requests -----
    def get(self, path: str, params: dict, what: str = "") -> dict:
        """The JSON answer to GET `path`, retried under the policy; ArcticShiftError when it gives up."""
        try:
            return self.options.policy().call(lambda: self._once(path, params), sleep=self.sleep,
                                              on_wait=self._on_wait, what=what)
        except retry.GaveUp as error:
            raise ArcticShiftError(str(error)) from None

    def _fail(self, key: str, failure: retry.Failure, params: dict | None = None):
        self._key = key
        if params is not None:
            _smaller_page(params)
        raise retry.FailedRequest(failure)

    def _once(self, path: str, params: dict) -> dict:
        import requests

        self._pace()
        self.requests += 1
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.options.timeout)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema) as error:
            raise ArcticShiftError(f"{self.base_url} is not a usable address for the API ({error}): "
                                   f"check ARCTIC_SHIFT_URL") from None
        except requests.exceptions.Timeout as error:
            self._fail("timeout", retry.classify(error), params)
        except requests.exceptions.RequestException as error:  # cut or dropped connections, content cut short
            self._fail("connection", retry.Failure("connection", None, False, f"connection failed ({type(error).__name__})"))
        try:
            body = response.json()
        except ValueError:
            body = None
        message = str(body.get("error") or "") if isinstance(body, dict) else ""
        overloaded = any(word in message.lower() for word in SERVER_TIMEOUT)
        status = response.status_code
        asked = _asked_wait(response.headers, status)
        self._asks_to_wait(asked)
        if status in RETRY_STATUS or overloaded:
            failure = retry.from_status(status, response.headers, message) if status in RETRY_STATUS else None
            failure = replace(failure or retry.Failure("server", None, False, f"HTTP {status} {message}"), wait=asked)
            self._fail(str(status), failure, params if overloaded else None)
        if status >= 400 or message:
            raise ArcticShiftError(f"the API refused {path} {params}: HTTP {status} {message or response.text[:200]}")
        if not isinstance(body, dict):  # a 200 whose JSON is cut short (or not JSON at all)
            self._fail("cut", retry.Failure("connection", None, False, f"answer cut short ({len(response.content)} bytes)"))
        if retry.exhausted(response.headers) and not self._not_before:
            self._asks_to_wait(self.options.backoff)
        self.last_limit = params.get("limit")
        return body

    def search(self, kind: str, *, subreddit: str, after: int, before: int, sort: str = "asc") -> list[dict]:
        """One page of `kind` ("comments" or "submissions") of `subreddit` created between `after` and
        `before` (epoch ms: `after_ms`, `before_ms`), oldest first (`sort="asc"`) or newest first
        ("desc"), with the options' limit and fields."""
        params = {"limit": self.options.page_limit, "subreddit": subreddit, "after": after, "before": before, "sort": sort}
        if self.options.select_fields and kind in SELECTED:
            params.setdefault("fields", SELECTED[kind])
        body = self.get(ENDPOINTS[kind], params, what=f"{kind} of r/{params.get('subreddit')}")
        data = body.get("data")
        if not isinstance(data, list):
            raise ArcticShiftError(f"unexpected answer to {kind} search (no 'data' list): {str(body)[:200]}")
        return data

    def count(self, kind: str, *, subreddit: str, after: int, before: int) -> int | None:
        """How many `kind` of `subreddit` were created between `after` and `before` (the aggregate
        endpoint), or None if it cannot say."""
        params = {"aggregate": "subreddit", "subreddit": subreddit, "after": after, "before": before}
        try:
            body = self.get(ENDPOINTS[kind] + "/aggregate", params, what=f"count of {kind}")
        except ArcticShiftError:
            return None
        rows = body.get("data")
        if not isinstance(rows, list):
            return None
        counts = [r.get("doc_count", r.get("count")) for r in rows if isinstance(r, dict)]
        return int(sum(c for c in counts if isinstance(c, (int, float)))) if counts or rows == [] else None

    def subreddit(self, name: str) -> dict | None:
        """{"known": bool, "created_utc": int | None} from the API's subreddit list; None if it cannot say."""
        try:
            body = self.get(SUBREDDITS_ENDPOINT, {"subreddit": name, "limit": 1}, what=f"r/{name}")
        except ArcticShiftError:
            return None
        if not isinstance(body.get("data"), list):
            return None
        rows = [r for r in body["data"] if isinstance(r, dict)
                and str(r.get("display_name", name)).lower().removeprefix("r/") == name.lower()]
        created = rows[0].get("created_utc") if rows else None
        return {"known": bool(rows), "created_utc": int(float(created)) if created is not None else None}


def _asked_wait(headers, status: int) -> float | None:
    """The wait the API asked for (retry.header_wait), also when X-RateLimit-Reset is a date."""
    asked = retry.header_wait(headers, status)
    if asked is None and (status == 429 or retry.exhausted(headers)):
        at = _date_seconds(str(headers.get("X-RateLimit-Reset") or ""))
        asked = None if at is None else max(at - time.time(), 0.0)
    return asked


def _date_seconds(value: str) -> float | None:
    """Epoch seconds of an HTTP date ('Wed, 21 Oct 2015 07:28:00 GMT') or ISO 8601 date; None if neither."""
    from email.utils import parsedate_to_datetime

    for parse in (parsedate_to_datetime, lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))):
        try:
            when = parse(value.strip())
        except (TypeError, ValueError, IndexError):
            continue
        if when is not None:
            return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    return None


def _smaller_page(params):
    """The docs' advice for a query that timed out: a smaller `limit`, and try again."""
    limit = params.get("limit")
    if limit == "auto":
        params["limit"] = MIN_AUTO_PAGE
    elif isinstance(limit, int):
        params["limit"] = max(MIN_PAGE_LIMIT, limit // 2)


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


def _created(item: dict) -> int | None:
    value = item.get("created_utc")
    return None if value is None else int(float(value))


def _trim(data: list, kind: str) -> list[dict]:
    return [{k: item.get(k) for k in FIELDS[kind] if k in item} for item in data if isinstance(item, dict)]


def whole_second(api: ArcticShift, kind: str, subreddit: str, second: int, first: list[dict]) -> tuple[list[dict], int | None]:
    """A flood: `first`, a full page of items all created in `second`, read from its start. Read it from
    its end too (`sort=desc`); if the two ends do not meet, count what lies between them.
    Returns (the items from the end, how many of that second neither end reached: 0, n, or None if unknown)."""
    window = {"subreddit": subreddit, "after": after_ms(second - 1), "before": before_ms(second + 1)}
    data = api.search(kind, sort="desc", **window)
    last = _trim(data, kind)
    seen = {i.get("id") for i in first}
    got = seen | {i.get("id") for i in last}
    if len(data) < page_size(api.last_limit) or seen & {i.get("id") for i in last}:
        return last, 0
    total = api.count(kind, **window)
    return last, (None if total is None else max(total - len(got), 0))


def fetch_kind(api: ArcticShift, folder: Path, kind: str, subreddit: str, window: tuple[int, int],
               max_items: int = 0, bar=None) -> dict:
    """Fetch `kind` of `subreddit` created in `window` [start, end) into page files in `folder`, resuming
    from the pages already there; stop once past `max_items` items.
    Returns {"items", "complete", "floods": [{"second", "skipped"}]} (skipped None: unknown)."""
    start, end = window
    items, pages = _load_pages(folder, kind)
    last = pages[-1] if pages else None
    settled = now() >= end + SETTLE_SECONDS
    if settled and any(page.get("fetched_at", end + SETTLE_SECONDS) < end + SETTLE_SECONDS for page in pages):
        for path in _page_files(folder, kind):  # fetched before the month had settled: scores and items were not final
            path.unlink()
        items, last, pages = [], None, []
    floods = [page["flood"] for page in pages if page.get("flood")]
    seen = {item["id"] for item in items}
    if last is not None and last["end"] and last["before"] >= end and settled:
        return {"items": items, "complete": True, "floods": floods}
    after = last["next_after"] if last is not None else start - 1  # items created after this second
    number = len(_page_files(folder, kind))
    complete = False
    while not (max_items and len(items) > max_items):  # one past the cap: then the cut's seconds are whole
        data = api.search(kind, subreddit=subreddit, after=after_ms(after), before=before_ms(end), sort="asc")
        page_items = _trim(data, kind)
        times = [t for t in map(_created, page_items) if t is not None]
        full = len(data) >= page_size(api.last_limit)
        flood = None
        if full and times and min(times) == max(times):  # a full page of one second: read it from both ends
            more, skipped = whole_second(api, kind, subreddit, times[0], page_items)
            page_items += more
            flood = {"second": times[0], "skipped": skipped}
            floods.append(flood)
        new = [i for i in page_items if i.get("id") not in seen and (t := _created(i)) is not None and start <= t < end]
        seen.update(i["id"] for i in new)
        items += new
        # the next page starts at the last item's second (its items may be on the next page too; the ones
        # already seen are dropped); after a flood, past its second; a page with nothing new moves past it
        if flood:
            next_after = flood["second"]
        elif new:
            next_after = max(times) - 1
        else:
            next_after = max(max(times, default=after), after + 1)
        # a page shorter than a full one ends the range (the client may have asked for less after a server timeout)
        complete = not full
        number += 1
        write_json(folder / f"{kind}_{number:05d}.json", {"after": after, "before": end, "next_after": next_after,
                                                           "end": complete, "fetched_at": now(), "items": new,
                                                           "flood": flood})
        if bar is not None:
            bar.update(len(new))
            bar.set_postfix_str(f"{api.requests} requests, r/{subreddit} {kind}")
        after = next_after
        if complete:
            break
    return {"items": items, "complete": complete, "floods": floods}


def _iso(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def _cut(items: list[dict], max_items: int, complete: bool) -> int | None:
    """The cut time of a capped fetch, items from it on dropped: the first item past the cap (its second may
    hold kept ones too: dropped, so no second is partial), or, when the range may go on, the last kept one's."""
    if not max_items or len(items) < max_items or (complete and len(items) == max_items):
        return None
    ordered = sorted(int(float(i["created_utc"])) for i in items)
    return ordered[max_items] if len(items) > max_items else ordered[-1]


def about(api: ArcticShift, folder: Path, subreddit: str) -> dict | None:
    """The API's word on `subreddit` (known, created_utc), kept in about.json; None if it could not say."""
    path = folder / subreddit.lower() / "about.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    info = api.subreddit(subreddit)
    if info is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, info)
    return info


def unknown(info: dict | None, subreddit: str, month: str, comments: dict, posts: dict) -> str | None:
    """Why a subreddit-month gave nothing, when the API's list does not know the subreddit (the list is updated
    only now and then, so that alone does not stop the fetch)."""
    if info is None or info.get("known") or comments["items"] or posts["items"]:
        return None
    return (f"r/{subreddit} {month}: Arctic Shift knows no such subreddit and has no items of it. Check the spelling "
            f"in SUBREDDITS (names like 'cooking', as in reddit.com/r/cooking)")


def refusal(info: dict | None, subreddit: str, month: str, end: int) -> str | None:
    """Why (subreddit, month) cannot have items, before any request: a month before the subreddit existed."""
    if info is None or not info.get("known"):
        return None
    created = info.get("created_utc")
    if created is not None and created >= end:
        return (f"r/{subreddit} {month}: before the subreddit existed (it was created on {_iso(created)[:10]}). "
                f"Choose MONTHS from {_iso(created)[:7]} on")
    return None


def _flood_note(subreddit: str, month: str, kind: str, flood: dict) -> str:
    name = "posts" if kind == "submissions" else "comments"
    skipped = flood["skipped"]
    count = "an unknown number of" if skipped is None else str(skipped)
    return (f"r/{subreddit} {month}: {count} {name} created in the same second ({_iso(flood['second'])}) could not be "
            f"fetched: the API pages by time and gives one page from each end of a second. They are missing from the data.")


def fetch_month(api: ArcticShift, where: Path, subreddit: str, window: tuple[int, int], max_items: int, bar=None):
    """The comments, then the posts up to the same time, of one subreddit-month: (comments, posts, cut time)."""
    start, end = window
    comments = fetch_kind(api, where, "comments", subreddit, (start, end), max_items, bar)
    cut = _cut(comments["items"], max_items, comments["complete"])
    posts = fetch_kind(api, where, "submissions", subreddit, (start, cut or end), max_items, bar)
    post_cut = _cut(posts["items"], max_items, posts["complete"])
    cut = min(t for t in (cut, post_cut) if t is not None) if (cut or post_cut) else None
    return comments, posts, cut


def _failure(error: ArcticShiftError, subreddit: str, month: str) -> str:
    """The message of a failed subreddit-month: what happened and what to do."""
    text = str(error)
    if text.startswith(f"r/{subreddit}"):  # a refusal before any request names its own remedy
        return f"{text}."
    return (f"r/{subreddit} {month}: {text}. Run the notebook again later: it resumes from the pages already "
            f"fetched (raw/arctic_shift/{subreddit.lower()}/{month}/).")


def _notes(entry: dict, floods, max_items: int) -> list[str]:
    """What a person must know about a fetched subreddit-month: items skipped, not settled, cut."""
    subreddit, month = entry["subreddit"], entry["month"]
    notes = [_flood_note(subreddit, month, kind, flood) for kind, flood in floods]
    if not entry["settled"]:
        notes.append(f"r/{subreddit} {month}: the month is not over, or ended less than 36 hours ago: its scores are "
                     f"not final yet; run again later to fetch what is new (the month is fetched again once settled)")
    if entry["cut_at"] is not None:
        notes.append(f"r/{subreddit} {month}: cut at {entry['cut_at']} after {max_items} items (MAX_ITEMS_PER_MONTH): "
                     f"{entry['dropped_after_cut']} fetched items from then on were dropped and the rest of the month "
                     f"was not fetched")
    return notes


def fetch(api: ArcticShift, folder, subreddits, months, *, max_items: int = 0, progress: bool = True):
    """(submissions, comments, report) for `subreddits` and `months`; pages stored under `folder`."""
    from tqdm.auto import tqdm

    folder = Path(folder)
    rows: dict[str, list[dict]] = {"submissions": [], "comments": []}
    drops: Counter = Counter()
    report = {"max_items": max_items, "fetched": [], "failed_months": [], "requests": 0, "same_second": []}
    units = [(s, m) for m in months for s in subreddits]
    with tqdm(desc="arctic shift", unit=" items", disable=not progress) as bar:
        api.status = bar.set_postfix_str
        known = {s: about(api, folder, s) for s in subreddits}
        for subreddit, month in units:
            (start, end), = month_ranges([month])
            before = api.requests
            try:
                refused = refusal(known[subreddit], subreddit, month, end)
                if refused:
                    raise ArcticShiftError(refused)
                comments, posts, cut = fetch_month(api, folder / subreddit.lower() / month, subreddit, (start, end),
                                                   max_items, bar)
                nothing = unknown(known[subreddit], subreddit, month, comments, posts)
                if nothing:
                    raise ArcticShiftError(nothing)
            except ArcticShiftError as error:
                report["failed_months"].append({"month": month, "subreddit": subreddit,
                                                "error": _failure(error, subreddit, month)})
                print(f"{month}: FAILED, {report['failed_months'][-1]['error']}")
                continue
            finally:
                report["requests"] += api.requests - before
            kept = {}
            for kind, got in (("comments", comments), ("submissions", posts)):
                keep = [i for i in got["items"] if cut is None or int(float(i["created_utc"])) < cut]
                kept[kind] = len(keep)
                rows[kind] += [r for i in keep if (r := normalize_row(i, kind, drops)) is not None]
            floods = [(kind, f) for kind, got in (("comments", comments), ("submissions", posts)) for f in got["floods"]
                      if f["skipped"] != 0 and (cut is None or f["second"] < cut)]
            entry = {
                "subreddit": subreddit, "month": month, "settled": now() >= end + SETTLE_SECONDS,
                "comments": kept["comments"], "posts": kept["submissions"], "requests": api.requests - before,
                "cut_at": _iso(cut), "dropped_after_cut": len(comments["items"]) + len(posts["items"]) - sum(kept.values()),
                "skipped_same_second": (None if any(f["skipped"] is None for _, f in floods)  # None: the API could not count
                                        else sum(f["skipped"] for _, f in floods)),
                "covers": f"{_iso(start)} to {_iso(cut or end)}"}
            report["fetched"].append(entry)
            report["same_second"] += [_flood_note(subreddit, month, kind, f) for kind, f in floods]
            for note in _notes(entry, floods, max_items):
                print(note)
    report["all_failed"] = bool(units) and len(report["failed_months"]) == len(units)
    report["reader_drops"] = dict(drops)
    report["retries"] = dict(api.retries)
    report["waited_seconds"] = round(api.waited, 1)
    submissions = pd.DataFrame(rows["submissions"], columns=list(SUBMISSION_COLUMNS))
    comments = pd.DataFrame(rows["comments"], columns=list(COMMENT_COLUMNS))
    return submissions.astype({"score": "float64"}), comments.astype({"score": "float64"}), report
