"""helpers.live.posting: selection, the review file, the ledger, and the posting loop with
real praw against the stand-in Reddit: dry run, approval, cap, pause, RATELIMIT, 403, deleted
parents, 5xx, and crashes (a killed process) on either side of the post."""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import prawcore.sessions
import pytest
from reddit_standin import ratelimit_message, server, use_standin  # noqa: F401 (server: a fixture)

from helpers.core import credentials
from helpers.live import posting, reddit, sender
from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import Ledger
from helpers.live.posting_config import Effects, PostingConfig
from helpers.live import review as review_file
from helpers.core.paths import Paths

DATE = "2026-11-25"
FOOTER = "\n\n(bot reply, reviewed by a person)"


@pytest.fixture
def live(server, monkeypatch, tmp_path):
    use_standin(monkeypatch, tmp_path / "config", server)
    # prawcore waits 2-4 s before retrying a 5xx; keep its retries, drop the wait
    monkeypatch.setattr(prawcore.sessions.FiniteRetryStrategy, "_sleep_seconds", lambda self: 0 if self.retries < 2 else None)
    yield server
    credentials.forget_secrets()


def scored_frame():
    rows = [
        # post A: two comments; best expected_rating_bin among realistic, short replies wins
        ("A", "a1", "reply a1 good", 0.95, 2.5),
        ("A", "a1", "reply a1 better", 0.97, 2.9),
        ("A", "a2", "reply a2 not realistic", 0.80, 3.5),
        ("A", "a2", "x" * 1000, 0.99, 3.9),  # too long
        ("B", "b1", "reply b1", 0.91, 1.0),
        ("C", "c1", "reply c1 at threshold", 0.90, 3.0),  # not above 0.9
    ]
    return pd.DataFrame([{"subreddit": "pics", "submission_id": s, "title": f"post {s}", "comment_id": c,
                          "comment": f"comment {c}", "candidate": r, "prob_real": p, "expected_rating_bin": e}
                         for s, c, r, p, e in rows])


def test_select_replies_as_the_original():
    best = review_file.select_replies(scored_frame(), min_prob_real=0.9, max_chars=1000)
    assert list(best["candidate"]) == ["reply a1 better", "reply b1"]
    assert list(review_file.select_replies(scored_frame(), min_prob_real=0.85, max_chars=1000)["submission_id"]) == ["C", "A", "B"]


def test_review_file_keeps_what_a_person_set(tmp_path):
    paths = Paths(tmp_path)
    review = review_file.write_review(paths, DATE, review_file.proposals(review_file.select_replies(scored_frame(), min_prob_real=0.9, max_chars=1000)))
    assert list(review.columns) == review_file.REVIEW_COLUMNS and set(review["approved"]) == {"no"}
    assert review_file.approved(review).empty
    edited = review.copy()
    edited.loc[0, "approved"] = " Yes "
    edited.loc[0, "reply"] = "an edited reply"
    edited.to_csv(paths.file("review", date=DATE), index=False)
    again = review_file.write_review(paths, DATE, review_file.proposals(review_file.select_replies(scored_frame(), min_prob_real=0.85, max_chars=1000)))
    assert len(again) == 3  # C's proposal is added, A's and B's rows are kept as edited
    ok = review_file.approved(again)
    assert list(ok["comment_id"]) == ["a1"] and ok.loc[0, "reply"] == "an edited reply"


def test_ledger_ignores_a_torn_last_line(tmp_path):
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    ledger.append("posting", "k1", submission_id="s1")
    with open(ledger.own_path, "a") as f:
        f.write('{"state": "pos')  # a crash mid-write
    assert [e["key"] for e in ledger.entries()] == ["k1"]
    assert ledger.replied_threads() == {"s1"} and [e["key"] for e in ledger.unresolved()] == ["k1"]
    ledger.append("posted", "k1", submission_id="s1", reply_id="r1")
    assert ledger.unresolved() == [] and ledger.last()["k1"]["reply_id"] == "r1"


