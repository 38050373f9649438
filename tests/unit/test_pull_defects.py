"""Notebook 01's sources with real-shaped and broken inputs (issue 11's numbered defects)."""
import errno
import json
from collections import Counter

import pandas as pd
import pytest

from helpers.core import reddit_terms
from helpers.sources import dumps, prepare, pull
from helpers.sources import pairs
from helpers.sources.pairs import join_pairs
from helpers.core.paths import Paths
from test_pull_sample import pull_pairs

from bigquery_standin import BigQueryStandIn
from test_bigquery import COMMENTS, POSTS, sample_tables
from test_dumps import MONTHS, SUBREDDITS, write_sample_as_dumps, write_zst

JAN = 1546300800  # 2019-01-01 00:00 UTC
FEB = 1548979200  # 2019-02-01 00:00 UTC


def sub(i, subreddit="cooking", t=JAN + 10, **over):
    row = dict(id=f"s{i}", title=f"title {i}", selftext=f"text {i}", author="op", subreddit=subreddit,
               created_utc=t, score=5, is_self=True)
    row.update(over)
    return row


def com(i, link, parent, author, t=JAN + 100, subreddit="cooking", body=None, **over):
    row = dict(id=i, link_id=f"t3_{link}", parent_id=parent, author=author, body=body or f"body of {i}",
               score=3, created_utc=t, subreddit=subreddit)
    row.update(over)
    return row


def ndjson(rows):
    return [json.dumps(r, separators=(",", ":")) + "\n" for r in rows]


# 1. `r/cooking` or ` cooking ` gave 0 pairs and an "ok" run for the dumps and sample sources
@pytest.mark.parametrize("source", ["sample", "dumps"])
def test_subreddit_names_with_prefix_or_spaces_give_the_same_pairs(tmp_path, source):
    kw = {"dumps_folder": write_sample_as_dumps(tmp_path / "raw")} if source == "dumps" else {}
    plain, _ = pull_pairs(source, tmp_path, ["cooking", "buildapc"], MONTHS, **kw)
    messy, _ = pull_pairs(source, tmp_path, ["r/cooking", " buildapc "], MONTHS, **kw)
    assert len(plain) > 100
    pd.testing.assert_frame_equal(plain, messy)


# 2. a valid multi-frame .zst whose first frame ends exactly at a read boundary was "not readable"
def test_frame_ending_exactly_at_a_read_boundary_is_read(tmp_path, monkeypatch):
    first, second = [f'{{"n":{i}}}\n' for i in range(300)], [f'{{"m":{i}}}\n' for i in range(300)]
    path = write_zst(tmp_path / "RC_2019-01.zst", first + second, frames=2)
    one = write_zst(tmp_path / "one.zst", first)
    monkeypatch.setattr(dumps, "READ_SIZE", one.stat().st_size)  # the first read ends where frame 1 ends
    assert b"".join(dumps.iter_chunks(path)) == "".join(first + second).encode()


def test_frame_of_exactly_256_kib_then_another_is_read(tmp_path):
    """The same at the real read size: a first frame of exactly dumps.READ_SIZE compressed bytes."""
    import base64
    import random
    import shutil
    import subprocess

    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31)
    pool = base64.b64encode(random.Random(0).randbytes(dumps.READ_SIZE * 2)).decode()

    def frame(n):
        text = ("\n".join(pool[i:i + 76] for i in range(0, n, 76))[:n - 1] + "\n").encode()
        return zstandard.ZstdCompressor(compression_params=params).compress(text), text

    n = dumps.READ_SIZE
    for _ in range(50):  # grow the text until its frame is exactly one read long
        first, text = frame(n)
        if len(first) == dumps.READ_SIZE:
            break
        n += dumps.READ_SIZE - len(first)
    assert len(first) == dumps.READ_SIZE
    second, more = frame(5000)
    path = tmp_path / "RC_2019-01.zst"
    path.write_bytes(first + second)
    assert b"".join(dumps.iter_chunks(path)) == text + more
    if shutil.which("zstd"):  # the reference reader agrees
        assert subprocess.run(["zstd", "-dc", "--long=31", str(path)], capture_output=True, check=True).stdout == text + more


# 3. 0 pairs, or every month failed, replaced good prepared files with header-only ones
def good_prepared(root):
    pairs, _ = pull_pairs("sample", root, SUBREDDITS, MONTHS)
    clean, _ = prepare.clean_pairs(pairs)
    prepare.write_prepared(prepare.prepared_tables(clean), Paths(root))
    return {p.name: p.read_bytes() for p in (root / "prepared").iterdir()}


