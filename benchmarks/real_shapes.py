"""Random-weight models of the real shapes for the benchmarks, built once into a cache folder.

    gpt2_run("124M", cache)   -> (checkpoint_dir, run_name): a gpt-2-simple run of GPT-2 124M's
                                 shape with a synthetic 50,257-token vocabulary
    bert_base_encoder(cache)  -> a TF Hub-style BERT base encoder (12 layers, hidden 768)

Nothing is downloaded: the vocabulary is a small BPE trained on toy rows, padded with filler
tokens to GPT-2's size (the shape, not the text, sets the cost of a step).
"""
from __future__ import annotations

import itertools
import json
import os
import string
from pathlib import Path

from helpers import tiny_gpt2
from helpers.exchange import atomic_folder
from helpers.gpt2_finetune import KNOWN_HPARAMS

BERT_BASE = dict(num_layers=12, hidden_size=768, num_heads=12, intermediate_size=3072)


def _pad_vocab(model_dir: Path, size: int) -> None:
    path = model_dir / "encoder.json"
    vocab = json.loads(path.read_text(encoding="utf-8"))
    fillers = ("".join(t) for n in (3, 4) for t in itertools.product(string.ascii_lowercase, repeat=n))
    for token in fillers:
        if len(vocab) >= size:
            break
        vocab.setdefault(token, len(vocab))
    path.write_text(json.dumps(vocab), encoding="utf-8")


def gpt2_run(shape: str, cache: Path | str, seed: int = 0) -> tuple[Path, str]:
    """A random-weight gpt-2-simple run of `shape` ("124M" or "355M") under `cache`, built once."""
    hparams = KNOWN_HPARAMS[shape]
    root = Path(cache) / f"gpt2-{shape}"
    run_dir = root / "run1"
    if not tiny_gpt2.is_built(run_dir):
        root.mkdir(parents=True, exist_ok=True)
        with atomic_folder(run_dir) as tmp:
            tiny_gpt2.train_bpe(tiny_gpt2.toy_texts(400, seed=0), tmp, vocab_size=2000)
            _pad_vocab(tmp, hparams["n_vocab"])
            (tmp / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n", encoding="utf-8")
            tiny_gpt2.save_random_checkpoint(tmp, hparams, seed)
    return root, "run1"


def bert_base_encoder(cache: Path | str, texts, seed: int = 0) -> Path:
    """A random-weight BERT base encoder (TF Hub interface) under `cache`, built once."""
    from helpers import tiny_bert

    path = Path(cache) / "bert-base-encoder"
    if not (path / "saved_model.pb").is_file():
        os.makedirs(cache, exist_ok=True)
        tiny_bert.build_encoder(path, tiny_bert.build_vocab(texts, size=30522), seed=seed, **BERT_BASE)
    return path