def test_ratelimit_messages_are_parsed():
    assert reddit.ratelimit_seconds(ratelimit_message(9 * 60)) == 540
    assert reddit.ratelimit_seconds(ratelimit_message(5)) == 5
    assert reddit.ratelimit_seconds("Take a break for 300 milliseconds") == 0.3
    assert reddit.ratelimit_seconds("no amount") is None


# ----- the posting loop against the stand-in -----
def world(st, n=3, locked=(), deleted=()):
    """n posts with one comment each, and a review file approving every reply."""
    rows = []
    for i in range(1, n + 1):
        st.add_post("pics", f"p{i}", f"post {i}", 10, locked=f"p{i}" in locked)
        st.add_comment(f"p{i}", f"c{i}", f"comment {i}", score=10, deleted=f"c{i}" in deleted)
        rows.append({"subreddit": "pics", "submission_id": f"p{i}", "title": f"post {i}", "comment_id": f"c{i}",
                     "comment": f"comment {i}", "reply": f"reply to {i}", "prob_real": 0.95,
                     "expected_rating_bin": 2.0, "approved": "yes"})
    return pd.DataFrame(rows, columns=review_file.REVIEW_COLUMNS)


def config(*, pause_minutes=(0, 0), footer=FOOTER, ratelimit_max_wait=None, stop_file=None, **settings) -> PostingConfig:
    """The tests' posting settings: a real run (not the default dry run), no pause, no lease settle delay."""
    extra = {} if ratelimit_max_wait is None else {"ratelimit_max_wait_minutes": ratelimit_max_wait / 60}
    return PostingConfig.for_profile("tiny", **{
        "dry_run": False, "lease_settle": 0, "pause_minutes_min": pause_minutes[0], "pause_minutes_max": pause_minutes[1],
        "add_footer": footer is not None, "footer": footer, "stop_file": str(stop_file) if stop_file else None,
        **extra, **settings})


def run(review, ledger, client, *, proposals=None, lease=None, sleep=None, rng=None, **settings):
    """One posting run; the proposals default to the review rows (as 07 wrote them)."""
    sleeps, lines = [], []
    effects = Effects(sleep=sleep or sleeps.append, rng=rng or random.Random(), log=lines.append)
    result = posting.post_approved(review, ledger, client, config(**settings),
                                   proposals=review if proposals is None else proposals, lease=lease, effects=effects)
    return result, sleeps, lines


def replies_per_parent(st):
    return {c: len(st.replies_by(c)) for c in sorted({p["parent_id"] for p in st.posted} | {f"c{i}" for i in range(1, 4)})}


def test_dry_run_posts_nothing(live, tmp_path):
    st = live.state
    review = world(st)
    ledger = Ledger(tmp_path / "posted.jsonl")
    result, _, lines = run(review, ledger, None, dry_run=True)
    assert result.counts == {"dry run": 3}
    assert st.posted == [] and not any(m == "POST" for m, _ in st.requests)
    assert [e["state"] for e in ledger.entries()] == ["dry_run"] * 3
    assert "reply to 1" + FOOTER in lines[0] and lines[0].startswith("DRY RUN")
    assert ledger.replied_threads() == set()


def test_posting_approved_replies_only(live, tmp_path):
    st = live.state
    review = world(st)
    review.loc[1, "approved"] = "no"
    ledger = Ledger(tmp_path / "posted.jsonl")
    result, sleeps, _ = run(review, ledger, reddit.connect())
    assert result.counts == {"recovered": 0, "posted": 2}
    assert [(p["parent_id"], p["text"]) for p in st.posted] == [("c1", "reply to 1" + FOOTER), ("c3", "reply to 3" + FOOTER)]
    assert [(e["state"], e["key"]) for e in ledger.entries()] == [
        ("posting", "c1"), ("posted", "c1"), ("posting", "c3"), ("posted", "c3")]
    assert ledger.last()["c1"]["reply_id"] == st.posted[0]["id"]
    assert sleeps == [0.0]  # one pause, between the two posts
    again, _, _ = run(review, ledger, reddit.connect())
    assert again.counts == {"recovered": 0, "already posted": 2} and len(st.posted) == 2


