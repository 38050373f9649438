"""The Arctic Shift source against its stand-in on 127.0.0.1: the same pairs as every other source,
resumable, polite, clear when it gives up, and capped per subreddit and month."""
import json
import time

import pandas as pd
import pytest

from helpers.sources import arctic_shift, prepare, pull, sample as sample_data
from helpers.core.paths import Paths
from helpers.core.settings import make_settings

from arctic_shift_standin import ArcticShiftStandIn
from bigquery_standin import BigQueryStandIn
from test_bigquery import COMMENTS, POSTS, sample_tables
from test_dumps import MONTHS, SUBREDDITS, records, write_sample_as_dumps
from test_pull_sample import pull_pairs

FAST = {"min_interval": 0, "backoff": 0.01, "timeout": 5}


def sample_records():
    return records(sample_data.load_submissions()), records(sample_data.load_comments())


def fast_api(url, **options):
    """A client for tests: no pace, short pauses; `sleep` replaces time.sleep, `max_wait` is `longest_wait`."""
    options = {**FAST, **options}
    sleep = options.pop("sleep", time.sleep)
    if "max_wait" in options:
        options["longest_wait"] = options.pop("max_wait")
    return arctic_shift.ArcticShift(url, arctic_shift.Options(**options), sleep=sleep)


@pytest.fixture(scope="module")
def api():
    with ArcticShiftStandIn(*sample_records(), created={"AskHistorians": 1230000000}) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults(api):
    api.faults.clear()
    api.down.clear()
    api.capacity = 1000


def arctic(root, url, months=MONTHS, subreddits=SUBREDDITS, progress=False, arctic_options=None, **config):
    """Notebook 01's pull on arctic_shift (tiny profile; `config`: PullConfig fields) through a fast client."""
    return pull_pairs("arctic_shift", root, subreddits, months, progress=progress,
                      arctic_api=fast_api(url, **(arctic_options or {})), **config)


def prepared_bytes(pairs, root):
    prepare.write_prepared(prepare.prepared_tables(prepare.clean_pairs(pairs)[0]), Paths(root))
    return {n: (root / "prepared" / f"{n}.csv").read_bytes() for n in ("gpt2_finetune", "gpt2_generate", "bert_real")}


@pytest.mark.parametrize("top_level_only", [True, False])
def test_every_source_gives_the_same_prepared_files(api, tmp_path, top_level_only):
    raw = write_sample_as_dumps(tmp_path / "raw", per_subreddit=("buildapc",))
    results = {"sample": pull_pairs("sample", tmp_path, SUBREDDITS, MONTHS, top_level_only=top_level_only)[0],
               "dumps": pull_pairs("dumps", tmp_path, SUBREDDITS, MONTHS, dumps_folder=raw,
                                   top_level_only=top_level_only)[0],
               "arctic_shift": arctic(tmp_path / "a", api.url, top_level_only=top_level_only)[0]}
    with BigQueryStandIn(sample_tables(), project="my-project") as bq:
        results["bigquery"] = pull_pairs("bigquery", tmp_path, SUBREDDITS, MONTHS, comments_table=COMMENTS,
                                         posts_table=POSTS, bigquery_client=bq.client(), top_level_only=top_level_only)[0]
    files = {source: prepared_bytes(pairs, tmp_path / source) for source, pairs in results.items()}
    assert len(files["sample"]["bert_real"].splitlines()) > 600
    for source in ("dumps", "arctic_shift", "bigquery"):
        assert files[source] == files["sample"], source
    if top_level_only:  # the comment of every pair answers the post
        coms = sample_data.load_comments().drop_duplicates("id").set_index("id")
        pairs = results["arctic_shift"]
        assert (coms.loc[pairs["comment_id"], "parent_id"].to_numpy() == ("t3_" + pairs["submission_id"]).to_numpy()).all()


def test_pages_are_stored_trimmed_and_a_rerun_sends_no_request(api, tmp_path):
    pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    pages = sorted((tmp_path / "raw" / "arctic_shift" / "cooking" / "2019-01").glob("*.json"))
    assert {p.name.split("_")[0] for p in pages} == {"comments", "submissions"}
    item = json.loads(pages[0].read_text())["items"][0]
    assert "retrieved_on" not in item and {"id", "body", "parent_id", "created_utc"} <= set(item)
    assert report["fetched"][0]["comments"] > 100 and report["requests"] == len(pages)
    before = len(api.requests)
    again, report2 = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    assert len(api.requests) == before and report2["requests"] == 0
    pd.testing.assert_frame_equal(pairs, again)


