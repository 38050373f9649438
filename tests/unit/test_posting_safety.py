"""Posting against a careless operator and Reddit's real errors (issue 12), real praw against the
stand-in: blank ids, two runs on one Drive, emptied or hand-added rows, 429/401, a 500 that hides
a success, a folded comment tree, a broken review.csv, the lease, budgets, the stop switch, bans."""
import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from reddit_standin import live, server  # noqa: F401 (fixtures)
from test_posting import DATE, FOOTER, world
from test_posting import run as run_once

from helpers.live import candidates, guards, posting, reddit

from helpers.live import review as review_file
from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import Ledger
from helpers.core.paths import Paths


def run(review, ledger, client, proposed=None, **kw):
    """One posting run, checked: every outcome and ledger state is a named one."""
    result, sleeps, lines = run_once(review, ledger, client, proposals=proposed, **kw)
    assert set(result.counts) - {"recovered"} <= set(posting.OUTCOMES)  # every outcome is a named one
    assert {e["state"] for e in ledger.entries()} <= set(posting.STATES)
    return result, sleeps, lines


def ours_under(st, parent):
    return len(st.replies_by(parent))


def ours_in_thread(st, post):
    return sum(1 for c in st.comments.values() if c["author"] == st.username and c["link_id"] == post)


# ----- defect 1: a blank comment_id -----
def test_a_blank_comment_id_is_refused_and_never_enters_the_ledger(live, tmp_path):
    st = live.state
    rv = world(st)
    rv.loc[1, "comment_id"] = "  "
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(rv, ledger, reddit.connect())
    assert result.counts["posted"] == 2 and result.counts["invalid row"] == 1
    assert all(e["key"].strip() for e in ledger.entries())


def test_a_ledger_with_an_empty_key_no_longer_blocks_posting(live, tmp_path):
    st = live.state
    rv = world(st, n=2)
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.path.write_text(json.dumps({"time": "2026-11-24T10:00:00+00:00", "state": "posting", "key": "",
                                       "submission_id": "p9", "subreddit": "pics"}) + "\n")  # left by the old code
    result, _, _ = run(rv, ledger, reddit.connect())
    assert result.counts["posted"] == 2
    again, _, _ = run(rv, ledger, reddit.connect())
    assert again.counts["already posted"] == 2 and len(st.posted) == 2


# ----- defect 2: two runs on one Drive at once -----
def test_a_second_run_during_the_pause_posts_nothing_twice(live, tmp_path):
    st = live.state
    rv = world(st)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    second = {}

    def pause_and_run_again(seconds):  # "Run all" again in a second tab, during the first run's pause
        if not second:
            second["result"], _, second["lines"] = run(rv, Ledger(ledger.path), reddit.connect())

    result, _, _ = run(rv, ledger, reddit.connect(), sleep=pause_and_run_again)
    assert len(st.posted) == 3 and {ours_under(st, f"c{i}") for i in range(1, 4)} == {1}
    assert second["result"].counts.get("posted", 0) == 0
    assert "another" in second["result"].stopped and "lease" in second["result"].stopped
    assert result.counts["posted"] == 3


def test_without_the_lease_the_live_check_still_posts_once(live, tmp_path):
    """The lease lost (Drive's sync is slow, two machines): the check of our own comments before
    each post still keeps one reply per parent."""
    st = live.state
    rv = world(st)
    ledger_a, ledger_b = Ledger(tmp_path / "a.jsonl"), Ledger(tmp_path / "b.jsonl")
    done = []

    def other_machine(seconds):
        if not done:
            done.append(run(rv, ledger_b, reddit.connect(), lease=Lease(tmp_path / "b.lease"))[0])

    result, _, _ = run(rv, ledger_a, reddit.connect(), sleep=other_machine, lease=Lease(tmp_path / "a.lease"))
    assert {ours_under(st, f"c{i}") for i in range(1, 4)} == {1} and len(st.posted) == 3
    assert result.counts["posted"] + done[0].counts["posted"] == 3


