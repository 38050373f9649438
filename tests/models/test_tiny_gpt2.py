"""The tiny GPT-2 folder: gpt-2-simple reads its vocabulary, fine-tunes it and generates from it.
gpt-2-simple runs in child processes (it disables eager execution process-wide)."""
import json

import pytest
from gpt2_children import run

from helpers.models import tiny_gpt2

BUILD_FINETUNE_GENERATE = """
import os
from pathlib import Path
import gpt_2_simple as gpt2
import tensorflow as tf
from helpers.models import tiny_gpt2
from helpers.gpt2 import finetune as ft

root = Path(args["root"])
texts = tiny_gpt2.toy_texts(300, seed=1)
model_dir = tiny_gpt2.build(root / "models" / "tiny", texts, seed=0)
enc = gpt2.src.encoder.get_encoder(str(model_dir))
sample = "Héllo wörld 😀 &amp;#x200B; tabs\\tand\\nnewlines <|endoftext|> [SEP] x"
ids = enc.encode(sample)
ft.write_texts(texts, root / "train.csv")
sess = gpt2.start_tf_sess()
gpt2.finetune(sess, str(root / "train.csv"), steps=6, model_name="tiny", model_dir=str(root / "models"),
              checkpoint_dir=str(root / "checkpoint"), run_name="run1", accumulate_gradients=1,
              learning_rate=5e-3, print_every=1, sample_every=1000, save_every=1000)
tf.compat.v1.reset_default_graph()
sess = gpt2.start_tf_sess()
gpt2.load_gpt2(sess, run_name="run1", checkpoint_dir=str(root / "checkpoint"))
prefix = "<|startoftext|>Does anyone else love pizza? [SEP]"
texts_out = gpt2.generate(sess, run_name="run1", checkpoint_dir=str(root / "checkpoint"), prefix=prefix,
                          length=12, nsamples=2, batch_size=2, return_as_list=True, seed=0)
no_prefix = gpt2.generate(sess, run_name="run1", checkpoint_dir=str(root / "checkpoint"), length=5,
                          return_as_list=True, seed=0)
result = {
    "files": sorted(os.listdir(model_dir)),
    "hparams": json.loads((model_dir / "hparams.json").read_text()),
    "vocab_size": len(enc.encoder),
    "has_end": "<|endoftext|>" in enc.encoder,
    "round_trip": enc.decode(ids) == sample,
    "end_tokens": enc.encode("<|endoftext|>"),
    "counter": (root / "checkpoint" / "run1" / "counter").read_text().strip(),
    "checkpoints": sorted(os.listdir(root / "checkpoint" / "run1")),
    "generated": texts_out,
    "no_prefix": no_prefix,
}
"""


def test_tiny_folder_loads_finetunes_and_generates(tmp_path):
    out = run(BUILD_FINETUNE_GENERATE, root=str(tmp_path))
    assert set(tiny_gpt2.MODEL_FILES) <= set(out["files"])
    hp = out["hparams"]
    assert hp["n_ctx"] == 1024 and hp["n_embd"] <= 128 and hp["n_layer"] <= 4
    assert hp["n_vocab"] == out["vocab_size"] and out["vocab_size"] <= 2000
    assert out["has_end"] and out["round_trip"]
    assert 1 <= len(out["end_tokens"]) <= 4  # the BPE learnt the marker as a few tokens
    assert out["counter"] == "6" and "model-6.index" in out["checkpoints"]
    assert len(out["generated"]) == 2
    for text in out["generated"]:
        assert text.startswith("<|startoftext|>Does anyone else love pizza? [SEP]")
        assert len(text) > len("<|startoftext|>Does anyone else love pizza? [SEP]")
    assert len(out["no_prefix"]) == 1  # unconditional sampling starts from <|endoftext|>'s id


def test_build_needs_texts(tmp_path):
    with pytest.raises(ValueError, match="training texts"):
        tiny_gpt2.build(tmp_path / "tiny", [])
    assert not (tmp_path / "tiny").exists()


def test_wrap_matches_gpt2_simple_csv_rows():
    assert tiny_gpt2.wrap("a [SEP] b") == "<|startoftext|>a [SEP] b<|endoftext|>\n"
    rows = tiny_gpt2.toy_texts(5, seed=3)
    assert rows == tiny_gpt2.toy_texts(5, seed=3) and all(r.count(" [SEP] ") == 1 for r in rows)
    assert json.dumps(rows)  # plain strings


def test_gpt2_simple_stays_out_of_the_test_process():
    import sys

    assert "gpt_2_simple" not in sys.modules  # it would disable eager execution for the BERT tests