def test_no_pairs_is_an_error_naming_what_to_change_and_keeps_the_prepared_files(tmp_path):
    before = good_prepared(tmp_path)
    with pytest.raises(pull.NoPairsError, match=r"0 pairs.*SUBREDDITS.*MONTHS"):
        pull_pairs("sample", tmp_path, SUBREDDITS, ["2018-06"])
    with pytest.raises(prepare.NoPairsError, match=r"no pairs left after cleaning.*prepared files .* kept"):
        prepare.write_prepared(prepare.prepared_tables(prepare.clean_pairs(pd.DataFrame(
            columns=[c for c in pairs.PAIR_COLUMNS]))[0]), Paths(tmp_path))
    assert {p.name: p.read_bytes() for p in (tmp_path / "prepared").iterdir()} == before


def test_every_month_failing_is_an_error_and_keeps_the_prepared_files(tmp_path):
    before = good_prepared(tmp_path)
    with BigQueryStandIn(sample_tables(), project="my-project") as standin:
        with pytest.raises(pull.NoPairsError, match=r"every month failed.*2019-07.*2019-08"):
            pull_pairs("bigquery", tmp_path, SUBREDDITS, ["2019-07", "2019-08"], comments_table=COMMENTS,
                      posts_table=POSTS, bigquery_client=standin.client())
    assert {p.name: p.read_bytes() for p in (tmp_path / "prepared").iterdir()} == before


