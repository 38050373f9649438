"""A stand-in for Arctic Shift's archive API on 127.0.0.1 (api/README.md of ArthurHeitmann/arctic_shift).

    with ArcticShiftStandIn(submissions, comments) as api:   # lists of raw reddit records
        api.url                                               # base URL for helpers.sources.arctic_shift

`GET /api/posts/search` and `/api/comments/search` with `subreddit` (any case, an `r/` prefix ignored),
`fields` (comma separated; for posts only the README's selectable fields, so no `is_self`/`domain`),
`after`/`before` (epoch seconds, epoch milliseconds or ISO dates; exclusive, or `after` inclusive with
`after_inclusive`), `limit` (1-100, default 25, or `auto`: between 100 and 1000 items "depending on the
capacity of the server", here `capacity`; else HTTP 400 with `{"error": ...}`), `sort` (`asc`/`desc` by
`created_utc`; items of one second in one fixed order). The answer is `{"data": [...]}`; items carry extra
fields as the real ones do. `/api/{posts,comments}/search/aggregate?aggregate=subreddit` counts the
matching items (`{"data": [{"key": sub, "doc_count": n}]}`); `/api/subreddits/search?subreddit=` answers
the subreddit with its `created_utc` (from `created`, else its first item), or no data for an unknown one.

Faults for tests: `faults` is a list popped once per search request (an HTTP status such as 429 or 503,
"slow_down" for the API's "Timeout. Maybe slow down a bit" (HTTP 422), "query_timed_out" for its
documented "Query timed out", "hang" for an answer after `hang_seconds`, "cut" for a connection closed
before its Content-Length, "cut_json" for a 200 whose JSON ends half way, "drop" for a connection closed
with no answer, or a (status, headers) tuple); `down` is a set of subreddits that always answer 503.
`requests` records (monotonic time, path, params) of every request; `sent_bytes` counts answer bytes.
"""
from __future__ import annotations

import bisect
import json
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from local_server import LocalServer

EXTRA = {"retrieved_on": 1600000000, "all_awardings": [], "gilded": 0, "permalink": "/r/x/comments/x/",
         "author_flair_text": None, "distinguished": None, "subreddit_id": "t5_x", "author_fullname": "t2_x",
         "controversiality": 0, "stickied": False, "total_awards_received": 0}
SELECTABLE = {  # api/README.md, "Selectable fields"
    "/api/posts/search": {"author", "author_fullname", "author_flair_text", "created_utc", "distinguished", "id",
                          "retrieved_on", "subreddit", "subreddit_id", "score", "crosspost_parent", "link_flair_text",
                          "num_comments", "over_18", "post_hint", "selftext", "spoiler", "title", "url"},
    "/api/comments/search": {"author", "author_fullname", "author_flair_text", "created_utc", "distinguished", "id",
                             "retrieved_on", "subreddit", "subreddit_id", "score", "body", "link_id", "parent_id"},
}


def _date(value: str) -> float:
    value = value.strip()
    try:
        number = float(value)
        return number / 1000 if number > 1e11 else number  # epoch ms or s
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=timezone.utc).timestamp()


