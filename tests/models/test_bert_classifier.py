"""BERT classifier wiring: pair tokenization, thread split, training, export and reload, bad rows."""
import json
import os
import subprocess
import sys
from pathlib import Path

import helpers  # noqa: F401 - sets TF_USE_LEGACY_KERAS before TensorFlow loads
import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "standins"))
from helpers.bert import classifier as bc
from helpers.bert.config import TrainingConfig
from helpers.core import settings
from helpers.models import tiny_bert
from helpers.core.paths import Paths

POSITIVE = "great thanks love agree awesome nice".split()
NEGATIVE = "terrible wrong hate disagree awful bad".split()
FILLER = "the a of and to it is that was this for you on with".split()


def config(epochs: int):
    """The training settings these tests use: 32 pairs per step, a learning rate for tiny models, no class weights."""
    return TrainingConfig.for_profile("tiny", epochs=epochs, batch_size=32, learning_rate=3e-3, balance_classes=False)


def synthetic_pairs(n: int, seed: int = 0) -> pd.DataFrame:
    """Replies carry a word from one of two sets: the label. Three replies per thread."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = [rng.choice(FILLER), rng.choice(POSITIVE if label else NEGATIVE)]
        rng.shuffle(words)
        rows.append(dict(submission_id=f"s{i // 3}", comment_id=f"c{i // 3}", label=label,
                         comment=" ".join(rng.choice(FILLER, 4)) + f" thread{i // 3}", reply=" ".join(words)))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny classifier trained on the synthetic task and exported."""
    root = tmp_path_factory.mktemp("clf")
    df = synthetic_pairs(1200)
    enc = tiny_bert.build(root / "encoder", pd.concat([df.comment, df.reply]), seed=0)
    encoder, vocab, lower = bc.load_encoder(str(enc))
    tokenizer = bc.PairTokenizer(vocab, lower, max_seq_length=32)
    train, test = bc.split_by_thread(df, 0.25, seed=0)
    model = bc.build_classifier(encoder, 2, dropout=0.0)
    # The tiny model sits on a plateau for 1-3 epochs, longer or shorter with the batch order: 6 epochs.
    history = bc.train(model, (tokenizer.encode(train.comment, train.reply), train.label), config(epochs=6))
    features = tokenizer.encode(test.comment, test.reply)
    proba = bc.predict_proba(model, features)
    path = bc.export(model, tokenizer, bc.REALISM_LABELS, root / "export")
    return dict(path=path, test=test, proba=proba, tokenizer=tokenizer, model=model, features=features,
                history=history.history, train_rows=len(train))


def test_classifier_learns_a_separable_synthetic_task(trained):
    metrics = bc.binary_metrics(trained["test"].label, trained["proba"][:, 1], threshold=0.5)
    assert metrics["roc_auc"] > 0.9, metrics
    assert metrics["balanced_accuracy"] > 0.8, metrics


def test_predict_proba_batches_by_length_and_keeps_the_rows_order(trained):
    import tensorflow as tf

    features, model = trained["features"], trained["model"]
    plain = tf.nn.softmax(model(features, training=False)).numpy()  # one batch, arrival order, all padded
    np.testing.assert_allclose(trained["proba"], plain, atol=1e-5)
    assert len(trained["history"]["loss"]) == 6


def test_training_batches_are_bucketed_by_length_and_shuffled_across_buckets():
    rng = np.random.default_rng(0)
    lengths = rng.integers(8, 128, size=1000)
    train_rng = np.random.default_rng(3)
    epochs = [bc.length_batches(lengths, 32, rng=train_rng, pool_batches=10) for _ in range(2)]
    for batches in epochs:
        assert len(batches) == 32  # ceil(1000 / 32): as many steps as without bucketing
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))  # each row once
        spread = np.mean([np.ptp(lengths[b]) for b in batches])
        random_spread = np.mean([np.ptp(lengths[b]) for b in np.array_split(rng.permutation(1000), 32)])
        assert spread < random_spread / 3  # rows of similar length together
        firsts = [lengths[b].min() for b in batches]
        assert firsts != sorted(firsts) and firsts != sorted(firsts, reverse=True)  # batches not in length order
    assert [b.tolist() for b in epochs[0]] != [b.tolist() for b in epochs[1]]  # a new draw each epoch
    sorted_batches = bc.length_batches(lengths, 32)  # inference: sorted, stable
    assert np.all(np.diff(lengths[np.concatenate(sorted_batches)]) >= 0)
    with pytest.raises(ValueError, match="batch_size"):
        bc.length_batches(lengths, 0)


