"""Issue 19 item 8 and issue 17 item 2: notebook 01's inputs as people type them into Colab's forms,
read into one frozen PullConfig (and the run's Settings for SUBREDDITS and TOP_LEVEL_ONLY, shared with
06); refusals that say what to type, before any request."""
import calendar
import dataclasses

import pytest

from helpers.core.config import ConfigError
from helpers.core.paths import Paths
from helpers.core.context import RunContext
from helpers.core.settings import PROFILES, make_settings
from helpers.sources import pull
from helpers.sources.pairs import NoPairsError

from arctic_shift_standin import ArcticShiftStandIn
from test_arctic_shift import arctic, fast_api
from test_pull_sample import pull_pairs

SEARCHES = ("/api/comments/search", "/api/posts/search")
DEC_6_2026 = calendar.timegm((2026, 12, 6, 0, 41, 0))


def notebook(**parameters):
    """The parameters cell as 01 has it, with `parameters` typed over it."""
    cell = dict(PROFILE="", SOURCE="", SUBREDDITS="", MONTHS="2019-01, 2019-02, 2019-03", TOP_LEVEL_ONLY=None,
                MAX_ITEMS_PER_MONTH=None, ARCTIC_SHIFT_URL="", ARCTIC_SECONDS_PER_REQUEST=1.0)
    return {**cell, **parameters}


def run_settings(namespace, profile):
    """The run's settings as 01 reads them: `ctx.configure(PROFILE, globals())`."""
    return RunContext("01_pull_data", "/nonexistent").configure(profile, namespace)


