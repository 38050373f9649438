"""THE Reddit client module of notebooks 06, 07 and 08: praw is imported here and nowhere else.

Clients: `connect` (logged in, from the secrets lookup) and `public_client` (logged out, "app-only":
it sees what everyone sees). Reads: rising posts and their comments (06), our recent comments and a
reply under a comment (07), things by fullname, author pages and a comment with its replies (08).
Reads that notebooks make go through `read`, i.e. the project's one retry policy
(`helpers.core.retry`) with `classify`, which knows praw's own errors (a RATELIMIT answer); the
functions posting calls (`my_recent_comments`, `find_reply`, `is_banned`) raise praw's errors as
they come, so the posting loop decides. Inside `read`, prawcore's own retries (two quick ones after a
5xx, a cut connection or an expired token, with sleeps no test can shorten) are off: each request
goes out once and the policy alone decides, so no failure is retried 3 x 3 times.

Credentials come from `helpers.core.credentials` (Colab Secrets, environment, praw.ini [bot]) and
are handed to praw only; nothing here prints, logs or returns them. Where praw talks to (the
real site or a stand-in) is praw's own business: its praw.ini `[DEFAULT]` `oauth_url` etc.
"""
from __future__ import annotations

import contextlib
import platform as _platform
import re
import time
from dataclasses import dataclass, field
from importlib import metadata

import praw
import prawcore
from prawcore.sessions import FiniteRetryStrategy

from helpers.core import credentials, retry, runtime
from helpers.core.reddit_terms import DELETED

APP_ID = "gpt2-bert-reddit-bot"


class RedditLoginError(RuntimeError):
    """Reddit refused our credentials."""


def app_version() -> str:
    try:
        return metadata.version(APP_ID)
    except metadata.PackageNotFoundError:
        match = re.search(r'^version = "([^"]+)"', (runtime.REPO_ROOT / "pyproject.toml").read_text(), re.M) \
            if (runtime.REPO_ROOT / "pyproject.toml").is_file() else None
        return match.group(1) if match else "0"


def user_agent(username: str) -> str:
    """Reddit's format: `<platform>:<app id>:<version> (by /u/<name>)`."""
    where = "colab" if runtime.in_colab() else _platform.system().lower() or "python"
    return f"{where}:{APP_ID}:{app_version()} (by /u/{username})"


def connect(*, check: bool = True):
    """A logged-in praw.Reddit ("script" app) from the secrets REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET,
    REDDIT_USERNAME and REDDIT_PASSWORD. With `check`, logs in now so bad credentials fail here
    with RedditLoginError. praw's own RATELIMIT sleeping is off (`ratelimit_seconds=0`): the
    posting loop decides how long to wait. Reddit's addresses come from praw.ini as praw reads it
    (tests point them at a stand-in there)."""
    secrets = credentials.get_secrets(credentials.PRAW_KEYS)  # every missing one named at once
    username = secrets["REDDIT_USERNAME"].reveal()
    reddit = praw.Reddit(
        client_id=secrets["REDDIT_CLIENT_ID"].reveal(),
        client_secret=secrets["REDDIT_CLIENT_SECRET"].reveal(),
        username=username,
        password=secrets["REDDIT_PASSWORD"].reveal(),
        user_agent=user_agent(username),
        check_for_updates=False,
        ratelimit_seconds=0,
    )
    if check:
        sources = ", ".join(sorted({s.source for s in secrets.values()}))
        try:
            reddit.user.me()
        except prawcore.exceptions.OAuthException as error:
            raise RedditLoginError(
                f"Reddit refused the login ({error.error}): check REDDIT_USERNAME and REDDIT_PASSWORD "
                f"(read from {sources}); the account must be a developer of the 'script' app."
            ) from None
        except prawcore.exceptions.ResponseException as error:
            if error.response.status_code != 401:
                raise
            raise RedditLoginError(
                "Reddit refused the app credentials (HTTP 401): check REDDIT_CLIENT_ID and "
                f"REDDIT_CLIENT_SECRET (read from {sources}) against your 'script' app at "
                "https://www.reddit.com/prefs/apps."
            ) from None
    return reddit


def my_name(reddit) -> str:
    """The logged-in account's name (never printed by the notebooks)."""
    return reddit.user.me().name


def public_client():
    """A logged-out ("app-only", read-only) praw client from REDDIT_CLIENT_ID/SECRET: it sees what
    everyone else sees, so a reply removed by moderators shows as removed (its author sees it as before)."""
    secrets = credentials.get_secrets(["REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"])  # every missing one named at once
    return praw.Reddit(client_id=secrets["REDDIT_CLIENT_ID"].reveal(),
                       client_secret=secrets["REDDIT_CLIENT_SECRET"].reveal(),
                       user_agent=user_agent("feedback-public-view"), check_for_updates=False)


