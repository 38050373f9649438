import runpy
from pathlib import Path

import pandas as pd
import pytest

from helpers.sources import prepare, pull, sample as sample_data
from helpers.sources.pairs import COMMENT_COLUMNS, SUBMISSION_COLUMNS
from helpers.core.paths import Paths
from helpers.core.settings import make_settings

ROOT = Path(__file__).resolve().parents[2]


def pull_pairs(source, root, subreddits, months, *, progress=False, bigquery_client=None, arctic_api=None,
               top_level_only=False, **config):
    """pull.pull on the tiny profile's run settings with `subreddits` and `top_level_only` (False unless
    given: replies at any depth, as these tests were written) and its PullConfig with `source`, `months`
    and other fields."""
    settings = make_settings("tiny", subreddits=subreddits, top_level_only=top_level_only)
    cfg = pull.PullConfig.for_profile("tiny", source=source, months=months, **config)
    return pull.pull(Paths(root), cfg, settings, progress=progress, bigquery_client=bigquery_client,
                     arctic_api=arctic_api)
SUBREDDITS = ["cooking", "buildapc", "CasualConversation", "personalfinance"]


def test_sample_files_are_what_the_script_writes(tmp_path):
    make = runpy.run_path(str(ROOT / "scripts" / "make_sample_data.py"))["main"]
    make(["--out", str(tmp_path)])
    for name in ("submissions.jsonl", "comments.jsonl"):
        assert (tmp_path / name).read_bytes() == (sample_data.SAMPLE_DIR / name).read_bytes(), name


def test_sample_has_raw_schema_and_quirks():
    subs, coms = sample_data.load_submissions(), sample_data.load_comments()
    assert list(subs.columns) == list(SUBMISSION_COLUMNS) and list(coms.columns) == list(COMMENT_COLUMNS)
    assert len(subs) >= 200 and len(coms) >= 1500
    assert coms["link_id"].str.startswith("t3_").all()
    assert coms["parent_id"].str[:3].isin(["t1_", "t3_"]).all()
    assert set(SUBREDDITS) <= set(subs["subreddit"]) and (~subs["is_self"]).any()
    assert {"[deleted]", "[removed]"} <= set(coms["body"]) and (coms["author"] == "AutoModerator").any()
    assert coms["body"].str.contains("&amp;#x200B;", regex=False).any()
    assert coms["score"].isna().any() and coms["created_utc"].map(type).eq(str).any()
    assert coms.duplicated().any() and (coms["body"].str.len() > 2000).any()
    months = pd.to_datetime(pd.to_numeric(coms["created_utc"]), unit="s").dt.strftime("%Y-%m")
    assert {"2019-01", "2019-02", "2019-03"} <= set(months)
    by_id = coms.drop_duplicates("id").set_index("id")["author"]
    parents = coms[coms["parent_id"].str.startswith("t1_")]
    own = parents["author"].to_numpy() == by_id.reindex(parents["parent_id"].str[3:]).to_numpy()
    assert own.any()  # replies by the comment's own author


def test_sample_source_gives_enough_clean_pairs_in_every_rating_bin(tmp_path):
    pairs, report = pull_pairs("sample", tmp_path, SUBREDDITS, ["2019-01", "2019-02", "2019-03"])
    assert report["failed_months"] == [] and set(pairs["subreddit"]) == set(SUBREDDITS)
    clean, drops = prepare.clean_pairs(pairs)
    assert 600 <= len(clean) <= 1000
    assert all(drops[r] > 0 for r in prepare.REASONS), drops
    real = prepare.prepared_tables(clean)["bert_real"]
    bins = real["rating"].value_counts()
    assert set(bins.index) == {0, 1, 2, 3} and bins.min() >= 0.1 * len(real)
    # a signal to learn: longer (more specific) replies score higher on average
    mean_len = real.assign(n=real["reply"].str.len()).groupby("rating")["n"].mean()
    assert mean_len[3] > 1.5 * mean_len[0]
    text = "\n".join(prepare.prepared_tables(clean)["gpt2_finetune"]["text"])
    assert len(text.split()) > 5000  # well over gpt-2-simple's 1024-token sample


def test_bad_parameters_are_clear_errors(tmp_path):

    with pytest.raises(ValueError, match="unknown SOURCE 'bigqeury'"):
        pull_pairs("bigqeury", tmp_path, SUBREDDITS, [])
    with pytest.raises(ValueError, match="SUBREDDITS = \\[\\] names no subreddit"):
        pull_pairs("sample", tmp_path, [], [])
    with pytest.raises(ValueError, match=r"'YYYY-MM'.*'2019-1', 'Jan 2019'"):
        pull_pairs("sample", tmp_path, SUBREDDITS, ["2019-01", "2019-1", "Jan 2019"])