def test_bucketed_dataset_pads_each_batch_to_its_longest_pair(tokenizer):
    comments = ["a", "the cat sat on the mat and then it went away", "b", "c d"]
    features = tokenizer.encode(comments, ["x"] * 4)
    lengths = bc.pair_lengths(features)
    got = list(bc.batched_dataset(features, np.arange(4), batch_size=2).as_numpy_iterator())
    assert [x["input_word_ids"].shape[1] for x, _ in got] == [sorted(lengths)[1], sorted(lengths)[3]]
    rows = np.concatenate([y for _, y in got])
    for (x, y) in got:
        for k, row in enumerate(y):
            width = lengths[row]
            assert x["input_word_ids"][k, :width].tolist() == features["input_word_ids"][row, :width].tolist()
    assert sorted(rows.tolist()) == [0, 1, 2, 3]


def test_export_reloads_in_a_fresh_process_with_the_same_scores(trained, tmp_path):
    test = trained["test"]
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps(dict(comments=test.comment.tolist(), replies=test.reply.tolist())))
    script = (
        "import json, sys, helpers\n"
        "from helpers.bert.classifier import Classifier\n"
        "rows = json.load(open(sys.argv[2]))\n"
        "c = Classifier(sys.argv[1])\n"
        "p = c.predict(rows['comments'], rows['replies'], batch_size=7)\n"
        "print(json.dumps(dict(labels=c.labels, max_len=c.tokenizer.max_seq_length, lower=c.tokenizer.do_lower_case, p=p.tolist())))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", script, str(trained["path"]), str(rows)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["labels"] == ["fake", "real"] and out["max_len"] == 32 and out["lower"] is True
    np.testing.assert_allclose(np.array(out["p"]), trained["proba"], atol=1e-5)


def test_export_carries_its_own_vocab(trained, tmp_path):
    clf = bc.Classifier(trained["path"])
    assert clf.tokenizer.vocab_file.startswith(str(trained["path"]))
    assert open(clf.tokenizer.vocab_file).read() == open(trained["tokenizer"].vocab_file).read()


def test_thread_split_puts_no_comment_on_both_sides():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(dict(submission_id=rng.choice([f"s{i}" for i in range(40)], 400)))
    df["comment_id"] = [f"{s}_c{rng.integers(3)}" for s in df.submission_id]
    df["comment"] = "text of " + df.comment_id
    df["label"] = rng.integers(2, size=len(df))
    df.loc[df.submission_id == "s2", "comment_id"] = "s1_c0"  # one comment filed under two threads
    for seed in range(5):
        train, test = bc.split_by_thread(df, 0.25, seed=seed)
        assert len(train) + len(test) == len(df) and 0.1 < len(test) / len(df) < 0.45
        for col in ("submission_id", "comment_id"):
            assert not set(train[col]) & set(test[col])
        assert bc.split_overview(train, test, ["a", "b"]).loc["test", "rows"] == len(test)
    train, _ = bc.split_by_thread(df, 0.25, seed=0)
    again, _ = bc.split_by_thread(df, 0.25, seed=0)
    pd.testing.assert_frame_equal(train, again)
    with pytest.raises(ValueError, match="cannot split"):
        bc.split_by_thread(df[df.submission_id == "s3"], 0.25)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(tiny_bert.build_vocab(["the cafe is open", "a reply"], size=300)) + "\n")
    return bc.PairTokenizer(str(path), True, max_seq_length=12)


