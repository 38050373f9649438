"""helpers.live.feedback (notebook 08): the ledger's posted replies, fetching their state with real praw
against the stand-in Reddit, the appended feedback table, the figures, and the rows fed back to 05."""
import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from reddit_standin import StandIn, State, live  # noqa: F401 (live: a fixture)

from helpers.core import reddit_terms
from helpers.live import reddit
from helpers.live.feedback import fetch, from_ledger, sample, stats, store, training
from helpers.core.paths import Paths
from helpers.live.posting import DEFAULT_FOOTER

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=timezone.utc)


def iso(t):
    return t.isoformat(timespec="seconds")


def posting_pair(key, reply_id, sub, *, hours_ago=72, p=(0.1, 0.2, 0.3, 0.4), text="a reply", parent="a comment",
                 subreddit="cooking"):
    """The two ledger entries of the agreed format for one posted reply."""
    at = NOW - timedelta(hours=hours_ago)
    base = dict(key=key, submission_id=sub, subreddit=subreddit)
    pred = dict(prob_real=0.95, p0=p[0], p1=p[1], p2=p[2], p3=p[3], expected_rating_bin=sum(k * x for k, x in enumerate(p)),
                realism_model="real@1", upvotes_model="up@1", gpt2_run="run1")
    return [dict(at=iso(at), state="posting", **base, **pred, text=text + DEFAULT_FOOTER, parent_body=parent),
            dict(at=iso(at + timedelta(seconds=3)), state="posted", **base, reply_id=reply_id)]


def write_ledger(path, entries, torn=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(e) + "\n" for e in entries)
    path.write_text(text + ('{"at": "2030-01-10T11:00:00+00:00", "state": "pos' if torn else ""))
    return path


# ----- the ledger -----
def test_posted_replies_merge_entries_and_accept_old_ones_without_predictions(tmp_path):
    entries = posting_pair("k1", "r1", "s1", p=(0.1, 0.2, 0.3, 0.4)) + [
        # an entry from before the ledger carried predictions ("time", no p0..p3, no parent)
        dict(time="2030-01-07T09:00:00+00:00", state="posting", key="k2", submission_id="s2", subreddit="x", text="old"),
        dict(time="2030-01-07T09:00:05+00:00", state="posted", key="k2", submission_id="s2", subreddit="x", reply_id="t1_r2"),
        dict(at=iso(NOW), state="dry_run", key="k3", submission_id="s3", subreddit="x", text="dry", dry_run=True),
        dict(at=iso(NOW), state="posting", key="k4", submission_id="s4", subreddit="x", text="refused"),
        dict(at=iso(NOW), state="failed", key="k4", submission_id="s4", subreddit="x", reason="403", retry=False),
        dict(at=iso(NOW), state="posting", key="k5", submission_id="s5", subreddit="x", text="crashed mid-post"),
    ]
    ledger = write_ledger(tmp_path / "ledger/posted.jsonl", entries, torn=True)
    posted = from_ledger.posted_replies(from_ledger.read_ledger(ledger)).set_index("reply_id")
    assert list(posted.index) == ["r1", "r2"]  # not the dry run, the refusal or the unresolved post
    assert posted.loc["r1", "p3"] == 0.4 and posted.loc["r1", "expected_rating_bin"] == pytest.approx(2.0)
    assert posted.loc["r1", "text"].endswith(DEFAULT_FOOTER) and posted.loc["r1", "parent_body"] == "a comment"
    assert posted.loc["r1", "posted_at"] == pd.Timestamp(NOW - timedelta(hours=72) + timedelta(seconds=3))
    old = posted.loc["r2"]
    assert all(math.isnan(old[name]) for name in reddit_terms.SCORE_COLUMNS) and old["gpt2_run"] == ""
    assert old["posted_at"] == pd.Timestamp("2030-01-07T09:00:05Z")
    assert from_ledger.posted_replies(from_ledger.read_ledger(tmp_path / "missing.jsonl")).empty


def test_due_waits_for_the_age_and_stops_following(tmp_path):
    entries = (posting_pair("k1", "r1", "s1", hours_ago=10) + posting_pair("k2", "r2", "s2", hours_ago=50)
               + posting_pair("k3", "r3", "s3", hours_ago=24 * 40))
    posted = from_ledger.posted_replies(entries)
    assert list(from_ledger.due(posted, NOW, 48)["reply_id"]) == ["r2", "r3"]
    assert list(from_ledger.due(posted, NOW, 48, follow_days=30)["reply_id"]) == ["r2"]