# 4. the three prepared files were replaced one by one: a failure on the third left two new, one old
def test_disk_full_while_writing_the_third_file_leaves_the_old_set(tmp_path, monkeypatch):
    before = good_prepared(tmp_path)
    pairs, _ = pull_pairs("sample", tmp_path, ["cooking"], ["2019-01"])
    tables = prepare.prepared_tables(prepare.clean_pairs(pairs)[0])
    real_to_csv, calls = pd.DataFrame.to_csv, []

    def to_csv(self, path, *args, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_to_csv(self, path, *args, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    with pytest.raises(OSError, match="No space left"):
        prepare.write_prepared(tables, Paths(tmp_path))
    assert {p.name: p.read_bytes() for p in (tmp_path / "prepared").iterdir()} == before  # no temp files either


# 5. the same comment id seen twice with different bodies gave duplicate (comment_id, reply_id) rows
def test_a_comment_edited_between_snapshots_gives_one_pair(tmp_path):
    subs = [sub(1)]
    first = [com("a", "s1", "t3_s1", "alice", body="first version"), com("b", "s1", "t1_a", "bob")]
    later = [com("a", "s1", "t3_s1", "alice", body="edited version"), com("b", "s1", "t1_a", "bob", score=7)]
    raw = tmp_path / "raw"
    raw.mkdir()
    write_zst(raw / "RS_2019-01.zst", ndjson(subs))
    write_zst(raw / "RC_2019-01.zst", ndjson(first + later))
    pairs, report = pull_pairs("dumps", tmp_path, ["cooking"], ["2019-01"], dumps_folder=raw)
    assert list(zip(pairs["comment_id"], pairs["reply_id"])) == [("a", "b")]
    assert report["duplicate_versions_dropped"] == 3


# 6. a month listed twice was read twice, and on BigQuery queried and billed twice
def test_a_month_listed_twice_is_read_once(tmp_path):
    raw = write_sample_as_dumps(tmp_path / "raw")
    once, _ = pull_pairs("dumps", tmp_path, SUBREDDITS, ["2019-01"], dumps_folder=raw)
    twice, report = pull_pairs("dumps", tmp_path, SUBREDDITS, ["2019-01", "2019-01"], dumps_folder=raw)
    assert len(once) > 100 and len(twice) == len(once)
    assert report["months"] == ["2019-01"]
    with BigQueryStandIn(sample_tables(), project="my-project") as standin:
        pull_pairs("bigquery", tmp_path, SUBREDDITS, ["2019-02", "2019-02"], comments_table=COMMENTS,
                  posts_table=POSTS, bigquery_client=standin.client())
        assert len(standin.executed) == 1


# 7. BigQuery's per-month tables kept replies created in the next month; the dump reader dropped them
def test_bigquery_per_month_tables_and_dumps_agree_on_a_reply_from_the_next_month(tmp_path):
    subs = pd.DataFrame([sub(1)])
    coms = pd.DataFrame([com("a", "s1", "t3_s1", "alice"), com("b", "s1", "t1_a", "bob"),
                         com("c", "s1", "t1_a", "carol", t=FEB + 5)])  # in January's file/table, created in February
    raw = tmp_path / "raw"
    raw.mkdir()
    write_zst(raw / "RS_2019-01.zst", ndjson(subs.to_dict("records")))
    write_zst(raw / "RC_2019-01.zst", ndjson(coms.to_dict("records")))
    from_dumps, _ = pull_pairs("dumps", tmp_path, ["cooking"], ["2019-01"], dumps_folder=raw)
    tables = {"p.reddit_comments.2019_01": coms, "p.reddit_posts.2019_01": subs}
    with BigQueryStandIn(tables, project="p") as standin:
        from_bq, _ = pull_pairs("bigquery", tmp_path, ["cooking"], ["2019-01"], comments_table="p.reddit_comments.{ym}",
                               posts_table="p.reddit_posts.{ym}", bigquery_client=standin.client())
    assert from_dumps["reply_id"].tolist() == ["b"]
    assert from_bq["reply_id"].tolist() == from_dumps["reply_id"].tolist()


# 8. `reddit.com` was refused; old submissions without `is_self` lost title-only self posts
def test_the_reddit_com_subreddit_and_old_title_only_self_posts(tmp_path):
    assert reddit_terms.check_subreddits(["reddit.com", "r/reddit.com"]) == ["reddit.com", "reddit.com"]
    t = 1199145600 + 50  # 2008-01
    old = dict(id="s1", title="Ask reddit: what do you cook?", selftext="", author="op", subreddit="reddit.com",
               created_utc=str(t), score=5, domain="self.reddit.com",
               url="http://www.reddit.com/r/reddit.com/comments/s1/ask_reddit_what_do_you_cook/")
    link = dict(old, id="s2", domain="example.com", url="http://example.com/recipe")
    coms = [com("a", "s1", "t3_s1", "alice", t=t + 10, subreddit="reddit.com"),
            com("b", "s1", "t1_a", "bob", t=t + 20, subreddit="reddit.com"),
            com("c", "s2", "t3_s2", "alice", t=t + 10, subreddit="reddit.com"),
            com("d", "s2", "t1_c", "bob", t=t + 20, subreddit="reddit.com")]
    raw = tmp_path / "raw"
    raw.mkdir()
    write_zst(raw / "RS_2008-01.zst", ndjson([old, link]))
    write_zst(raw / "RC_2008-01.zst", ndjson(coms))
    pairs, _ = pull_pairs("dumps", tmp_path, ["reddit.com"], ["2008-01"], dumps_folder=raw)
    assert list(zip(pairs["submission_id"], pairs["comment_id"], pairs["reply_id"])) == [("s1", "a", "b")]
    assert pairs["subreddit"].tolist() == ["reddit.com"]


def test_is_self_is_inferred_only_when_missing():
    drops = Counter()
    assert dumps.normalize_row({"id": "x", "subreddit": "a", "created_utc": 1, "selftext": "", "url": "http://i.imgur.com/x.jpg"},
                               "submissions", drops)["is_self"] is False
    assert dumps.normalize_row({"id": "x", "subreddit": "a", "created_utc": 1, "selftext": "hi"}, "submissions", drops)["is_self"] is True
    assert dumps.normalize_row({"id": "x", "subreddit": "a", "created_utc": 1, "selftext": "", "is_self": True},
                               "submissions", drops)["is_self"] is True


# the original's top-level-only rule, a parameter
def test_top_level_only_keeps_only_comments_on_the_post():
    subs = pd.DataFrame([sub(1)])
    coms = pd.DataFrame([com("a", "s1", "t3_s1", "alice"), com("b", "s1", "t1_a", "bob"),
                         com("e", "s1", "t1_b", "carol")])  # a reply to a reply
    assert join_pairs(subs, coms, ["cooking"], top_level_only=False)["reply_id"].tolist() == ["b", "e"]
    assert join_pairs(subs, coms, ["cooking"], top_level_only=True)["reply_id"].tolist() == ["b"]


# 1/6. one subreddit written twice in other cases or forms ("Cooking", "/r/cooking") is pulled once
def test_a_subreddit_named_twice_in_other_cases_is_pulled_once(tmp_path):
    from arctic_shift_standin import ArcticShiftStandIn
    from test_arctic_shift import fast_api, sample_records

    plain, report = pull_pairs("sample", tmp_path, ["cooking"], MONTHS)
    messy, report = pull_pairs("sample", tmp_path, ["Cooking", "/r/cooking", " R/COOKING "], MONTHS)
    assert report["subreddits"] == ["Cooking"]
    pd.testing.assert_frame_equal(plain, messy)
    with ArcticShiftStandIn(*sample_records()) as api:
        _, report = pull_pairs("arctic_shift", tmp_path / "a", ["Cooking", "cooking"], ["2019-01"],
                              progress=False, arctic_api=fast_api(api.url))
    assert [f["subreddit"] for f in report["fetched"]] == ["Cooking"]


# "All sources give the same pairs on the same data", with messy real-shaped records of our own
@pytest.mark.parametrize("top_level_only", [True, False])
def test_messy_data_gives_the_same_pairs_from_every_source(tmp_path, top_level_only):
    from arctic_shift_standin import ArcticShiftStandIn
    from test_arctic_shift import fast_api

    old = 1199145600  # 2008-01, the main subreddit; posts without is_self
    subs = [sub(1, subreddit="Cooking"), sub(2, t=FEB - 1, selftext=""), sub(3, is_self=False, selftext=""),
            sub(4, t=JAN, score=None),
            dict(id="o1", title="what do you cook?", selftext="", author="op", subreddit="reddit.com", created_utc=old + 5,
                 score=5, domain="self.reddit.com", url="http://www.reddit.com/r/reddit.com/comments/o1/what/"),
            dict(id="o2", title="a link", selftext="", author="op", subreddit="reddit.com", created_utc=old + 5, score=5,
                 domain="example.com", url="http://example.com/")]
    coms = [com("a", "s1", "t3_s1", "alice", subreddit="Cooking"), com("b", "s1", "t1_a", "bob", subreddit="COOKING"),
            com("c", "s1", "t1_b", "carol"), com("d", "s1", "t1_c", "dave", score=None),
            com("e", "s2", "t3_s2", "erin", t=FEB - 1), com("f", "s2", "t1_e", "frank", t=FEB),  # reply next month
            com("g", "s3", "t3_s3", "gina"), com("h", "s3", "t1_g", "hal"),  # under a link post
            com("i", "s4", "t3_s4", "ivy", t=JAN), com("j", "s4", "t1_i", "op"), com("k", "s4", "t1_i", "[deleted]"),
            com("l", "s4", "t1_i", "liz", body="[removed]"), com("m", "s4", "t1_i", "max", t=JAN + 2, body="second"),
            com("n", "o1", "t3_o1", "nat", t=old + 10, subreddit="reddit.com"),
            com("p", "o1", "t1_n", "pam", t=old + 20, subreddit="reddit.com"),
            com("q", "o2", "t3_o2", "quin", t=old + 10, subreddit="reddit.com"),
            com("r", "o2", "t1_q", "rob", t=old + 20, subreddit="reddit.com")]
    names, months = ["r/Cooking", " reddit.com "], ["2019-01", "2008-01", "2019-02"]
    month = lambda r: pd.Timestamp(int(r["created_utc"]), unit="s").strftime("%Y-%m")  # noqa: E731
    raw = tmp_path / "raw"
    raw.mkdir()
    for m in ("2008-01", "2019-01", "2019-02"):
        write_zst(raw / f"RS_{m}.zst", ndjson([dict(r, created_utc=str(r["created_utc"])) for r in subs if month(r) == m]))
        write_zst(raw / f"RC_{m}.zst", ndjson([r for r in coms if month(r) == m]))
    results = {"dumps": pull_pairs("dumps", tmp_path / "d", names, months, dumps_folder=raw,
                                  top_level_only=top_level_only)[0]}
    tables = {}
    for rows, name in ((subs, "posts"), (coms, "comments")):
        df = pd.DataFrame(rows).assign(score=lambda d: d["score"].astype("Int64"))
        for m in ("2008-01", "2019-01", "2019-02"):
            tables[f"p.reddit_{name}.{m.replace('-', '_')}"] = df[df.apply(month, axis=1) == m]
    with BigQueryStandIn(tables, project="p") as standin:
        results["bigquery"] = pull_pairs("bigquery", tmp_path / "b", names, months,
                                        comments_table="p.reddit_comments.{ym}", posts_table="p.reddit_posts.{ym}",
                                        bigquery_client=standin.client(), top_level_only=top_level_only)[0]
    with ArcticShiftStandIn(subs, coms) as api:
        results["arctic_shift"] = pull_pairs("arctic_shift", tmp_path / "a", names, months,
                                            arctic_api=fast_api(api.url), top_level_only=top_level_only)[0]
    key = ["comment_id", "reply_id"]
    expected = [("a", "b"), ("i", "k"), ("i", "l"), ("i", "m"), ("n", "p")]  # cleaning (deleted, removed) comes later
    expected += [] if top_level_only else [("b", "c"), ("c", "d")]
    for source, pairs in results.items():
        assert sorted(map(tuple, pairs[key].to_numpy())) == sorted(expected), source
        pd.testing.assert_frame_equal(pairs.drop(columns=["subreddit"]), results["dumps"].drop(columns=["subreddit"]),
                                      check_dtype=False, obj=source)
