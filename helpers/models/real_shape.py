"""Random-weight models of the real sizes, built offline, for memory benchmarks and the colab smoke run.

    build_gpt2(model_dir, "124M")        # OpenAI's 124M/355M shape, a 50,257-token vocabulary
    build_bert_in_hub_cache(handle, cache_dir)   # BERT base 12x768 where TF Hub's cache would keep `handle`

The GPT-2 vocabulary is synthetic: a byte-level BPE learnt from toy text, padded with unused
tokens to GPT-2's 50,257 ids, so the embedding and the logits have their real shape. Nothing is
downloaded. Building GPT-2 imports gpt-2-simple's model code (graph mode for the process): call
it from a child process or a GPT-2 notebook.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from helpers.models import tiny_bert, tiny_gpt2
from helpers.core.files import atomic_folder

GPT2_VOCAB = 50257
GPT2_SHAPES = {
    "124M": dict(n_ctx=1024, n_embd=768, n_head=12, n_layer=12),
    "355M": dict(n_ctx=1024, n_embd=1024, n_head=16, n_layer=24),
}
BERT_BASE_SHAPE = tiny_bert.EncoderShape(num_layers=12, hidden_size=768, num_heads=12, intermediate_size=3072)
BERT_VOCAB = 30522


def pad_vocabulary(folder: Path, size: int = GPT2_VOCAB) -> int:
    """Pad encoder.json in `folder` with unused tokens up to `size` ids; returns the size."""
    path = Path(folder) / "encoder.json"
    vocab = json.loads(path.read_text(encoding="utf-8"))
    next_id = max(vocab.values()) + 1
    i = 0
    while len(vocab) < size:
        token = f"~pad{i}~"  # printable ASCII only: gpt-2-simple's byte decoder knows every character
        if token not in vocab:
            vocab[token] = next_id
            next_id += 1
        i += 1
    path.write_text(json.dumps(vocab), encoding="utf-8")
    return len(vocab)


def build_gpt2(model_dir: Path | str, model: str = "124M", texts=None, seed: int = 0) -> Path:
    """A gpt-2-simple base model folder of `model`'s real shape with random weights (atomic)."""
    if model not in GPT2_SHAPES:
        raise ValueError(f"unknown GPT-2 size {model!r}; choose one of {', '.join(GPT2_SHAPES)}")
    texts = list(texts) if texts is not None else tiny_gpt2.toy_texts(400, seed=seed)
    model_dir = Path(model_dir)
    with atomic_folder(model_dir) as tmp:
        tiny_gpt2.train_bpe(texts, tmp, vocab_size=2000)
        n_vocab = pad_vocabulary(tmp, GPT2_VOCAB)
        hparams = dict(GPT2_SHAPES[model], n_vocab=n_vocab)
        (tmp / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n", encoding="utf-8")
        tiny_gpt2.save_random_checkpoint(tmp, hparams, seed)
    return model_dir


def hub_cache_folder(handle: str, cache_dir: Path | str) -> Path:
    """Where tensorflow_hub's cache keeps `handle`: <cache_dir>/<sha1 of the handle>."""
    return Path(cache_dir) / hashlib.sha1(handle.encode("utf-8")).hexdigest()


def bert_vocab(size: int = BERT_VOCAB) -> list[str]:
    """A WordPiece vocabulary of BERT base's size: tiny_bert's base vocabulary padded with unused tokens."""
    vocab = tiny_bert.build_vocab(tiny_gpt2.toy_texts(400), size=2000)
    vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def build_bert_in_hub_cache(handle: str, cache_dir: Path | str, seed: int = 0) -> Path:
    """A BERT base (12x768) encoder with random weights, saved where TF Hub resolves `handle`
    from `cache_dir` (set $TFHUB_CACHE_DIR to it), so the handle loads offline."""
    folder = hub_cache_folder(handle, cache_dir)
    if not (folder / "saved_model.pb").is_file():
        tiny_bert.build_encoder(folder, bert_vocab(), BERT_BASE_SHAPE, seed=seed)
        # TF Hub treats a folder with this marker file as a finished download.
        Path(f"{folder}.descriptor.txt").write_text(f"Module: {handle}\nDownloaded by: helpers.models.real_shape\n")
    return folder