def test_cap_pause_footer_off_and_one_reply_per_thread(live, tmp_path):
    st = live.state
    review = world(st)
    st.add_comment("p1", "c1b", "another comment in thread 1", score=10)
    extra = review.iloc[[0]].assign(comment_id="c1b", reply="second reply in thread 1")
    review = pd.concat([review.iloc[[0]], extra, review.iloc[1:]], ignore_index=True)
    result, sleeps, _ = run(review, Ledger(tmp_path / "l.jsonl"), reddit.connect(), max_posts=2,
                            pause_minutes=(1, 11), footer=None, rng=random.Random(3))
    assert result.counts == {"recovered": 0, "posted": 2, "thread already replied": 1, "queued": 1}
    assert [p["parent_id"] for p in st.posted] == ["c1", "c2"] and st.posted[0]["text"] == "reply to 1"
    assert len(sleeps) == 1 and 60 <= sleeps[0] <= 660


def test_ratelimit_short_is_waited_out(live, tmp_path):
    st = live.state
    review = world(st, n=2)
    st.fail("/api/comment", "ratelimit", message=ratelimit_message(3))  # praw itself would sleep on this
    result, sleeps, lines = run(review, Ledger(tmp_path / "l.jsonl"), reddit.connect())
    assert result.counts == {"recovered": 0, "posted": 2}
    assert sleeps == [3.0, 0.0] and any("wait 3 s" in line for line in lines)
    assert [p["parent_id"] for p in st.posted] == ["c1", "c2"]


def test_ratelimit_long_stops_and_leaves_the_rest_queued(live, tmp_path):
    st = live.state
    review = world(st)
    st.fail("/api/comment", "ratelimit", message=ratelimit_message(15 * 60))
    now = [datetime.now(timezone.utc)]
    ledger = Ledger(tmp_path / "l.jsonl", clock=lambda: now[0])
    result, sleeps, _ = run(review, ledger, reddit.connect())
    assert result.counts == {"recovered": 0, "retry later": 1, "queued": 2} and "RATELIMIT" in result.stopped
    assert st.posted == [] and sleeps == []
    assert ledger.last()["c1"]["state"] == "failed" and ledger.last()["c1"]["retry"] is True
    early, _, _ = run(review, ledger, reddit.connect())  # a rerun at once: Reddit's 15 minutes are not over
    assert early.counts.get("queued", 0) >= 1 and st.posted == [] and ledger.attempts("c1") == 1
    now[0] += timedelta(minutes=16)
    again, _, _ = run(review, ledger, reddit.connect())  # after the wait: all three go out, once
    assert again.counts == {"recovered": 0, "posted": 3}
    assert replies_per_parent(st) == {"c1": 1, "c2": 1, "c3": 1}


def test_403_and_deleted_parent_are_recorded_and_the_loop_goes_on(live, tmp_path):
    st = live.state
    review = world(st, n=4, locked={"p1"}, deleted={"c2"})
    st.fail("/api/comment", "403")  # c3's POST: refused (say, banned since the check)
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(review, ledger, reddit.connect())
    assert result.counts == {"recovered": 0, "thread locked": 1, "parent gone": 1, "failed": 1, "posted": 1}
    last = ledger.last()
    assert "c1" not in last and "c2" not in last  # refused before anything was sent: checked again next run
    assert "403" in last["c3"]["reason"] and last["c3"]["retry"] is False
    assert [p["parent_id"] for p in st.posted] == ["c4"]
    again, _, _ = run(review, ledger, reddit.connect())  # never retried
    assert again.counts == {"recovered": 0, "thread locked": 1, "parent gone": 1, "failed before": 1, "already posted": 1}


def test_other_refusals_are_recorded_and_the_loop_goes_on(live, tmp_path):
    st = live.state
    review = world(st, n=2)
    st.fail("/api/comment", "400")
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(review, ledger, reddit.connect())
    assert result.counts == {"recovered": 0, "failed": 1, "posted": 1}
    assert ledger.last()["c1"]["reason"].startswith("refused") and ledger.last()["c1"]["retry"] is False


