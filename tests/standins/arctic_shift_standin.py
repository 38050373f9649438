"""A stand-in for Arctic Shift's archive API on 127.0.0.1 (api/README.md of ArthurHeitmann/arctic_shift).

    with ArcticShiftStandIn(submissions, comments) as api:   # lists of raw reddit records
        api.url                                               # base URL for helpers.sources.arctic_shift

`GET /api/posts/search` and `/api/comments/search` with `subreddit` (any case, an `r/` prefix ignored),
`fields` (comma separated), `after`/`before`
(epoch seconds or ISO dates; exclusive, or `after` inclusive with `after_inclusive`), `limit` (1-100, default 25; else HTTP 400 with
`{"error": ...}`), `sort` (`asc`/`desc` by `created_utc`). The answer is `{"data": [...]}`; items
carry extra fields as the real ones do. Faults for tests: `faults` is a list popped once per
request (an HTTP status such as 429 or 503, "slow_down" for the API's "Timeout. Maybe slow down a
bit" (HTTP 422), "query_timed_out" for its documented "Query timed out", "hang" for an answer after `hang_seconds`); `down` is a set of subreddits that always answer
503. `requests` records (monotonic time, path, params) of every request.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from local_server import LocalServer

EXTRA = {"retrieved_on": 1600000000, "all_awardings": [], "gilded": 0, "permalink": "/r/x/comments/x/"}


def _date(value: str) -> float:
    value = value.strip()
    try:
        number = float(value)
        return number / 1000 if number > 1e11 else number  # epoch ms or s
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=timezone.utc).timestamp()


class ArcticShiftStandIn(LocalServer):
    def __init__(self, submissions: list[dict], comments: list[dict]):
        def typed(rows):
            return sorted(({**EXTRA, **r, "created_utc": int(float(r["created_utc"]))} for r in rows),
                          key=lambda r: (r["created_utc"], r["id"]))

        self.items = {"/api/posts/search": typed(submissions), "/api/comments/search": typed(comments)}
        self.faults: list = []
        self.down: set[str] = set()
        self.hang_seconds = 2.0
        self.headers: dict[str, str] = {}  # sent with every answer, e.g. X-RateLimit-Remaining / -Reset
        self.after_inclusive = False  # the docs do not say: the client must work either way
        self.requests: list[tuple[float, str, dict]] = []
        self.lock = threading.Lock()
        super().__init__(_handler(self))

    def answer(self, path: str, params: dict) -> tuple[int, dict, dict]:
        """(status, headers, body) for one request."""
        with self.lock:
            self.requests.append((time.monotonic(), path, params))
            fault = self.faults.pop(0) if self.faults else None
        if fault == "hang":
            time.sleep(self.hang_seconds)
        elif fault == "slow_down":
            return 422, {}, {"data": None, "error": "Timeout. Maybe slow down a bit"}
        elif fault == "query_timed_out":  # api/README.md, "Query timeout"
            return 400, {}, {"data": None, "error": "Query timed out"}
        elif isinstance(fault, int):
            return fault, ({"Retry-After": "1"} if fault == 429 else {}), {"data": None, "error": f"HTTP {fault}"}
        if path not in self.items:
            return 404, {}, {"error": "Not found"}
        if params.get("subreddit", "").lower() in self.down:
            return 503, {}, {"error": "Service unavailable"}
        try:
            limit = int(params.get("limit", "25"))
            after = _date(params["after"]) if "after" in params else float("-inf")
            before = _date(params["before"]) if "before" in params else float("inf")
        except ValueError as error:
            return 400, {}, {"error": f"Invalid parameter: {error}"}
        if not 1 <= limit <= 100:
            return 400, {}, {"error": "limit must be between 1 and 100"}
        sub = params.get("subreddit", "").lower().removeprefix("/").removeprefix("r/")  # docs: an r/ prefix is ignored
        rows = [r for r in self.items[path] if (not sub or str(r["subreddit"]).lower() == sub)
                and (after <= r["created_utc"] if self.after_inclusive else after < r["created_utc"]) and r["created_utc"] < before]
        if params.get("sort", "desc") == "desc":
            rows = rows[::-1]
        rows = rows[:limit]
        if params.get("fields"):  # docs: a comma separated list of the fields to return
            wanted = [f.strip() for f in params["fields"].split(",")]
            rows = [{f: r[f] for f in wanted if f in r} for r in rows]
        return 200, dict(self.headers), {"data": rows}


def _handler(standin: ArcticShiftStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            status, headers, body = standin.answer(url.path, params)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

    return Handler
