"""Notebook 01 end to end on the dumps and bigquery sources (CI runs it on the sample through nbval)."""
import json

from helpers.sources import prepare
from helpers.core import runner
from helpers.core.notebooks import NOTEBOOK_DIR
from helpers.core.paths import Paths

from bigquery_standin import BigQueryStandIn
from test_bigquery import COMMENTS, POSTS, sample_tables
from test_dumps import MONTHS, SUBREDDITS, write_sample_as_dumps
from test_pull_sample import pull_pairs

NOTEBOOK = NOTEBOOK_DIR / "01_pull_data.ipynb"


def run_notebook(root, monkeypatch, **parameters):
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(root))  # runner.run sets these; monkeypatch restores them
    monkeypatch.setenv("BOT_PROFILE", "tiny")
    messages = []
    assert runner.run([NOTEBOOK], "tiny", root, parameters, log=messages.append) == 0, messages
    return json.loads(Paths(root).file("summary", notebook="01_pull_data").read_text())


def test_notebook_01_on_dumps_and_on_bigquery(tmp_path, monkeypatch):
    expected, _ = prepare.clean_pairs(pull_pairs("sample", tmp_path, SUBREDDITS, MONTHS, top_level_only=True)[0])  # the profile default

    write_sample_as_dumps(tmp_path / "d" / "raw")
    summary = run_notebook(tmp_path / "d", monkeypatch, SOURCE="dumps")
    assert summary["source"] == "dumps" and summary["counts"]["pairs_kept"] == len(expected)
    assert summary["report"]["reader_drops"]["lines_read"] > 2000

    with BigQueryStandIn(sample_tables(), project="my-project") as standin:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", standin.url)
        summary = run_notebook(tmp_path / "b", monkeypatch, SOURCE="bigquery", COMMENTS_TABLE=COMMENTS,
                               POSTS_TABLE=POSTS, BIGQUERY_PROJECT="my-project", MONTHS=MONTHS + ["2019-04"])
    assert summary["source"] == "bigquery" and summary["counts"]["pairs_kept"] == len(expected)
    failed = summary["report"]["failed_months"]  # no posts table for April: listed, not skipped silently
    assert [f["month"] for f in failed] == ["2019-04"] and "reddit_posts.2019_04" in failed[0]["error"]


def test_notebook_01_on_arctic_shift_then_a_run_with_no_data_keeps_the_files(tmp_path, monkeypatch):
    from arctic_shift_standin import ArcticShiftStandIn
    from test_arctic_shift import sample_records

    expected, _ = prepare.clean_pairs(pull_pairs("sample", tmp_path, SUBREDDITS, MONTHS, top_level_only=True)[0])
    with ArcticShiftStandIn(*sample_records()) as api:
        summary = run_notebook(tmp_path / "a", monkeypatch, SOURCE="arctic_shift", ARCTIC_SHIFT_URL=api.url,
                               ARCTIC_SECONDS_PER_REQUEST=0.0, SUBREDDITS=" r/cooking, buildapc,CasualConversation , personalfinance")
    assert summary["source"] == "arctic_shift" and summary["counts"]["pairs_kept"] == len(expected)
    assert summary["top_level_only"] is True and summary["subreddits"] == SUBREDDITS
    assert {f["subreddit"] for f in summary["report"]["fetched"]} == set(SUBREDDITS) and summary["report"]["requests"] > 12
    prepared = tmp_path / "a" / "prepared"
    assert json.loads((prepared / "manifest.json").read_text())["run_id"] == summary["prepared_run"]
    before = {p.name: p.read_bytes() for p in prepared.iterdir()}
    messages = []
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(tmp_path / "a"))
    code = runner.run([NOTEBOOK], "tiny", tmp_path / "a", {"SOURCE": "sample", "MONTHS": ["2018-06"]}, log=messages.append)
    assert code != 0 and "0 pairs" in "\n".join(messages)
    assert {p.name: p.read_bytes() for p in prepared.iterdir()} == before
    # issue 19 item 8: an emptied list is not the profile's list, and a month typed without quotes says to quote it
    for typed, says in (({"SUBREDDITS": []}, "names no subreddit"), ({"MONTHS": 2019 - 12}, "in quotes")):
        messages.clear()
        code = runner.run([NOTEBOOK], "tiny", tmp_path / "a", {"SOURCE": "sample", **typed}, log=messages.append)
        assert code != 0 and says in "\n".join(messages), messages
        assert {p.name: p.read_bytes() for p in prepared.iterdir()} == before
