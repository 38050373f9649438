"""Benchmark: the scorer against the bare models' forward pass, in one run.

    PYTHONPATH=. python benchmarks/bench_scoring.py [--rows 256] [--batch-size 32] [--max-seq-length 128]

Builds, locally, a randomly initialised encoder shaped like small BERT (4 layers, hidden 512,
8 heads, intermediate 2048, the TF Hub interface, vocabulary from the bundled sample comments),
exports a realism (2 labels) and an upvote (4 labels) classifier on it, and measures on the
same (comment, candidate) rows (sample comments, 4 candidates each) in rows per second:
  tokenize:  the scorer's tokenization alone (pairs -> padded batches, fresh cache)
  bare:      both classifiers' forward pass on already tokenized batches (the baseline)
  scorer:    Scorer.score(df) end to end (tokenize, batch, run both models, build the table)
and prints them and the ratio scorer / bare (target: >= 0.8). Best of --repeat runs each,
interleaved, after one warm-up run (tracing excluded).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import helpers  # noqa: F401 - sets TF_USE_LEGACY_KERAS before TensorFlow loads
import numpy as np
import pandas as pd

from helpers import bert_classifier as bc
from helpers import sample_data, scoring, tiny_bert

SMALL_BERT = dict(num_layers=4, hidden_size=512, num_heads=8, intermediate_size=2048)


def rows(n: int, seed: int = 0) -> pd.DataFrame:
    """(comment, candidate) rows from the sample comments: each comment with 4 candidates."""
    bodies = sample_data.load_comments()["body"].dropna().astype(str)
    bodies = bodies[bodies.str.len().between(5, 1500)].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    comments = bodies.sample(n=(n + 3) // 4, random_state=seed).tolist()
    out = pd.DataFrame({"comment": np.repeat(comments, 4)[:n],
                        "candidate": bodies.iloc[rng.integers(len(bodies), size=n)].tolist()})
    return out, bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    df, bodies = rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        encoder_dir = tiny_bert.build_encoder(tmp / "encoder", tiny_bert.build_vocab(bodies, size=30522), seed=0, **SMALL_BERT)
        encoder, vocab, lower = bc.load_encoder(str(encoder_dir))
        for name, labels in (("realism", bc.REALISM_LABELS), ("upvotes", bc.UPVOTE_LABELS)):
            model = bc.build_classifier(encoder, len(labels))
            bc.export(model, bc.PairTokenizer(vocab, lower, args.max_seq_length), labels, tmp / name)
        scorer = scoring.Scorer(tmp / "realism", tmp / "upvotes")
        print(f"built and exported small-BERT-shaped classifiers in {time.perf_counter() - start:.1f} s; "
              f"{len(df)} rows, batch {args.batch_size}, max_seq_length {args.max_seq_length}")

        batches = [df.iloc[i:i + args.batch_size] for i in range(0, len(df), args.batch_size)]
        tokenizer = scorer.realism.tokenizer

        def tokenize():
            tokenizer.ids.cache_clear()
            return [scorer._tokenize(b.comment.tolist(), b.candidate.tolist()) for b in batches]

        tokenized = tokenize()
        lengths = np.concatenate([t[0]["input_mask"].sum(axis=1) for t in tokenized])

        def bare():
            for inputs in tokenized:
                scorer.forward(*inputs)

        def score():
            tokenizer.ids.cache_clear()
            scorer.score(df, batch_size=args.batch_size, progress=False)

        runs = {"tokenize": tokenize, "bare": bare, "scorer": score}
        for fn in runs.values():  # warm-up: traces every batch shape once
            fn()
        best = {name: 0.0 for name in runs}
        for _ in range(args.repeat):
            for name, fn in runs.items():
                start = time.perf_counter()
                fn()
                best[name] = max(best[name], len(df) / (time.perf_counter() - start))

    print(f"tokens per pair: mean {lengths.mean():.0f}, {np.mean(lengths >= args.max_seq_length):.0%} at the maximum")
    print(f"tokenize alone        : {best['tokenize']:10.1f} rows/s")
    print(f"bare forward (2 models): {best['bare']:9.1f} rows/s   (baseline: pre-tokenized batches)")
    print(f"scorer end to end     : {best['scorer']:10.1f} rows/s")
    print(f"ratio scorer / bare   : {best['scorer'] / best['bare']:10.2f}   (target >= 0.80)")


if __name__ == "__main__":
    main()