def test_strip_footer_leaves_the_reply_as_written():
    assert from_ledger.strip_footer("Rinse the rice.\n\n---\n^(I am a bot.)") == "Rinse the rice."
    assert from_ledger.strip_footer("First.\n\n---\n\nmiddle rule kept\n\n---\n^(bot)") == "First.\n\n---\n\nmiddle rule kept"
    assert from_ledger.strip_footer("no footer") == "no footer"


# ----- fetching, with real praw against the stand-in -----
@pytest.fixture
def server():  # the shared `live` fixture serves this state
    with StandIn(State(username="fb_bot")) as s:
        yield s


def scripted_world(st: State) -> list[dict]:
    """Threads where each of our replies ended up in a different state; returns the ledger."""
    me = st.username
    st.add_post("cooking", "s1", "ok thread")
    st.add_comment("s1", "k1", "What spice do you always use?", score=20)
    st.add_comment("s1", "r1", "Smoked paprika.", author=me, score=7, parent="k1")
    st.add_comment("s1", "h1", "Cumin.", author="human_a", score=3, parent="k1")
    st.add_comment("s1", "h2", "Salt, obviously.", author="human_b", score=9, parent="k1")
    st.add_comment("s1", "h3", "gone", author="human_c", score=50, parent="k1", deleted=True)  # not counted
    st.add_comment("s1", "h4", "I am a bot", author="AutoModerator", score=1, parent="k1")  # not counted
    st.add_comment("s1", "x1", "Good call!", author="human_d", score=2, parent="r1")
    st.add_comment("s1", "x2", "Agreed.", author="human_e", score=1, parent="r1")
    st.add_post("cooking", "s2", "a thread the moderators locked", locked=True)
    st.add_comment("s2", "k2", "Locked-thread comment", score=5)
    st.add_comment("s2", "r2", "our reply", author=me, score=2, parent="k2", locked=True)
    st.add_post("cooking", "s3", "parent deleted")
    st.add_comment("s3", "k3", "gone", score=5, deleted=True)
    st.add_comment("s3", "r3", "our reply to a deleted comment", author=me, score=4, parent="k3")
    st.add_post("cooking", "s4", "a moderator removed our reply")
    st.add_comment("s4", "k4", "Should I pay off my loan?", score=5)
    st.add_comment("s4", "r4", "our removed reply", author=me, score=1, parent="k4", removed=True)
    st.add_post("cooking", "s5", "reply by an account that got suspended")
    st.add_comment("s5", "k5", "Which paste?", score=5)
    st.add_comment("s5", "r5", "Any paste.", author="old_bot", score=6, parent="k5")
    st.suspended.add("old_bot")
    st.add_post("cooking", "s6", "thread removed by moderators")
    st.posts["s6"]["removed"] = True
    st.add_comment("s6", "k6", "a comment", score=5)
    st.add_comment("s6", "r6", "we deleted this one ourselves", author=me, score=1, parent="k6", deleted=True)
    st.author_sees_removed = True  # as on Reddit: the author sees a removed comment as if nothing happened
    ledger = []
    for i in range(1, 7):
        ledger += posting_pair(f"k{i}", f"r{i}", f"s{i}")
    ledger += posting_pair("k7", "r7", "s7")  # Reddit no longer knows this reply or its thread
    return ledger


def test_fetch_records_each_state_through_praw(live):
    posted = from_ledger.posted_replies(scripted_world(live.state))
    client = reddit.connect()
    rows = fetch.fetch_replies(client, posted, now=NOW, public=reddit.public_client(), progress=False).set_index("reply_id")
    assert list(rows.columns) == [c for c in store.FETCH_COLUMNS if c != "reply_id"] and len(rows) == 7
    ok = rows.loc["r1"]
    assert (ok.status, ok.score, ok.replies, ok.human_replies, ok.human_median_score) == ("ok", 7, 2, 2, 6.0)
    assert (ok.parent_status, ok.thread_status, ok.author, ok.author_suspended) == ("ok", "ok", "fb_bot", False)
    assert ok.age_hours == pytest.approx(72 - 3 / 3600, abs=0.01) and ok.fetched_at == iso(NOW)
    assert (rows.loc["r2", "thread_status"], rows.loc["r2", "locked"]) == ("locked", True)
    assert rows.loc["r3", "parent_status"] == "deleted" and rows.loc["r3", "status"] == "ok"
    assert (rows.loc["r4", "status"], rows.loc["r4", "removed_by"]) == ("removed", "moderator")
    assert (rows.loc["r5", "author"], rows.loc["r5", "author_suspended"]) == ("old_bot", True)
    assert rows.loc["r6", "status"] == "deleted" and rows.loc["r6", "thread_status"] == "removed"
    r7 = rows.loc["r7"]
    assert (r7.status, r7.parent_status, r7.thread_status) == ("missing", "missing", "missing") and math.isnan(r7.score)


