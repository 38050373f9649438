"""Posting across two machines, a lost ledger, STOP during a wait (issue 19, items 1-3), real praw
against the stand-in: two runs on two Drive folders that sync the way Drive does (whole files, the
newest copy wins), our earlier reply older than the account's newest page, a STOP file or a lost
lease while Reddit's RATELIMIT is waited out."""
import json
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from reddit_standin import live, server  # noqa: F401 (fixtures)
from test_posting_safety import ours_under, run, world

from helpers.live import ledger as ledger_files, reddit
from helpers.live.feedback import from_ledger
from helpers.live.lease import Lease
from helpers.live.ledger import Ledger


def drive_sync(a: Path, b: Path) -> None:
    """What Drive does between two machines' mounts: each file whole, the newest copy wins (lines
    appended on the other side since are lost), files new on either side are copied over."""
    names = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} | {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    for name in names:
        here, there = a / name, b / name
        if here.is_file() and (not there.is_file() or here.stat().st_mtime_ns > there.stat().st_mtime_ns):
            src, dst = here, there
        elif there.is_file() and (not here.is_file() or there.stat().st_mtime_ns > here.stat().st_mtime_ns):
            src, dst = there, here
        else:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def test_two_machines_append_to_a_synced_ledger_and_no_line_is_lost(tmp_path):
    a, b = tmp_path / "machine_a", tmp_path / "machine_b"
    ledger_a, ledger_b = Ledger(a / "ledger" / "posted.jsonl"), Ledger(b / "ledger" / "posted.jsonl")
    ledger_a.append("posting", "c1", submission_id="p1")
    drive_sync(a, b)
    ledger_b.append("posting", "c2", submission_id="p2")  # both machines write before the next sync
    ledger_a.append("posted", "c1", submission_id="p1", reply_id="r1")
    time.sleep(0.05)  # file times of their own
    ledger_b.append("posted", "c2", submission_id="p2", reply_id="r2")  # B writes last: a shared file would be B's copy
    drive_sync(a, b)
    for side in (ledger_a, ledger_b, Ledger(a / "ledger" / "posted.jsonl")):
        assert {(e["state"], e["key"]) for e in side.entries()} == {
            ("posting", "c1"), ("posted", "c1"), ("posting", "c2"), ("posted", "c2")}
        assert {k: e["reply_id"] for k, e in side.last().items()} == {"c1": "r1", "c2": "r2"}
    # notebook 08's reading (from_ledger.read_ledger) and read_entries see both machines too
    assert len(from_ledger.read_ledger(a / "ledger" / "posted.jsonl")) == 4
    assert len(ledger_files.read_entries(b / "ledger")) == 4


def test_the_old_single_ledger_file_is_still_read(tmp_path):
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / "posted.jsonl").write_text(json.dumps({"at": "2026-11-24T10:00:00+00:00", "state": "posted", "key": "c9",
                                                     "submission_id": "p9", "reply_id": "r9"}) + "\n")
    ledger = Ledger(folder / "posted.jsonl")
    ledger.append("posting", "c1", submission_id="p1")
    assert (folder / "posted.jsonl").read_text().count("\n") == 1  # the old file is read, never written again
    assert [e["key"] for e in ledger.entries()] == ["c9", "c1"]
    assert [e["key"] for e in ledger_files.read_entries(folder)] == ["c9", "c1"]
    assert [e["key"] for e in ledger_files.read_entries(folder / "posted.jsonl")] == ["c9", "c1"]


def test_a_conflict_copy_made_by_drive_does_not_count_twice(tmp_path):
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    ledger.append("posting", "c1", submission_id="p1")
    (own,) = (tmp_path / "ledger").glob("*.jsonl")
    shutil.copy2(own, own.with_name(own.stem + " (1).jsonl"))
    assert ledger.attempts("c1") == 1 and len(ledger.entries()) == 1


