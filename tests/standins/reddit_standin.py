"""A stand-in for the parts of Reddit's OAuth API that praw uses, on 127.0.0.1.

Real praw talks to it through a praw.ini in $XDG_CONFIG_HOME (see `write_praw_ini`). State is
scriptable: posts, comments, flags (locked, archived, deleted, removed), our account (its recent
comments at /user/<name>/comments, paged 100 at a time with `after` up to the 1000 Reddit lists;
bans at /r/<sub>/about; deleting our own comment with POST /api/del), and
failures injected per endpoint (RATELIMIT as HTTP 200 with json.errors, 403, 5xx, and "hang"
crash points that block a request until the test kills the client). Posted comments are
recorded in `state.posted`. No x-ratelimit-* headers are sent (prawcore would then sleep).
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Failure:
    """A failure injected on requests whose path matches `path` (a regex), `times` times."""

    path: str
    kind: str  # "ratelimit", an HTTP status ("403", "500"...), "hang_before" (before the post is made), "hang_after" (after),
    #            "500_after" (the comment is made, then the answer is a 500: a failure that hides a success),
    #            "drop" (the connection is closed before any answer; nothing is made)
    times: int = 1
    message: str = ""
    retry_after: str = ""  # a retry-after header (seconds) sent with the failure, as Reddit does with some 429s


@dataclass
class State:
    """Everything the stand-in knows; tests change it directly (hold `lock` while the server runs)."""

    client_id: str = "standin-client-id"
    client_secret: str = "standin-client-secret"
    username: str = "standin_bot"
    password: str = "standin-password"
    subreddits: dict[str, list[str]] = field(default_factory=dict)  # name -> rising post ids, in order
    posts: dict[str, dict] = field(default_factory=dict)  # id -> post fields
    comments: dict[str, dict] = field(default_factory=dict)  # id -> comment fields (insertion = age order)
    page_size: int = 50  # top-level comments per /comments page; the rest come as MoreComments
    failures: list[Failure] = field(default_factory=list)
    posted: list[dict] = field(default_factory=list)  # comments made through POST /api/comment
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every request
    hung: threading.Event = field(default_factory=threading.Event)  # set when a "hang" failure fires
    release: threading.Event = field(default_factory=threading.Event)  # set to let hung requests go
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    tokens: set = field(default_factory=set)
    # notebook 08 (feedback): who holds each token ("" = logged out, app-only), suspended accounts, and
    # Reddit's habit of showing a removed comment normally to its own author (off unless a test turns it on)
    token_users: dict = field(default_factory=dict)
    suspended: set = field(default_factory=set)
    author_sees_removed: bool = False
    banned: set = field(default_factory=set)  # subreddits where our account is banned (r/<sub>/about)
    # posting across machines: callables run once each, in order, when a POST /api/comment arrives and
    # before the comment is made (e.g. another machine's whole run), the comments deleted through
    # POST /api/del, and every request's query parameters
    before_post: list = field(default_factory=list)
    deleted_by_author: list = field(default_factory=list)
    queries: list = field(default_factory=list)  # (method, path, {query and form fields})

    # ----- scripting -----
    def add_post(self, subreddit: str, post_id: str, title: str = "a post", score: int = 10, *,
                 author: str = "someone", locked: bool = False, archived: bool = False) -> str:
        with self.lock:
            self.subreddits.setdefault(subreddit, []).append(post_id)
            self.posts[post_id] = dict(id=post_id, subreddit=subreddit, title=title, score=score,
                                       author=author, locked=locked, archived=archived)
        return post_id

    def add_comment(self, post_id: str, comment_id: str, body: str, *, author: str = "someone",
                    score: int = 10, parent: str | None = None, locked: bool = False,
                    deleted: bool = False, removed: bool = False, distinguished: str | None = None) -> str:
        """A comment on `post_id`, top-level or under comment `parent`."""
        with self.lock:
            self.comments[comment_id] = dict(
                id=comment_id, link_id=post_id, body=body, author=author, score=score,
                parent_id=f"t1_{parent}" if parent else f"t3_{post_id}", locked=locked,
                deleted=deleted, removed=removed, distinguished=distinguished,
                created_utc=time.time(),
            )
        return comment_id

    def fail(self, path: str, kind: str, times: int = 1, message: str = "", retry_after: str = "") -> None:
        with self.lock:
            self.failures.append(Failure(path, kind, times, message, retry_after))

    def replies_by(self, parent_id: str, author: str | None = None) -> list[dict]:
        author = author or self.username
        return [c for c in self.comments.values() if c["parent_id"] == f"t1_{parent_id}" and c["author"] == author]

    def new_id(self) -> str:
        return f"new{next(self._ids)}"

    # ----- JSON the way Reddit shapes it -----
    def post_json(self, post: dict) -> dict:
        count = sum(1 for c in self.comments.values() if c["link_id"] == post["id"])
        return {"kind": "t3", "data": {
            "id": post["id"], "name": f"t3_{post['id']}", "title": post["title"], "score": post["score"],
            "author": post["author"], "subreddit": post["subreddit"], "locked": post["locked"],
            "archived": post["archived"], "num_comments": count, "selftext": "", "over_18": False,
            "stickied": False, "created_utc": 1_700_000_000.0, "url": f"/r/{post['subreddit']}/comments/{post['id']}/",
            "permalink": f"/r/{post['subreddit']}/comments/{post['id']}/x/",
            "removed_by_category": "moderator" if post.get("removed") else None,
        }}

    def comment_json(self, c: dict, *, nested: bool, viewer: str = "") -> dict:
        post = self.posts[c["link_id"]]
        children = [k for k in self.comments.values() if k["parent_id"] == f"t1_{c['id']}"]
        removed = c["removed"] and not (self.author_sees_removed and viewer and viewer == c["author"])
        gone = c["deleted"] or removed
        data = {
            "id": c["id"], "name": f"t1_{c['id']}", "body": "[removed]" if removed else "[deleted]" if c["deleted"] else c["body"],
            "author": "[deleted]" if gone else c["author"], "score": c["score"], "parent_id": c["parent_id"],
            "link_id": f"t3_{c['link_id']}", "subreddit": post["subreddit"], "locked": c["locked"],
            "archived": post["archived"], "distinguished": c["distinguished"], "stickied": False,
            "created_utc": c["created_utc"], "depth": 0, "collapsed": False,
            "removed_by_category": "moderator" if removed else None,
            "permalink": f"/r/{post['subreddit']}/comments/{c['link_id']}/x/{c['id']}/",
            "replies": "",
        }
        if nested and children:
            data["replies"] = listing([self.comment_json(k, nested=True, viewer=viewer) for k in children])
        return {"kind": "t1", "data": data}

    def thread_json(self, post_id: str, focus: str | None = None, viewer: str = "") -> list:
        post = self.posts[post_id]
        if focus:  # /comments/<post>/_/<comment>: that comment and its replies
            top = [self.comments[focus]] if focus in self.comments else []
        else:
            top = [c for c in self.comments.values() if c["link_id"] == post_id and c["parent_id"] == f"t3_{post_id}"]
        shown, rest = top[: self.page_size], top[self.page_size:]
        children = [self.comment_json(c, nested=True, viewer=viewer) for c in shown]
        if rest:
            children.append({"kind": "more", "data": {
                "count": len(rest), "name": f"t1_{rest[0]['id']}", "id": rest[0]["id"],
                "parent_id": f"t3_{post_id}", "depth": 0, "children": [c["id"] for c in rest]}})
        return [listing([self.post_json(post)]), listing(children)]


def listing(children: list, after: str | None = None) -> dict:
    return {"kind": "Listing", "data": {"after": after, "before": None, "dist": len(children), "children": children}}


USER_LISTING_MAX = 1000  # Reddit lists an account's newest ~1000 comments, no more
PAGE_MAX = 100  # items per listing request, whatever `limit` asks


def ratelimit_message(seconds: int) -> str:
    amount = f"{seconds // 60} minutes" if seconds >= 60 else f"{seconds} seconds"
    return f"Looks like you've been doing that a lot. Take a break for {amount} before trying again."


def api_errors(*errors) -> dict:
    return {"json": {"errors": [list(e) for e in errors]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State  # set on the subclass made by `serve`

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status == 401 and self.headers.get("Authorization", "").startswith("bearer "):
            self.send_header("www-authenticate", 'Bearer realm="reddit", error="invalid_token"')  # as Reddit does
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return {k: v[-1] for k, v in parse_qs(raw).items()}

    def _failure(self, path: str) -> Failure | None:
        with self.state.lock:
            for f in self.state.failures:
                if f.times > 0 and re.search(f.path, path):
                    f.times -= 1
                    return f
        return None

    def _hang(self) -> None:
        self.state.hung.set()
        self.state.release.wait(60)

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        form = self._form() if method == "POST" else {}
        st = self.state
        with st.lock:
            st.requests.append((method, path))
            st.queries.append((method, path, {**query, **form}))
        if path == "/api/v1/access_token":
            return self._token(form)
        token = self.headers.get("Authorization", "").removeprefix("bearer ")
        if token not in st.tokens:
            return self._send(401, {"message": "Unauthorized", "error": 401})
        viewer = st.token_users.get(token, "")
        failure = self._failure(path)
        if failure and failure.kind == "ratelimit":
            return self._send(200, api_errors(("RATELIMIT", failure.message or ratelimit_message(9 * 60), "ratelimit")))
        if failure and failure.kind.isdigit():  # an HTTP error status
            return self._send(int(failure.kind), {"message": failure.message or "error", "error": int(failure.kind)},
                              {"retry-after": failure.retry_after} if failure.retry_after else None)
        if failure and failure.kind == "hang_before":
            return self._hang()
        if failure and failure.kind == "drop":  # connection closed before any answer
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        with st.lock:
            if path == "/api/v1/me":
                return self._send(200, {"name": st.username, "id": "me1", "created_utc": 1.0, "comment_karma": 1, "link_karma": 1})
            if m := re.fullmatch(r"/r/([^/]+)/rising", path):
                ids = st.subreddits.get(m.group(1))
                if ids is None:
                    return self._send(404, {"message": "Not Found", "error": 404})
                limit = int(query.get("limit", 25))
                return self._send(200, listing([st.post_json(st.posts[i]) for i in ids[:limit]]))
            if m := re.fullmatch(r"/comments/([^/]+)(?:/[^/]+/([^/]+))?", path):
                if m.group(1) not in st.posts:
                    return self._send(404, {"message": "Not Found", "error": 404})
                return self._send(200, st.thread_json(m.group(1), m.group(2), viewer=viewer))
            if m := re.fullmatch(r"/r/([^/]+)/about", path):
                if m.group(1) not in st.subreddits:
                    return self._send(404, {"message": "Not Found", "error": 404})
                return self._send(200, {"kind": "t5", "data": {
                    "display_name": m.group(1), "name": f"t5_{m.group(1)}", "id": m.group(1),
                    "user_is_banned": m.group(1) in st.banned, "subreddit_type": "public", "over18": False}})
            if m := re.fullmatch(r"/user/([^/]+)/comments", path):  # newest first, as sort=new, paged with `after`
                mine = [c for c in st.comments.values() if c["author"].lower() == m.group(1).lower()]
                mine = mine[::-1][:USER_LISTING_MAX]
                names = [f"t1_{c['id']}" for c in mine]
                start = names.index(query["after"]) + 1 if query.get("after") in names else 0
                page = mine[start: start + min(int(query.get("limit", 25)), PAGE_MAX)]
                more = start + len(page) < len(mine) and page
                return self._send(200, listing([st.comment_json(c, nested=False) for c in page],
                                               after=f"t1_{page[-1]['id']}" if more else None))
            if path == "/api/info":
                things = []
                for name in query.get("id", "").split(","):
                    kind, _, thing = name.partition("_")
                    if kind == "t1" and thing in st.comments:
                        things.append(st.comment_json(st.comments[thing], nested=False, viewer=viewer))
                    elif kind == "t3" and thing in st.posts:
                        things.append(st.post_json(st.posts[thing]))
                return self._send(200, listing(things))
            if m := re.fullmatch(r"/user/([^/]+)/about", path):
                name = m.group(1)
                if name in st.suspended:
                    return self._send(200, {"kind": "t2", "data": {"name": name, "is_suspended": True}})
                known = {c["author"] for c in st.comments.values()} | {st.username}
                if name not in known:
                    return self._send(404, {"message": "Not Found", "error": 404})
                return self._send(200, {"kind": "t2", "data": {"name": name, "id": f"u_{name}", "created_utc": 1.0,
                                                               "comment_karma": 1, "link_karma": 1}})
            if path == "/api/morechildren":
                wanted = form.get("children", "").split(",")
                things, queue = [], [st.comments[i] for i in wanted if i in st.comments]
                while queue:  # the wanted comments and all their descendants, flat
                    c = queue.pop(0)
                    things.append(st.comment_json(c, nested=False))
                    queue.extend(k for k in st.comments.values() if k["parent_id"] == f"t1_{c['id']}")
                return self._send(200, {"json": {"errors": [], "data": {"things": things}}})
        if path == "/api/comment" and method == "POST":
            return self._comment(form, failure)
        if path == "/api/del" and method == "POST":
            return self._delete(form)
        return self._send(404, {"message": "Not Found", "error": 404})

    def _token(self, form: dict) -> None:
        st = self.state
        auth = self.headers.get("Authorization", "")
        basic = base64.b64decode(auth.removeprefix("Basic ")).decode() if auth.startswith("Basic ") else ""
        if basic != f"{st.client_id}:{st.client_secret}":
            return self._send(401, {"message": "Unauthorized", "error": 401})
        if form.get("grant_type") == "client_credentials":  # app-only: a logged-out view
            token = f"token{len(st.tokens) + 1}"
            with st.lock:
                st.tokens.add(token)
                st.token_users[token] = ""
            return self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "*"})
        if form.get("grant_type") != "password" or (form.get("username"), form.get("password")) != (st.username, st.password):
            return self._send(200, {"error": "invalid_grant"})
        token = f"token{len(st.tokens) + 1}"
        with st.lock:
            st.tokens.add(token)
            st.token_users[token] = st.username
        return self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "*"})

    def _delete(self, form: dict) -> None:
        """POST /api/del: the author deletes their comment (Reddit shows it as [deleted] from then on)."""
        st = self.state
        kind, _, thing = form.get("id", "").partition("_")
        with st.lock:
            c = st.comments.get(thing) if kind == "t1" else None
            if c is not None and c["author"] == st.username:
                c.update(deleted=True, author="[deleted]")
                st.deleted_by_author.append(thing)
        return self._send(200, {})

    def _comment(self, form: dict, failure: Failure | None) -> None:
        st = self.state
        with st.lock:
            hook = st.before_post.pop(0) if st.before_post else None
        if hook is not None:
            hook()
        kind, _, parent = form.get("thing_id", "").partition("_")
        with st.lock:
            target = st.comments.get(parent) if kind == "t1" else None
            if target is None or target["deleted"] or target["removed"]:
                return self._send(200, api_errors(("DELETED_COMMENT", "that comment has been deleted", "parent")))
            post = st.posts[target["link_id"]]
            if post["locked"] or post["archived"] or target["locked"]:
                return self._send(403, {"message": "Forbidden", "error": 403})
            new = st.add_comment(post["id"], st.new_id(), form.get("text", ""), author=st.username, score=1, parent=parent)
            st.posted.append({"id": new, "parent_id": parent, "text": form.get("text", "")})
            reply = st.comment_json(st.comments[new], nested=False)
        if failure and failure.kind == "hang_after":
            return self._hang()
        if failure and failure.kind == "500_after":
            return self._send(500, {"message": "Internal Server Error", "error": 500})
        return self._send(200, {"json": {"errors": [], "data": {"things": [reply]}}})


class StandIn:
    """A running stand-in: `.url`, `.state`, `.close()`; also a context manager."""

    def __init__(self, state: State | None = None):
        self.state = state or State()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # a short poll: `shutdown` waits up to one poll interval (0.5 s by default, at every test's end)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.state.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_praw_ini(config_home: Path, url: str) -> Path:
    """A praw.ini in `config_home` (use as $XDG_CONFIG_HOME) pointing praw at the stand-in."""
    config_home.mkdir(parents=True, exist_ok=True)
    path = config_home / "praw.ini"
    path.write_text(
        "[DEFAULT]\n"
        f"oauth_url = {url}\nreddit_url = {url}\nshort_url = {url}\n"
        "check_for_updates = False\n"
    )
    return path


def demo_state() -> State:
    """A small thread set covering every skip rule (used by the notebook tests)."""
    st = State(client_id="cid-1f9e4c7a", client_secret="csecret-8b2d6e0f3a", username="acct-5c7e19",
               password="pw-d04a7f2e91")
    st.add_post("AskReddit", "p1", "What small habit improved your life?", 120)
    st.add_comment("p1", "c1", "Drinking a glass of water first thing in the morning.", score=40)
    st.add_comment("p1", "c2", "Going for a walk after dinner every day.", score=12)
    st.add_comment("p1", "c3", "gone", score=30, deleted=True)
    st.add_comment("p1", "c4", "I am a bot, beep.", author="AutoModerator", score=50)
    st.add_comment("p1", "c5", "Too low to matter.", score=1)
    st.add_post("AskReddit", "p2", "This thread is locked", 80, locked=True)
    st.add_comment("p2", "c6", "A comment in a locked thread.", score=20)
    st.add_post("todayilearned", "p3", "TIL octopuses have three hearts", 300)
    st.add_comment("p3", "c7", "And blue blood, which is wild.", score=25)
    st.add_comment("p3", "c8", "Nature is amazing sometimes.", score=9)
    st.add_post("todayilearned", "p4", "TIL we already replied here", 50)
    st.add_comment("p4", "c9", "Some comment we answered.", score=15)
    st.add_comment("p4", "c10", "our earlier reply", author=st.username, score=3, parent="c9")
    return st


def use_standin(monkeypatch, config_home: Path, server: StandIn, **secrets) -> None:
    """Point praw (praw.ini in $XDG_CONFIG_HOME) and the secrets (environment) at `server`."""
    import praw.config

    from helpers.core import credentials

    write_praw_ini(config_home, server.url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setattr(praw.config.Config, "CONFIG", None)  # praw reads praw.ini once per process
    st = server.state
    values = dict(REDDIT_CLIENT_ID=st.client_id, REDDIT_CLIENT_SECRET=st.client_secret,
                  REDDIT_USERNAME=st.username, REDDIT_PASSWORD=st.password)
    values.update(secrets)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    credentials.forget_secrets()



# ----- the fixtures the praw tests share (import them: `from reddit_standin import live, server`) -----
@pytest.fixture
def server():
    """A running stand-in with the default state (override in a test file for another state)."""
    with StandIn() as s:
        yield s


@pytest.fixture
def live(server, monkeypatch, tmp_path):
    """`server`, with praw and the secrets pointed at it; the secrets are forgotten afterwards."""
    from helpers.core import credentials

    use_standin(monkeypatch, tmp_path / "config", server)
    # prawcore waits 2-4 s before retrying a 5xx or a dropped connection: keep its retries, drop the wait
    import prawcore.sessions
    monkeypatch.setattr(prawcore.sessions.FiniteRetryStrategy, "_sleep_seconds", lambda self: 0 if self.retries < 2 else None)
    yield server
    credentials.forget_secrets()
