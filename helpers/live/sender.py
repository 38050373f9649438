"""Who the posting loop talks to: Reddit (`RedditSender`: the reads before a post, the POST, the
read-back and deleting our own duplicate) or nobody (`DryRunSender`: shows the reply). Errors from
Reddit are classified once, into a `SendError`."""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from helpers.core.reddit_terms import DELETED

RATELIMIT_AMOUNT = re.compile(r"([0-9]+) (milliseconds?|seconds?|minutes?)")
TRANSIENT = ("ratelimit", "too_many_requests", "unauthorized", "server")  # a later run may try again
SLOW_DOWN = ("ratelimit", "too_many_requests")  # Reddit asks the account to wait: the run stops


@dataclass(frozen=True)
class SendError:
    """What went wrong with a request to Reddit, once and for all.

    kind: "ratelimit" (RATELIMIT answer), "too_many_requests" (429), "unauthorized" (401),
    "server" (5xx or a dropped connection), "forbidden" (403), "refused" (anything else);
    wait: seconds Reddit asked us to wait (None: it said nothing); may_have_posted: Reddit may have
    made the comment anyway (check before retrying)."""

    kind: str
    message: str
    wait: float | None = None
    may_have_posted: bool = False

    @property
    def retry(self) -> bool:
        return self.kind in TRANSIENT

    @property
    def slow_down(self) -> bool:
        return self.kind in SLOW_DOWN


@dataclass(frozen=True)
class Sent:
    """Reddit has the reply (`reply_id`; "" from a dry run)."""

    reply_id: str


def ratelimit_seconds(message: str) -> float | None:
    m = RATELIMIT_AMOUNT.search(message or "")
    if not m:
        return None
    n = int(m.group(1))
    return n * 60.0 if m.group(2).startswith("minute") else n / 1000 if m.group(2).startswith("milli") else float(n)


def retry_after(error) -> float | None:
    """The retry-after of a 429 (seconds), None when Reddit sent none."""
    value = getattr(error, "retry_after", None) or getattr(getattr(error, "response", None), "headers", {}).get("retry-after")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def read_errors() -> tuple:
    """What praw raises when Reddit fails a request (imported late: praw is optional for dry runs)."""
    import praw
    import prawcore

    return praw.exceptions.PRAWException, prawcore.exceptions.PrawcoreException


def classify(error) -> SendError:
    """An exception from praw -> SendError."""
    import praw
    import prawcore

    if isinstance(error, praw.exceptions.RedditAPIException):
        message = "; ".join(f"{it.error_type}: {it.message}" for it in error.items)
        limited = [it for it in error.items if it.error_type == "RATELIMIT"]
        if limited:
            return SendError("ratelimit", message, ratelimit_seconds(limited[0].message))
        return SendError("refused", message)
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, prawcore.exceptions.TooManyRequests) or status == 429:
        wait = retry_after(error)
        return SendError("too_many_requests",
                         "429 too many requests" + (f" (Reddit asks to wait {wait:.0f} s)" if wait else ""), wait)
    if status == 401 or isinstance(error, prawcore.exceptions.InvalidToken):
        return SendError("unauthorized", "401 unauthorized (the token expired; praw logs in again on the next request)")
    if isinstance(error, prawcore.exceptions.Forbidden):
        return SendError("forbidden", f"403 forbidden (thread locked, banned or private): {error}")
    if isinstance(error, (prawcore.exceptions.ServerError, prawcore.exceptions.RequestException)):
        return SendError("server", f"server or connection error: {error}", may_have_posted=True)
    return SendError("refused", f"refused: {error}")


@contextlib.contextmanager
def sent_once(reddit):
    """prawcore retries a request after a 5xx or a dropped connection, POSTs included: when Reddit
    made the comment and then failed to answer, a retry posts it twice. Inside this block requests
    go out once; the ledger and recovery decide about retries, after checking Reddit."""
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


@dataclass(frozen=True)
class Parent:
    """Reddit's view of the comment we answer: `refusal` (an outcome) and `detail`, or None; its body."""

    refusal: str | None
    detail: str
    body: str


def earliest(replies: list[dict]) -> dict:
    """The oldest of several replies (Reddit's time, then its id: base-36, so shorter is older)."""
    return min(replies, key=lambda r: (float(r.get("created_utc") or 0), len(r["comment_id"]), r["comment_id"]))


class RedditSender:
    """Reddit, through a logged-in praw client. Reads raise praw's errors (see `classify`); `send`
    returns Sent or SendError and never raises for Reddit's answers."""

    live = True

    def __init__(self, reddit):
        self.reddit = reddit

    def me(self) -> str:
        return self.reddit.user.me().name

    def all_comments(self, me: str) -> list[dict]:
        """Our account's comments as far as Reddit lists them (about 1000, newest first)."""
        from helpers.live.reddit import all_my_comments

        return all_my_comments(self.reddit, me)

    def recent_comments(self, me: str) -> list[dict]:
        """Our account's newest comments (one page)."""
        from helpers.live.reddit import my_recent_comments

        return my_recent_comments(self.reddit, me)

    def banned(self, subreddit: str) -> bool:
        from helpers.live.reddit import is_banned

        return is_banned(self.reddit, subreddit)

    def replies_of(self, me: str, parent_key: str) -> list[dict]:
        """Our replies directly under comment `parent_key`, oldest first."""
        from helpers.live.reddit import replies_by

        return replies_by(self.reddit, parent_key, me)

    def parent(self, key: str, thread: str, me: str) -> Parent:
        """The comment we answer and its thread, just before the post."""
        things = {t.fullname: t for t in self.reddit.info(fullnames=[f"t1_{key}", f"t3_{thread}"])}
        parent, post = things.get(f"t1_{key}"), things.get(f"t3_{thread}")
        if parent is None or parent.author is None or (parent.body or "").strip() in DELETED \
                or getattr(parent, "removed_by_category", None):
            return Parent("parent gone", f"comment {key} is deleted, removed or unknown", "")
        if parent.link_id != f"t3_{thread}" or post is None:
            return Parent("invalid row", f"comment {key} is not in thread {thread} (row edited?)", parent.body)
        if parent.author.name.lower() == me.lower():
            return Parent("parent is ours", f"comment {key} is ours: the bot does not answer itself", parent.body)
        if post.locked or post.archived or getattr(parent, "locked", False):
            return Parent("thread locked", f"thread {thread} or comment {key} is locked or archived", parent.body)
        return Parent(None, "", parent.body)

    def send(self, key: str, text: str) -> Sent | SendError:
        """One POST of a reply to comment `key` (prawcore's own retries off)."""
        try:
            with sent_once(self.reddit):
                reply = self.reddit.comment(key).reply(text)
        except read_errors() as error:
            return classify(error)
        return Sent(reply.id if reply is not None else "")

    def delete(self, reply_id: str) -> None:
        from helpers.live.reddit import delete_comment

        delete_comment(self.reddit, reply_id)


class DryRunSender:
    """Sends nothing: shows the reply it would send."""

    live = False

    def __init__(self, log):
        self.log = log

    def send(self, key: str, text: str, subreddit: str = "") -> Sent:
        self.log(f"DRY RUN, would reply to comment {key} in r/{subreddit}:\n{text}\n")
        return Sent("")