def test_pairs_are_segments_a_and_b_truncated_longest_first(tokenizer):
    x = tokenizer.encode(["the cafe"], ["a reply"], pad_to=12)
    tok = tokenizer.tokenizer
    words = tok.convert_ids_to_tokens([int(i) for i in x["input_word_ids"][0][: x["input_mask"][0].sum()]])
    assert words == ["[CLS]", "the", "cafe", "[SEP]", "a", "reply", "[SEP]"]
    assert x["input_type_ids"][0].tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    assert x["input_mask"][0].tolist() == [1] * 7 + [0] * 5
    words, types = tokenizer.pair_ids("the " * 20, "a reply")
    assert len(words) == 12 and types.count(1) == 3  # the long comment gave way, the short reply is whole


def test_bad_rows_are_tokenized_truncated_or_dropped_and_counted(tokenizer):
    df = pd.DataFrame(dict(
        comment=["ok", "ok", None, "Café naïve 😀", "the " * 50_000, "ok"],
        reply=["", float("nan"), "a reply", "Ünïcödé ✓ réply", "a reply " * 50_000, "  \n "]))
    kept, drops = bc.drop_bad_pairs(df)
    assert len(kept) == 2 and sum(drops.values()) == 4
    assert drops["reply_blank"] == 2 and drops["reply_missing"] == 1 and drops["comment_missing"] == 1
    x = tokenizer.encode(kept.comment, kept.reply)
    assert x["input_word_ids"].shape == (2, 12) and x["input_mask"].sum(axis=1).max() == 12
    tokens = tokenizer.tokenizer.tokenize("Café naïve 😀")
    assert tokens[:2] == ["cafe", "n"] and tokens[-1] == "[UNK]"  # accents stripped, emoji unknown
    nan_pair = tokenizer.encode([float("nan")], [None])  # NaN/None count as empty text
    assert nan_pair["input_mask"].sum() == 3


def test_learning_rate_warms_up_then_decays_to_zero():
    schedule = bc.warmup_decay(1e-3, total_steps=100, warmup_fraction=0.1)
    rates = np.array([float(schedule(step)) for step in range(100)])
    assert np.argmax(rates) == 9 and rates.max() == pytest.approx(1e-3)
    assert np.all(np.diff(rates[:10]) > 0) and np.all(np.diff(rates[10:]) < 0)
    assert rates[-1] < 2e-5


def test_class_weights_balance_the_classes():
    weights = bc.balanced_class_weight([1] * 90 + [0] * 10, 2)
    assert weights[0] * 10 == pytest.approx(weights[1] * 90)
    assert bc.balanced_class_weight([0, 0, 2], 4)[1] == 0.0


def test_encoder_handles(tmp_path):
    assert bc.encoder_handle("bert_en_uncased_L-12_H-768_A-12").startswith("https://tfhub.dev/tensorflow/bert_en_uncased")
    assert bc.encoder_handle("small_bert/bert_en_uncased_L-4_H-512_A-8").endswith("L-4_H-512_A-8/2")
    paths = Paths(tmp_path)
    handle = bc.encoder_handle("tiny", paths, texts=["hello there"])
    assert handle == str(tmp_path / "models/bert_encoder/tiny") and (tmp_path / handle / "saved_model.pb").is_file()
    stamp = (tmp_path / handle / "saved_model.pb").stat().st_mtime_ns
    assert bc.encoder_handle("tiny", paths, texts=["other"]) == handle  # built once, then reused
    assert (tmp_path / handle / "saved_model.pb").stat().st_mtime_ns == stamp
    with pytest.raises(FileNotFoundError, match="05_bert_upvotes"):
        bc.Classifier(tmp_path / "models/bert_upvotes")


def test_thread_split_gives_a_rare_class_its_share_of_test_rows():
    real = pd.DataFrame(dict(submission_id=[f"s{i // 5}" for i in range(500)], comment_id=[f"c{i}" for i in range(500)], label=1))
    fake = real[real.submission_id.isin([f"s{i}" for i in range(12)])].assign(label=0)  # fakes in 12 of 100 threads
    df = pd.concat([real, pd.concat([fake] * 4)], ignore_index=True)
    df["comment"] = "comment " + df.comment_id
    for seed in range(5):
        train, test = bc.split_by_thread(df, 0.25, seed=seed)
        share = test.groupby("label").size() / df.groupby("label").size()
        assert share.between(0.1, 0.4).all(), (seed, share.to_dict())
        assert not set(train.submission_id) & set(test.submission_id)