def test_5xx_is_recorded_checked_on_the_next_run_and_retried(live, tmp_path):
    st = live.state
    review = world(st, n=2)
    st.fail("/api/comment", "500")  # a post is sent once: no retry by prawcore
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(review, ledger, reddit.connect())
    assert result.counts == {"recovered": 0, "retry later": 1, "posted": 1}
    assert ledger.last()["c1"]["uncertain"] is True
    again, _, _ = run(review, ledger, reddit.connect())
    assert again.counts == {"recovered": 0, "posted": 1, "already posted": 1}
    assert replies_per_parent(st) == {"c1": 1, "c2": 1, "c3": 0}


def test_a_5xx_after_reddit_made_the_comment_never_posts_twice(live, tmp_path):
    """Reddit makes the comment, then answers 500: no automatic retry; the rerun finds the reply."""
    st = live.state
    review = world(st, n=1)
    st.fail("/api/comment", "500_after")
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(review, ledger, reddit.connect())
    assert result.counts == {"recovered": 0, "retry later": 1}
    assert replies_per_parent(st)["c1"] == 1
    again, _, _ = run(review, ledger, reddit.connect())
    assert again.counts == {"recovered": 1, "already posted": 1}
    assert replies_per_parent(st)["c1"] == 1 and ledger.last()["c1"]["state"] == "posted"


POSTER = textwrap.dedent("""
    import sys
    from helpers.live import posting, reddit
    from helpers.live import review as review_file
    from helpers.live.ledger import Ledger
    from helpers.core.paths import Paths
    review = review_file.read_review(Paths(sys.argv[1]), sys.argv[2])
    config = posting.PostingConfig(dry_run=False, pause_minutes_min=0, pause_minutes_max=0, lease_settle=0)
    posting.post_approved(review, Ledger(sys.argv[3]), reddit.connect(), config, proposals=review)
""")


@pytest.mark.parametrize("crash", ["hang_before", "hang_after"])
def test_a_crash_around_the_post_never_posts_twice(live, tmp_path, crash):
    """Kill the posting process while Reddit holds the first post: before Reddit made the comment
    ("posting" written, nothing posted) or after (posted, "posted" never written). A rerun posts
    each approved reply exactly once."""
    st = live.state
    paths = Paths(tmp_path / "drive")
    review_file.write_review(paths, DATE, world(st))
    ledger = Ledger(paths.file("ledger"))
    st.fail("/api/comment", crash)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", POSTER, str(paths.root), DATE, str(ledger.path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert st.hung.wait(60), proc.communicate(timeout=5)[0]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    st.release.set()
    assert [e["state"] for e in ledger.entries()] == ["posting"]
    assert len(st.posted) == (1 if crash == "hang_after" else 0)
    lease = paths.file("lease")
    with pytest.raises(LeaseBusy, match="expires by itself"):  # the killed run's lease, for now
        Lease(lease, settle=0).acquire()
    later = Lease(lease, settle=0, clock=lambda: datetime.now(timezone.utc) + timedelta(minutes=4))
    result, _, lines = run(review_file.read_review(paths, DATE), ledger, reddit.connect(), footer=posting.DEFAULT_FOOTER,
                           lease=later)
    assert result.counts["recovered"] == (1 if crash == "hang_after" else 0)
    assert replies_per_parent(st) == {"c1": 1, "c2": 1, "c3": 1}
    assert len(st.posted) == 3
    states = [(e["state"], e["key"]) for e in ledger.entries()]
    assert states[1] == (("posted", "c1") if crash == "hang_after" else ("failed", "c1"))
    assert ledger.last()["c1"]["state"] == "posted"
    assert ledger.last()["c1"]["reply_id"] == st.replies_by("c1")[0]["id"]


