import pandas as pd
import pytest

from helpers.core import reddit_terms
from helpers.sources import prepare
from helpers.core.exchange import read_table
from helpers.sources.pairs import PAIR_COLUMNS, join_pairs
from helpers.core.paths import Paths


def pair(i, comment="what temperature for bread?", reply="about 230C works well", **over):
    row = dict(month="2019-01", subreddit="cooking", submission_id=f"s{i % 3}", submission_title="t",
               submission_text="x", submission_author="op", submission_score=5, comment_id=f"c{i}",
               comment=comment, comment_author="alice", comment_score=4, reply_id=f"r{i}", reply=reply,
               reply_author="bob", reply_score=3, reply_created_utc=1546300800 + i)
    row.update(over)
    return row


def test_clean_text_undoes_entities_and_zero_width():
    assert prepare.clean_text("a &amp;amp; b &gt; c&amp;#x200B;\u200b  d\n\n\n\ne ") == "a & b > c d\n\ne"
    assert prepare.clean_text(None) == "" and prepare.clean_text(float("nan")) == ""


def test_every_drop_reason_is_counted_once():
    rows = [
        pair(0),
        pair(1, comment="[deleted]"),
        pair(2, reply="[removed]", reply_author="AutoModerator"),  # first reason wins
        pair(3, reply_author="AutoModerator"),
        pair(4, reply_score=None),
        pair(5, reply="   &amp;#x200B; "),
        pair(6, reply="a [SEP] b"),
        pair(7, reply="x" * 3000),
        pair(8),  # duplicate of row 0's text
        pair(9, comment="emoji 😀 fine", reply="yes 👍"),
    ]
    clean, drops = prepare.clean_pairs(pd.DataFrame(rows), max_chars=2000)
    assert dict(drops) == {"deleted_or_removed": 2, "bot_author": 1, "null_score": 1, "empty": 1,
                           "sep_marker": 1, "too_long": 1, "duplicate": 1}
    assert clean["comment_id"].tolist() == ["c0", "c9"]
    assert sum(drops.values()) + len(clean) == len(rows)


def test_rating_bins_as_the_original_and_configurable():
    scores = pd.Series([-4, 0, 1, 2, 4, 5, 900])
    assert reddit_terms.rating(scores).tolist() == [0, 0, 1, 2, 2, 3, 3]
    assert reddit_terms.rating(scores, edges=(1, 10)).tolist() == [0, 0, 1, 1, 1, 1, 2]
    with pytest.raises(ValueError, match="increase strictly"):
        reddit_terms.rating(scores, edges=(5, 1))


def test_prepared_files_round_trip_with_thread_ids(tmp_path):
    clean, _ = prepare.clean_pairs(pd.DataFrame([pair(i, comment=f"comment {i // 2}", reply=f"reply {i}",
                                                      comment_id=f"c{i // 2}") for i in range(6)]))
    tables = prepare.prepared_tables(clean)
    rows = prepare.write_prepared(tables, Paths(tmp_path))
    assert rows == {"gpt2_finetune": 6, "gpt2_generate": 3, "bert_real": 6}
    finetune = read_table(Paths(tmp_path), "gpt2_finetune")
    assert finetune.columns[0] == "text"  # gpt-2-simple reads the first column
    assert finetune["text"][0] == "comment 0 [SEP] reply 0"
    real = read_table(Paths(tmp_path), "bert_real")
    assert set(real["real"]) == {1} and real["rating"].tolist() == [2] * 6
    assert read_table(Paths(tmp_path), "gpt2_generate")["comment_id"].is_unique


def test_join_pairs_rules():
    subs = pd.DataFrame([
        dict(id="s1", title="T", selftext="body", author="op", subreddit="Cooking", created_utc=1546300800, score=1, is_self=True),
        dict(id="s2", title="link", selftext="", author="op", subreddit="cooking", created_utc=1546300800, score=1, is_self=False),
        dict(id="s3", title="other", selftext="b", author="op", subreddit="gaming", created_utc=1546300800, score=1, is_self=True),
    ])
    c = lambda i, link, parent, author, t=1546300900: dict(id=i, link_id=f"t3_{link}", parent_id=parent, author=author,
                                                          body=f"body {i}", score=2, created_utc=t, subreddit="cooking" if link != "s3" else "gaming")
    comments = pd.DataFrame([
        c("a", "s1", "t3_s1", "alice"), c("b", "s1", "t1_a", "bob"),  # a pair
        c("c", "s1", "t1_a", "alice"),  # reply by the comment's author: no
        c("d", "s1", "t1_a", "op"),  # reply by the submission's author: no
        c("e", "s1", "t1_b", "carol"),  # reply to a reply: pair (b, e)
        c("f", "s2", "t3_s2", "alice"), c("g", "s2", "t1_f", "bob"),  # link post: no
        c("h", "s3", "t3_s3", "alice"), c("i", "s3", "t1_h", "bob"),  # other subreddit: no
        c("j", "s1", "t1_a", "dan", t=1549000000),  # next month: no
    ])
    pairs = join_pairs(subs, comments, ["cooking"])
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    assert list(zip(pairs["comment_id"], pairs["reply_id"])) == [("a", "b"), ("b", "e")]
    assert set(pairs["month"]) == {"2019-01"}
