"""Issue 19, items 5-7 and 9: what a real network and a real archive do to notebook 01's Arctic Shift pull."""
import time

import pandas as pd
import pytest

from arctic_shift_standin import ArcticShiftStandIn
from helpers.sources.pairs import NoPairsError
from test_arctic_shift import arctic, sample_records

JAN = 1546300800  # 2019-01-01 00:00 UTC
SEARCHES = ("/api/comments/search", "/api/posts/search")


@pytest.fixture(scope="module")
def api():
    with ArcticShiftStandIn(*sample_records()) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(api):
    api.faults.clear()
    api.headers.clear()
    api.capacity = 1000
    api.requests.clear()


@pytest.fixture(scope="module")
def full(api, tmp_path_factory):
    return arctic(tmp_path_factory.mktemp("full"), api.url, months=["2019-01"], subreddits=["cooking"])[0]


# 5. a connection closed before its Content-Length stopped the notebook; a cut JSON failed the month at once
@pytest.mark.parametrize("fault", ["cut", "cut_json", "drop"])
def test_a_cut_or_dropped_answer_is_retried_like_a_timeout(api, tmp_path, full, fault):
    api.faults[:] = [fault, fault]
    pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    assert report["failed_months"] == [] and sum(report["retries"].values()) == 2, report["retries"]
    pd.testing.assert_frame_equal(pairs, full)


def test_cut_answers_every_time_fail_the_month_with_a_message_not_the_notebook(api, tmp_path):
    api.faults[:] = ["cut"] * 3
    pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking", "buildapc"],
                           arctic_options={"tries": 3})
    assert [f["subreddit"] for f in report["failed_months"]] == ["cooking"]
    assert "gave up after 3 tries" in report["failed_months"][0]["error"] and set(pairs["subreddit"]) == {"buildapc"}


# 7. Retry-After: 300 and a reset 300 s away were cut to 120 s: the client asked again too early
def test_a_long_retry_after_is_honoured_in_full_and_shown(api, tmp_path, capsys):
    api.faults[:] = [(429, {"Retry-After": "300"})]
    waits = []
    _, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"], progress=True,
                       arctic_options={"sleep": waits.append})
    assert report["failed_months"] == [] and max(waits) >= 299.5 and sum(waits) < 330
    assert "waiting 300 s" in capsys.readouterr().err  # on the progress bar


def test_a_rate_reset_far_away_is_waited_for_in_full(api, tmp_path):
    api.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 300)})
    waits = []
    arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"], arctic_options={"sleep": waits.append})
    assert waits and all(w >= 295 for w in waits if w > 1)


def test_a_wait_longer_than_the_longest_fails_the_month_without_asking_early(api, tmp_path, capsys):
    api.faults[:] = [(429, {"Retry-After": "7200"})]
    waits = []
    with pytest.raises(NoPairsError, match="every month failed"):
        arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking", "buildapc"],
               arctic_options={"sleep": waits.append})
    failed = [line for line in capsys.readouterr().out.splitlines() if "FAILED" in line]
    assert len(failed) == 2 and all("wait 7200 s" in line and "again" in line for line in failed), failed
    assert len([r for r in api.requests if r[1] in SEARCHES]) == 1 and waits == []  # nothing sent before it allows  # nothing sent before the API allows


# 6. more than a page of items created in the same second: 55 of 96 pairs lost, and nothing said
def flood(n_same_second):
    t = JAN + 3600
    post = dict(id="s1", title="t", selftext="x", author="op", subreddit="cooking", created_utc=t, score=1, is_self=True)
    comments = [dict(id=f"c{i:04d}", link_id="t3_s1", parent_id="t3_s1", author=f"u{i}", body=f"b{i}", score=1,
                     created_utc=t + (0 if i < n_same_second else 1 + i), subreddit="cooking")
                for i in range(n_same_second + 40)]
    replies = [dict(id=f"r{i:04d}", link_id="t3_s1", parent_id=f"t1_c{i:04d}", author="replier", body=f"reply {i}",
                    score=2, created_utc=t + 5000 + i, subreddit="cooking") for i in range(len(comments))]
    return [post], comments + replies