def test_a_failed_run_resumes_where_it_stopped(api, tmp_path):
    full, _ = arctic(tmp_path / "fresh", api.url, months=["2019-02"])
    fresh_requests = len(api.requests)
    api.requests.clear()
    api.down.add("personalfinance")
    pairs, report = arctic(tmp_path / "drive", api.url, months=["2019-02"], arctic_options={"tries": 2})
    assert [(f["subreddit"], f["month"]) for f in report["failed_months"]] == [("personalfinance", "2019-02")]
    assert "gave up after 2 tries" in report["failed_months"][0]["error"] and "HTTP 503" in report["failed_months"][0]["error"]
    assert "resumes" in report["failed_months"][0]["error"] and set(pairs["subreddit"]) == set(SUBREDDITS) - {"personalfinance"}
    api.down.clear()
    first_run = len(api.requests)
    pairs, report = arctic(tmp_path / "drive", api.url, months=["2019-02"])
    assert report["failed_months"] == [] and len(api.requests) - first_run < fresh_requests / 2
    pd.testing.assert_frame_equal(pairs, full)


def test_timeouts_429_5xx_and_slow_down_are_retried(api, tmp_path):
    api.faults[:] = [429, 503, "slow_down", "hang"]  # four failures in a row: the fifth try answers
    api.hang_seconds = 1.0
    waits = []
    pairs, report = arctic(tmp_path, api.url, months=["2019-03"], subreddits=["cooking"],
                           arctic_options={"timeout": 0.3, "sleep": waits.append})
    assert report["failed_months"] == [] and len(pairs) > 50
    assert report["retries"] == {"429": 1, "503": 1, "422": 1, "timeout": 1}
    assert 1.0 in waits  # Retry-After of the 429 honoured
    pd.testing.assert_frame_equal(pairs, arctic(tmp_path / "b", api.url, months=["2019-03"], subreddits=["cooking"])[0])


def test_every_month_failing_is_a_clear_error(api, tmp_path):
    api.down.update({"cooking", "buildapc"})
    with pytest.raises(pull.NoPairsError, match="every month failed"):
        arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking", "buildapc"], arctic_options={"tries": 2})


def test_a_refused_request_fails_at_once_with_the_apis_message(api, tmp_path, capsys):
    api.requests.clear()
    with pytest.raises(pull.NoPairsError, match="every month failed"):
        arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"], arctic_options={"page_limit": 500})
    assert "HTTP 400 limit must be between 1 and 100" in capsys.readouterr().out
    searches = [p for _, path, p in api.requests if path.endswith("s/search") and "subreddits" not in path]
    assert len(searches) == 1 and searches[-1]["limit"] == "500"  # no retry of a refusal


def test_requests_are_paced(api, tmp_path):
    api.requests.clear()
    arctic(tmp_path, api.url, months=["2019-01"], subreddits=["buildapc"], arctic_options={"min_interval": 0.25})
    times = [t for t, _, _ in api.requests]
    assert len(times) >= 3 and min(b - a for a, b in zip(times, times[1:])) >= 0.2  # 0.25 s apart, less arrival jitter


def test_size_limit_cuts_the_month_and_says_so(api, tmp_path, capsys):
    full, _ = arctic(tmp_path / "full", api.url, months=["2019-01"], subreddits=["cooking"], top_level_only=False)
    pairs, report = arctic(tmp_path / "cut", api.url, months=["2019-01"], subreddits=["cooking"], max_items_per_month=60,
                           top_level_only=False)
    fetched = report["fetched"][0]
    assert fetched["cut_at"] and fetched["comments"] <= 60 and fetched["dropped_after_cut"] > 0
    assert f"cut at {fetched['cut_at']}" in capsys.readouterr().out
    cut = pd.Timestamp(fetched["cut_at"]).timestamp()
    assert 0 < len(pairs) < len(full) and (pairs["reply_created_utc"].astype(float) < cut).all()
    # the pairs of the cut window are exactly the full month's pairs inside it
    inside = full[full["reply_created_utc"].astype(float) < cut]
    assert set(pairs["reply_id"]) == set(inside["reply_id"])
    # a larger limit later fetches on from the pages already stored
    before = len(api.requests)
    more, report = arctic(tmp_path / "cut", api.url, months=["2019-01"], subreddits=["cooking"], top_level_only=False)
    assert report["fetched"][0]["cut_at"] is None
    pd.testing.assert_frame_equal(more, full)
    assert len(api.requests) - before <= 4