def test_removal_is_invisible_to_the_author_without_the_public_view(live):
    posted = from_ledger.posted_replies(scripted_world(live.state))
    rows = fetch.fetch_replies(reddit.connect(), posted, now=NOW, progress=False).set_index("reply_id")
    assert rows.loc["r4", "status"] == "ok"  # what our own login shows: why `public` exists


def test_fetch_asks_for_100_replies_per_request(live):
    st = live.state
    st.add_post("cooking", "s1", "a busy thread")
    ledger = []
    for i in range(150):
        st.add_comment("s1", f"k{i}", f"comment {i}", score=5)
        st.add_comment("s1", f"r{i}", f"reply {i}", author=st.username, score=i % 7, parent=f"k{i}")
        ledger += posting_pair(f"k{i}", f"r{i}", "s1")
    posted = from_ledger.posted_replies(ledger)
    before = len(st.requests)
    rows = fetch.fetch_replies(reddit.connect(), posted, now=NOW, progress=False)
    infos = [r for r in st.requests[before:] if r == ("GET", "/api/info")]
    assert len(infos) == 2 + 1  # 150 replies in two requests, the one thread in one
    assert list(rows["score"]) == [i % 7 for i in range(150)]


# ----- the feedback table -----
def fetch_rows(at, scores):
    return pd.DataFrame([{"fetched_at": iso(at), "reply_id": rid, "key": "k" + rid, "submission_id": "s", "subreddit": "x",
                          "posted_at": iso(NOW), "age_hours": 1.5, "status": "ok", "score": score, "removed_by": "",
                          "author": "me", "author_suspended": False, "replies": np.nan, "locked": False,
                          "parent_status": "ok", "thread_status": "ok", "human_replies": 0,
                          "human_median_score": np.nan, "source": "reddit"} for rid, score in scores.items()],
                        columns=store.FETCH_COLUMNS)


def test_reruns_append_and_never_rewrite(tmp_path):
    table = Paths(tmp_path).file("feedback", source="reddit")
    assert store.append_fetches(table, fetch_rows(NOW, {"r1": 3, "r2": 0})) == 2
    first = table.read_bytes()
    assert store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"r1": 9, "r2": -1})) == 2
    assert table.read_bytes().startswith(first)
    assert store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"r1": 9})) == 0  # same fetch twice
    fetched = store.read_fetches(table)
    assert len(fetched) == 4 and fetched.groupby("reply_id")["score"].apply(list).to_dict() == {"r1": [3, 9], "r2": [0, -1]}
    assert fetched.loc[0, "reply_id"] == "r1"


def test_a_crash_while_appending_leaves_the_table_as_it_was(tmp_path, monkeypatch):
    table = tmp_path / "feedback/reddit_fetches.csv"
    store.append_fetches(table, fetch_rows(NOW, {"r1": 3}))
    before = table.read_bytes()

    def crash(self, *args, **kwargs):
        raise OSError("Drive disconnected")

    monkeypatch.setattr(pd.DataFrame, "to_csv", crash)
    with pytest.raises(OSError):
        store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"r1": 4}))
    assert table.read_bytes() == before and [p.name for p in table.parent.iterdir()] == ["reddit_fetches.csv"]


def test_a_table_saved_by_a_spreadsheet_still_reads(tmp_path):
    table = tmp_path / "fetches.csv"
    store.append_fetches(table, fetch_rows(NOW, {"007": 3}))
    table.write_bytes(table.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n"))  # CRLF, no final newline
    assert store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"007": 5})) == 1
    assert list(store.read_fetches(table)["reply_id"]) == ["007", "007"]  # ids stay text


