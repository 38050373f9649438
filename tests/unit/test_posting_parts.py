"""The parts of a posting run used on their own: the start-of-run recovery (our duplicates deleted,
unresolved entries settled, every write through `posting.move`), the gate (STOP, the lease, a short
RATELIMIT waited out) and the review's explicit model-id names."""
import random

import pandas as pd
import praw
import pytest
from reddit_standin import ratelimit_message

from helpers.live import posting, review, sender
from helpers.live.lease import Lease
from helpers.live.ledger import Ledger
from helpers.live.posting_config import Effects, PostingConfig
from helpers.live.posting_gate import Gate
from helpers.live.posting_recovery import Recovery


class Account:
    """Reddit for the start of a run: our comments; `delete` removes one."""

    live = True

    def __init__(self, comments):
        self.comments, self.deleted = comments, []

    def me(self):
        return "bot"

    def all_comments(self, me):
        return list(self.comments)

    def replies_of(self, me, key):
        return [c for c in self.comments if c["parent_id"] == f"t1_{key}" and c["comment_id"] not in self.deleted]

    def delete(self, reply_id):
        self.deleted.append(reply_id)


def test_recovery_deletes_our_later_duplicate_and_settles_the_unresolved(tmp_path):
    ledger = Ledger(tmp_path / "posted.jsonl")
    posting.move(ledger, "c1", "posting", None, submission_id="p1", subreddit="pics")  # a crash after this
    posting.move(ledger, "c2", "posting", None, submission_id="p2", subreddit="pics")  # never reached Reddit
    posting.move(ledger, "c3", "posting", None, submission_id="p3", subreddit="pics")  # reached it, then a crash
    account = Account([
        {"comment_id": "r9", "parent_id": "t1_c1", "submission_id": "p1", "created_utc": 20.0},
        {"comment_id": "r1", "parent_id": "t1_c1", "submission_id": "p1", "created_utc": 10.0},
        {"comment_id": "r3", "parent_id": "t1_c3", "submission_id": "p3", "created_utc": 30.0},
        {"comment_id": "r5", "parent_id": "t1_other", "submission_id": "p5", "created_utc": 5.0},  # not the bot's
    ])
    writes, lines = [], []

    def record(key, rec, current, base):
        writes.append((key, current, rec.state))
        posting.move(ledger, key, rec.state, current, **rec.fields, **base)

    start = Recovery(ledger, account, posting.TRANSITIONS, record, lines.append).start({"c4"})

    assert account.deleted == ["r9"]  # the oldest reply of ours stays; the person's own comment is untouched
    assert (start.me, dict(start.our_replies), start.recovered) == ("bot", {"c1": "r1", "c3": "r3", "other": "r5"}, 1)
    assert start.threads == {"p1", "p3", "p5"}
    # c1 is settled by the duplicate's deletion, then c2 and c3 against Reddit
    assert writes == [("c1", "posting", "posted"), ("c2", "posting", "failed"), ("c3", "posting", "posted")]
    merged = ledger.merged()
    assert (merged["c1"]["reply_id"], merged["c1"]["deleted_duplicate"]) == ("r1", "r9")
    assert (merged["c2"]["state"], merged["c2"]["retry"]) == ("failed", True)
    assert (merged["c3"]["reply_id"], merged["c3"]["recovered"]) == ("r3", True)
    assert any("comment c3 was posted before the interruption" in line for line in lines)


class Sender:
    """Answers each send from `answers` in turn."""

    def __init__(self, answers):
        self.answers, self.sent = list(answers), 0

    def send(self, key, text):
        self.sent += 1
        return self.answers.pop(0)


def gate(tmp_path, sleeps, **settings):
    lease = Lease(tmp_path / "lease.json", settle=0, sleep=lambda s: None)
    lease.acquire()
    fx = Effects(sleep=sleeps.append, rng=random.Random(0), log=lambda *a: None)
    cfg = PostingConfig(dry_run=False, lease_settle=0, **settings)
    return Gate(lease, tmp_path / "STOP", cfg, fx)


def test_the_gate_waits_out_a_short_ratelimit_then_sends_again(tmp_path):
    sleeps = []
    limit = sender.classify(praw.exceptions.RedditAPIException([["RATELIMIT", ratelimit_message(120), "ratelimit"]]))
    reddit = Sender([limit, sender.Sent("r1")])
    result, stop = gate(tmp_path, sleeps).send_patiently(reddit, "c1", "hello")
    assert (result, stop, reddit.sent, sleeps) == (sender.Sent("r1"), None, 2, [120.0])


def test_the_gate_stops_on_a_stop_file_made_during_the_wait(tmp_path):
    sleeps = []
    g = gate(tmp_path, sleeps)
    ledger = Ledger(tmp_path / "posted.jsonl")
    assert g.pause(ledger.view(), 0) is None and sleeps == []  # a run's first post, no recent post: no pause
    g.fx = Effects(sleep=lambda s: (tmp_path / "STOP.txt").write_text(""), rng=random.Random(0), log=lambda *a: None)
    assert "STOP.txt file on Drive" in g.pause(ledger.view(), 1)


def test_proposals_name_the_model_ids_they_carry():
    scored = pd.DataFrame([{"subreddit": "pics", "submission_id": "p1", "title": "t", "comment_id": "c1", "comment": "c",
                            "candidate": "a reply", "prob_real": 0.95, "expected_rating_bin": 1.5}])
    selected = review.select_replies(scored, min_prob_real=0.9, max_chars=100)
    table = review.proposals(selected, gpt2_run="run1@x")
    assert (table.loc[0, "gpt2_run"], table.loc[0, "approved"]) == ("run1@x", "no")
    with pytest.raises(TypeError):
        review.proposals(selected, gpt2run="run1@x")  # a misspelt name is an error, not a silent column
