"""Posting under a careless operator and Reddit's real errors, beyond issue 12's own tests (review 12):
ids typed with prefixes or spaces, a STOP made in Drive's web page, a lease from a clock in the
future, Reddit errors on the reads around the post. Real praw against the stand-in."""
import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from reddit_standin import live, server  # noqa: F401 (fixtures)
from test_posting_safety import ours_under, run, world

from helpers.live import reddit

from helpers.live import review as review_file
from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import Ledger


def test_ids_typed_with_a_prefix_or_spaces_are_the_same_rows(live, tmp_path):
    st = live.state
    proposed = world(st, n=3)
    rv = proposed.copy()
    rv.loc[0, "comment_id"] = "t1_c1"
    rv.loc[1, "comment_id"] = " c2 "
    rv.loc[2, "submission_id"] = "t3_p3"
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(rv, ledger, reddit.connect(), proposed=proposed)
    assert result.counts.get("posted") == 3, result.table()
    assert {e["key"] for e in ledger.entries()} == {"c1", "c2", "c3"}
    again, _, _ = run(rv, ledger, reddit.connect(), proposed=proposed)
    assert again.counts["already posted"] == 3 and len(st.posted) == 3


@pytest.mark.parametrize("name", ["STOP", "stop", "STOP.txt", "STOP.gdoc", "Stop.docx"])
def test_a_stop_file_made_from_drives_web_page_stops(live, tmp_path, name):
    """Drive's web page makes a Google Doc (STOP.gdoc on the mount) or uploads STOP.txt."""
    st = live.state
    rv = world(st, n=2)
    ledger = Ledger(tmp_path / "ledger" / "l.jsonl")
    ledger.path.parent.mkdir(parents=True)
    (ledger.path.parent / name).write_text("")
    result, _, _ = run(rv, ledger, reddit.connect())
    assert st.posted == [] and result.stopped and "STOP" in result.stopped
    named, _, _ = run(rv, ledger, reddit.connect(), stop_file=ledger.path.parent / "STOP")  # as notebook 07 passes it
    assert st.posted == [] and named.stopped and name in named.stopped


def lease_file(path, heartbeat, expires, owner="other-host-1234"):
    path.write_text(json.dumps({"owner": owner, "host": "other", "started": heartbeat.isoformat(),
                                "heartbeat": heartbeat.isoformat(), "expires": expires.isoformat()}))


def test_a_lease_from_a_clock_far_in_the_future_does_not_block_for_ever(tmp_path):
    now = datetime.now(timezone.utc)
    path = tmp_path / "lease.json"
    lease_file(path, now + timedelta(days=300), now + timedelta(days=300, minutes=3))
    stale = time.time() - 2 * 3600  # the file was last written two hours ago (our clock)
    os.utime(path, (stale, stale))
    lease = Lease(path, settle=0)
    lease.acquire()
    assert json.loads(path.read_text())["owner"] == lease.owner


def test_a_lease_with_an_absurd_expiry_does_not_block_for_ever(tmp_path):
    now = datetime.now(timezone.utc)
    path = tmp_path / "lease.json"
    lease_file(path, now - timedelta(hours=2), now + timedelta(days=3650))  # edited by hand, or half-written
    lease = Lease(path, settle=0)
    lease.acquire()
    assert json.loads(path.read_text())["owner"] == lease.owner


def test_a_live_lease_from_a_clock_a_little_ahead_still_blocks(tmp_path):
    now = datetime.now(timezone.utc)
    path = tmp_path / "lease.json"
    lease_file(path, now + timedelta(minutes=2), now + timedelta(minutes=15))
    with pytest.raises(LeaseBusy, match="expires by itself"):
        Lease(path, settle=0).acquire()


@pytest.mark.parametrize("where,kind", [("/user/[^/]+/comments", "429"), ("/user/[^/]+/comments", "503"),
                                        ("/api/info", "429"), ("/api/info", "drop"), ("/r/[^/]+/about", "500")])
def test_an_error_on_a_read_before_the_post_stops_the_run_cleanly(live, tmp_path, where, kind):
    st = live.state
    rv = world(st, n=2)
    ledger = Ledger(tmp_path / "l.jsonl")
    st.fail(where, kind, times=3)  # prawcore retries a GET after a 5xx or a drop: fail its retries too
    result, _, _ = run(rv, ledger, reddit.connect())  # no exception out of the posting cell
    assert result.stopped and "next run" in result.stopped
    assert not (tmp_path / "lease.json").exists() or "released" in json.loads((tmp_path / "lease.json").read_text())
    with st.lock:
        st.failures.clear()  # Reddit is well again
    again, _, _ = run(rv, ledger, reddit.connect())
    assert sum(ours_under(st, c) for c in ("c1", "c2")) == 2 and len(st.posted) == 2