def test_two_machines_racing_on_one_comment_leave_one_reply(live, tmp_path):
    """Machine B runs in full while machine A's first post is on its way (both passed their checks):
    two replies to c1 for a moment; A's self-check reads the thread back and deletes its own later one.
    Their leases are not in the synced folders: Drive has not shown either machine the other's lease yet."""
    st = live.state
    rv = world(st)
    a, b = tmp_path / "machine_a", tmp_path / "machine_b"
    ledger_a, ledger_b = Ledger(a / "ledger" / "posted.jsonl"), Ledger(b / "ledger" / "posted.jsonl")
    other = {}

    def machine_b():
        drive_sync(a, b)
        other["result"], _, _ = run(rv, ledger_b, reddit.connect(), lease=Lease(tmp_path / "lease_b.json", settle=0))
        drive_sync(a, b)

    st.before_post.append(machine_b)
    result, _, _ = run(rv, ledger_a, reddit.connect(), lease=Lease(tmp_path / "lease_a.json", settle=0))
    drive_sync(a, b)
    assert {ours_under(st, f"c{i}") for i in range(1, 4)} == {1}, (result.table(), other["result"].table())
    assert len(st.posted) == 4 and len(st.deleted_by_author) == 1, other["result"].table()[["comment_id", "outcome", "detail"]].to_string()
    survivor = st.replies_by("c1")[0]["id"]
    deleted = st.deleted_by_author[0]
    for side in (ledger_a, ledger_b):
        c1 = side.last()["c1"]
        assert c1["state"] == "posted" and c1["reply_id"] == survivor and c1["deleted_duplicate"] == deleted
    assert result.counts["duplicate deleted"] == 1  # A's own, the later one
    assert result.counts.get("posted", 0) + other["result"].counts.get("posted", 0) == 3
    detail = result.table().set_index("comment_id").loc["c1", "detail"]
    assert "deleted" in detail and deleted in detail
    posted = from_ledger.posted_replies(from_ledger.read_ledger(b / "ledger" / "posted.jsonl")).set_index("key")
    assert posted.loc["c1", "reply_id"] == survivor and len(posted) == 3  # 08 follows the reply that stayed


def our_other_comments(st, n):
    """`n` newer comments of our account elsewhere (a busy bot)."""
    st.add_post("pics", "busy", "a busy thread", 10)
    st.add_comment("busy", "busy0", "a comment", score=10)
    for i in range(n):
        st.add_comment("busy", f"mine{i}", f"our comment {i}", author=st.username, parent="busy0")


def test_a_lost_ledger_with_older_replies_pages_through_our_comments(live, tmp_path):
    st = live.state
    rv = world(st)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    run(rv, ledger, reddit.connect())
    for path in ledger_files.ledger_files(ledger.path):
        path.unlink()  # Drive folder replaced, or 07 run from another Drive
    our_other_comments(st, 250)  # our replies are older than our newest 100 comments
    with st.lock:
        st.queries.clear()
    again, _, _ = run(rv, ledger, reddit.connect())
    assert again.counts.get("already posted") == 3 and len(st.posted) == 3, again.table()
    assert {k: e["state"] for k, e in ledger.last().items()} == {"c1": "posted", "c2": "posted", "c3": "posted"}
    pages = [q for m, p, q in st.queries if p == f"/user/{st.username}/comments"]
    assert any(q.get("after") for q in pages)  # recovery read past the first page


def test_our_comments_are_read_as_far_as_reddit_lists_them(live):
    st = live.state
    our_other_comments(st, 1100)
    mine = reddit.all_my_comments(reddit.connect(), st.username)
    assert len(mine) == 1000 and mine[0]["comment_id"] == "mine1099" and mine[-1]["comment_id"] == "mine100"
    assert {"comment_id", "submission_id", "parent_id", "created_utc"} <= set(mine[0])


def test_the_parents_replies_are_checked_right_before_each_post(live, tmp_path):
    """Our reply is older than the 1000 comments Reddit lists: only the parent's own replies show it."""
    st = live.state
    rv = world(st, n=2)
    st.add_comment("p1", "old1", "our reply from long ago", author=st.username, parent="c1")
    our_other_comments(st, 1000)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    result, _, _ = run(rv, ledger, reddit.connect())
    assert ours_under(st, "c1") == 1 and [p["parent_id"] for p in st.posted] == ["c2"], result.table()
    assert result.table().set_index("comment_id").loc["c1", "outcome"] == "already posted"
    assert ledger.last()["c1"]["state"] == "posted" and ledger.last()["c1"]["reply_id"] == "old1"


