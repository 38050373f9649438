"""helpers.live.reddit and helpers.live.candidates with real praw against the stand-in Reddit on 127.0.0.1."""
import logging

import pytest
from reddit_standin import State, live, server, use_standin  # noqa: F401 (live, server: fixtures)

from helpers.live import candidates, reddit
from helpers.core import credentials


def test_user_agent_follows_reddits_format():
    ua = reddit.user_agent("someone")
    platform, app, rest = ua.split(":", 2)
    version, by = rest.split(" ", 1)
    assert platform and app == "gpt2-bert-reddit-bot" and version[0].isdigit()
    assert by == "(by /u/someone)"


def test_connect_logs_in_with_secrets_from_the_environment(live):
    client = reddit.connect()
    assert client.config.check_for_updates is False
    assert reddit.my_name(client) == live.state.username
    assert ("POST", "/api/v1/access_token") in live.state.requests
    assert ("GET", "/api/v1/me") in live.state.requests
    assert client.config.user_agent.endswith(f"(by /u/{live.state.username})")


@pytest.mark.parametrize("secret, what", [("REDDIT_PASSWORD", "REDDIT_PASSWORD"), ("REDDIT_CLIENT_SECRET", "REDDIT_CLIENT_SECRET")])
def test_bad_credentials_give_a_clear_error_without_secrets(server, monkeypatch, tmp_path, secret, what, caplog):
    wrong = "wrong-" + secret.lower()
    use_standin(monkeypatch, tmp_path / "config", server, **{secret: wrong})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(reddit.RedditLoginError) as info:
        reddit.connect()
    message = str(info.value)
    assert what in message and "environment" in message
    for value in (wrong, server.state.password, server.state.client_secret, server.state.client_id):
        assert value not in message and value not in caplog.text


def test_missing_secret_names_it(server, monkeypatch, tmp_path):
    use_standin(monkeypatch, tmp_path / "config", server)
    monkeypatch.delenv("REDDIT_PASSWORD")
    credentials.forget_secrets()
    with pytest.raises(credentials.MissingSecretError, match="REDDIT_PASSWORD"):
        reddit.connect()


def make_threads(st: State) -> State:
    st.add_post("pics", "a1", "A clean thread", 50)
    st.add_comment("a1", "k1", "A good comment worth answering.", score=20)
    st.add_comment("a1", "k2", "A reply to the good comment.", score=8, parent="k1")
    st.add_comment("a1", "k3", "deleted later", score=30, deleted=True)
    st.add_comment("a1", "k4", "removed by mods", score=30, removed=True)
    st.add_comment("a1", "k5", "Please follow the rules.", author="AutoModerator", score=5)
    st.add_comment("a1", "k6", "Hello from a known bot.", author="RemindMeBot", score=5)
    st.add_comment("a1", "k7", "Nobody liked this.", score=2)
    st.add_comment("a1", "k8", "Our own top-level remark.", author=st.username, score=9)
    st.add_comment("a1", "k9", "A locked comment.", score=9, locked=True)
    st.add_post("pics", "a2", "Locked thread", 40, locked=True)
    st.add_comment("a2", "l1", "Cannot answer here.", score=20)
    st.add_post("pics", "a3", "Archived thread", 40, archived=True)
    st.add_comment("a3", "m1", "Too old to answer.", score=20)
    st.add_post("pics", "a4", "We answered here already", 30)
    st.add_comment("a4", "n1", "Answered before.", score=20)
    st.add_comment("a4", "n2", "our reply", author=st.username, score=1, parent="n1")
    st.add_post("pics", "a5", "The ledger says we answered here", 30)
    st.add_comment("a5", "o1", "Also answered before.", score=20)
    st.add_post("pics", "a6", "Not in the top five", 30)
    st.add_comment("a6", "q1", "Never fetched.", score=20)
    return st


def test_fetch_rising_posts_and_comments(live):
    make_threads(live.state)
    threads = reddit.fetch_threads(reddit.connect(), ["pics"], posts_per_subreddit=5, progress=False)
    assert [p["submission_id"] for p in threads.posts] == ["a1", "a2", "a3", "a4", "a5"]
    assert threads.me == live.state.username
    by_id = {c["comment_id"]: c for c in threads.comments}
    assert by_id["k2"]["parent_id"] == "t1_k1" and by_id["k1"]["comment_score"] == 20
    assert by_id["k3"]["deleted"] and by_id["k4"]["deleted"] and not by_id["k1"]["deleted"]
    assert by_id["k9"]["locked"]
    assert "l1" not in by_id and "m1" not in by_id  # locked/archived threads: comments not fetched
    assert ("GET", "/r/pics/rising") in live.state.requests


def test_every_skip_rule(live):
    make_threads(live.state)
    threads = reddit.fetch_threads(reddit.connect(), ["pics"], posts_per_subreddit=5, progress=False)
    keep, skipped = candidates.select_comments(threads, replied_threads={"a5"}, min_score=4)
    assert sorted(keep["comment_id"]) == ["k1", "k2"]
    assert list(keep.columns) == candidates.ITEM_COLUMNS
    assert keep.set_index("comment_id").loc["k1", "title"] == "A clean thread"
    reasons = dict(zip(skipped["id"], skipped["reason"]))
    assert reasons == {
        "a2": "thread locked or archived", "a3": "thread locked or archived",
        "a4": "thread already replied (live)", "a5": "thread already replied (ledger)",
        "k3": "comment deleted or removed", "k4": "comment deleted or removed",
        "k5": "bot or AutoModerator", "k6": "bot or AutoModerator",
        "k7": "comment score below minimum", "k8": "our own comment", "k9": "comment locked",
    }
    counts = candidates.skip_counts(skipped)
    assert counts["comment deleted or removed"] == 2 and sum(counts.values()) == len(skipped)