def _backup_task(tmp_path, n=240):
    df = synthetic_pairs(n)
    enc = tiny_bert.build(tmp_path / "encoder", pd.concat([df.comment, df.reply]), seed=0)
    tokenizer = bc.PairTokenizer(*bc.load_encoder(str(enc))[1:], max_seq_length=24)
    return enc, tokenizer, tokenizer.encode(df.comment, df.reply), df.label


def _disconnect_at(epoch_to_fail, seen=None):
    import tensorflow as tf

    class Disconnect(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if seen is not None:
                seen.append(self.model.get_layer("classifier").get_weights()[0].copy())
            if epoch == epoch_to_fail:
                raise KeyboardInterrupt("runtime disconnected")

    return Disconnect()


def test_a_backup_from_other_data_or_another_model_is_not_resumed(tmp_path, capsys):
    """A backup left by a crashed run must not be restored into training on other data (01 pulled
    again) or into a classifier of another shape: that run starts afresh, says so, and the stale
    backups (runtime disk and Drive) are deleted, the Drive one counted as Trash."""
    enc, tokenizer, x, y = _backup_task(tmp_path, 120)
    backup = lambda: bc.Backup(tmp_path / "local" / "realism", tmp_path / "drive" / "realism", minutes=0)  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        bc.train(bc.build_classifier(bc.load_encoder(str(enc))[0], 2, dropout=0.1), (x, y), config(epochs=3),
                 backup=backup(), callbacks=[_disconnect_at(1)])
    assert (tmp_path / "drive" / "realism" / bc.BACKUP_WEIGHTS).is_file()
    capsys.readouterr()
    other = synthetic_pairs(150, seed=1)  # the data changed meanwhile
    x2, y2 = tokenizer.encode(other.comment, other.reply), other.label
    stale = backup()
    with pytest.raises(KeyboardInterrupt):
        bc.train(bc.build_classifier(bc.load_encoder(str(enc))[0], 2, dropout=0.1), (x2, y2), config(epochs=3),
                 backup=stale, callbacks=[_disconnect_at(1)])
    out = capsys.readouterr().out
    assert "not resumed" in out and "starts at epoch 1" in out and stale.usage.trashed > 0
    # a classifier of another shape (3 labels): no restore error, a fresh start
    history = bc.train(bc.build_classifier(bc.load_encoder(str(enc))[0], 3, dropout=0.1),
                       (x2, np.asarray(y2) + (np.arange(len(y2)) % 3 == 0)), config(epochs=2), backup=backup())
    assert history.epoch == [0, 1] and "not resumed" in capsys.readouterr().out
    assert not (tmp_path / "drive" / "realism").exists() and not (tmp_path / "local" / "realism").exists()


def test_an_error_or_kernel_restart_resumes_from_the_runtime_disk_and_writes_nothing_to_drive(tmp_path, capsys):
    """Stopped in epoch 3 of 4 on a run shorter than the Drive minutes: the rerun restores the
    runtime disk's backup (weights, optimizer, epoch), says so, trains only the missing epochs; Drive
    is not written at all (a Drive stand-in watching the file operations counts nothing)."""
    from drive_meter import DriveMeter

    enc, _, x, y = _backup_task(tmp_path)
    (tmp_path / "drive").mkdir()
    local, drive = tmp_path / "local" / "realism", tmp_path / "drive" / "realism"
    with DriveMeter(tmp_path / "drive") as meter:
        with pytest.raises(KeyboardInterrupt):
            bc.train(bc.build_classifier(bc.load_encoder(str(enc))[0], 2, dropout=0.0), (x, y), config(epochs=4),
                     backup=bc.Backup(local, drive), callbacks=[_disconnect_at(2)])
        assert len(list(local.rglob("*.index"))) == 1 and not drive.exists()
        again = bc.build_classifier(bc.load_encoder(str(enc))[0], 2, dropout=0.0)
        backup = bc.Backup(local, drive)
        history = bc.train(again, (x, y), config(epochs=4), backup=backup)
    assert "Resuming from epoch 3 of 4: the backup on the runtime disk" in capsys.readouterr().out
    assert history.epoch == [2, 3]  # only the missing epochs
    assert int(again.optimizer.iterations.numpy()) == 4 * int(np.ceil(len(y) / 32))  # the schedule carried on
    assert meter.as_dict() == {"written": 0, "trashed": 0} and backup.usage.written == 0
    assert not local.exists() and not drive.exists()


def test_a_lost_runtime_resumes_from_the_weights_on_drive(tmp_path, capsys):
    """Epochs long enough to be worth a Drive copy (minutes=0 here): the weights alone (no
    optimizer state) go to Drive, replacing the previous copy, at most twice for 5 epochs. The
    runtime is lost in epoch 3 of 5: the rerun loads Drive's weights, says so, trains epochs 3-5
    with the schedule carrying on, and makes no more copies than the cap left (a resumed run adds
    no more than a first run). Drive's bytes, counted by the run and by the stand-in, agree."""
    from drive_meter import DriveMeter

    enc, _, x, y = _backup_task(tmp_path)
    (tmp_path / "drive").mkdir()
    local, drive = tmp_path / "local" / "realism", tmp_path / "drive" / "realism"
    seen, resumed = [], []
    with DriveMeter(tmp_path / "drive") as meter:
        first = bc.Backup(local, drive, minutes=0)
        model = bc.build_classifier(bc.load_encoder(str(enc))[0], 2, dropout=0.0)
        with pytest.raises(KeyboardInterrupt):
            bc.train(model, (x, y), config(epochs=5), backup=first,
                     callbacks=[_disconnect_at(2, seen)])
        import shutil

        shutil.rmtree(tmp_path / "local")  # the runtime is gone, and its disk with it
        weights = bc.weights_bytes(model)
        assert first.drive_copies == 2 and weights < (drive / bc.BACKUP_WEIGHTS).stat().st_size < weights + 50_000
        assert first.usage.trashed == (drive / bc.BACKUP_WEIGHTS).stat().st_size  # epoch 1's copy, replaced
        again = bc.build_classifier(bc.load_encoder(str(enc))[0], 2, dropout=0.0)
        second = bc.Backup(local, drive, minutes=0)
        history = bc.train(again, (x, y), config(epochs=5), backup=second,
                           callbacks=[_disconnect_at(-1, resumed)])
    assert "Resuming from epoch 3 of 5: the backup on Drive" in capsys.readouterr().out
    assert history.epoch == [2, 3, 4]
    np.testing.assert_array_equal(resumed[0], seen[-1])  # the weights the lost runtime had after epoch 2
    steps = int(np.ceil(len(y) / 32))
    assert int(again.optimizer.iterations.numpy()) == 3 * steps  # a fresh optimizer ...
    schedule = again.optimizer.get_config()["learning_rate"]["config"]
    assert (schedule["offset"], schedule["total"]) == (2 * steps, 5 * steps)  # ... on the schedule carried on
    assert second.drive_copies == 0 and not drive.exists() and not local.exists()  # the cap was reached
    total = {"written": first.usage.written + second.usage.written, "trashed": first.usage.trashed + second.usage.trashed}
    assert meter.as_dict() == total and total["written"] == total["trashed"]  # all of it gone to Trash at the end
    assert meter.unseen() == []


def test_cpu_step_estimate_follows_the_chosen_encoder_and_batch():
    base = bc.cpu_step_estimate(settings.BERT_BASE, batch=32, max_seq_length=128)
    assert "BERT base" in base and "40-50 s" in base  # the measured figure, as measured
    small = bc.cpu_step_estimate("https://tfhub.dev/tensorflow/small_bert/bert_en_uncased_L-4_H-256_A-4/2",
                                 batch=32, max_seq_length=128)
    assert "L-4_H-256" in small and "40-50 s" not in small and "BERT base" not in small
    half = bc.cpu_step_estimate(settings.BERT_BASE, batch=16, max_seq_length=128)
    assert "20-25 s" in half and "16 pairs" in half
    assert "unknown" in bc.cpu_step_estimate("https://example.org/my_encoder", batch=32, max_seq_length=128)