def test_stop_during_a_ratelimit_wait_stops_the_resend(live, tmp_path):
    st = live.state
    rv = world(st, n=2)
    now = [datetime.now(timezone.utc)]
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl", clock=lambda: now[0])
    stop = ledger.path.parent / "STOP"
    st.fail("/api/comment", "ratelimit", message="Take a break for 3 seconds before trying again.")

    def person_sets_stop(seconds):
        stop.parent.mkdir(parents=True, exist_ok=True)
        stop.touch()

    result, _, _ = run(rv, ledger, reddit.connect(), sleep=person_sets_stop)
    assert st.posted == [] and "STOP" in result.stopped, result.table()
    assert ledger.last()["c1"]["state"] == "failed" and ledger.last()["c1"]["retry"] is True
    assert "c2" not in ledger.last() and ledger.attempts("c1") == 1
    stop.unlink()
    now[0] += timedelta(seconds=5)  # after Reddit's 3 seconds
    again, _, _ = run(rv, ledger, reddit.connect())
    assert again.counts["posted"] == 2 and {ours_under(st, c) for c in ("c1", "c2")} == {1}


def test_a_lease_taken_over_during_a_ratelimit_wait_stops_the_resend(live, tmp_path):
    st = live.state
    rv = world(st, n=1)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    lease_path = ledger.path.parent / "lease.json"
    st.fail("/api/comment", "ratelimit", message="Take a break for 3 seconds before trying again.")
    other = Lease(lease_path, settle=0)

    def another_machine_takes_over(seconds):
        data = json.loads(lease_path.read_text())
        lease_path.write_text(json.dumps({**data, "owner": other.owner}))

    result, _, _ = run(rv, ledger, reddit.connect(), sleep=another_machine_takes_over)
    assert st.posted == [] and "lease" in result.stopped, result.table()
    assert ledger.last()["c1"]["state"] == "failed" and ledger.last()["c1"]["retry"] is True


def test_a_duplicate_left_by_a_failed_read_back_is_deleted_by_the_next_run(live, tmp_path):
    """Two replies of ours under c1 (a race whose read-back failed): the next run keeps the older one.
    Comments of the account the bot does not target (a person using it by hand) are left alone."""
    st = live.state
    rv = world(st, n=2)
    st.add_comment("p1", "old1", "our reply", author=st.username, parent="c1")
    st.add_comment("p1", "old2", "our reply again", author=st.username, parent="c1")
    our_other_comments(st, 2)  # two comments of ours under busy0, not a comment the bot answers
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl")
    ledger.append("posted", "c1", submission_id="p1", subreddit="pics", reply_id="old2")  # the other machine's record
    result, _, _ = run(rv, ledger, reddit.connect())
    assert st.deleted_by_author == ["old2"] and [c["id"] for c in st.replies_by("c1")] == ["old1"]
    assert len(st.replies_by("busy0")) == 2
    assert ledger.last()["c1"]["reply_id"] == "old1" and ledger.last()["c1"]["deleted_duplicate"] == "old2"
    assert [p["parent_id"] for p in st.posted] == ["c2"], result.table()


def test_two_identical_entries_in_one_file_are_two_events_but_a_conflict_copy_counts_once(tmp_path):
    """Sends within one millisecond write identical lines: each is an attempt. The same lines in a
    second file (Drive's conflict copy of that file) are not new events."""
    from helpers.live.ledger import Ledger, read_entries

    frozen = datetime(2030, 1, 1, tzinfo=timezone.utc)
    ledger = Ledger(tmp_path / "ledger" / "posted.jsonl", clock=lambda: frozen)
    for _ in range(3):
        ledger.append("posting", "c1", submission_id="p1", subreddit="pics")
    assert ledger.attempts("c1") == 3
    own = ledger.own_path
    (own.parent / f"{own.stem} (1){own.suffix}").write_bytes(own.read_bytes())  # a conflict copy
    assert len(read_entries(tmp_path / "ledger")) == 3