def test_the_config_is_frozen_and_reads_the_notebooks_parameters():
    typed = notebook(SUBREDDITS=" r/Cooking, cooking ,buildapc", MAX_ITEMS_PER_MONTH=0)
    cfg, run = pull.PullConfig.from_notebook(typed, "colab"), run_settings(typed, "colab")
    assert cfg.source == "arctic_shift" and run.subreddits == "Cooking, buildapc" and cfg.max_items_per_month == 0
    assert cfg.months == ("2019-01", "2019-02", "2019-03") and run.top_level_only is PROFILES["colab"]["top_level_only"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.source = "sample"
    tiny = pull.PullConfig.from_notebook(notebook(), "tiny")
    assert tiny.source == "sample" and tiny.max_items_per_month == 2_000
    assert run_settings(notebook(), "tiny").subreddits == PROFILES["tiny"]["subreddits"]  # shared with 06
    assert set(pull.PullConfig.docs()) >= {"source", "months", "max_items_per_month", "arctic_shift_url"}


def test_subreddits_and_the_top_level_rule_live_in_the_run_settings_only(tmp_path):
    """One home each (issue 17: a setting written in two places is a sign to split): pull reads them there."""
    assert not {"subreddits", "top_level_only"} & set(pull.PullConfig.docs())
    with pytest.raises(ConfigError, match="has no setting 'subreddits'"):
        pull.PullConfig.for_profile("tiny", subreddits="cooking")
    cfg = pull.PullConfig.for_profile("tiny", months="2019-01")
    _, report = pull.pull(Paths(tmp_path), cfg, make_settings("tiny", subreddits=" r/Cooking", top_level_only=False),
                          progress=False)
    assert report["subreddits"] == ["Cooking"] and report["top_level_only"] is False


# 8. `MONTHS = 2019-12` typed into Colab's form is the integer 2007: TypeError 'int' object is not iterable
@pytest.mark.parametrize("typed", [2019 - 12, [2019 - 1, "2019-02"], 2019.5])
def test_a_month_typed_without_quotes_says_to_type_it_in_quotes(typed):
    with pytest.raises(ConfigError) as error:
        pull.PullConfig.from_notebook(notebook(MONTHS=typed), "colab")
    assert "MONTHS" in str(error.value) and "in quotes" in str(error.value) and '"2019-' in str(error.value)


@pytest.mark.parametrize("typed", ["2019-12", " 2019-12 ", ["2019-12"], ("2019-12",), "2019-12,2019-12"])
def test_a_month_in_quotes_or_a_list_is_read(typed):
    assert pull.PullConfig.from_notebook(notebook(MONTHS=typed), "colab").months == ("2019-12",)


@pytest.mark.parametrize("typed", ["Dec 2019", "2019-13", "2019-1"])
def test_a_month_in_another_shape_names_the_shape(typed):
    with pytest.raises(ConfigError, match=r"'YYYY-MM' in quotes"):
        pull.PullConfig.from_notebook(notebook(MONTHS=typed), "colab")


# 8. `SUBREDDITS = []` silently became the profile's list and replaced the prepared files
@pytest.mark.parametrize("typed", [[], (), [" "]])
def test_an_empty_subreddit_list_is_an_error_not_the_profiles_list(typed):
    with pytest.raises(ConfigError, match=r"SUBREDDITS = .* names no subreddit: type names in quotes"):
        run_settings(notebook(SUBREDDITS=typed), "colab")


@pytest.mark.parametrize("typed", ["", None])
def test_a_text_field_left_empty_is_the_profiles_value(typed):
    cfg, run = pull.PullConfig.from_notebook(notebook(SUBREDDITS=typed, SOURCE=typed), "colab"), run_settings(
        notebook(SUBREDDITS=typed, SOURCE=typed), "colab")
    assert run.subreddits == PROFILES["colab"]["subreddits"] and cfg.source == "arctic_shift"


def test_a_subreddit_typed_as_a_number_says_what_to_type():
    with pytest.raises(ConfigError, match="names in quotes"):
        run_settings(notebook(SUBREDDITS=12), "colab")


# 8. a month in the future got "the month is not over, run again later" after sending requests
def test_a_month_in_the_future_is_named_before_any_request(tmp_path, monkeypatch):
    monkeypatch.setattr(pull, "now", lambda: DEC_6_2026)
    with pytest.raises(ConfigError, match=r"MONTHS: 2027-01 is in the future \(today is 2026-12-06 UTC\)"):
        pull.PullConfig.from_notebook(notebook(MONTHS="2026-11, 2027-01"), "colab")
    assert pull.PullConfig.from_notebook(notebook(MONTHS="2026-12"), "colab").months == ("2026-12",)  # begun: allowed
    # a config made earlier (or by hand) is checked again by pull(), still before any request
    cfg = dataclasses.replace(pull.PullConfig.for_profile("tiny", source="arctic_shift"), months=("2027-01",))
    with ArcticShiftStandIn([], []) as api:
        with pytest.raises(ConfigError, match="in the future"):
            pull.pull(Paths(tmp_path), cfg, make_settings("tiny"), progress=False, arctic_api=fast_api(api.url))
        assert api.requests == []


# 8. an unknown subreddit, and a month before a subreddit existed (without search requests), named as such
def test_an_unknown_subreddit_is_named_as_such(tmp_path):
    from test_arctic_shift import sample_records

    with ArcticShiftStandIn(*sample_records()) as api:
        pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking", "cookingg"])
        assert [f["subreddit"] for f in report["failed_months"]] == ["cookingg"]
        assert "knows no such subreddit" in report["failed_months"][0]["error"]
        assert "SUBREDDITS" in report["failed_months"][0]["error"]
        # the API's subreddit list is updated only now and then: it does not stop a fetch, it names what gives nothing
        assert len([p for _, path, p in api.requests if path in SEARCHES and p["subreddit"] == "cookingg"]) == 2
    assert set(pairs["subreddit"]) == {"cooking"}


def test_a_subreddit_missing_from_the_apis_list_is_still_fetched(tmp_path):
    from test_arctic_shift import sample_records

    with ArcticShiftStandIn(*sample_records()) as api:
        api._subreddit = lambda params: (200, {}, {"data": []})  # a list not updated yet
        pairs, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"])
    assert report["failed_months"] == [] and len(pairs) > 50


def test_a_month_before_the_subreddit_existed_is_named_as_such(tmp_path):
    from test_arctic_shift import sample_records

    feb_10 = calendar.timegm((2019, 2, 10, 0, 0, 0))
    with ArcticShiftStandIn(*sample_records(), created={"cooking": feb_10}) as api:
        pairs, report = arctic(tmp_path, api.url, months=["2019-01", "2019-02"], subreddits=["cooking"])
        assert [f["month"] for f in report["failed_months"]] == ["2019-01"]
        error = report["failed_months"][0]["error"]
        assert "before the subreddit existed (it was created on 2019-02-10)" in error and "from 2019-02 on" in error
        feb_1 = calendar.timegm((2019, 2, 1, 0, 0, 0))
        assert min(int(p["after"]) for _, path, p in api.requests if path in SEARCHES) >= feb_1 * 1000 - 1  # none for January
    assert set(pairs["month"]) == {"2019-02"}


# 8. the cap was not applied when the page that crosses it was the month's last (cap 305 kept 310)
def month_of_comments(n):
    t = calendar.timegm((2019, 1, 2, 0, 0, 0))
    post = dict(id="s1", title="t", selftext="x", author="op", subreddit="cooking", created_utc=t, score=1, is_self=True)
    comments = [dict(id=f"c{i:04d}", link_id="t3_s1", parent_id="t3_s1" if i % 2 == 0 else f"t1_c{i - 1:04d}",
                     author=f"u{i}", body=f"b{i}", score=1, created_utc=t + 10 * i, subreddit="cooking") for i in range(n)]
    return [post], comments


@pytest.mark.parametrize("capacity", [100, 1000])  # the last of four pages, or one page, crosses the cap
def test_the_cap_holds_when_the_last_page_crosses_it_and_the_cut_is_told(tmp_path, capsys, capacity):
    with ArcticShiftStandIn(*month_of_comments(310)) as api:
        api.capacity = capacity
        _, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"], max_items_per_month=305)
    fetched = report["fetched"][0]
    assert fetched["comments"] == 305 and fetched["dropped_after_cut"] == 5 and fetched["cut_at"]
    assert f"cut at {fetched['cut_at']}" in capsys.readouterr().out


def test_a_month_of_exactly_the_cap_is_not_cut(tmp_path):
    with ArcticShiftStandIn(*month_of_comments(305)) as api:
        _, report = arctic(tmp_path, api.url, months=["2019-01"], subreddits=["cooking"], max_items_per_month=305)
    assert report["fetched"][0]["comments"] == 305 and report["fetched"][0]["cut_at"] is None


# issue 21: the bundled sample honours SUBREDDITS, or says plainly which subreddits it has
def test_the_sample_keeps_only_the_chosen_subreddits_and_names_what_it_lacks(tmp_path, capsys):
    pairs, _ = pull_pairs("sample", tmp_path, ["cooking", "gardening"], ["2019-01"])
    assert set(pairs["subreddit"]) == {"cooking"}
    out = capsys.readouterr().out
    assert "no r/gardening" in out and "buildapc" in out
    with pytest.raises(NoPairsError, match=r"the bundled sample has no r/gardening, r/todayilearned: it has only .*cooking"):
        pull_pairs("sample", tmp_path, ["gardening", "todayilearned"], ["2019-01"])


# issue 21: the BigQuery tables defaulted to fh-bigquery's, which answer "Access Denied" (CONVENTIONS section 2)
def test_the_bigquery_tables_default_to_empty_not_to_the_public_tables_that_refuse():
    for profile in ("colab", "tiny"):
        cfg = pull.PullConfig.for_profile(profile)
        assert cfg.comments_table == "" and cfg.posts_table == ""


@pytest.mark.parametrize("empty", [{}, {"COMMENTS_TABLE": "my-project.reddit.comments_{ym}"},
                                   {"POSTS_TABLE": "  "}, {"COMMENTS_TABLE": None, "POSTS_TABLE": ""}])
def test_bigquery_without_both_tables_says_exactly_what_to_type_before_any_query(empty):
    with pytest.raises(ConfigError) as error:
        pull.PullConfig.from_notebook(notebook(SOURCE="bigquery", **empty), "colab")
    message = str(error.value)
    missing = [name for name in ("COMMENTS_TABLE", "POSTS_TABLE") if not str(empty.get(name) or "").strip()]
    assert all(name in message for name in missing) and "SOURCE=\"bigquery\"" in message
    assert 'COMMENTS_TABLE = "your-project.reddit.comments_{ym}"' in message
    assert 'POSTS_TABLE = "your-project.reddit.posts_{ym}"' in message and "Access Denied" in message


def test_bigquery_with_both_tables_typed_is_read_and_other_sources_need_none():
    cfg = pull.PullConfig.from_notebook(notebook(SOURCE="bigquery", COMMENTS_TABLE=" p.d.comments_{ym} ",
                                                 POSTS_TABLE="p.d.posts"), "colab")
    assert (cfg.comments_table, cfg.posts_table) == ("p.d.comments_{ym}", "p.d.posts")
    for source in ("sample", "arctic_shift", "dumps"):
        assert pull.PullConfig.from_notebook(notebook(SOURCE=source), "colab").comments_table == ""