@pytest.mark.parametrize("inclusive", [False, True])
@pytest.mark.parametrize("capacity", [100, 1000])
def test_a_same_second_flood_up_to_two_pages_loses_nothing(tmp_path, inclusive, capacity):
    posts, comments = flood(190)
    with ArcticShiftStandIn(posts, comments) as server:
        server.after_inclusive, server.capacity = inclusive, capacity
        pairs, report = arctic(tmp_path, server.url, months=["2019-01"], subreddits=["cooking"])
    assert len(pairs) == 230 and report["fetched"][0]["skipped_same_second"] == 0


def test_a_flood_too_big_to_page_is_counted_exactly_and_told(tmp_path, capsys):
    posts, comments = flood(350)
    with ArcticShiftStandIn(posts, comments) as server:
        server.capacity = 100  # a busy server: `limit=auto` gives 100 a page; asc and desc reach 200 of the 350
        pairs, report = arctic(tmp_path, server.url, months=["2019-01"], subreddits=["cooking"])
    fetched = report["fetched"][0]
    assert fetched["skipped_same_second"] == 150 and len(pairs) == 390 - 150
    out = capsys.readouterr().out
    assert "150 comments" in out and "same second" in out and "2019-01-01T01:00:00" in out
    # a rerun (resuming from the stored pages) still says so
    with ArcticShiftStandIn(posts, comments) as server:
        _, again = arctic(tmp_path, server.url, months=["2019-01"], subreddits=["cooking"])
        assert again["fetched"][0]["skipped_same_second"] == 150 and not [r for r in server.requests if r[1] in SEARCHES]


# 9. limit=auto and fields: up to 10x fewer requests, smaller answers; pacing measured at send time
def test_limit_auto_and_fields_are_used_where_the_docs_allow(api, tmp_path, full):
    pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    pd.testing.assert_frame_equal(pairs, full)
    searches = [p for _, path, p in api.requests if path in SEARCHES]
    assert searches and all(p["limit"] == "auto" for p in searches)
    comments = [p for _, path, p in api.requests if path == "/api/comments/search"]
    posts = [p for _, path, p in api.requests if path == "/api/posts/search"]
    assert all(set(p["fields"].split(",")) == {"id", "link_id", "parent_id", "author", "body", "score",
                                               "created_utc", "subreddit"} for p in comments)
    assert all("fields" not in p for p in posts)  # is_self/domain are not selectable: posts come whole
    assert report["requests"] == len(comments) + len(posts) <= 4


def test_a_smaller_server_capacity_still_gets_everything(api, tmp_path, full):
    api.capacity = 137  # `auto` may give any size from 100 up: the client must not take it for the last page
    pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    pd.testing.assert_frame_equal(pairs, full)


def test_pacing_is_measured_at_send_time(api, tmp_path):
    api.faults[:] = ["hang"]
    api.hang_seconds = 0.6
    arctic(tmp_path, api.url, months=["2019-01"], subreddits=["buildapc"], top_level_only=False,
           arctic_options={"min_interval": 0.5, "timeout": 5})
    times = [t for t, path, _ in api.requests if path in SEARCHES]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 2 and min(gaps) >= 0.45  # never closer than the pace ...
    assert gaps[0] < 0.95  # ... and a slow answer counts toward it (no pause added after it)


def test_a_flood_the_api_cannot_count_is_still_told(tmp_path, capsys):
    posts, comments = flood(350)
    with ArcticShiftStandIn(posts, comments) as server:
        server.capacity = 100
        answer = server.answer
        server.answer = lambda path, params: ((404, {}, {"error": "Not found"}) if path.endswith("/aggregate")
                                              else answer(path, params))
        pairs, report = arctic(tmp_path, server.url, months=["2019-01"], subreddits=["cooking"])
    assert len(pairs) == 390 - 150 and "an unknown number of comments created in the same second" in capsys.readouterr().out
    assert report["same_second"] and report["fetched"][0]["skipped_same_second"] is None  # unknown, not 0