# ----- figures on a small fixed table, computed by hand -----
def small_table() -> pd.DataFrame:
    rows = [
        # reply, status, score, p0..p3, human replies, human median
        ("a", "ok", 10, (0.1, 0.1, 0.2, 0.6), 2, 4.0),
        ("b", "ok", 3, (0.1, 0.2, 0.6, 0.1), 1, 5.0),
        ("c", "ok", 0, (0.7, 0.1, 0.1, 0.1), 3, 2.0),
        ("d", "ok", 1, (0.2, 0.5, 0.2, 0.1), 0, np.nan),
        ("e", "removed", 1, (0.1, 0.1, 0.1, 0.7), 1, 9.0),
        ("f", "ok", 6, (np.nan,) * 4, 1, 6.0),  # an old ledger entry: no prediction
    ]
    table = pd.DataFrame([{"reply_id": r, "status": s, "score": sc, "p0": p[0], "p1": p[1], "p2": p[2], "p3": p[3],
                           "human_replies": n, "human_median_score": m, "parent_status": "ok", "author_suspended": False}
                          for r, s, sc, p, n, m in rows])
    return table.assign(expected_rating_bin=table.p1 + 2 * table.p2 + 3 * table.p3)


def test_figures_match_a_hand_computation():
    fig = stats.figures(small_table())
    # expected bins of a..d: 2.3, 1.7, 0.6, 1.2 against scores 10, 3, 0, 1 -> the same order: Spearman 1
    assert fig["spearman_expected_vs_score"] == pytest.approx(1.0)
    assert (fig["replies"], fig["on_reddit"], fig["with_prediction"], fig["removed"]) == (6, 5, 4, 1)
    assert fig["removal_rate"] == pytest.approx(1 / 6)
    assert fig["median_score"] == 3.0  # a, b, c, d, f: 10, 3, 0, 1, 6
    # with human replies and on Reddit: a (10 vs 4), b (3 vs 5), c (0 vs 2), f (6 vs 6)
    assert fig["bot_median_score_vs_humans"] == 4.5 and fig["human_median_score"] == 4.5
    assert fig["bot_at_least_human_median"] == 0.5


def test_predicted_bins_and_calibration_match_a_hand_computation():
    table = small_table()
    bins = stats.by_predicted_bin(table)
    # argmax: a -> 3, b -> 2, c -> 0, d -> 1 (e removed, f unknown)
    assert list(bins["replies"]) == [1, 1, 1, 1] and list(bins["median_score"]) == [0, 1, 3, 10]
    cal = stats.calibration(table, edges=(1, 2, 5))
    # scores 10, 3, 0, 1 fall in bins 3, 2, 0, 1; predicted share = mean p_k over a..d
    assert list(cal["actual share"]) == [0.25, 0.25, 0.25, 0.25]
    assert list(cal["predicted share"]) == pytest.approx([0.275, 0.225, 0.275, 0.225])
    assert list(cal.index) == ["< 1", "1", "2–4", "≥ 5"]


def test_over_time_follows_each_age():
    fetches = pd.concat([fetch_rows(NOW, {"a": 2, "b": 4}).assign(age_hours=6.2, human_median_score=[1, 3]),
                         fetch_rows(NOW, {"a": 8, "b": 10}).assign(age_hours=49, human_median_score=[5, 5]),
                         fetch_rows(NOW, {"a": 1}).assign(age_hours=50, status="removed")])
    table = stats.over_time(fetches)
    assert list(table.index) == [6, 48] and list(table["bot_median"]) == [3, 9] and list(table["human_median"]) == [2, 5]


def test_figures_of_no_replies_are_empty_not_errors():
    empty = small_table().iloc[:0]
    fig = stats.figures(empty)
    assert fig["replies"] == 0 and math.isnan(fig["spearman_expected_vs_score"]) and math.isnan(fig["removal_rate"])
    assert stats.by_predicted_bin(empty)["replies"].sum() == 0


# ----- back into training -----
def test_training_rows_label_live_replies_with_their_score():
    table = small_table().assign(key=lambda t: "k" + t.reply_id, submission_id="s", subreddit="x",
                                 text=lambda t: t.reply_id + " reply" + DEFAULT_FOOTER, parent_body="the parent")
    table.loc[table.reply_id == "d", "parent_body"] = ""
    rows, drops = training.training_rows(table, edges=(1, 2, 5))
    assert list(rows["reply_id"]) == ["a", "b", "c", "f"] and drops == {"not on Reddit": 1, "score unknown": 0,
                                                                         "text unknown": 0, "parent unknown": 1}
    assert list(rows["rating"]) == [3, 2, 0, 3] and list(rows["reply"]) == ["a reply", "b reply", "c reply", "f reply"]
    assert (rows["real"] == 1).all() and (rows["source"] == "feedback").all() and list(rows["comment_id"])[0] == "ka"