def account_name(reddit, sleep=time.sleep) -> str:
    """The logged-in account's name, "" for a logged-out client."""
    return "" if reddit.read_only else read(reddit, lambda: my_name(reddit), sleep=sleep, what="our account")


# ----- retrying: the one policy, with praw's own errors -----
RATELIMIT_AMOUNT = re.compile(r"([0-9]+) (milliseconds?|seconds?|minutes?)")
# Reads of 06 and 08: three tries; Reddit's retry-after honoured (a 429 without one waits a minute);
# a wait longer than ten minutes ends the run with a clear error instead.
READS = retry.Policy(tries=3, default_wait=60.0, backoff=2.0, max_backoff=30.0, max_wait=600.0)
# What praw raises when a request fails (Reddit's answer, or the way to it).
REQUEST_ERRORS = (praw.exceptions.PRAWException, prawcore.exceptions.PrawcoreException)


def ratelimit_seconds(message: str) -> float | None:
    """The wait in a RATELIMIT message ("... try again in 9 minutes."), None if it names none."""
    m = RATELIMIT_AMOUNT.search(message or "")
    if not m:
        return None
    n = int(m.group(1))
    return n * 60.0 if m.group(2).startswith("minute") else n / 1000 if m.group(2).startswith("milli") else float(n)


def classify(error: BaseException) -> retry.Failure:
    """`retry.classify` plus praw's own cases: a RATELIMIT answer (HTTP 200 with an error list) is
    rate_limited with the wait its message names; other API errors are refused; a thing praw
    could not find (ClientException) is not_found; an expired token (InvalidToken) is retried at once;
    any other failure on the way to Reddit (prawcore's RequestException) is a connection failure."""
    if isinstance(error, praw.exceptions.RedditAPIException):
        items = "; ".join(f"{it.error_type}: {it.message}" for it in error.items)
        limit = [it for it in error.items if it.error_type == "RATELIMIT"]
        if limit:
            return retry.Failure("rate_limited", ratelimit_seconds(limit[0].message), False, items)
        return retry.Failure("refused", None, False, items)
    if isinstance(error, praw.exceptions.ClientException):
        return retry.Failure("not_found", None, False, str(error))
    if isinstance(error, prawcore.exceptions.InvalidToken):  # prawcore dropped the token: the next try renews it
        return retry.Failure("expired", 0.0, False, "the access token expired")
    failure = retry.classify(error)
    if failure.kind == "other" and isinstance(error, prawcore.exceptions.RequestException):
        # the way to Reddit failed in a way requests names no further: the request may have gone out
        return retry.Failure("connection", None, True, failure.detail)
    return failure


def answered_with_errors(error: BaseException) -> bool:
    """Reddit answered (HTTP 200) with an error list (RATELIMIT, DELETED_COMMENT...) rather than failing
    the request: praw's RedditAPIException."""
    return isinstance(error, praw.exceptions.RedditAPIException)


def say_wait(failure: retry.Failure, seconds: float, attempt: int) -> None:
    """Tell the person why the notebook pauses (above any progress bar)."""
    from tqdm.auto import tqdm

    tqdm.write(f"Reddit: {failure.describe()}; waiting {seconds:g} s before try {attempt + 1}")


class _Once(FiniteRetryStrategy):
    """prawcore's retry strategy with no retry and no sleep: each request goes out once."""

    def _sleep_seconds(self):
        return None


@contextlib.contextmanager
def praw_retries_off(client):
    """Inside the block, `client`'s requests go out once (prawcore's own retries off); restored after.
    (praw's prawcore session is private, but stable across praw 7-8.) Posting sends each POST inside it:
    when Reddit made the comment and then failed to answer, a retry would post it twice."""
    core = client._core
    before = core._retry_strategy_class
    core._retry_strategy_class = lambda: _Once(retries=0)
    try:
        yield
    finally:
        core._retry_strategy_class = before


def read(client, call, *, sleep=time.sleep, on_wait=say_wait, what: str = "", policy: retry.Policy = READS):
    """`call()` (a read through `client`) under the retry policy, prawcore's own retries off: 429s, 5xx,
    cut connections and an expired token retried, then retry.GaveUp; other errors raised as praw raised them."""
    with praw_retries_off(client):
        return policy.with_classifier(classify).call(call, sleep=sleep, on_wait=on_wait, what=what)


# ----- reads of notebook 08 -----
def _fields(thing) -> dict:
    """A praw object's data without triggering a lazy fetch."""
    return dict(vars(thing)) if thing is not None else {}


