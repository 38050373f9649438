"""Notebooks 06 and 07 run headless with papermill against the stand-in Reddit, with the secrets
in the environment: a dry run posts nothing, a person's approval in review.csv decides what is
posted, each reply exactly once, and no executed notebook, summary or ledger contains a secret.
(The offline tiny run of both notebooks is nbval's, in `make test`.)"""
import json
from pathlib import Path

import pandas as pd
import pytest
from reddit_standin import StandIn, demo_state, use_standin

from helpers.live import posting

from helpers.live import review as review_file
from tiny_series import drive_after_01_to_05

from helpers.core import runner
from helpers.core.paths import Paths

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
DATE = "2030-01-02"


RUN_NAME = "run1"  # notebook 06's default RUN_NAME


def has_models(root: Path) -> bool:
    paths = Paths(root)
    return ((paths.file("gpt2_run", run=RUN_NAME) / "checkpoint").is_file()
            and all((paths.file(key) / "saved_model.pb").is_file() for key in ("bert_realism", "bert_upvotes")))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A Drive folder holding what 06 and 07 read: the session's, when `make test` has already run
    notebooks 01-05 there (conftest orders this file last), else notebooks 01-05 run here on tiny."""
    return drive_after_01_to_05(tmp_path_factory, "live-models", has_models)


@pytest.fixture
def live_drive(models, tmp_path, monkeypatch):
    """A fresh Drive folder sharing the models (and prepared files) of `models`."""
    root = tmp_path / "drive"
    root.mkdir()
    for entry in ("models", "prepared"):
        (root / entry).symlink_to(models / entry)
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(root))
    monkeypatch.setenv("BOT_PROFILE", "tiny")
    return root


def execute(name: str, root: Path, **parameters) -> dict:
    """Run one notebook with papermill; returns its summary (fails the test with the cell's error)."""
    lines = []
    code = runner.run([NOTEBOOKS / f"{name}.ipynb"], "tiny", root, {"RUN_DATE": DATE, **parameters}, log=lines.append)
    assert code == 0, "\n".join(lines)
    return json.loads(Paths(root).file("summary", notebook=name).read_text())


def executed_text(root: Path) -> str:
    """Everything the runs left on Drive as text: executed notebooks, summaries, ledger, run files."""
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".json", ".jsonl", ".csv")
             and "models" not in p.parts and "prepared" not in p.parts]
    return "\n".join(p.read_text(errors="replace") for p in files)


def test_live_run_against_the_standin_posts_only_approved_replies_once(live_drive, monkeypatch, tmp_path):
    drive = live_drive
    with StandIn(demo_state()) as server:
        use_standin(monkeypatch, tmp_path / "config", server)
        st = server.state
        s6 = execute("06_generate_candidates", drive, SOURCE="reddit", SUBREDDITS="AskReddit, todayilearned")
        assert s6["source"] == "reddit" and s6["counts"]["posts"] == 4
        assert s6["metrics"]["untrained_subreddits"] == 2  # 01 learned from other subreddits: 06 warned
        cands = pd.read_csv(Paths(drive).file("candidates", date=DATE))
        assert set(cands["comment_id"]) == {"c1", "c2", "c7", "c8"}  # every skip rule applied live
        dry = execute("07_score_review_post", drive, MIN_PROB_REAL=0.0, APPROVE_ALL=True)
        assert st.posted == [] and ("POST", "/api/comment") not in st.requests  # dry run by default
        assert dry["dry_run"] is True and dry["counts"]["post: dry run"] == dry["counts"]["proposed"] >= 1
        review = review_file.read_review(Paths(drive), DATE)
        assert set(review["submission_id"]) <= {"p1", "p3"} and len(review) >= 1
        review.loc[0, "approved"] = "yes"
        review.to_csv(Paths(drive).file("review", date=DATE), index=False)  # a person approves one reply
        live = dict(MIN_PROB_REAL=0.0, PAUSE_MINUTES_MIN=0.0, PAUSE_MINUTES_MAX=0.0, DRY_RUN=False)
        s7 = execute("07_score_review_post", drive, **live)
        assert s7["counts"]["post: posted"] == 1
        assert [p["parent_id"] for p in st.posted] == [review.loc[0, "comment_id"]]
        assert st.posted[0]["text"].startswith(review.loc[0, "reply"]) and "I am a bot" in st.posted[0]["text"]
        again = execute("07_score_review_post", drive, **live)
        assert again["counts"]["post: already posted"] == 1 and len(st.posted) == 1
        # a person types a row in by hand (a thread we answered, unknown to the ledger), approves the rest, then STOP
        review = review_file.read_review(Paths(drive), DATE).assign(approved="yes")
        hand = review.iloc[[0]].assign(submission_id="p4", comment_id="c9", comment="Some comment we answered.",
                                       reply="typed in by hand")
        pd.concat([review, hand], ignore_index=True).to_csv(Paths(drive).file("review", date=DATE), index=False)
        stopped = execute("07_score_review_post", drive, **live, STOP=True)
        assert stopped["counts"]["post: not proposed"] == 1 and len(st.posted) == 1
        assert stopped["counts"].get("post: queued", 0) == len(review) - 1
        text = executed_text(drive)
        assert "POSTING approved replies" in text
        for secret in (st.client_id, st.client_secret, st.username, st.password):
            assert secret not in text