def test_add_to_training_keeps_the_test_split_apart(tmp_path):
    paths = Paths(tmp_path)
    train = pd.DataFrame({"submission_id": ["t1"], "comment": ["c"], "reply": ["r"], "label": [1]})
    test = pd.DataFrame({"submission_id": ["t2"], "comment": ["c2"], "reply": ["r2"], "label": [0]})
    fed = pd.DataFrame({"submission_id": ["n1", "t2", "n2"], "comment_id": ["k1", "k2", "k3"], "reply_id": ["a", "b", "c"],
                        "comment": ["new", "in a test thread", "c"], "reply": ["fed", "x", "r"], "reply_score": [7, 1, 1],
                        "rating": [3, 1, 1]})
    with pytest.raises(helpers_exchange_error(), match="run notebook 08 with SOURCE='reddit'"):
        training.add_to_training(train, test, paths)
    training.write_training_rows(paths, fed)
    out, added = training.add_to_training(train, test, paths)
    assert added == 1 and list(out["reply"]) == ["r", "fed"] and list(out["label"]) == [1, 3]
    assert list(out["source"]) == ["original", "feedback"]
    with pytest.raises(ValueError, match='"reddit" or "sample"'):
        training.add_to_training(train, test, paths, source="yes")


def helpers_exchange_error():
    from helpers.core.exchange import ExchangeError
    return ExchangeError


# ----- the bundled sample -----
def test_sample_covers_removal_deleted_parent_suspension_and_time():
    ledger, fetches = sample.load_sample()
    posted = from_ledger.posted_replies(ledger)
    assert posted["expected_rating_bin"].isna().sum() == 1  # an old entry without predictions
    assert fetches.groupby("reply_id").size().min() >= 2  # every reply followed over time
    assert "removed" in set(fetches["status"]) and "deleted" in set(fetches["parent_status"])
    assert fetches["author_suspended"].any() and "locked" in set(fetches["thread_status"])
    fig = stats.figures(stats.latest(fetches, posted))
    assert fig["replies"] == len(posted) and fig["removed"] == 1 and fig["spearman_expected_vs_score"] > 0.5


def test_latest_takes_the_last_fetch_old_enough_with_its_prediction():
    posted = from_ledger.posted_replies(posting_pair("k1", "r1", "s1", p=(0.1, 0.2, 0.3, 0.4)))
    fetches = pd.concat([fetch_rows(NOW, {"r1": 2}).assign(age_hours=6),
                         fetch_rows(NOW + timedelta(days=2), {"r1": 9}).assign(age_hours=54),
                         fetch_rows(NOW + timedelta(hours=1), {"r1": 4}).assign(age_hours=7)])
    last = stats.latest(fetches, posted, min_age_hours=48)
    assert list(last["score"]) == [9] and last.loc[0, "p3"] == 0.4 and last.loc[0, "parent_body"] == "a comment"
    assert list(stats.latest(fetches, posted)["score"]) == [9]  # latest by fetch time, not by row order
    assert stats.latest(fetches.iloc[[0, 2]], posted, min_age_hours=48).empty


def test_a_429_is_waited_out_and_a_lasting_one_is_a_clear_error(live):
    posted = from_ledger.posted_replies(scripted_world(live.state))
    client = reddit.connect()
    waits = []
    live.state.fail(r"^/api/info$", "429", times=1)
    live.state.fail(r"^/comments/s3", "429", times=2)
    rows = fetch.fetch_replies(client, posted, now=NOW, progress=False, sleep=waits.append)
    assert waits == [60.0, 60.0, 60.0] and len(rows) == 7 and rows.set_index("reply_id").loc["r3", "score"] == 4
    live.state.fail(r"^/api/info$", "429", times=3)
    with pytest.raises(fetch.TooManyRequestsError, match="gave up after 3 tries.*run the notebook again later"):
        fetch.fetch_replies(client, posted, now=NOW, progress=False, sleep=waits.append)


def test_two_tabs_appending_at_once_lose_no_rows(tmp_path):
    import threading

    table = tmp_path / "feedback/reddit_fetches.csv"

    def tab(name):
        for i in range(15):
            store.append_fetches(table, fetch_rows(NOW + timedelta(minutes=i), {f"{name}{i}": i}))

    tabs = [threading.Thread(target=tab, args=(name,)) for name in ("a", "b", "c")]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join()
    assert len(store.read_fetches(table)) == 45