def test_no_secret_in_ledger_or_log(live, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    st = live.state
    review = world(st, locked={"p2"})
    ledger = Ledger(tmp_path / "l.jsonl")
    _, _, lines = run(review, ledger, reddit.connect())
    run(review, ledger, None, dry_run=True)
    text = "".join(p.read_text() for p in ledger.files()) + "\n".join(lines) + caplog.text + json.dumps(review.to_dict())
    assert "posted" in text
    for secret in (st.client_id, st.client_secret, st.password):
        assert secret not in text


# ----- the config, the checks as plain functions, errors classified once -----
def test_posting_config_reads_notebook_07s_parameters():
    notebook = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / "07_score_review_post.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    namespace = {}
    exec("".join(cell["source"]), namespace)
    cfg = PostingConfig.from_notebook({**namespace, "DRY_RUN": False, "MAX_POSTS": 5, "ADD_FOOTER": False}, "tiny")
    assert (cfg.dry_run, cfg.max_posts, cfg.footer_text) == (False, 5, "")
    fields = set(PostingConfig.docs()) - {"stop_file", "lease_settle"}
    assert {name.upper() for name in fields} <= set(namespace)  # each posting parameter of 07 is a field
    assert PostingConfig.for_profile("colab").dry_run is True  # posting is off until a person turns it on
    with pytest.raises(ValueError, match="PAUSE_MINUTES_MIN"):
        PostingConfig.for_profile("tiny", pause_minutes_min=5.0, pause_minutes_max=1.0)


def test_checks_are_plain_functions_of_the_facts(tmp_path):
    from helpers.live import posting_checks as checks
    from helpers.live.posting_facts import RunSoFar, row_facts

    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    for _ in range(3):
        ledger.append("posting", "c1", submission_id="p1", subreddit="pics")
        ledger.append("failed", "c1", submission_id="p1", subreddit="pics", reason="500", retry=True)
    row = pd.Series({"subreddit": "pics", "submission_id": "p1", "comment_id": "c1", "comment": "comment 1", "reply": "hi there"})
    before = ledger.path.parent.stat().st_mtime_ns, len(ledger.entries())
    real = row_facts(row, ledger.view(), {"c1": {"submission_id": "p1"}}, RunSoFar(sends=True))
    verdict = checks.before_pause(real, config(max_attempts=3))
    assert verdict.outcome == "gave up" and verdict.record.state == "gave_up"  # asked for, not written
    assert (ledger.path.parent.stat().st_mtime_ns, len(ledger.entries())) == before
    dry = row_facts(row, ledger.view(), None, RunSoFar(sends=False))
    assert checks.before_pause(dry, config(max_attempts=3)) is None  # a dry run shows it
    assert checks.before_pause(real, config(max_attempts=4)) is None
    assert checks.before_pause(real, config(max_attempts=4, max_posts=0)).outcome == "queued"


def test_send_errors_are_classified_once_into_a_typed_value():
    """The Reddit client module classifies (a retry.Failure); posting only reads that value."""
    import praw
    import prawcore

    limit = sender.classify(praw.exceptions.RedditAPIException([["RATELIMIT", ratelimit_message(540), "ratelimit"]]))
    assert limit.failure == reddit.classify(praw.exceptions.RedditAPIException([["RATELIMIT", ratelimit_message(540), "ratelimit"]]))
    assert (limit.failure.kind, limit.wait, limit.retry, limit.slow_down, limit.may_have_posted) == ("rate_limited", 540, True, True, False)
    assert limit.posting_limit and limit.message.startswith("RATELIMIT")  # waited out within the run when short
    gone = sender.classify(praw.exceptions.RedditAPIException([["DELETED_COMMENT", "deleted", "parent"]]))
    assert (gone.failure.kind, gone.retry, gone.wait, gone.posting_limit) == ("refused", False, None, False)
    assert gone.message.startswith("DELETED_COMMENT")
    dropped = sender.classify(prawcore.exceptions.RequestException(ConnectionError("reset"), (), {}))
    assert (dropped.failure.kind, dropped.retry, dropped.may_have_posted) == ("connection", True, True)
    odd = sender.classify(prawcore.exceptions.RequestException(ValueError("proxy said no"), (), {}))
    assert (odd.retry, odd.may_have_posted) == (True, True)  # any failure on the way to Reddit: check before re-sending