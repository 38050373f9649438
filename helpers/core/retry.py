"""The project's one retry policy (built on tenacity): what to do when a web request fails.

A failure is classified ONCE into a small typed value, `Failure(kind, wait, maybe_applied)`:

- `kind`: "rate_limited" (429), "server" (5xx), "timeout" (no answer in time), "connection" (cut or
  refused connection) are transient and retried; "auth" (401), "forbidden" (403), "not_found"
  (404/410), "refused" (other 4xx) and "other" (anything else) are not.
- `wait`: the seconds the server asked for (Retry-After: seconds or an HTTP date; else, when it says
  no requests are left or answers 429, X-RateLimit-Reset: seconds, epoch seconds or milliseconds),
  None when it did not say.
- `maybe_applied`: the request may have taken effect on the server (a 5xx or a connection cut after
  sending): a POST must be checked before it is sent again.

`Policy.call(fn)` runs `fn()` and retries transient failures: a server-given wait is honoured
exactly, never cut short (a server asking for more than `max_wait` ends the retries at once, saying
so); a 429 without one waits `default_wait`; 5xx, timeouts and cut connections back off
(`backoff`, doubling, at most `max_backoff`). Non-transient errors are raised as they came;
when retries run out, `GaveUp` says how many tries were made and why (its `.failure`).

What it understands, without importing any client library:
- exceptions with `.response` carrying `status_code` and `headers` (requests' HTTPError, prawcore's
  ResponseException family: TooManyRequests, ServerError, Forbidden, NotFound, InvalidToken);
- connection errors: requests' ConnectionError / Timeout / ChunkedEncodingError, Python's
  ConnectionError / TimeoutError, and wrappers that keep the cause in `.original_exception`
  (prawcore's RequestException);
- `FailedRequest(failure)`, which a caller raises for an answer it judged a failure itself
  (e.g. `raise FailedRequest(from_status(r.status_code, r.headers, "slow down"))` for a requests
  Response, or an HTTP 200 whose body says "slow down").
A client library adds its own cases with `Policy(classify=...)`: a function error -> Failure that
falls back on `classify` (helpers.live.reddit does so for praw's RATELIMIT answers).

    policy = Policy(tries=5)
    data = policy.call(lambda: get_page(url), sleep=fake_sleep, on_wait=bar_note, what="comments page")

`on_wait(failure, seconds, attempt)` is called before each pause (a progress bar can say "waiting 60 s:
429"); `sleep` is injectable for tests; `now` (epoch seconds) for HTTP dates and epoch resets.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping

import tenacity

TRANSIENT = frozenset({"rate_limited", "server", "timeout", "connection"})
KINDS = TRANSIENT | {"auth", "forbidden", "not_found", "refused", "other"}


@dataclass(frozen=True)
class Failure:
    """One failed request, classified: `kind` (see KINDS), the `wait` the server asked for (seconds, or
    None), whether the request `maybe_applied` on the server, and a short `detail` for people."""

    kind: str
    wait: float | None = None
    maybe_applied: bool = False
    detail: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown failure kind {self.kind!r} (known: {', '.join(sorted(KINDS))})")

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT

    def describe(self) -> str:
        asked = f" (the server asked to wait {self.wait:g} s)" if self.wait is not None else ""
        return f"{self.kind.replace('_', ' ')}{': ' + self.detail if self.detail else ''}{asked}"


class FailedRequest(Exception):
    """Raised by a caller for an answer it judged a failure (a requests Response with a bad status, a
    body saying "slow down"): carries the `failure`."""

    def __init__(self, failure: Failure):
        super().__init__(failure.describe())
        self.failure = failure


class GaveUp(RuntimeError):
    """The retries ran out (or the server asked for a wait longer than allowed): how many `tries`
    were made, and the last `failure`."""

    def __init__(self, failure: Failure, tries: int, what: str = "", reason: str = ""):
        self.failure, self.tries = failure, tries
        about = f" ({what})" if what else ""
        super().__init__(f"gave up after {tries} tr{'y' if tries == 1 else 'ies'}{about}: {failure.describe()}"
                         + (f"; {reason}" if reason else ""))


# ----- reading what the server said -----
def _number(value) -> float | None:
    try:
        out = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _date(value) -> float | None:
    """Epoch seconds of an HTTP date ('Wed, 21 Oct 2015 07:28:00 GMT'), or None."""
    try:
        when = parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() if when is not None and when.tzinfo is not None else None


def _get(headers: Mapping | None, name: str):
    """A header by name, whatever its case (a plain dict from a test, or requests' case-insensitive one)."""
    if not headers:
        return None
    if name in headers:
        return headers[name]
    lower = name.lower()
    return next((v for k, v in headers.items() if str(k).lower() == lower), None)


def retry_after(headers: Mapping | None, now: float | None = None) -> float | None:
    """Seconds from Retry-After (seconds, or an HTTP date), None when absent or unreadable."""
    value = _get(headers, "Retry-After")
    if value is None or str(value).strip() == "":
        return None
    seconds = _number(value)
    if seconds is None:
        at = _date(value)
        if at is None:
            return None
        seconds = at - (time.time() if now is None else now)
    return max(seconds, 0.0)


def reset_wait(headers: Mapping | None, now: float | None = None) -> float | None:
    """Seconds until X-RateLimit-Reset: seconds to wait (Reddit), epoch seconds (GitHub style) or epoch
    milliseconds; None when absent or unreadable."""
    value = _get(headers, "X-RateLimit-Reset")
    number = _number(value) if value is not None else None
    if number is None:
        return None
    if number > 1e11:  # epoch milliseconds
        number /= 1000
    if number > 1e9:  # epoch seconds
        number -= time.time() if now is None else now
    return max(number, 0.0)


def exhausted(headers: Mapping | None) -> bool:
    """Whether the server says no requests are left (X-RateLimit-Remaining is 0)."""
    remaining = _number(_get(headers, "X-RateLimit-Remaining"))
    return remaining is not None and remaining <= 0


def header_wait(headers: Mapping | None, status: int | None = None, now: float | None = None) -> float | None:
    """The wait a server asked for: Retry-After, else X-RateLimit-Reset when it answered 429 or says no
    requests are left. Also for a successful answer (`status` 200 with Remaining 0: wait before the next)."""
    asked = retry_after(headers, now)
    if asked is None and (status == 429 or exhausted(headers)):
        asked = reset_wait(headers, now)
    return asked


def from_status(status: int, headers: Mapping | None = None, detail: str = "", now: float | None = None) -> Failure | None:
    """The failure an HTTP status means (None for 1xx-3xx): 429 rate limited, 5xx server, 401 auth,
    403 forbidden, 404/410 not found, other 4xx refused."""
    if status < 400:
        return None
    text = f"HTTP {status}" + (f" {detail}" if detail else "")
    wait = header_wait(headers, status, now)
    if status == 429:
        return Failure("rate_limited", wait, False, text)
    if status >= 500:
        return Failure("server", wait, True, text)
    kind = {401: "auth", 403: "forbidden", 404: "not_found", 410: "not_found"}.get(status, "refused")
    return Failure(kind, wait, False, text)


def _connection(error: BaseException) -> Failure | None:
    """A cut or refused connection, or no answer in time; None if `error` is neither."""
    try:
        import requests
    except ImportError:  # pragma: no cover (requests ships with praw and the project)
        requests = None
    name = type(error).__name__
    if requests is not None and isinstance(error, requests.exceptions.ConnectTimeout):
        return Failure("timeout", None, False, f"no connection in time ({name})")
    if isinstance(error, TimeoutError) or (requests is not None and isinstance(error, requests.exceptions.Timeout)):
        return Failure("timeout", None, True, f"no answer in time ({name})")
    connection = (ConnectionError,) + ((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
                                       if requests is not None else ())
    if isinstance(error, connection):
        return Failure("connection", None, True, f"connection failed ({name})")
    return None


def classify(error: BaseException, now: float | None = None) -> Failure:
    """The Failure an exception means (see the module docstring for what is understood)."""
    if isinstance(error, FailedRequest):
        return error.failure
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        detail = str(getattr(response, "reason", "") or "")
        return from_status(status, getattr(response, "headers", None), detail, now) or Failure("other", None, False, str(error))
    cause = getattr(error, "original_exception", None)  # prawcore's RequestException wraps requests' error
    for candidate in (error, cause):
        if isinstance(candidate, BaseException):
            found = _connection(candidate)
            if found:
                return found
    return Failure("other", None, False, f"{type(error).__name__}: {error}")


# ----- the policy -----
class _Failed(Exception):
    """An attempt's exception with its classification (so it is classified once)."""

    def __init__(self, error: BaseException, failure: Failure):
        super().__init__(failure.describe())
        self.error, self.failure = error, failure


@dataclass(frozen=True)
class Policy:
    """How many tries, and how long to wait between them (see the module docstring)."""

    tries: int = 3
    default_wait: float = 60.0  # a 429 that names no wait
    backoff: float = 2.0  # the first pause after a 5xx, timeout or cut connection; doubles each time
    max_backoff: float = 60.0
    max_wait: float = 900.0  # a server asking for longer than this: give up now rather than wait less
    classify: Callable[[BaseException], Failure] = field(default=classify, repr=False)

    def pause(self, failure: Failure, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th try (1-based) failed with `failure`."""
        if failure.wait is not None:
            return float(failure.wait)
        if failure.kind == "rate_limited":
            return float(self.default_wait)
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    def call(self, fn: Callable, *, sleep: Callable[[float], None] = time.sleep,
             on_wait: Callable[[Failure, float, int], None] | None = None, what: str = ""):
        """`fn()`, retried under this policy. Non-transient errors are raised unchanged; GaveUp when
        the tries run out or the server asks for more than `max_wait`."""

        def attempt():
            try:
                return fn()
            except Exception as error:  # noqa: BLE001 (classified, then re-raised or retried)
                raise _Failed(error, self.classify(error)) from error

        def failed(state) -> _Failed:
            return state.outcome.exception()

        def stop(state) -> bool:
            return state.attempt_number >= self.tries or state.upcoming_sleep > self.max_wait

        def before_sleep(state) -> None:
            if on_wait is not None:
                on_wait(failed(state).failure, state.upcoming_sleep, state.attempt_number)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, _Failed) and e.failure.transient),
            wait=lambda state: self.pause(failed(state).failure, state.attempt_number),
            stop=stop, sleep=sleep, before_sleep=before_sleep, reraise=True)
        try:
            return retrying(attempt)
        except _Failed as final:
            if not final.failure.transient:
                raise final.error from final.error.__cause__
            tries = retrying.statistics.get("attempt_number", self.tries)
            wait = self.pause(final.failure, tries)
            reason = (f"the server asks to wait {wait:g} s, more than the {self.max_wait:g} s allowed"
                      if tries < self.tries and wait > self.max_wait else "")
            raise GaveUp(final.failure, tries, what, reason) from final.error

    def with_classifier(self, classify_error: Callable[[BaseException], Failure]) -> "Policy":
        return replace(self, classify=classify_error)