def test_a_lock_left_by_a_live_run_is_waited_for_and_a_stale_one_taken_over(tmp_path):
    import os
    import time

    table = tmp_path / "fetches.csv"
    lock = table.with_name(table.name + ".lock")
    lock.write_text("another tab")
    with pytest.raises(TimeoutError, match="another run of notebook 08"):
        store.append_fetches(table, fetch_rows(NOW, {"r1": 1}), wait_seconds=0.3)
    old = time.time() - 3600
    os.utime(lock, (old, old))  # a crash left it an hour ago
    assert store.append_fetches(table, fetch_rows(NOW, {"r1": 1}), wait_seconds=0.3) == 1
    assert not lock.exists()


def test_fetch_time_reads_what_people_type():
    assert fetch.fetch_time("2030-01-10T12:00") == pd.Timestamp("2030-01-10T12:00Z")
    assert fetch.fetch_time("2030-01-10T13:00+01:00") == pd.Timestamp("2030-01-10T12:00Z")
    assert abs(fetch.fetch_time("") - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=1)
    with pytest.raises(ValueError, match="FETCH_TIME must be ISO 8601"):
        fetch.fetch_time("next tuesday")


def test_rerunning_the_sample_adds_nothing_the_second_time(tmp_path):
    _, fetches = sample.load_sample()
    table = Paths(tmp_path).file("feedback", source="sample")
    assert store.append_fetches(table, fetches) == len(fetches)
    assert store.append_fetches(table, fetches) == 0 and len(store.read_fetches(table)) == len(fetches)


# ----- review 14: shapes Reddit really sends -----
@pytest.mark.parametrize("status_code", ["403", "404"])
def test_an_author_page_reddit_refuses_is_a_suspended_account_not_a_crash(live, status_code):
    """/user/<name>/about answers 403 or 404 for an account Reddit suspended or shadowbanned (a deleted
    account's comments carry no name): the fetch goes on and marks the author suspended."""
    posted = from_ledger.posted_replies(scripted_world(live.state))
    live.state.suspended.discard("old_bot")
    live.state.fail(r"^/user/old_bot/about", status_code, times=10)
    rows = fetch.fetch_replies(reddit.connect(), posted, now=NOW, progress=False).set_index("reply_id")
    assert len(rows) == 7 and rows.loc["r5", "author_suspended"] == True  # noqa: E712 (a numpy bool)
    assert rows.loc["r1", "author_suspended"] == False  # noqa: E712


@pytest.mark.parametrize("fields, expected", [
    ({"body": "[removed]", "author": None, "removed_by_category": None}, ("removed", "unknown")),  # moderators, no category
    ({"body": "[removed]", "author": None, "removed_by_category": "moderator"}, ("removed", "moderator")),
    ({"body": "[deleted]", "author": None, "removed_by_category": None}, ("deleted", "")),  # its author deleted it
    ({"body": "[deleted]", "author": None, "removed_by_category": "deleted"}, ("deleted", "")),
    ({"body": "[ Removed by Reddit ]", "author": None}, ("removed", "reddit")),  # Reddit's own (anti-evil) removal
    ({"body": "[ Removed by Reddit on account of violating the content policy. ]", "author": None}, ("removed", "reddit")),
    ({"body": "kept text", "author": "me", "removed": True, "banned_by": "AutoModerator"}, ("removed", "AutoModerator")),
    ({"body": "kept text", "author": "me", "spam": True, "banned_by": True}, ("removed", "spam")),
    ({"body": "fine", "author": "me", "removed": False, "banned_by": None, "spam": False}, ("ok", "")),
])
def test_comment_states_as_reddit_shapes_them(fields, expected):
    assert fetch.comment_status(fields) == expected


@pytest.mark.parametrize("fields, expected", [
    ({"selftext": "", "author": None, "removed_by_category": "deleted"}, "deleted"),
    ({"selftext": "", "author": None, "removed_by_category": "author"}, "deleted"),
    ({"selftext": "[deleted]", "author": None}, "deleted"),
    ({"selftext": "[removed]", "author": "op"}, "removed"),
    ({"selftext": "", "author": "op", "removed_by_category": "automod_filtered"}, "removed"),
    ({"selftext": "", "author": "op", "removed_by_category": "moderator", "locked": True}, "removed"),
    ({"selftext": "", "author": "op", "locked": True}, "locked"),
    ({"selftext": "", "author": "op", "archived": True}, "archived"),
])
def test_thread_states_as_reddit_shapes_them(fields, expected):
    assert fetch.thread_status(fields) == expected


