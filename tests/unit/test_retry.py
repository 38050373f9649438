"""helpers.core.retry: the one retry policy, with real `requests` against a scripted server on 127.0.0.1
(429 with Retry-After, 5xx, 401/403, a connection cut before any answer)."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from local_server import LocalServer

from helpers.core import retry


class Script:
    """What the server answers, one entry per request: (status, headers) or "cut"."""

    def __init__(self, *answers):
        self.answers, self.seen, self.lock = list(answers), 0, threading.Lock()

    def next(self):
        with self.lock:
            self.seen += 1
            return self.answers.pop(0) if self.answers else (200, {})


def serve(script: Script) -> LocalServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            answer = script.next()
            if answer == "cut":  # the connection closes before any answer
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers = answer
            body = b'{"ok": true}' if status == 200 else b'{"error": "no"}'
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    return LocalServer(Handler)


def get(url):
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.json()


def run(script, policy=None):
    """(result or exception, the pauses taken, what on_wait heard)."""
    waits, heard, policy = [], [], policy or retry.Policy()
    with serve(script) as server:
        try:
            out = policy.call(lambda: get(server.url + "/x"), sleep=waits.append,
                              on_wait=lambda f, s, n: heard.append((f.kind, s, n)), what="a page")
        except Exception as error:  # noqa: BLE001
            out = error
    return out, waits, heard


def test_a_429_with_retry_after_waits_exactly_that_long():
    out, waits, heard = run(Script((429, {"Retry-After": "137"}), (429, {"Retry-After": "3"})))
    assert out == {"ok": True} and waits == [137.0, 3.0]  # not capped, not shortened, no jitter
    assert heard == [("rate_limited", 137.0, 1), ("rate_limited", 3.0, 2)]


def test_a_retry_after_date_and_a_reset_header_are_honoured():
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2030, 1, 1, 12, 2, tzinfo=UTC), usegmt=True)
    assert retry.retry_after({"retry-after": date}, now=now) == 120.0
    assert retry.header_wait({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(now + 45)}, 200, now) == 45.0
    assert retry.header_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "30"}, 200, now) == 30.0  # Reddit: seconds
    assert retry.header_wait({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "30"}, 200, now) is None  # requests left
    assert retry.from_status(429, {"X-RateLimit-Reset": "12"}).wait == 12.0
    assert retry.from_status(200, {}) is None


def test_a_429_without_retry_after_waits_the_default():
    out, waits, _ = run(Script((429, {})), retry.Policy(default_wait=60))
    assert out == {"ok": True} and waits == [60.0]


def test_a_server_asking_for_more_than_allowed_ends_at_once_rather_than_waiting_less():
    out, waits, _ = run(Script((429, {"Retry-After": "3600"})), retry.Policy(max_wait=900))
    assert isinstance(out, retry.GaveUp) and waits == []
    assert "3600 s, more than the 900 s allowed" in str(out) and out.tries == 1


def test_5xx_backs_off_and_the_give_up_says_how_many_tries_and_why():
    script = Script((503, {}), (502, {}), (500, {}))
    out, waits, _ = run(script, retry.Policy(tries=3, backoff=2))
    assert waits == [2.0, 4.0] and script.seen == 3
    assert isinstance(out, retry.GaveUp) and out.tries == 3 and out.failure.kind == "server"
    assert out.failure.maybe_applied  # a 5xx may hide a success
    assert str(out).startswith("gave up after 3 tries (a page): server: HTTP 500")
    assert isinstance(out.__cause__, requests.HTTPError)


@pytest.mark.parametrize("status, kind", [(401, "auth"), (403, "forbidden"), (404, "not_found")])
def test_401_403_404_are_not_retried_and_come_out_as_they_were(status, kind):
    script = Script((status, {}))
    out, waits, _ = run(script)
    assert isinstance(out, requests.HTTPError) and out.response.status_code == status
    assert waits == [] and script.seen == 1
    assert retry.classify(out).kind == kind and not retry.classify(out).transient


def test_a_cut_connection_is_retried():
    script = Script("cut", "cut")
    out, waits, heard = run(script, retry.Policy(backoff=1))
    assert out == {"ok": True} and script.seen == 3 and waits == [1.0, 2.0]
    assert [k for k, _, _ in heard] == ["connection", "connection"]


def test_a_wrapped_connection_error_is_seen_through():
    class RequestException(Exception):  # prawcore's shape: the cause in .original_exception
        def __init__(self, original):
            super().__init__(str(original))
            self.original_exception = original

    failure = retry.classify(RequestException(requests.exceptions.ConnectionError("reset by peer")))
    assert failure.kind == "connection" and failure.maybe_applied
    assert retry.classify(requests.exceptions.ConnectTimeout()).maybe_applied is False  # never reached the server
    assert retry.classify(ValueError("bad json")).kind == "other"


def test_a_caller_judged_failure_and_a_custom_classifier():
    calls = []

    def slow_down():
        calls.append(1)
        if len(calls) < 2:  # an HTTP 200 whose body says "slow down"
            raise retry.FailedRequest(retry.Failure("rate_limited", 7.0, False, "slow down"))
        return "page"

    waits = []
    assert retry.Policy().call(slow_down, sleep=waits.append) == "page" and waits == [7.0]
    with pytest.raises(ValueError, match="unknown failure kind"):
        retry.Failure("maybe")

    class Quota(Exception):
        pass

    policy = retry.Policy(tries=2).with_classifier(
        lambda e: retry.Failure("rate_limited", 5.0) if isinstance(e, Quota) else retry.classify(e))
    waits = []

    def always():
        raise Quota()

    with pytest.raises(retry.GaveUp, match="gave up after 2 tries: rate limited"):
        policy.call(always, sleep=waits.append)
    assert waits == [5.0]
