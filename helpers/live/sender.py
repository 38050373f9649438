"""Who the posting loop talks to: Reddit (`RedditSender`: the reads before a post, the POST, the
read-back and deleting our own duplicate) or nobody (`DryRunSender`: shows the reply). Errors from
Reddit are classified once, by the Reddit client module (`helpers.live.reddit.classify`, a
`retry.Failure`), and seen by posting as a `SendError`. praw is not imported here."""
from __future__ import annotations

from dataclasses import dataclass

from helpers.core import retry
from helpers.core.reddit_terms import DELETED
from helpers.live import reddit


@dataclass(frozen=True)
class SendError:
    """A failed request to Reddit as posting sees it: the `failure` (kind, wait, maybe_applied, detail;
    classified once by `reddit.classify`) and whether Reddit `answered` with an error list (HTTP 200:
    RATELIMIT, DELETED_COMMENT...) rather than failing the request."""

    failure: retry.Failure
    answered: bool = False

    @property
    def posting_limit(self) -> bool:
        """Reddit's RATELIMIT answer (the account posts too often): a short one is waited out within the
        run, while a 429 stops it."""
        return self.answered and self.failure.kind == "rate_limited"

    @property
    def wait(self) -> float | None:
        """Seconds Reddit asked us to wait (None: it said nothing)."""
        return self.failure.wait

    @property
    def may_have_posted(self) -> bool:
        """Reddit may have made the comment anyway (5xx, a cut connection): check before re-sending."""
        return self.failure.maybe_applied

    @property
    def retry(self) -> bool:
        """A later run may try again (RATELIMIT, 429, an expired token, 5xx, a cut connection)."""
        return self.failure.transient

    @property
    def slow_down(self) -> bool:
        """Reddit asks the account to wait (RATELIMIT or 429): the run stops."""
        return self.failure.kind == "rate_limited"

    @property
    def message(self) -> str:
        """For the ledger's `reason` and the run's table."""
        f = self.failure
        if self.answered:
            return f.detail  # Reddit's own error list ("RATELIMIT: ...", "DELETED_COMMENT: ...")
        if f.kind == "rate_limited":
            return "429 too many requests" + (f" (Reddit asks to wait {f.wait:.0f} s)" if f.wait else "")
        if f.kind == "expired":
            return "401 unauthorized (the token expired; praw logs in again on the next request)"
        if f.kind == "forbidden":
            return f"403 forbidden (thread locked, banned or private): {f.detail}"
        if f.maybe_applied or f.transient:
            return f"server or connection error: {f.detail}"
        return f"refused: {f.detail}"


def classify(error: BaseException) -> SendError:
    """An exception from praw -> SendError (through `reddit.classify`)."""
    return SendError(reddit.classify(error), reddit.answered_with_errors(error))


@dataclass(frozen=True)
class Sent:
    """Reddit has the reply (`reply_id`; "" from a dry run)."""

    reply_id: str


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
        return reddit.all_my_comments(self.reddit, me)

    def recent_comments(self, me: str) -> list[dict]:
        """Our account's newest comments (one page)."""
        return reddit.my_recent_comments(self.reddit, me)

    def banned(self, subreddit: str) -> bool:
        return reddit.is_banned(self.reddit, subreddit)

    def replies_of(self, me: str, parent_key: str) -> list[dict]:
        """Our replies directly under comment `parent_key`, oldest first."""
        return reddit.replies_by(self.reddit, parent_key, me)

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
            with reddit.praw_retries_off(self.reddit):
                reply = self.reddit.comment(key).reply(text)
        except reddit.REQUEST_ERRORS as error:
            return classify(error)
        return Sent(reply.id if reply is not None else "")

    def delete(self, reply_id: str) -> None:
        reddit.delete_comment(self.reddit, reply_id)


class DryRunSender:
    """Sends nothing: shows the reply it would send."""

    live = False

    def __init__(self, log):
        self.log = log

    def send(self, key: str, text: str, subreddit: str = "") -> Sent:
        self.log(f"DRY RUN, would reply to comment {key} in r/{subreddit}:\n{text}\n")
        return Sent("")