def test_a_crashed_runs_lease_expires_by_itself(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    now = datetime.now(timezone.utc)
    lease = Lease(ledger.path.parent / "lease.json", settle=0)
    lease.path.parent.mkdir(parents=True)
    lease.path.write_text(json.dumps({"owner": "crashed-run", "host": "elsewhere", "heartbeat": (now - timedelta(hours=1)).isoformat(),
                                      "expires": (now - timedelta(minutes=30)).isoformat()}))
    result, _, _ = run(rv, ledger, reddit.connect())
    assert result.counts["posted"] == 1
    lease.path.write_text(json.dumps({"owner": "live-run", "host": "elsewhere", "heartbeat": now.isoformat(),
                                      "expires": (now + timedelta(minutes=10)).isoformat()}))
    rv2 = pd.concat([rv, world(st, n=2).iloc[[1]]], ignore_index=True)
    blocked, _, _ = run(rv2, ledger, reddit.connect())
    assert blocked.counts.get("posted", 0) == 0 and "lease" in blocked.stopped and "live-run" in blocked.stopped
    assert "expires" in blocked.stopped and len(st.posted) == 1


def test_the_lease_is_checked_before_each_post(tmp_path):
    now = [datetime(2026, 11, 25, 12, tzinfo=timezone.utc)]
    a = Lease(tmp_path / "lease.json", ttl=600, settle=0, clock=lambda: now[0])
    b = Lease(tmp_path / "lease.json", ttl=600, settle=0, clock=lambda: now[0])
    a.acquire()
    with pytest.raises(LeaseBusy, match="another"):
        b.acquire()
    now[0] += timedelta(seconds=601)  # a's run died: its lease expires
    b.acquire()
    with pytest.raises(LeaseBusy, match="another run"):
        a.check()
    b.release()
    a.acquire()


# ----- defect 3: a person empties or edits the text -----
@pytest.mark.parametrize("text, guard", [("", "empty"), ("   ", "empty"), ("see https://spam.example", "url"),
                                         ("comment 1", "near_copy"), ("good point [SEP] more", "markers"),
                                         ("\u200b", "empty"), ("&#x200B;", "empty"), ("&amp;#x200B;", "empty")])
def test_the_text_as_the_person_left_it_passes_the_guards(live, tmp_path, text, guard):
    st = live.state
    rv = world(st, n=2)
    rv.loc[0, "reply"] = text
    result, _, _ = run(rv, Ledger(tmp_path / "l.jsonl"), reddit.connect())
    assert [p["parent_id"] for p in st.posted] == ["c2"]
    assert result.counts["refused by guards"] == 1
    assert guard in result.table().set_index("comment_id").loc["c1", "detail"]


# ----- defect 4: rows a person adds by hand -----
def test_rows_no_notebook_proposed_are_not_posted(live, tmp_path):
    st = live.state
    rv = world(st, n=2)
    st.add_post("pics", "p4", "answered elsewhere", 10)
    st.add_comment("p4", "c41", "answered before", score=10)
    st.add_comment("p4", "c42", "our earlier reply", author=st.username, parent="c41")
    st.add_comment("p4", "c43", "another comment", score=10)
    added = pd.DataFrame([
        {**rv.iloc[0].to_dict(), "submission_id": "p4", "comment_id": "c43", "reply": "a second reply in p4"},
        {**rv.iloc[0].to_dict(), "submission_id": "p4", "comment_id": "c42", "reply": "answering ourselves"},
        {**rv.iloc[0].to_dict(), "submission_id": "p4", "comment_id": "c41", "reply": "answering again"},
    ])
    proposed = rv.copy()
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(pd.concat([rv, added], ignore_index=True), ledger, reddit.connect(), proposed=proposed)
    assert sorted(p["parent_id"] for p in st.posted) == ["c1", "c2"]
    assert result.counts["not proposed"] == 3
    assert {e["key"] for e in ledger.entries()} == {"c1", "c2"}  # refused rows leave no trace in the ledger


def test_proposed_rows_are_checked_live_thread_answered_and_our_own_parent(live, tmp_path):
    """Even proposed rows (say 06 ran elsewhere) are checked on Reddit at posting time."""
    st = live.state
    rv = world(st, n=3)
    st.add_comment("p1", "x1", "our reply made from another machine", author=st.username, parent="c1")
    with st.lock:
        st.comments["c2"]["author"] = st.username  # the parent is ours
        st.posts["p3"]["locked"] = True
    result, _, _ = run(rv, Ledger(tmp_path / "l.jsonl"), reddit.connect())
    assert st.posted == []
    detail = result.table().set_index("comment_id")["detail"]
    assert "already" in detail["c1"] and "ours" in detail["c2"] and "locked" in detail["c3"]


# ----- defect 5: 429 and 401 are transient -----
@pytest.mark.parametrize("status", ["429", "401"])
def test_429_and_401_are_retried_in_a_later_run(live, tmp_path, status):
    st = live.state
    rv = world(st, n=1)
    st.fail("/api/comment", status)
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(rv, ledger, reddit.connect())
    assert st.posted == [] and ledger.last()["c1"]["retry"] is True
    again, _, _ = run(rv, ledger, reddit.connect())
    assert again.counts["posted"] == 1 and ours_under(st, "c1") == 1


def test_transient_errors_give_up_after_the_set_number_of_attempts(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    ledger = Ledger(tmp_path / "l.jsonl")
    for kind in ("500", "drop", "429"):
        st.fail("/api/comment", kind)
        result, _, _ = run(rv, ledger, reddit.connect(), max_attempts=3)
        assert result.counts.get("retry later", 0) == 1, result.table()
    assert ledger.unresolved() == []  # settled: not checked again and again
    final, _, _ = run(rv, ledger, reddit.connect(), max_attempts=3)
    assert final.counts["gave up"] == 1 and "posted" not in final.counts and st.posted == []
    assert ledger.last()["c1"]["state"] == "gave_up"


# ----- defect 6: a 500 after Reddit made the comment, two rows in one thread -----
def test_a_500_that_hides_a_success_stops_the_thread(live, tmp_path):
    st = live.state
    rv = world(st, n=2)
    st.add_comment("p1", "c1b", "another comment in thread 1", score=10)
    extra = rv.iloc[[0]].assign(comment_id="c1b", reply="second reply in thread 1")
    rv = pd.concat([rv.iloc[[0]], extra, rv.iloc[[1]]], ignore_index=True)
    st.fail("/api/comment", "500_after")
    ledger = Ledger(tmp_path / "l.jsonl")
    run(rv, ledger, reddit.connect())
    run(rv, ledger, reddit.connect())
    assert ours_in_thread(st, "p1") == 1 and ours_in_thread(st, "p2") == 1


# ----- defect 7: 06 with no ledger and a folded comment tree -----
def test_06_sees_our_reply_folded_under_load_more_comments(live):
    st = live.state
    st.page_size = 1
    st.add_post("pics", "p1", "busy thread", 10)
    st.add_comment("p1", "c1", "first", score=10)
    st.add_comment("p1", "c2", "second, we answered it", score=10)
    st.add_comment("p1", "c3", "our reply", author=st.username, parent="c2")
    threads = reddit.fetch_threads(reddit.connect(), ["pics"], more_limit=0, progress=False)
    assert "c3" not in {c["comment_id"] for c in threads.comments}  # folded away
    items, skipped = candidates.select_comments(threads)
    assert items.empty and "thread already replied (live)" in set(skipped["reason"])


# ----- defect 8: a review.csv broken by a person -----
def test_a_broken_review_file_says_how_to_fix_it_and_the_advice_works(tmp_path):
    paths = Paths(tmp_path)
    rv = world_rows()
    review_file.write_review(paths, DATE, rv)
    path = paths.file("review", date=DATE)
    path.write_text(path.read_text().replace("prob_real", "realism"))  # a renamed header
    with pytest.raises(review_file.ReviewFileError) as info:
        review_file.write_review(paths, DATE, rv)
    message = str(info.value)
    assert "rerun 07_score_review_post" not in message.replace("then rerun 07_score_review_post", "")
    assert "prob_real" in message and "review.broken" in message
    # the advice: set the file aside, rerun 07 -> fresh proposals
    path.rename(path.with_name("review.broken.csv"))
    assert len(review_file.write_review(paths, DATE, rv)) == len(rv)


def test_a_review_file_saved_by_a_spreadsheet_is_read(tmp_path):
    paths = Paths(tmp_path)
    rv = world_rows()
    review_file.write_review(paths, DATE, rv)
    path = paths.file("review", date=DATE)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["prob_real"] = df["prob_real"].str.replace(".", ",")
    df["approved"] = ["TRUE", "FALSE"]
    path.write_bytes(b"\xef\xbb\xbf" + df.to_csv(index=False, sep=";").replace("\n", "\r\n").encode())
    back = review_file.read_review(paths, DATE)
    assert list(back["comment_id"]) == ["c1", "c2"] and back["prob_real"].tolist() == [0.95, 0.95]
    assert list(review_file.approved(back)["comment_id"]) == ["c1"]


def world_rows():
    return pd.DataFrame([{"subreddit": "pics", "submission_id": f"p{i}", "title": "t", "comment_id": f"c{i}",
                          "comment": f"comment {i}", "reply": f"reply {i}", "prob_real": 0.95,
                          "expected_rating_bin": 2.0, "approved": "no"} for i in (1, 2)])


# ----- defect 9: a glued marker fragment -----
@pytest.mark.parametrize("reply", ["I haveSEP] been there", "fine[SEP", "ok |>then", "the<|end",
                                   "maybe that helped me a 8 a fee] To keep", "the first, it,] Can confirm.", "goodP] yes"])
def test_glued_marker_fragments_are_caught(reply):
    assert "markers" in guards.check(reply, "a parent")


# ----- budgets, pause, stop switch, bans -----
def test_budgets_span_runs_and_the_pause_covers_the_first_post(live, tmp_path):
    st = live.state
    rv = pd.concat([world(st, n=2), world_more(st)], ignore_index=True)
    ledger = Ledger(tmp_path / "l.jsonl")
    first, sleeps, _ = run(rv.iloc[[0]], ledger, reddit.connect(), pause_minutes=(2, 2))
    assert first.counts["posted"] == 1 and sleeps == []  # no earlier post: no pause
    second, sleeps, _ = run(rv, ledger, reddit.connect(), pause_minutes=(2, 2), max_posts_per_day=3,
                            max_posts_per_subreddit_per_day=1)
    assert 100 < sleeps[0] <= 120  # the last post was moments ago: the pause applies to the first post
    assert second.counts["posted"] == 1  # one more in r/funny; r/pics had its one
    assert [p["parent_id"] for p in st.posted] == ["c1", "f1"]
    third, _, _ = run(rv, ledger, reddit.connect(), max_posts_per_day=2)
    assert third.counts.get("posted", 0) == 0 and "per day" in third.table()["detail"].str.cat()


def world_more(st):
    st.add_post("funny", "f1p", "funny post", 10)
    st.add_comment("f1p", "f1", "funny comment", score=10)
    st.add_post("funny", "f2p", "funny post 2", 10)
    st.add_comment("f2p", "f2", "funny comment 2", score=10)
    return pd.DataFrame([{"subreddit": "funny", "submission_id": p, "title": "t", "comment_id": c, "comment": body,
                          "reply": f"reply to {c}", "prob_real": 0.95, "expected_rating_bin": 2.0, "approved": "yes"}
                         for p, c, body in (("f1p", "f1", "funny comment"), ("f2p", "f2", "funny comment 2"))])


def test_the_stop_switch_is_checked_before_every_post(live, tmp_path):
    st = live.state
    rv = world(st)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    stop = ledger.path.parent / "STOP"

    def person_sets_stop(seconds):
        stop.touch()

    result, _, _ = run(rv, ledger, reddit.connect(), sleep=person_sets_stop, stop_file=stop)
    assert len(st.posted) == 1 and "STOP" in result.stopped and result.counts["queued"] == 2
    stop.unlink()
    stopped, _, _ = run(rv, ledger, reddit.connect(), stop=True)
    assert len(st.posted) == 1 and "STOP" in stopped.stopped


def test_no_post_where_the_account_is_banned(live, tmp_path):
    st = live.state
    rv = pd.concat([world(st, n=1), world_more(st)], ignore_index=True)
    st.banned.add("pics")
    result, _, _ = run(rv, Ledger(tmp_path / "l.jsonl"), reddit.connect())
    assert [p["parent_id"] for p in st.posted] == ["f1", "f2"]
    assert "banned" in result.table().set_index("comment_id").loc["c1", "detail"]


# ----- the ledger format notebook 08 reads -----
def test_the_posting_entry_carries_the_prediction_and_the_text_as_posted(live, tmp_path):
    st = live.state
    rv = world(st, n=1).assign(p0=0.1, p1=0.2, p2=0.3, p3=0.4, realism_model="r@1", upvotes_model="u@1", gpt2_run="run1")
    ledger = Ledger(tmp_path / "l.jsonl")
    run(rv, ledger, reddit.connect())
    posting_entry = next(e for e in ledger.entries() if e["state"] == "posting")
    for name in ("at", "key", "submission_id", "subreddit", "prob_real", "p0", "p1", "p2", "p3",
                 "expected_rating_bin", "realism_model", "upvotes_model", "gpt2_run", "text", "parent_body"):
        assert name in posting_entry, name
    assert posting_entry["text"] == st.posted[0]["text"] and posting_entry["parent_body"] == "comment 1"
    merged = ledger.merged()["c1"]
    assert merged["state"] == "posted" and merged["reply_id"] == st.posted[0]["id"] and merged["p3"] == 0.4


def test_a_settled_uncertain_failure_is_not_checked_again_every_run(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    st.fail("/api/comment", "500")  # made nothing, but a 500 may hide a success
    ledger = Ledger(tmp_path / "l.jsonl")
    run(rv, ledger, reddit.connect())
    assert [e["key"] for e in ledger.unresolved()] == ["c1"]
    rv.loc[0, "approved"] = "no"  # the person withdraws it; recovery still settles it
    result, _, _ = run(rv, ledger, reddit.connect())
    assert result.counts["recovered"] == 0 and ledger.unresolved() == []
    assert ledger.last()["c1"]["state"] == "failed" and ledger.last()["c1"]["retry"] is True


def test_a_lost_ledger_is_rebuilt_from_our_comments_not_posted_again(live, tmp_path):
    st = live.state
    rv = world(st)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    run(rv, ledger, reddit.connect())
    for path in ledger.files():
        path.unlink()  # Drive folder replaced, or 07 run from another Drive
    again, _, _ = run(rv, ledger, reddit.connect())
    assert again.counts["already posted"] == 3 and len(st.posted) == 3
    assert {k: e["state"] for k, e in ledger.last().items()} == {"c1": "posted", "c2": "posted", "c3": "posted"}


TAB = """
import sys
from helpers.live import posting, reddit
from helpers.live import review as review_file
from helpers.live.ledger import Ledger
from helpers.core.paths import Paths
paths = Paths(sys.argv[1])
review = review_file.read_review(paths, sys.argv[2])
config = posting.PostingConfig(dry_run=False, pause_minutes_min=0.02, pause_minutes_max=0.03, lease_settle=0.3)
result = posting.post_approved(review, Ledger(paths.file("ledger")), reddit.connect(), config,
                               proposals=review_file.read_proposals(paths, sys.argv[2]))
print(result.counts, result.stopped)
"""


def test_two_tabs_started_together_post_each_reply_once(live, tmp_path):
    """Two processes ("Run all" in two tabs) on one Drive, started at the same moment."""
    import os
    import subprocess
    import sys
    from pathlib import Path as P

    st = live.state
    paths = Paths(tmp_path / "drive")
    review_file.write_review(paths, DATE, world(st).assign(approved="no"))
    rv = review_file.read_review(paths, DATE).assign(approved="yes")
    rv.to_csv(paths.file("review", date=DATE), index=False)
    env = {**os.environ, "PYTHONPATH": str(P(__file__).resolve().parents[2])}
    tabs = [subprocess.Popen([sys.executable, "-c", TAB, str(paths.root), DATE], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outs = [t.communicate(timeout=120)[0] for t in tabs]
    assert all(t.returncode == 0 for t in tabs), outs
    assert {ours_under(st, f"c{i}") for i in range(1, 4)} == {1} and len(st.posted) == 3, outs
    # one was told another run holds the lease (or, on a slow machine, started after the other ended)
    assert any("lease" in out for out in outs) or any("'already posted': 3" in out for out in outs), outs


def test_an_interrupt_during_the_pause_releases_the_lease(live, tmp_path):
    st = live.state
    rv = world(st)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")

    def interrupt(seconds):  # the person presses "stop" in Colab during the pause
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(rv, ledger, reddit.connect(), sleep=interrupt)
    assert len(st.posted) == 1
    again, _, _ = run(rv, ledger, reddit.connect())  # right away: no lease left behind
    assert again.counts["posted"] == 2 and {ours_under(st, f"c{i}") for i in range(1, 4)} == {1}


def test_the_state_machine_is_closed_and_enforced(tmp_path):
    named = set(posting.STATES)
    assert set(posting.TRANSITIONS) - {None} == named
    assert all(set(targets) <= named for targets in posting.TRANSITIONS.values())
    ledger = Ledger(tmp_path / "l.jsonl")
    posting.move(ledger, "c1", "posting", None, submission_id="p1")
    posting.move(ledger, "c1", "posted", "posting", submission_id="p1", reply_id="r1")
    with pytest.raises(RuntimeError, match="no transition posted -> posting"):
        posting.move(ledger, "c1", "posting", "posted")
    assert [e["state"] for e in ledger.entries()] == ["posting", "posted"]