class Clock:
    """A clock the test moves (the ledger's `at` and the waits both read it)."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self):
        return self.now


def test_a_429_with_retry_after_is_not_retried_before_reddit_allows_it(live, tmp_path):
    """A rerun at once would be refused again and spend one of MAX_ATTEMPTS for nothing."""
    retry_after, wait = "600", 600
    st = live.state
    rv = world(st, n=1)
    clock = Clock()
    ledger = Ledger(tmp_path / "l.jsonl", clock=clock)
    st.fail("/api/comment", "429", retry_after=retry_after)
    first, _, _ = run(rv, ledger, reddit.connect(), max_attempts=2)
    assert first.counts["retry later"] == 1 and first.stopped
    assert f"{retry_after}" in first.table()["detail"][0]  # the wait Reddit asked for is shown
    clock.now += timedelta(seconds=wait / 2)  # the operator reruns the cell at once
    early, _, _ = run(rv, ledger, reddit.connect(), max_attempts=2)
    assert early.counts.get("queued") == 1 and st.posted == [] and ledger.attempts("c1") == 1, early.table()
    assert "wait until" in early.stopped
    clock.now += timedelta(seconds=wait)
    late, _, _ = run(rv, ledger, reddit.connect(), max_attempts=2)
    assert late.counts["posted"] == 1 and ours_under(st, "c1") == 1


def test_a_429_without_retry_after_is_retried_by_the_next_run(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    ledger = Ledger(tmp_path / "l.jsonl")
    st.fail("/api/comment", "429")
    first, _, _ = run(rv, ledger, reddit.connect())
    assert first.counts["retry later"] == 1 and "not_before" not in ledger.last()["c1"]
    again, _, _ = run(rv, ledger, reddit.connect())
    assert again.counts["posted"] == 1 and ours_under(st, "c1") == 1


def test_a_long_ratelimit_waits_until_its_end_across_runs(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    clock = Clock()
    ledger = Ledger(tmp_path / "l.jsonl", clock=clock)
    st.fail("/api/comment", "ratelimit", message="Looks like you've been doing that a lot. Take a break for 30 minutes before trying again.")
    first, _, _ = run(rv, ledger, reddit.connect(), max_attempts=2, ratelimit_max_wait=60)
    assert first.counts["retry later"] == 1
    clock.now += timedelta(minutes=10)
    early, _, _ = run(rv, ledger, reddit.connect(), max_attempts=2, ratelimit_max_wait=60)
    assert early.counts.get("queued") == 1 and ledger.attempts("c1") == 1
    clock.now += timedelta(minutes=21)
    late, _, _ = run(rv, ledger, reddit.connect(), max_attempts=2, ratelimit_max_wait=60)
    assert late.counts["posted"] == 1


def test_a_private_subreddit_refuses_its_rows_only(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    other = world(st, n=0)
    st.add_post("closed", "q1", "post", 10)
    st.add_comment("q1", "d1", "a comment", score=10)
    rv.loc[1] = {**rv.loc[0].to_dict(), "subreddit": "closed", "submission_id": "q1", "comment_id": "d1"}
    st.fail("/r/closed/about", "403", times=5)
    ledger = Ledger(tmp_path / "l.jsonl")
    result, _, _ = run(rv, ledger, reddit.connect())
    assert result.counts["posted"] == 1 and result.counts["refused by reddit"] == 1 and not result.stopped
    assert other.empty and ours_under(st, "d1") == 0


@pytest.mark.parametrize("value", ["Yes ", " TRUE", "1", "1.0", "x", "X", "approve", "✓", "✔", "VERDADERO", "VERO", "WAAR"])
def test_approvals_as_people_and_spreadsheets_write_them(value):
    import pandas as pd

    rv = pd.DataFrame({"approved": [value, "no", "", "FALSE", "0"]})
    assert list(review_file.approved(rv).index) == [0] and len(review_file.approved(rv)) == 1


def test_a_lease_read_half_synced_during_a_run_is_read_again(tmp_path):
    """Drive may show a file mid-sync for a moment: the holder reads again before it stops."""
    path = tmp_path / "lease.json"
    waits = []
    lease = Lease(path, settle=0, sleep=waits.append)
    lease.acquire()
    whole = path.read_text()
    path.write_text(whole[: len(whole) // 2])  # half of it, as a sync in progress shows it

    def sleep(seconds):
        waits.append(seconds)
        path.write_text(whole)  # the sync finished

    lease.sleep = sleep
    lease.check()
    assert json.loads(path.read_text())["owner"] == lease.owner and waits


def test_budgets_count_the_last_24_hours_across_midnight_utc(live, tmp_path):
    st = live.state
    rv = world(st, n=3)
    clock = Clock()
    clock.now = datetime(2026, 11, 25, 23, 50, tzinfo=timezone.utc)
    ledger = Ledger(tmp_path / "l.jsonl", clock=clock)
    first, _, _ = run(rv.iloc[:2], ledger, reddit.connect(), max_posts_per_day=2)
    assert first.counts["posted"] == 2
    clock.now = datetime(2026, 11, 26, 0, 10, tzinfo=timezone.utc)  # a new UTC day, 20 minutes later
    after_midnight, _, _ = run(rv, ledger, reddit.connect(), max_posts_per_day=2)
    assert after_midnight.counts["over budget"] == 1 and len(st.posted) == 2
    clock.now = datetime(2026, 11, 26, 23, 51, tzinfo=timezone.utc)
    next_day, _, _ = run(rv, ledger, reddit.connect(), max_posts_per_day=2)
    assert next_day.counts["posted"] == 1 and len(st.posted) == 3


@pytest.mark.parametrize("reply", ["I haveSEP that too", "SEPthat is it", "yes|endoftext", "it was fineSEP"])
def test_marker_pieces_glued_without_their_brackets_are_caught(reply):
    from helpers.live import guards

    assert "markers" in guards.check(reply, "")


@pytest.mark.parametrize("reply", ["Sept is nice", "I SEPARATE them", "a SEP account", "Pepsi"])
def test_words_that_look_like_markers_pass(reply):
    from helpers.live import guards

    assert "markers" not in guards.check(reply, "")