def test_a_month_that_failed_mid_way_refetches_only_the_missing_pages(api, tmp_path):
    api.capacity = 100  # a busy server: `limit=auto` gives 100 items a page
    api.requests.clear()
    full, _ = arctic(tmp_path / "fresh", api.url, months=["2019-02"], subreddits=["cooking"])
    needed = len(api.requests) - 1  # less the look-up of r/cooking, kept in about.json
    api.requests.clear()
    api.faults[:] = [None, None, 503, 503]  # two pages arrive, then the API fails
    with pytest.raises(pull.NoPairsError, match="every month failed"):
        arctic(tmp_path / "drive", api.url, months=["2019-02"], subreddits=["cooking"], arctic_options={"tries": 2})
    assert len(list((tmp_path / "drive" / "raw" / "arctic_shift" / "cooking" / "2019-02").glob("*.json"))) == 2
    api.requests.clear()
    pairs, _ = arctic(tmp_path / "drive", api.url, months=["2019-02"], subreddits=["cooking"])
    assert len(api.requests) == needed - 2
    pd.testing.assert_frame_equal(pairs, full)


def test_a_damaged_page_is_fetched_again(api, tmp_path):
    full, _ = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    pages = sorted((tmp_path / "raw" / "arctic_shift" / "cooking" / "2019-01").glob("comments_*.json"))
    pages[1].write_text('{"items": [')  # cut short by hand or by a sync tool
    api.requests.clear()
    again, _ = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    assert len(api.requests) == len(pages) - 1  # that page and the ones after it
    pd.testing.assert_frame_equal(again, full)


@pytest.mark.parametrize("inclusive", [False, True])
def test_paging_by_time_loses_nothing_when_many_items_share_a_second(tmp_path, inclusive):
    t = 1546300800 + 3600
    post = dict(id="s1", title="t", selftext="x", author="op", subreddit="cooking", created_utc=t, score=1, is_self=True)
    comments = [dict(id=f"c{i:03d}", link_id="t3_s1", parent_id="t3_s1", author=f"u{i}", body=f"b{i}", score=1,
                     created_utc=t + (0 if i < 60 else 1 if i < 140 else 2 + i), subreddit="cooking") for i in range(230)]
    comments += [dict(id=f"r{i:03d}", link_id="t3_s1", parent_id=f"t1_c{i:03d}", author="replier", body=f"reply {i}",
                      score=2, created_utc=t + 5000 + i // 3, subreddit="cooking") for i in range(230)]
    with ArcticShiftStandIn([post], comments) as server:
        server.after_inclusive = inclusive
        pairs, report = arctic(tmp_path, server.url, months=["2019-01"], subreddits=["cooking"])
    assert sorted(pairs["comment_id"]) == [f"c{i:03d}" for i in range(230)]
    assert report["fetched"][0]["comments"] == 460 and report["fetched"][0]["requests"] <= 4


def test_an_exhausted_rate_limit_is_waited_out(api, tmp_path):
    import time

    api.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 7)})
    waits = []
    try:
        arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"], arctic_options={"sleep": waits.append})
    finally:
        api.headers.clear()
    assert waits and all(5 <= w <= 7 for w in waits)  # until the reset time it announced, after each answer


def test_the_documented_query_timeout_is_retried_with_a_smaller_page(api, tmp_path):
    # api/README.md, "Query timeout": the API answers "Query timed out" and advises a smaller `limit`
    # and trying again; the real envelope is {"data": null, "error": ...} (issue #66: HTTP 422)
    full, _ = arctic(tmp_path / "full", api.url, months=["2019-01"], subreddits=["cooking"])
    api.requests.clear()
    api.faults[:] = ["query_timed_out", "query_timed_out"]
    pairs, report = arctic(tmp_path / "t", api.url, months=["2019-01"], subreddits=["cooking"])
    assert report["failed_months"] == []
    limits = [p["limit"] for _, path, p in api.requests if path == "/api/comments/search"][:3]
    assert limits == ["auto", "100", "50"]
    pd.testing.assert_frame_equal(pairs, full)  # a smaller page is not taken for the month's last one