class ArcticShiftStandIn(LocalServer):
    def __init__(self, submissions: list[dict], comments: list[dict], created: dict[str, int] | None = None):
        self.index: dict[tuple[str, str], tuple[list[float], list[dict]]] = {}
        for path, rows in (("/api/posts/search", submissions), ("/api/comments/search", comments)):
            by_sub = defaultdict(list)
            for r in rows:
                by_sub[str(r["subreddit"]).lower()].append({**EXTRA, **r, "created_utc": int(float(r["created_utc"]))})
            for sub, items in by_sub.items():
                items.sort(key=lambda r: (r["created_utc"], r["id"]))
                self.index[path, sub] = ([r["created_utc"] for r in items], items)
        self.created = {k.lower(): v for k, v in (created or {}).items()}
        self.faults: list = []
        self.down: set[str] = set()
        self.hang_seconds = 2.0
        self.capacity = 1000  # items a `limit=auto` request gets (the docs: 100-1000, by the server's capacity)
        self.headers: dict[str, str] = {}  # sent with every answer, e.g. X-RateLimit-Remaining / -Reset
        self.after_inclusive = False  # the docs do not say: the client must work either way
        self.requests: list[tuple[float, str, dict]] = []
        self.sent_bytes = 0
        self.lock = threading.Lock()
        super().__init__(_handler(self))

    def _rows(self, path: str, sub: str, after: float, before: float) -> list[dict]:
        times, items = self.index.get((path, sub), ([], []))
        lo = bisect.bisect_left(times, after) if self.after_inclusive else bisect.bisect_right(times, after)
        return items[lo:bisect.bisect_left(times, before)]

    def _subreddit(self, params: dict) -> tuple[int, dict, dict]:
        sub = params.get("subreddit", "").lower().removeprefix("r/")
        firsts = [self.index[k][0][0] for k in self.index if k[1] == sub and self.index[k][0]]
        when = self.created.get(sub, min(firsts) if firsts else None)
        if when is None:
            return 200, {}, {"data": []}
        return 200, {}, {"data": [{"display_name": sub, "created_utc": when, "subscribers": 1000}]}

    def answer(self, path: str, params: dict):
        """(status, headers, body) for one request; body is a dict, or bytes sent as they are."""
        with self.lock:
            self.requests.append((time.monotonic(), path, params))
            search = path.removesuffix("/aggregate") in SELECTABLE
            fault = self.faults.pop(0) if self.faults and search else None
        if path == "/api/subreddits/search":
            return self._subreddit(params)
        if fault == "hang":
            time.sleep(self.hang_seconds)
        elif fault in ("cut", "cut_json", "drop"):
            return 200, {}, fault
        elif fault == "slow_down":
            return 422, {}, {"data": None, "error": "Timeout. Maybe slow down a bit"}
        elif fault == "query_timed_out":  # api/README.md, "Query timeout"
            return 400, {}, {"data": None, "error": "Query timed out"}
        elif isinstance(fault, tuple):
            return fault[0], dict(fault[1]), {"data": None, "error": f"HTTP {fault[0]}"}
        elif isinstance(fault, int):
            return fault, ({"Retry-After": "1"} if fault == 429 else {}), {"data": None, "error": f"HTTP {fault}"}
        aggregate = path.endswith("/search/aggregate")
        base = path.removesuffix("/aggregate")
        if base not in SELECTABLE:
            return 404, {}, {"error": "Not found"}
        sub = params.get("subreddit", "").lower().removeprefix("/").removeprefix("r/")  # docs: an r/ prefix is ignored
        if sub in self.down:
            return 503, {}, {"error": "Service unavailable"}
        try:
            after = _date(params["after"]) if "after" in params else float("-inf")
            before = _date(params["before"]) if "before" in params else float("inf")
            limit = self.capacity if params.get("limit") == "auto" else int(params.get("limit", "25"))
        except ValueError as error:
            return 400, {}, {"error": f"Invalid parameter: {error}"}
        rows = self._rows(base, sub, after, before)
        if aggregate:
            return 200, dict(self.headers), {"data": [{"key": sub, "doc_count": len(rows)}] if rows else []}
        if params.get("limit") == "auto":
            limit = max(100, min(1000, limit))
        elif not 1 <= limit <= 100:
            return 400, {}, {"error": "limit must be between 1 and 100"}
        rows = (rows[::-1] if params.get("sort", "desc") == "desc" else rows)[:limit]
        if params.get("fields"):  # docs: a comma separated list of the fields to return
            wanted = [f.strip() for f in params["fields"].split(",")]
            unknown = [f for f in wanted if f not in SELECTABLE[base]]
            if unknown:
                return 400, {}, {"error": f"Invalid field: {unknown[0]}"}
            rows = [{f: r[f] for f in wanted if f in r} for r in rows]
        return 200, dict(self.headers), {"data": rows}


def _handler(standin: ArcticShiftStandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API (and no 40 ms Nagle stalls between answers)
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            status, headers, body = standin.answer(url.path, params)
            if body == "drop":
                self.close_connection = True
                return
            data = json.dumps(body).encode() if isinstance(body, dict) else json.dumps({"data": [EXTRA] * 50}).encode()
            length = len(data)
            if body == "cut_json":
                data = data[: len(data) // 2]
                length = len(data)
            elif body == "cut":  # announce the whole answer, send half of it, close
                data = data[: len(data) // 2]
            standin.sent_bytes += len(data)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length))
                for key, value in headers.items():
                    self.send_header(key, value)
                if body in ("cut", "cut_json"):
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

    return Handler