def info(reddit, fullnames: list[str], batch: int = 100, desc: str = "", progress: bool = True,
         sleep=time.sleep) -> dict[str, dict]:
    """fullname -> data of each thing Reddit returns for `fullnames`, `batch` per request (Reddit's limit
    is 100); things Reddit does not know are absent."""
    from tqdm.auto import tqdm

    out = {}
    unique = list(dict.fromkeys(fullnames))
    chunks = [unique[i:i + batch] for i in range(0, len(unique), batch)]
    for chunk in tqdm(chunks, desc=desc, disable=not progress or not unique):
        for thing in read(reddit, lambda chunk=chunk: list(reddit.info(fullnames=chunk)), sleep=sleep, what=desc or "info"):
            out[thing.fullname] = _fields(thing)
    return out


def suspended_accounts(reddit, names, sleep=time.sleep) -> dict[str, bool]:
    """name -> is the account suspended: its page says `is_suspended`, or Reddit refuses the page (403)
    or no longer knows it (404: suspended or shadowbanned; an account deleted by its owner leaves no
    name on its comments, so it is never asked about)."""
    out = {}
    for name in sorted({n for n in names if n and n != "[deleted]"}):
        try:
            out[name] = bool(read(reddit, lambda name=name: getattr(reddit.redditor(name), "is_suspended", False), sleep=sleep,
                                  what=f"u/{name}"))
        except (prawcore.exceptions.NotFound, prawcore.exceptions.Forbidden):
            out[name] = True
    return out


@dataclass
class CommentReplies:
    """A comment as Reddit returned it, with its direct replies (those loaded; "load more" links left
    unexpanded are not counted). `state`: "found", "missing" (gone from the tree, 403 or 404) or
    "unknown" (Reddit kept failing: 5xx or no connection)."""

    state: str
    fields: dict = field(default_factory=dict)
    replies: list[dict] = field(default_factory=list)  # each direct reply's data
    reply_counts: dict[str, int] = field(default_factory=dict)  # reply id -> its own loaded replies


def comment_replies(reddit, comment_id: str, submission_id: str, more_replies: int | None = 0,
                    sleep=time.sleep) -> CommentReplies:
    """Comment `comment_id` of thread `submission_id` with its replies (one request, plus one per
    "load more" link expanded: `more_replies`, praw's replace_more limit). A lasting 429 raises retry.GaveUp."""
    parent = reddit.comment(comment_id)
    parent.submission = reddit.submission(submission_id)
    try:
        read(reddit, parent.refresh, sleep=sleep, what=f"comment {comment_id}")
        read(reddit, lambda: parent.replies.replace_more(limit=more_replies), sleep=sleep, what=f"comment {comment_id}")
    except (praw.exceptions.ClientException, prawcore.exceptions.NotFound, prawcore.exceptions.Forbidden):
        return CommentReplies("missing")
    except retry.GaveUp as gave_up:
        if gave_up.failure.kind == "rate_limited":
            raise
        return CommentReplies("unknown")
    children = [c for c in parent.replies if isinstance(c, praw.models.Comment)]
    return CommentReplies("found", _fields(parent), [_fields(c) for c in children],
                          {c.id: sum(1 for r in c.replies if isinstance(r, praw.models.Comment)) for c in children})


@dataclass
class Threads:
    """Plain records of posts and their comments, from Reddit or from the bundled sample."""

    posts: list[dict]
    comments: list[dict]
    me: str  # our account name, so our own comments and threads can be skipped
    # our account's recent comments (comment_id, submission_id, parent_id): they show threads we
    # answered even when Reddit folds our reply under "load more comments", or the ledger is elsewhere
    my_comments: list[dict] = field(default_factory=list)


def post_record(submission) -> dict:
    return {
        "subreddit": submission.subreddit.display_name, "submission_id": submission.id,
        "title": submission.title, "post_score": int(submission.score),
        "locked": bool(submission.locked), "archived": bool(submission.archived),
    }


def comment_record(comment, submission_id: str) -> dict:
    body = comment.body or ""
    gone = body in DELETED or comment.author is None or bool(getattr(comment, "removed_by_category", None))
    return {
        "submission_id": submission_id, "comment_id": comment.id, "parent_id": comment.parent_id,
        "author": comment.author.name if comment.author else "[deleted]", "comment": body,
        "comment_score": int(comment.score), "deleted": gone, "locked": bool(getattr(comment, "locked", False)),
    }