def test_more_comments_are_expanded_to_the_requested_depth(live):
    st = live.state
    st.page_size = 2
    st.add_post("pics", "b1", "Busy thread", 10)
    for i in range(6):
        st.add_comment("b1", f"t{i}", f"comment number {i}", score=10)
    st.add_comment("b1", "t5r", "a reply deep in the more", score=10, parent="t5")
    client = reddit.connect()
    shallow = reddit.fetch_threads(client, ["pics"], more_limit=0, progress=False)
    assert {c["comment_id"] for c in shallow.comments} == {"t0", "t1"}
    deep = reddit.fetch_threads(client, ["pics"], more_limit=None, progress=False)
    assert {c["comment_id"] for c in deep.comments} == {"t0", "t1", "t2", "t3", "t4", "t5", "t5r"}
    assert ("POST", "/api/morechildren") in st.requests


def test_find_reply_sees_our_reply_under_the_parent(live):
    st = live.state
    st.add_post("pics", "c1", "t", 10)
    st.add_comment("c1", "x1", "parent", score=10)
    st.add_comment("c1", "x2", "someone else's reply", score=1, parent="x1")
    client = reddit.connect()
    assert reddit.find_reply(client, "x1", st.username) is None
    st.add_comment("c1", "x3", "ours", author=st.username, score=1, parent="x1")
    assert reddit.find_reply(client, "x1", st.username) == "x3"


def test_sample_fresh_comments_cover_every_skip_rule():
    threads, _ = candidates.load_sample()
    keep, skipped = candidates.select_comments(threads, replied_threads={"sample_p5"}, top_level_only=True)
    counts = candidates.skip_counts(skipped)
    assert all(n > 0 for n in counts.values()), counts
    assert len(keep) >= 6 and keep["comment"].str.len().gt(0).all()
    assert (keep["comment_score"] >= 4).all()


# ----- one client module, one retry policy (issue 17) -----
def test_praw_is_imported_in_the_reddit_client_module_only():
    """praw and prawcore are imported by helpers.live.reddit, at its top, and by no other module."""
    import ast
    from pathlib import Path

    root = Path(reddit.__file__).resolve().parents[2]
    importers = {}
    for path in sorted((root / "helpers").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("praw", "prawcore") for n in names):
                importers.setdefault(path.relative_to(root).as_posix(), []).append(node.col_offset)
    assert importers.pop("helpers/live/reddit.py") == [0, 0, 0]  # praw, prawcore, FiniteRetryStrategy: top level
    assert importers == {}, importers


def test_a_429_on_a_read_waits_exactly_what_reddit_asks(live):
    make_threads(live.state)
    live.state.fail(r"^/r/pics/rising$", "429", times=1, retry_after="137")
    waits, heard = [], []
    client = reddit.connect()
    threads = reddit.fetch_threads(client, ["pics"], progress=False, sleep=waits.append)
    assert waits == [137.0] and len(threads.posts) == 5  # not capped, not cut short
    assert reddit.read(client, lambda: "ok", on_wait=lambda *a: heard.append(a)) == "ok" and heard == []


def test_a_cut_connection_and_an_expired_token_are_retried(live):
    st = make_threads(live.state)
    client = reddit.connect()
    st.fail(r"^/comments/a1", "drop", times=1)
    waits = []
    threads = reddit.fetch_threads(client, ["pics"], progress=False, sleep=waits.append)
    assert waits == [2.0] and "k1" in {c["comment_id"] for c in threads.comments}
    tokens_before = sum(1 for r in st.requests if r == ("POST", "/api/v1/access_token"))
    with st.lock:
        st.tokens.clear()  # the hour is up: Reddit answers 401 invalid_token
    assert reddit.fetch_threads(client, ["pics"], progress=False, sleep=waits.append).me == st.username
    assert sum(1 for r in st.requests if r == ("POST", "/api/v1/access_token")) == tokens_before + 1
    assert waits == [2.0, 0.0]  # renewed at once


def test_a_lasting_5xx_gives_up_after_the_policys_tries_with_one_request_each(live):
    from helpers.core import retry

    make_threads(live.state)
    client = reddit.connect()
    live.state.fail(r"^/r/pics/rising$", "503", times=10)
    before = len(live.state.requests)
    waits = []
    with pytest.raises(retry.GaveUp, match=r"gave up after 3 tries \(r/pics rising\): server: HTTP 503") as gave_up:
        reddit.fetch_threads(client, ["pics"], progress=False, sleep=waits.append)
    assert waits == [2.0, 4.0] and gave_up.value.failure.maybe_applied
    assert live.state.requests[before:].count(("GET", "/r/pics/rising")) == 3  # prawcore's own retries are off


def test_a_403_on_a_read_is_not_retried(live):
    import prawcore

    make_threads(live.state)
    client = reddit.connect()
    live.state.fail(r"^/r/pics/rising$", "403", times=5)
    waits = []
    with pytest.raises(prawcore.exceptions.Forbidden):
        reddit.fetch_threads(client, ["pics"], progress=False, sleep=waits.append)
    assert waits == [] and live.state.requests.count(("GET", "/r/pics/rising")) == 1


def test_praws_ratelimit_answer_is_classified_with_its_wait():
    import praw

    error = praw.exceptions.RedditAPIException([["RATELIMIT", "Take a break for 9 minutes before trying again.", "ratelimit"]])
    failure = reddit.classify(error)
    assert (failure.kind, failure.wait, failure.maybe_applied) == ("rate_limited", 540.0, False)
    refused = reddit.classify(praw.exceptions.RedditAPIException([["THREAD_LOCKED", "locked", "parent"]]))
    assert refused.kind == "refused" and not refused.transient
