"""Reddit through praw: a client from the secrets lookup, and the comments of rising posts.

Credentials come from `helpers.core.credentials` (Colab Secrets, environment, praw.ini [bot]) and
are handed to praw only; nothing here prints, logs or returns them. Where praw talks to (the
real site or a stand-in) is praw's own business: its praw.ini `[DEFAULT]` `oauth_url` etc.
"""
from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass, field
from importlib import metadata

from helpers.core import credentials, runtime
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


def connect(*, check: bool = True, **praw_options):
    """A logged-in praw.Reddit ("script" app) from the secrets REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET,
    REDDIT_USERNAME and REDDIT_PASSWORD. With `check`, logs in now so bad credentials fail here
    with RedditLoginError. praw's own RATELIMIT sleeping is off (`ratelimit_seconds=0`): the
    posting loop decides how long to wait."""
    import praw
    import prawcore

    secrets = credentials.get_secrets(credentials.PRAW_KEYS)  # every missing one named at once
    username = secrets["REDDIT_USERNAME"].reveal()
    options = dict(check_for_updates=False, ratelimit_seconds=0, **praw_options)
    reddit = praw.Reddit(
        client_id=secrets["REDDIT_CLIENT_ID"].reveal(),
        client_secret=secrets["REDDIT_CLIENT_SECRET"].reveal(),
        username=username,
        password=secrets["REDDIT_PASSWORD"].reveal(),
        user_agent=user_agent(username),
        **options,
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
                  progress: bool = True) -> Threads:
    """Rising posts of each subreddit and all their comments. `more_limit` is how many
    "load more comments" links to expand per post (praw's replace_more: 0 none, None all).
    Comments of locked or archived posts are not fetched (those posts are skipped anyway)."""
    from tqdm.auto import tqdm

    posts, comments = [], []
    submissions = [s for name in subreddits for s in reddit.subreddit(name).rising(limit=posts_per_subreddit)]
    for submission in tqdm(submissions, desc="threads", disable=not progress):
        post = post_record(submission)
        posts.append(post)
        if post["locked"] or post["archived"]:
            continue
        submission.comments.replace_more(limit=more_limit)
        comments.extend(comment_record(c, submission.id) for c in submission.comments.list())
    me = my_name(reddit)
    return Threads(posts, comments, me, my_recent_comments(reddit, me))


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
    import praw

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