def test_a_recovered_post_counts_its_age_from_the_attempt_that_made_it():
    """07 found the reply on Reddit a day after an interrupted post (a 500 that hid a success): the
    reply is as old as that attempt, not as the run that recovered it."""
    attempt = NOW - timedelta(hours=60)
    entries = [dict(at=iso(attempt), state="posting", key="k1", submission_id="s1", subreddit="x", text="t", p0=0.1),
               dict(at=iso(attempt + timedelta(seconds=5)), state="failed", key="k1", submission_id="s1", subreddit="x",
                    reason="500", retry=True, uncertain=True),
               dict(at=iso(NOW - timedelta(hours=12)), state="posted", key="k1", submission_id="s1", subreddit="x",
                    reply_id="r1", recovered=True)]
    posted = from_ledger.posted_replies(entries)
    assert posted.loc[0, "posted_at"] == pd.Timestamp(attempt)
    assert list(from_ledger.due(posted, NOW, 48)["reply_id"]) == ["r1"]


def test_spearman_of_the_likeliest_bin_against_the_score_matches_a_hand_computation():
    table = small_table()
    table.loc[table.reply_id == "b", "score"] = 12  # a..d: likeliest bins 3, 2, 0, 1 against scores 10, 12, 0, 1
    fig = stats.figures(table)
    # ranks of the bins 4, 3, 1, 2 and of the scores 3, 4, 1, 2: d² = 1, 1, 0, 0 -> 1 - 6·2 / (4·15) = 0.8
    assert fig["spearman_predicted_bin_vs_score"] == pytest.approx(0.8)
    assert math.isnan(stats.figures(table.iloc[:2])["spearman_predicted_bin_vs_score"])  # two replies say nothing


def test_a_reply_in_a_locked_thread_is_locked_even_when_the_reply_itself_is_not(live):
    """Moderators lock the thread, not each comment: Reddit sends `locked: false` on the reply."""
    posted = from_ledger.posted_replies(scripted_world(live.state))
    live.state.comments["r2"]["locked"] = False
    rows = fetch.fetch_replies(reddit.connect(), posted, now=NOW, progress=False).set_index("reply_id")
    assert (rows.loc["r2", "thread_status"], rows.loc["r2", "locked"]) == ("locked", True)
    assert not rows.loc["r1", "locked"]


def test_reddit_failing_on_one_parent_does_not_lose_the_whole_fetch(live):
    """A parent comment Reddit keeps answering 503 for (the retry policy gives up): that reply's parent
    is recorded as unknown, every other reply is fetched as usual."""
    posted = from_ledger.posted_replies(scripted_world(live.state))
    live.state.fail(r"^/comments/s3", "503", times=20)
    rows = fetch.fetch_replies(reddit.connect(), posted, now=NOW, progress=False, sleep=lambda s: None).set_index("reply_id")
    assert len(rows) == 7 and rows.loc["r3", "parent_status"] == "unknown" and rows.loc["r3", "score"] == 4
    assert math.isnan(rows.loc["r3", "replies"]) and rows.loc["r1", "human_median_score"] == 6.0


def test_a_table_saved_by_a_spreadsheet_with_a_bom_still_appends(tmp_path):
    table = tmp_path / "fetches.csv"
    store.append_fetches(table, fetch_rows(NOW, {"007": 3}))
    table.write_bytes(b"\xef\xbb\xbf" + table.read_bytes())  # Excel's "CSV UTF-8"
    assert store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"007": 5})) == 1
    assert store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"007": 5})) == 0
    fetched = store.read_fetches(table)
    assert list(fetched["reply_id"]) == ["007", "007"] and list(fetched["score"]) == [3, 5]


def test_a_table_a_spreadsheet_saved_with_semicolons_is_a_clear_error_not_a_rewrite(tmp_path):
    table = tmp_path / "feedback" / "reddit_fetches.csv"
    store.append_fetches(table, fetch_rows(NOW, {"r1": 3}))
    saved = store.read_fetches(table).to_csv(sep=";", index=False).encode()
    table.write_bytes(saved)
    with pytest.raises(ValueError, match=r"reddit_fetches.csv .*comma.*fetched_at"):
        store.append_fetches(table, fetch_rows(NOW + timedelta(days=1), {"r1": 4}))
    assert table.read_bytes() == saved


