"""Notebook 02's helpers: thread split, memory check, and (in child processes, as gpt-2-simple
disables eager execution) resumable fine-tuning that lowers the held-out loss."""
import time

import pandas as pd
import pytest
from gpt2_children import run, start

from helpers import gpt2_finetune as ft

PREPARE = """
from pathlib import Path
from helpers import tiny_gpt2, gpt2_finetune as ft
root = Path(args["root"])
texts = tiny_gpt2.toy_texts(400, seed=0)
tiny_gpt2.build(root / "base" / "tiny", texts, seed=0)
ft.write_texts(texts, root / "train.csv")
ft.write_texts(tiny_gpt2.toy_texts(40, seed=99), root / "valid.csv")
result = ft.heldout_loss(root / "base" / "tiny", ft.read_texts(root / "valid.csv"))
"""
TRAIN = """
from pathlib import Path
from helpers import gpt2_finetune as ft
root = Path(args["root"])
result = ft.finetune(root / "train.csv", root / "base" / "tiny", root / "gpt2" / "run1", steps=args["steps"],
                     learning_rate=5e-3, accumulate_gradients=1, save_every=args["save_every"], print_every=1)
if args.get("score"):
    result["after"] = ft.heldout_loss(root / "gpt2" / "run1", ft.read_texts(root / "valid.csv"))
    result["history_steps"] = ft.loss_history(root / "gpt2" / "run1")["step"].tolist()
"""


def test_finetuning_resumes_after_a_kill_and_lowers_heldout_loss(tmp_path):
    before = run(PREPARE, root=str(tmp_path))
    run_dir = tmp_path / "gpt2" / "run1"
    # A long run, killed (as a Colab disconnect would) once it has saved a checkpoint.
    child = start(TRAIN, root=str(tmp_path), steps=100_000, save_every=4)
    deadline = time.time() + 180
    while ft.completed_steps(run_dir) < 8 and child.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    child.kill()
    child.wait()
    saved = ft.completed_steps(run_dir)
    assert saved >= 8 and saved % 4 == 0, "the killed run should have saved checkpoints every 4 steps"

    after = run(TRAIN, root=str(tmp_path), steps=saved + 30, save_every=1000, score=True)
    assert after["steps_before"] == saved
    assert after["resumed_from"].endswith(f"model-{saved}")
    assert (after["steps_trained"], after["steps_total"]) == (30, saved + 30)
    assert ft.completed_steps(run_dir) == saved + 30
    assert set(range(saved + 1, saved + 31)) <= set(after["history_steps"])
    assert after["after"]["tokens"] == before["tokens"]
    assert after["after"]["loss"] < before["loss"] - 1.0  # fine-tuning lowers the held-out loss

    again = run(TRAIN, root=str(tmp_path), steps=saved + 30, save_every=1000)
    assert again["steps_trained"] == 0  # nothing left to do: a rerun does not train again


def test_split_keeps_threads_whole():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(60)], "submission_id": [f"s{i // 3}" for i in range(60)]})
    train, valid = ft.split_threads(df, 0.2, seed=1)
    assert len(train) + len(valid) == 60
    assert not set(train["submission_id"]) & set(valid["submission_id"])
    assert valid["submission_id"].nunique() == 4
    assert ft.split_threads(df, 0.2, seed=1)[1].equals(valid)
    with pytest.raises(ValueError, match="VALID_FRACTION"):
        ft.split_threads(df, 1.5)


def test_memory_check_warns_with_the_smaller_model():
    big = ft.training_memory_gb(ft.KNOWN_HPARAMS["355M"])
    small = ft.training_memory_gb(ft.KNOWN_HPARAMS["124M"])
    assert 4 < small < big < 24
    table, warning = ft.memory_check("355M", 1, 5, available_gb=small + 1)
    assert list(table["model"]) == ["355M", "124M"] and list(table["fits"]) == [False, True]
    assert "355M needs about" in warning and "MODEL_SIZE = '124M'" in warning
    assert ft.memory_check("355M", 1, 5, available_gb=big + 1)[1] is None
    assert "No GPU" in ft.memory_check("124M", 1, 5, available_gb=None)[1]
    assert ft.memory_check("tiny", 1, 1, available_gb=None)[1] is None
    assert ft.parameter_count(ft.KNOWN_HPARAMS["124M"]) == pytest.approx(124.4e6, rel=0.01)


def test_stream_wraps_rows_as_gpt2_simple_does():
    assert ft.stream(["a [SEP] b", "c [SEP] d"]) == (
        "<|startoftext|>a [SEP] b<|endoftext|>\n<|startoftext|>c [SEP] d<|endoftext|>\n")