def fetch_threads(reddit, subreddits, *, posts_per_subreddit: int = 5, more_limit: int | None = 0,
                  progress: bool = True, sleep=time.sleep) -> Threads:
    """Rising posts of each subreddit and all their comments. `more_limit` is how many
    "load more comments" links to expand per post (praw's replace_more: 0 none, None all).
    Comments of locked or archived posts are not fetched (those posts are skipped anyway).
    Every request goes through `read` (the retry policy)."""
    from tqdm.auto import tqdm

    posts, comments = [], []
    submissions = [s for name in subreddits
                   for s in read(reddit, lambda name=name: list(reddit.subreddit(name).rising(limit=posts_per_subreddit)), sleep=sleep,
                                 what=f"r/{name} rising")]
    for submission in tqdm(submissions, desc="threads", disable=not progress):
        post = post_record(submission)
        posts.append(post)
        if post["locked"] or post["archived"]:
            continue
        read(reddit, lambda s=submission: s.comments.replace_more(limit=more_limit), sleep=sleep, what=f"thread {submission.id}")
        comments.extend(comment_record(c, submission.id) for c in submission.comments.list())
    me = read(reddit, lambda: my_name(reddit), sleep=sleep, what="our account")
    mine = read(reddit, lambda: my_recent_comments(reddit, me), sleep=sleep, what="our recent comments")
    return Threads(posts, comments, me, mine)


RECENT_LIMIT = 100  # our newest comments read to find threads we answered (Reddit lists up to 1000)


def my_recent_comments(reddit, me: str | None = None, limit: int = RECENT_LIMIT) -> list[dict]:
    """Our account's newest comments, as {comment_id, submission_id, parent_id} (one request per
    100). As ssi-bot syncs its account at start: this sees replies the ledger does not know
    (a lost ledger, another machine) and replies folded away in a big thread."""
    me = me or my_name(reddit)
    return [{"comment_id": c.id, "submission_id": c.link_id.removeprefix("t3_"), "parent_id": c.parent_id}
            for c in reddit.redditor(me).comments.new(limit=limit)]


def answered(my_comments: list[dict]) -> tuple[dict[str, str], set[str]]:
    """From our comments: {parent comment id: our reply id} and the threads where we answered a comment."""
    replies = {c["parent_id"].removeprefix("t1_"): c["comment_id"] for c in my_comments if str(c["parent_id"]).startswith("t1_")}
    threads = {c["submission_id"] for c in my_comments if str(c["parent_id"]).startswith("t1_")}
    return replies, threads


def is_banned(reddit, subreddit: str) -> bool:
    """Whether our account is banned from `subreddit` (r/<sub>/about's user_is_banned)."""
    return bool(getattr(reddit.subreddit(subreddit), "user_is_banned", False))


def find_reply(reddit, parent_comment_id: str, author: str) -> str | None:
    """The id of a reply by `author` directly under comment `parent_comment_id`, if Reddit shows one."""
    parent = reddit.comment(parent_comment_id)
    try:
        parent.refresh()
    except praw.exceptions.ClientException:  # the parent is gone
        return None
    parent.replies.replace_more(limit=None)
    for reply in parent.replies.list():
        if reply.author and reply.author.name.lower() == author.lower() and reply.parent_id == f"t1_{parent_comment_id}":
            return reply.id
    return None


# ----- reads and one write for posting across machines (issue 19) -----
def all_my_comments(reddit, me: str) -> list[dict]:
    """Our account's comments as far as Reddit lists them (about 1000, newest first; praw pages with
    `after`, 100 per request), as {comment_id, submission_id, parent_id, created_utc}."""
    return [{"comment_id": c.id, "submission_id": c.link_id.removeprefix("t3_"), "parent_id": c.parent_id,
             "created_utc": float(c.created_utc or 0)}
            for c in reddit.redditor(me).comments.new(limit=None)]


def replies_by(reddit, parent_comment_id: str, author: str) -> list[dict]:
    """The replies by `author` directly under comment `parent_comment_id`, oldest first, as
    {comment_id, created_utc}; [] when the parent is gone."""
    parent = reddit.comment(parent_comment_id)
    try:
        parent.refresh()
    except praw.exceptions.ClientException:  # the parent is gone
        return []
    parent.replies.replace_more(limit=None)
    ours = [{"comment_id": r.id, "created_utc": float(r.created_utc or 0)} for r in parent.replies.list()
            if r.author and r.author.name.lower() == author.lower() and r.parent_id == f"t1_{parent_comment_id}"]
    return sorted(ours, key=lambda r: (r["created_utc"], len(r["comment_id"]), r["comment_id"]))


def delete_comment(reddit, comment_id: str) -> None:
    """Delete our comment `comment_id` (POST /api/del)."""
    reddit.comment(comment_id).delete()
