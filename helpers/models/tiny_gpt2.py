"""A tiny GPT-2 built locally (the `tiny` profile): a folder gpt-2-simple loads as a base model.

    build(model_dir, texts) writes into model_dir:
      hparams.json          tiny dimensions, n_ctx 1024 (gpt-2-simple's finetune samples 1024 tokens)
      encoder.json, vocab.bpe   a byte-level BPE trained on `texts` (the `tokenizers` trainer), in
                            GPT-2's format, with `<|endoftext|>` in the vocabulary
      checkpoint, model.ckpt.*  randomly initialised weights under gpt-2-simple's variable names

Building imports gpt-2-simple's model code, which switches TensorFlow to graph mode for the whole
process: call it from a GPT-2 notebook or a child process, never next to eager (BERT) code.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from helpers.core.files import atomic_folder

START, END = "<|startoftext|>", "<|endoftext|>"
MODEL_FILES = ("hparams.json", "encoder.json", "vocab.bpe", "checkpoint",
               "model.ckpt.index", "model.ckpt.meta", "model.ckpt.data-00000-of-00001")
TINY_HPARAMS = dict(n_ctx=1024, n_embd=64, n_head=1, n_layer=2)  # one head: attention over 1024 tokens dominates CPU time


def wrap(text: str) -> str:
    """One row as gpt-2-simple's CSV loader feeds it to fine-tuning."""
    return f"{START}{text}{END}\n"


def is_built(model_dir: Path | str) -> bool:
    """True when every file of a base model is in `model_dir`."""
    return all((Path(model_dir) / name).is_file() for name in MODEL_FILES)


def train_bpe(texts, out_dir: Path, vocab_size: int = 2000) -> int:
    """Train a byte-level BPE on `texts` (wrapped as fine-tuning sees them) and write GPT-2's
    `encoder.json` and `vocab.bpe` into `out_dir`; returns the vocabulary size."""
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer()  # GPT-2's pre-tokenizer regex, no prefix space, all 256 bytes
    tokenizer.train_from_iterator((wrap(t) for t in texts), vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=[END], show_progress=False)
    tokenizer.save_model(str(out_dir))
    os.replace(out_dir / "vocab.json", out_dir / "encoder.json")
    os.replace(out_dir / "merges.txt", out_dir / "vocab.bpe")
    vocab = json.loads((out_dir / "encoder.json").read_text(encoding="utf-8"))
    if END not in vocab:
        raise RuntimeError(f"{END} is missing from the trained vocabulary")
    return len(vocab)


def save_random_checkpoint(out_dir: Path, hparams: dict, seed: int) -> None:
    """Build gpt-2-simple's model graph, initialise it with `seed`, save `model.ckpt` in `out_dir`."""
    import tensorflow as tf
    from gpt_2_simple.src import model  # graph mode from here on, for the whole process

    params = model.default_hparams()
    params.override_from_dict(hparams)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        tokens = tf.compat.v1.placeholder(tf.int32, [1, None])
        model.model(hparams=params, X=tokens)
        variables = [v for v in tf.compat.v1.global_variables() if v.name.startswith("model/")]
        saver = tf.compat.v1.train.Saver(var_list=variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.variables_initializer(variables))
            saver.save(sess, str(out_dir / "model.ckpt"))
    # The `checkpoint` index file must not name the temporary folder the model was built in.
    (out_dir / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n', encoding="utf-8")


def build(model_dir: Path | str, texts, seed: int = 0, *, vocab_size: int = 2000) -> Path:
    """Write a tiny GPT-2 base model (TINY_HPARAMS) into `model_dir` (replacing what is there); returns it.

    `texts` are the fine-tuning rows ("comment [SEP] reply"); the BPE learns from them wrapped in
    `<|startoftext|>`/`<|endoftext|>` as gpt-2-simple wraps CSV rows, so the markers are short
    token sequences. Other shapes: `save_random_checkpoint` (as real_shape does).
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError("tiny_gpt2.build needs some training texts to learn a vocabulary from")
    model_dir = Path(model_dir)
    with atomic_folder(model_dir) as tmp:  # the folder appears complete or not at all
        n_vocab = train_bpe(texts, tmp, vocab_size)
        hparams = dict(TINY_HPARAMS, n_vocab=n_vocab)
        (tmp / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n", encoding="utf-8")
        save_random_checkpoint(tmp, hparams, seed)
    return model_dir


def toy_texts(n: int = 400, seed: int = 0) -> list[str]:
    """`n` reddit-like "comment [SEP] reply" rows from templates, for tests and benchmarks that
    need fine-tuning text without prepared data (written for this project)."""
    import random

    rng = random.Random(seed)
    topics = ["coffee", "bikes", "python", "the weather", "old games", "camping", "pizza", "my cat",
              "running", "the new update", "board games", "houseplants"]
    openers = ["I really think {t} is underrated.", "Does anyone else love {t}?",
               "Hot take: {t} is overrated.", "What is your opinion on {t}?",
               "I spent all weekend on {t} and I regret nothing.", "Can someone explain {t} to me?"]
    replies = ["Totally agree, {t} is great.", "No way, {t} is the worst.", "Same here! {t} every day.",
               "I tried {t} once and never again.", "This is the way.", "Source?",
               "Honestly {t} changed my life.", "lol same", "Username checks out.",
               "I have been saying this about {t} for years."]
    rows = []
    for _ in range(n):
        t = rng.choice(topics)
        comment = " ".join(rng.choice(openers).format(t=t) for _ in range(rng.randint(1, 2)))
        reply = " ".join(rng.choice(replies).format(t=t) for _ in range(rng.choice((1, 1, 2))))
        rows.append(f"{comment} [SEP] {reply}")
    return rows