def test_latest_reads_fetch_times_a_spreadsheet_rewrote():
    """Saved from a spreadsheet, ISO times come back as "2030-01-12 12:00:00" (no T, no zone) or not at all."""
    posted = from_ledger.posted_replies(posting_pair("k1", "r1", "s1"))
    fetches = pd.concat([fetch_rows(NOW, {"r1": 2}).assign(age_hours=60),
                         fetch_rows(NOW, {"r1": 9}).assign(age_hours=108, fetched_at="2030-01-12 12:00:00"),
                         fetch_rows(NOW, {"r1": 5}).assign(age_hours=84, fetched_at="")], ignore_index=True)
    assert list(stats.latest(fetches, posted, min_age_hours=48)["score"]) == [9]


def test_a_score_reddit_still_hides_is_unknown_not_its_placeholder(live, monkeypatch):
    """Subreddits hide scores for the first hours (`score_hidden`, score shown as 1): a fetch then
    records no score for our reply, and leaves hidden human scores out of their median."""
    posted = from_ledger.posted_replies(scripted_world(live.state))
    shown = State.comment_json

    def hidden(self, c, **kwargs):
        out = shown(self, c, **kwargs)
        if c["link_id"] == "s1" and c["id"] in ("r1", "h2"):
            out["data"].update(score_hidden=True, score=1)
        return out

    monkeypatch.setattr(State, "comment_json", hidden)
    rows = fetch.fetch_replies(reddit.connect(), posted, now=NOW, progress=False).set_index("reply_id")
    assert math.isnan(rows.loc["r1", "score"]) and rows.loc["r1", "status"] == "ok"
    assert (rows.loc["r1", "human_replies"], rows.loc["r1", "human_median_score"]) == (1, 3.0)
    assert rows.loc["r2", "score"] == 2


# ----- issue 17: one config, one retry policy -----
def test_a_429_with_retry_after_is_waited_exactly_and_a_long_one_ends_the_fetch_at_once(live):
    posted = from_ledger.posted_replies(scripted_world(live.state))
    client = reddit.connect()
    waits = []
    live.state.fail(r"^/api/info$", "429", times=1, retry_after="300")  # more than the 120 s the old loop waited at most
    rows = fetch.fetch_replies(client, posted, now=NOW, progress=False, sleep=waits.append)
    assert waits == [300.0] and len(rows) == 7
    live.state.fail(r"^/api/info$", "429", times=1, retry_after="3600")  # beyond the policy's ten minutes
    with pytest.raises(fetch.TooManyRequestsError, match="gave up after 1 try .*3600 s, more than the 600 s allowed.*run the notebook again later"):
        fetch.fetch_replies(client, posted, now=NOW, progress=False, sleep=waits.append)
    assert waits == [300.0]  # not cut short to some maximum: not waited at all


def test_feedback_config_reads_08s_parameters():
    from helpers.core.config import ConfigError
    from helpers.live.feedback.config import FeedbackConfig

    params = {"SOURCE": "", "MIN_AGE_HOURS": 48, "FOLLOW_DAYS": 30, "PUBLIC_VIEW": True, "MORE_REPLIES": -1,
              "RATING_EDGES": [1, 2, 5], "FETCH_TIME": "", "PROFILE": ""}
    tiny = FeedbackConfig.from_notebook(params, "tiny")
    assert (tiny.source, tiny.min_age_hours, tiny.rating_edges, tiny.more_limit) == ("sample", 48.0, (1, 2, 5), None)
    assert FeedbackConfig.from_notebook({**params, "SOURCE": None}, "colab").source == "reddit"
    assert FeedbackConfig.from_notebook({**params, "SOURCE": "sample", "MORE_REPLIES": 2}, "colab").more_limit == 2
    with pytest.raises(ConfigError, match='SOURCE must be "reddit" or "sample"'):
        FeedbackConfig.from_notebook({**params, "SOURCE": "reddti"}, "tiny")
    with pytest.raises(ConfigError, match="MIN_AGE_HOURS must be float"):
        FeedbackConfig.from_notebook({**params, "MIN_AGE_HOURS": "48"}, "tiny")


def test_every_parameter_of_08_is_a_feedback_setting():
    """08's parameters cell names FeedbackConfig's fields in capitals (and PROFILE), nothing else."""
    import ast
    from dataclasses import fields
    from pathlib import Path

    from helpers.live.feedback.config import FeedbackConfig

    nb = json.loads((Path(__file__).resolve().parents[2] / "notebooks/08_feedback.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    names = {t.id for node in ast.parse("".join(cell["source"])).body for t in node.targets}
    assert names == {f.name.upper() for f in fields(FeedbackConfig)} | {"PROFILE"}