@pytest.mark.parametrize("reset", ["seconds", "epoch", "epoch_ms", "http_date"])
def test_a_429_without_retry_after_waits_for_the_rate_limit_reset(api, tmp_path, reset):
    # api/README.md, "Rate limiting": X-RateLimit-Remaining and X-RateLimit-Reset say when to come back;
    # the reset may be given as seconds to wait, an epoch time (s or ms) or a date
    import time
    from email.utils import formatdate

    at = time.time() + 30
    value = {"seconds": "30", "epoch": str(int(at)), "epoch_ms": str(int(at * 1000)),
             "http_date": formatdate(at, usegmt=True)}[reset]
    api.faults[:] = [429]
    waits = []
    original = api.answer

    def limited(path, params):  # the 429 carries only the rate-limit headers
        status, headers, body = original(path, params)
        if status == 429:
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": value}
        return status, headers, body

    api.answer = limited
    try:
        _, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"],
                           arctic_options={"sleep": waits.append, "max_wait": 600})
    finally:
        del api.answer
    assert report["failed_months"] == [] and report["retries"] == {"429": 1}
    assert any(27 <= w <= 31 for w in waits), waits


def test_the_api_address_can_come_from_the_environment(api, tmp_path, monkeypatch):
    # like BIGQUERY_EMULATOR_HOST: a stand-in (or a mirror) reached without editing the notebook
    monkeypatch.setenv("ARCTIC_SHIFT_URL", api.url + "/")
    assert arctic_shift.ArcticShift().base_url == api.url
    assert arctic_shift.ArcticShift("http://example.invalid").base_url == "http://example.invalid"
    api.requests.clear()
    pairs, report = pull.pull(Paths(tmp_path), pull.PullConfig.for_profile(
        "tiny", source="arctic_shift", months="2019-01", arctic_seconds_per_request=0),
        make_settings("tiny", subreddits="cooking"), progress=False)
    assert len(pairs) and len(api.requests) == report["requests"] + 1 > 1  # and one look-up of r/cooking
    monkeypatch.delenv("ARCTIC_SHIFT_URL")
    assert arctic_shift.ArcticShift().base_url == arctic_shift.BASE_URL


def test_a_month_fetched_before_it_was_over_is_fetched_on_at_the_next_run(tmp_path, monkeypatch):
    # pages of the current month (or one that ended < 36 h ago: the API's scores settle then) are not final
    subs, coms = sample_records()
    start, end = 1546300800, 1548979200  # 2019-01
    middle = (start + end) // 2
    month = [r for r in coms if start <= int(float(r["created_utc"])) < end]
    with ArcticShiftStandIn(subs, coms) as full_api:
        full, _ = arctic(tmp_path / "full", full_api.url, months=["2019-01"], subreddits=["cooking"])
    monkeypatch.setattr(arctic_shift, "now", lambda: middle)
    early = [r for r in coms if int(float(r["created_utc"])) < middle]
    with ArcticShiftStandIn([s for s in subs if int(float(s["created_utc"])) < middle], early) as api:
        first, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    assert not report["fetched"][0]["settled"] and len(first) < len(full) and len(month) > len(early)
    monkeypatch.setattr(arctic_shift, "now", lambda: end + 3 * 86400)
    with ArcticShiftStandIn(subs, coms) as api:
        again, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
        assert report["fetched"][0]["settled"] and report["requests"] > 0
        pd.testing.assert_frame_equal(again, full)
        api.requests.clear()
        arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
        assert api.requests == []  # a settled month, once complete, is not asked again


def test_no_pairs_after_a_failure_names_the_failure_too(api, tmp_path):
    # one subreddit fails, the other has no self posts in that month: the error must not only blame the names
    api.down.add("buildapc")
    with pytest.raises(pull.NoPairsError) as error:
        arctic(tmp_path, api.url, months=["2019-01"], subreddits=["buildapc", "AskHistorians"], arctic_options={"tries": 1})
    message = str(error.value)
    assert "0 pairs" in message and "r/buildapc 2019-01" in message and "failed" in message


def test_no_answer_in_time_is_retried_with_a_smaller_page(api, tmp_path):
    full, _ = arctic(tmp_path / "full", api.url, months=["2019-01"], subreddits=["cooking"])
    api.requests.clear()
    api.faults[:] = ["hang"]
    api.hang_seconds = 1.0
    pairs, report = arctic(tmp_path / "t", api.url, months=["2019-01"], subreddits=["cooking"],
                           arctic_options={"timeout": 0.3})
    limits = [p["limit"] for _, path, p in api.requests if path == "/api/comments/search"][:2]
    assert report["retries"] == {"timeout": 1} and limits == ["auto", "100"]
    pd.testing.assert_frame_equal(pairs, full)
