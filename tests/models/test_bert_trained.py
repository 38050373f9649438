"""04/05 train again only when something training depends on changed, or when asked (RETRAIN):
the fingerprint, the decision, the record written inside the export, and loading the export back."""
import json
import types

import numpy as np
import pandas as pd
import pytest

import helpers  # noqa: F401 - sets TF_USE_LEGACY_KERAS before TensorFlow loads
from helpers.bert import classifier as bc
from helpers.bert import trained
from helpers.bert.config import TrainingConfig


def facts(rows: int = 6, **settings):
    features = {name: np.arange(rows * 4, dtype=np.int32).reshape(rows, 4) for name in bc.INPUT_NAMES}
    model = types.SimpleNamespace(weights=[np.zeros((8, 2)), np.zeros(2)])
    return (features, np.arange(rows) % 2), TrainingConfig.for_profile("colab", **settings), model


def print_of(rows: int = 6, seed: int = 0, **settings) -> dict:
    data, config, model = facts(rows, **settings)
    return trained.fingerprint(data, config, seed, model)


def record_of(fingerprint: dict) -> dict:
    history = types.SimpleNamespace(epoch=[0, 1, 2], history={"loss": [0.6, 0.5, 0.4]}, class_weight={0: 1.5, 1: 0.75})
    return trained.record(fingerprint, history, {"bert_real": {"run_id": "20261206T010203Z-abcdef"}},
                          finished="2026-12-06 01:30 UTC")


def test_the_fingerprint_covers_what_training_depends_on_and_nothing_else():
    base = print_of()
    assert base == json.loads(json.dumps(base))  # compares equal to the record read back
    assert print_of(threshold=0.9) == base and print_of(retrain=True) == base  # evaluation only, and the switch itself
    for other in (print_of(rows=7), print_of(seed=1), print_of(epochs=4), print_of(dropout=0.2),
                  print_of(encoder="small_bert/bert_en_uncased_L-2_H-128_A-2"), print_of(max_seq_length=64),
                  print_of(balance_classes=False), print_of(test_fraction=0.3)):
        assert other != base and trained.key(other) != trained.key(base)
    data, config, _ = facts()
    wider = types.SimpleNamespace(weights=[np.zeros((8, 3)), np.zeros(3)])
    assert trained.fingerprint(data, config, 0, wider) != base  # another classifier shape
    relabelled = (data[0], 1 - data[1])
    assert trained.fingerprint(relabelled, config, 0, facts()[2])["data"] != base["data"]


def test_the_decision_is_a_plain_function_of_the_export_the_fingerprint_and_retrain():
    now = print_of()
    none = trained.Found(None, 0)
    assert trained.decide(none, now, False, "models/bert_realism/") == trained.Decision(
        True, "No exported classifier at models/bert_realism/ yet: training.")
    unrecorded = trained.decide(trained.Found(None, 438_000_000), now, False, "models/bert_realism/")
    assert unrecorded.train and "no record of what it was trained on" in unrecorded.says and "438.0 MB" in unrecorded.says

    same = trained.decide(trained.Found(record_of(now), 438_000_000), now, False, "models/bert_realism/")
    assert not same.train
    assert same.says.startswith("models/bert_realism/ is already trained on this data with these settings "
                                "(prepared set run 20261206T010203Z-abcdef, finished 2026-12-06 01:30 UTC)")
    assert "Set RETRAIN=True to train again" in same.says and "438.0 MB to Drive's Trash" in same.says
    assert "Drive plan: nothing to write" in same.says

    left = trained.decide(trained.Found(record_of(now), 438_000_000, backup=438_000_000), now, False, "x")
    assert not left.train and "did not finish left a backup on Drive (438.0 MB): RETRAIN=True resumes it" in left.says

    asked = trained.decide(trained.Found(record_of(now), 438_000_000), now, True, "models/bert_realism/")
    assert asked.train and asked.says.startswith("RETRAIN=True: training again")

    for before, why in ((print_of(epochs=4), "other settings (EPOCHS 4 -> 3)"),
                        (print_of(rows=9), "other training rows (9 then, 6 now)"),
                        (print_of(seed=3), "another SEED (3 then, 0 now)")):
        changed = trained.decide(trained.Found(record_of(before), 438_000_000), now, False, "models/bert_realism/")
        assert changed.train and why in changed.says, changed.says
    older = {**now, "scheme": 0}
    assert trained.decide(trained.Found(record_of(older), 1), now, False, "x").train


def test_look_reads_the_export_and_its_record_and_tells_a_missing_or_unreadable_one(tmp_path):
    assert trained.look(tmp_path / "none") == trained.Found(None, 0)
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "weights.npz").write_bytes(b"w" * 7)
    assert trained.look(tmp_path / "none", tmp_path / "backup") == trained.Found(None, 0, 7)
    export = tmp_path / "bert_realism"
    (export / "variables").mkdir(parents=True)
    (export / "saved_model.pb").write_bytes(b"x" * 10)
    (export / "variables" / "v").write_bytes(b"x" * 90)
    assert trained.look(export) == trained.Found(None, 100)
    (export / trained.RECORD).write_text("{half a rec", encoding="utf-8")  # by hand, or cut short: not trusted
    assert trained.look(export).record is None
    trained.write(export, record_of(print_of()))
    found = trained.look(export)
    assert found.record["fingerprint"] == print_of() and found.bytes > 100


def test_an_export_trained_here_is_loaded_back_with_its_history_instead_of_training_again(tmp_path):
    """A tiny classifier trained and exported with its record; a fresh model built as the notebook
    builds it: the decision is to load, and the loaded model scores as the trained one did and shows
    the same loss history and class weights."""
    from test_bert_classifier import config, synthetic_pairs

    from helpers.models import tiny_bert

    df = synthetic_pairs(90)
    encoder_dir = tiny_bert.build(tmp_path / "encoder", pd.concat([df.comment, df.reply]), seed=0)
    encoder, vocab, lower = bc.load_encoder(str(encoder_dir))
    tokenizer = bc.PairTokenizer(vocab, lower, max_seq_length=32)
    data = (tokenizer.encode(df.comment, df.reply), df.label)
    settings = config(epochs=2)
    model = bc.build_classifier(encoder, 2, dropout=0.1, seed=0)
    now = trained.fingerprint(data, settings, 0, model)
    export = tmp_path / "drive" / "bert_realism"
    assert trained.decide(trained.look(export), now, False, "bert_realism").train
    history = bc.train(model, data, settings, seed=0)
    bc.export(model, tokenizer, bc.REALISM_LABELS, export, record=trained.record(now, history, {}))
    proba = bc.predict_proba(model, data[0])

    again = bc.build_classifier(bc.load_encoder(str(encoder_dir))[0], 2, dropout=0.1, seed=0)
    now_again = trained.fingerprint(data, settings, 0, again)
    decision = trained.decide(trained.look(export), now_again, False, "bert_realism")
    assert now_again == now and not decision.train, decision.says
    loaded = trained.load(again, export)
    np.testing.assert_allclose(bc.predict_proba(again, data[0]), proba, atol=1e-5)
    assert loaded.epoch == [0, 1] and loaded.history["loss"] == pytest.approx(history.history["loss"])
    assert loaded.class_weight == history.class_weight and loaded.model is again
    assert trained.decide(trained.look(export), now_again, True, "bert_realism").train  # RETRAIN=True
