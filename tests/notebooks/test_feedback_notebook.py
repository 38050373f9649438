"""Notebook 08 run headless with papermill against the stand-in Reddit: a real ledger on Drive, the
secrets in the environment. Reruns append to the feedback table; nothing it writes holds a secret."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from reddit_standin import StandIn, State, use_standin
from test_feedback import iso, posting_pair, write_ledger

from helpers.core import runner
from helpers.core.paths import Paths

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_feedback.ipynb"
POSTED = datetime(2030, 1, 7, 12, 0, tzinfo=timezone.utc)


def run_08(root: Path, **parameters) -> dict:
    lines = []
    code = runner.run([NOTEBOOK], "tiny", root, parameters, log=lines.append)
    assert code == 0, "\n".join(lines)
    return json.loads(Paths(root).file("summary", notebook="08_feedback").read_text())


def test_08_fetches_the_ledgers_replies_and_a_rerun_appends(drive, monkeypatch, tmp_path):
    st = State(client_id="cid-08a1", client_secret="csecret-08b2", username="acct-08c3", password="pw-08d4")
    st.add_post("cooking", "s1", "spices")
    st.add_comment("s1", "k1", "Which spice?", score=20)
    st.add_comment("s1", "r1", "Smoked paprika.", author=st.username, score=7, parent="k1")
    st.add_comment("s1", "h1", "Cumin.", author="human_a", score=3, parent="k1")
    st.add_post("cooking", "s2", "rice")
    st.add_comment("s2", "k2", "Sticky rice?", score=9)
    st.add_comment("s2", "r2", "Rinse it first.", author=st.username, score=2, parent="k2", removed=True)
    st.author_sees_removed = True
    st.add_post("cooking", "s3", "too young to judge")
    st.add_comment("s3", "k3", "Fresh comment", score=9)
    st.add_comment("s3", "r3", "Fresh reply", author=st.username, score=1, parent="k3")
    now = POSTED + timedelta(hours=72)
    entries = (posting_pair("k1", "r1", "s1", hours_ago=0, p=(0.1, 0.1, 0.2, 0.6), text="Smoked paprika.")
               + posting_pair("k2", "r2", "s2", hours_ago=0, p=(0.2, 0.5, 0.2, 0.1))
               + posting_pair("k3", "r3", "s3", hours_ago=0, text="Fresh reply"))
    for e in entries:  # posting times relative to POSTED; r3 two days later
        shift = timedelta(hours=60) if e["key"] == "k3" else timedelta(0)
        e["at"] = iso(POSTED + shift + (pd.Timestamp(e["at"]) - pd.Timestamp("2030-01-10T12:00:00Z")))
    write_ledger(Paths(drive).file("ledger") / "posted-20300110T120000-colab-a1b2c3.jsonl", entries)  # one run's file
    with StandIn(st) as server:
        use_standin(monkeypatch, tmp_path / "config", server)
        first = run_08(drive, SOURCE="reddit", FETCH_TIME=iso(now))
        assert first["counts"]["posted"] == 3 and first["counts"]["to_fetch"] == 2  # r3 is 12 hours old
        assert first["metrics"]["removed"] == 1 and first["metrics"]["on_reddit"] == 1
        assert first["counts"]["training_rows"] == 1
        st.comments["r1"]["score"] = 11
        again = run_08(drive, SOURCE="reddit", FETCH_TIME=iso(now + timedelta(days=2)))
    table = pd.read_csv(Paths(drive).file("feedback", source="reddit"), dtype={"reply_id": str})
    assert again["counts"]["rows_added"] == 3 and len(table) == 5  # 2 then 3 (r3 is old enough now)
    assert table[table.reply_id == "r1"]["score"].tolist() == [7, 11]
    fed = pd.read_csv(Paths(drive).file("bert_feedback", source="reddit"))
    assert fed["reply"].tolist() == ["Smoked paprika.", "Fresh reply"] and fed["reply_score"].tolist() == [11, 1]
    written = "\n".join(p.read_text(errors="replace") for p in drive.rglob("*") if p.is_file())
    for secret in (st.client_id, st.client_secret, st.password):
        assert secret not in written


def test_08_with_an_empty_ledger_connects_to_nothing(drive, monkeypatch):
    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME", "REDDIT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    summary = run_08(drive, SOURCE="reddit")
    assert summary["counts"]["posted"] == 0 and summary["counts"]["training_rows"] == 0
    assert summary["metrics"]["spearman_expected_vs_score"] is None


def test_05_adds_the_fed_back_rows_to_training_only(drive):
    """08 on the sample writes the fed-back pairs; 05 with ADD_FEEDBACK="sample" trains on them too,
    with the same held-out test threads as without the switch."""
    from helpers.bert import classifier as bc
    from helpers.core import exchange

    notebooks = NOTEBOOK.parent
    lines = []
    assert runner.run([notebooks / "01_pull_data.ipynb"], "tiny", drive, log=lines.append) == 0, lines
    s8 = run_08(drive, SOURCE="sample")
    fed = pd.read_csv(Paths(drive).file("bert_feedback", source="sample"))
    assert s8["counts"]["training_rows"] == len(fed) > 0 and not fed["reply"].str.contains("I am a bot").any()
    assert runner.run([notebooks / "05_bert_upvotes.ipynb"], "tiny", drive, {"ADD_FEEDBACK": "sample", "EPOCHS": 1},
                      log=lines.append) == 0, lines
    s5 = json.loads(Paths(drive).file("summary", notebook="05_bert_upvotes").read_text())
    pairs, _ = bc.drop_bad_pairs(exchange.read_table(Paths(drive), "bert_real"))
    train, test = bc.split_by_thread(pairs.assign(label=pairs.rating), 0.2, seed=s5["settings"]["seed"])
    assert s5["counts"]["feedback_rows"] == len(fed) and s5["add_feedback"] == "sample"
    assert s5["counts"]["test_rows"] == len(test) and s5["counts"]["train_rows"] == len(train) + len(fed)


def test_08_on_the_sample_shows_its_plots_and_a_rerun_adds_nothing(drive):
    """What `make demo` runs: 08 on tiny reads the bundled sample (no Reddit, no ledger), shows the four
    panels in the executed copy, and a second run appends no row twice."""
    first = run_08(drive)
    executed = json.loads(Paths(drive).file("executed", notebook="08_feedback").read_text())
    images = [o for c in executed["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 1 and first["source"] == "sample"
    assert first["counts"]["rows_added"] == first["counts"]["table_rows"] > 0
    assert first["metrics"]["removed"] == 1 and first["metrics"]["author_suspended"] >= 1
    again = run_08(drive)
    assert again["counts"]["rows_added"] == 0 and again["counts"]["table_rows"] == first["counts"]["table_rows"]
