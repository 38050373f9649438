"""07 then 08 on one ledger: what the real posting loop writes is what notebook 08 reads back
(real praw against the stand-in), including a post recovered after a 500 that hid a success."""
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from reddit_standin import live, server  # noqa: F401 (fixtures)

from helpers.live import posting, reddit
from helpers.live.feedback import fetch, from_ledger, training

FOOTER = "\n\n(bot reply, reviewed by a person)"


def review_rows(st):
    rows = []
    for i, p3 in ((1, 0.7), (2, 0.1)):
        st.add_post("cooking", f"p{i}", f"post {i}", 10)
        st.add_comment(f"p{i}", f"c{i}", f"comment {i}", score=10)
        rows.append({"subreddit": "cooking", "submission_id": f"p{i}", "title": f"post {i}", "comment_id": f"c{i}",
                     "comment": f"comment {i}", "reply": f"reply to {i}", "prob_real": 0.93 + i / 100,
                     "expected_rating_bin": 1.5 + i, "approved": "yes", "p0": 0.1, "p1": 0.1, "p2": 0.8 - p3,
                     "p3": p3, "realism_model": "realism@a", "upvotes_model": "upvotes@b", "gpt2_run": "run1"})
    return pd.DataFrame(rows)


def post(rv, ledger, client):
    config = posting.PostingConfig(dry_run=False, pause_minutes_min=0, pause_minutes_max=0, footer=FOOTER, lease_settle=0)
    return posting.post_approved(rv, ledger, client, config, proposals=rv,
                                 effects=posting.Effects(sleep=lambda s: None, log=lambda *a: None))


def test_feedback_reads_back_what_posting_wrote(live, tmp_path):
    st = live.state
    rv = review_rows(st)
    ledger = posting.Ledger(tmp_path / "posted.jsonl")
    st.fail("/api/comment", "500_after")  # the first reply is made, then Reddit answers 500
    post(rv, ledger, reddit.connect())
    result = post(rv, ledger, reddit.connect())  # the next run settles it from Reddit, posts nothing twice
    assert len(st.posted) == 2, result.table()
    posted = from_ledger.posted_replies(from_ledger.read_ledger(ledger.path))
    assert sorted(posted["key"]) == ["c1", "c2"]
    by_key = posted.set_index("key")
    for row in rv.itertuples():
        got = by_key.loc[row.comment_id]
        assert got["prob_real"] == pytest.approx(row.prob_real) and got["p3"] == pytest.approx(row.p3)
        assert got["expected_rating_bin"] == pytest.approx(row.expected_rating_bin)
        assert (got["realism_model"], got["upvotes_model"], got["gpt2_run"]) == ("realism@a", "upvotes@b", "run1")
        assert got["reply"] == row.reply and got["text"] == row.reply + FOOTER  # any footer the person chose
    reply_ids = {p["parent_id"]: p["id"] for p in st.posted}
    assert by_key.loc["c1", "reply_id"] == reply_ids["c1"]
    st.comments[reply_ids["c1"]]["score"] = 12  # how Reddit voted since
    later = datetime.now(timezone.utc) + timedelta(hours=49)
    fetched = fetch.fetch_replies(reddit.connect(), from_ledger.due(posted, later), now=later, progress=False)
    assert fetched.set_index("key").loc["c1", "score"] == 12 and set(fetched["status"]) == {"ok"}
    table = posted.merge(fetched[["key", "status", "score"]], on="key")
    rows, _ = training.training_rows(table)
    assert sorted(rows["reply"]) == ["reply to 1", "reply to 2"]  # what GPT-2 wrote, no footer
