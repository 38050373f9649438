"""Benchmark: the scorer against the bare models' forward pass, in one run.

    PYTHONPATH=. python benchmarks/bench_scoring.py [--rows 128] [--batch-size 32] [--max-seq-length 128]
    PYTHONPATH=. flock /tmp/heavy.lock python benchmarks/bench_scoring.py --shape bert-base [--cache /tmp/bench-models]

`--shape bert-base` (random weights of BERT base's shape, built once into `--cache`), on what
notebook 06 hands to 07: `--comments` comments of the sample's clean pairs with `--candidates`
candidates each (the colab profile's 10), each candidate a real reply drawn from the prepared pairs
(real lengths, as a fine-tuned model's candidates end where real replies end), scored at 07's batch
(`--batch-size`, the colab profile's 32) and length cap (`--max-seq-length` 128); side by side in one run:
  scorer:   rows/s of Scorer.score in arrival order (each batch padded to its longest pair) and
            sorted by length (the default), the ratio, and the largest score difference;
  training: examples/s of an epoch of bc.train (length-bucketed batches, shuffled across
            buckets) and of the former fit on the whole table padded to its longest pair
            (`--train-rows` rows, `--train-epochs` epochs; the first epoch, tracing included, is
            not counted), and the ratio.
The load average is printed with the figures.

Small-BERT mode (default):

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
import os
import sys
import tempfile
import time
from pathlib import Path

import helpers  # noqa: F401 - sets TF_USE_LEGACY_KERAS before TensorFlow loads
import numpy as np
import pandas as pd

from helpers.core import reddit_terms
from helpers.bert import classifier as bc
from helpers.bert.config import TrainingConfig
from helpers.sources import sample as sample_data
from helpers.bert import scoring
from helpers.models import tiny_bert

SMALL_BERT = tiny_bert.EncoderShape(num_layers=4, hidden_size=512, num_heads=8, intermediate_size=2048)


def rows(n: int, seed: int = 0) -> pd.DataFrame:
    """(comment, candidate) rows from the sample comments: each comment with 4 candidates."""
    bodies = sample_data.load_comments()["body"].dropna().astype(str)
    bodies = bodies[bodies.str.len().between(5, 1500)].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    comments = bodies.sample(n=(n + 3) // 4, random_state=seed).tolist()
    out = pd.DataFrame({"comment": np.repeat(comments, 4)[:n],
                        "candidate": bodies.iloc[rng.integers(len(bodies), size=n)].tolist()})
    return out, bodies


def sample_pairs() -> pd.DataFrame:
    """The sample's clean (comment, reply) pairs, as notebook 01 prepares them."""
    from helpers.sources import pairs as pairs_mod, prepare

    submissions, comments = sample_data.load_submissions(), sample_data.load_comments()
    joined = pairs_mod.join_pairs(submissions, comments, submissions["subreddit"].dropna().unique())
    return prepare.clean_pairs(joined)[0]


def candidates_table(pairs: pd.DataFrame, comments: int, candidates: int, seed: int = 0) -> pd.DataFrame:
    """What 06 writes for 07: `candidates` rows per comment, in 06's order (a comment's candidates
    together), each candidate a real reply of the prepared pairs drawn at random."""
    rng = np.random.default_rng(seed)
    chosen = pairs["comment"].drop_duplicates().sample(n=min(comments, pairs["comment"].nunique()), random_state=seed)
    replies = pairs["reply"].to_numpy()
    return pd.DataFrame({"comment": np.repeat(chosen.to_numpy(), candidates),
                         "candidate": replies[rng.integers(len(replies), size=len(chosen) * candidates)]})


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def former_train(model, features, labels, *, epochs, batch_size, learning_rate, callbacks):
    """bc.train before length bucketing: the whole table padded to its longest pair, Keras shuffles."""
    import tensorflow as tf

    labels = np.asarray(labels, dtype=np.int32)
    steps = epochs * int(np.ceil(len(labels) / batch_size))
    optimizer = tf.keras.optimizers.AdamW(learning_rate=bc.warmup_decay(learning_rate, steps, 0.1),
                                          weight_decay=0.01, clipnorm=1.0)
    model.compile(optimizer=optimizer, loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(features, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0, callbacks=callbacks)


def bert_base(args) -> None:
    import sys

    import tensorflow as tf

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from real_shapes import bert_base_encoder

    pairs = sample_pairs()
    df = candidates_table(pairs, args.comments, args.candidates)
    start = time.perf_counter()
    bodies = pd.concat([pairs.comment, pairs.reply])
    encoder_dir = bert_base_encoder(args.cache, bodies)
    exported = Path(args.cache) / "bert-base-classifiers"
    if not (exported / "upvotes" / "saved_model.pb").is_file():
        encoder, vocab, lower = bc.load_encoder(str(encoder_dir))
        for name, labels in (("realism", bc.REALISM_LABELS), ("upvotes", bc.UPVOTE_LABELS)):
            bc.export(bc.build_classifier(encoder, len(labels), dropout=0.1), bc.PairTokenizer(vocab, lower, args.max_seq_length),
                      labels, exported / name)
    scorer = scoring.Scorer(exported / "realism", exported / "upvotes")
    features = scorer.realism.tokenizer.encode(df.comment, df.candidate)
    lengths = bc.pair_lengths(features)
    arrival = sum(len(b) * b.max() for b in np.array_split(lengths, range(args.batch_size, len(lengths), args.batch_size)))
    ordered = np.sort(lengths)
    bucketed = sum(len(b) * b.max() for b in np.array_split(ordered, range(args.batch_size, len(ordered), args.batch_size)))
    print(f"BERT base shape, random weights: {encoder_dir} ({time.perf_counter() - start:.0f} s); {len(df)} rows, "
          f"{lengths.mean():.0f} tokens per pair on average (max {lengths.max()}), batch {args.batch_size}: "
          f"{arrival} padded tokens in arrival order, {bucketed} sorted ({arrival / bucketed:.2f}x fewer); {load()}",
          flush=True)

    runs = {"arrival": dict(sort_by_length=False), "sorted": dict(sort_by_length=True)}
    scorer.score(df.iloc[:args.batch_size], batch_size=args.batch_size, progress=False)  # warm-up
    best, scores = {name: 0.0 for name in runs}, {}
    for _ in range(args.repeat):
        for name, kw in runs.items():
            t = time.perf_counter()
            scores[name] = scorer.score(df, batch_size=args.batch_size, progress=False, **kw)
            best[name] = max(best[name], len(df) / (time.perf_counter() - t))
    diff = np.abs(scores["sorted"][list(reddit_terms.SCORE_COLUMNS)].to_numpy()
                  - scores["arrival"][list(reddit_terms.SCORE_COLUMNS)].to_numpy()).max()
    print(f"\nscorer (2 models, best of {args.repeat}); {load()}")
    print(f"  arrival order     : {best['arrival']:8.2f} rows/s")
    print(f"  sorted by length  : {best['sorted']:8.2f} rows/s   ratio {best['sorted'] / best['arrival']:.2f}x "
          f"(largest score difference {diff:.1e})", flush=True)

    if args.train_rows:
        class EpochTimes(tf.keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.times = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.start)

        subset = df.sample(n=min(args.train_rows, len(df)), random_state=0).reset_index(drop=True)
        x = scorer.realism.tokenizer.encode(subset.comment, subset.candidate)
        y = np.arange(len(subset)) % 2
        rates = {}
        for name in ("former", "bucketed"):
            encoder, _, _ = bc.load_encoder(str(encoder_dir))
            model = bc.build_classifier(encoder, 2, dropout=0.1)
            timer = EpochTimes()
            kw = dict(epochs=args.train_epochs, batch_size=args.train_batch_size, learning_rate=2e-5)
            if name == "former":
                former_train(model, x, y, callbacks=[timer], **kw)
            else:
                config = TrainingConfig.for_profile("colab", **kw, balance_classes=False)
                bc.train(model, (x, y), config, callbacks=[timer])
            rates[name] = len(subset) / min(timer.times[1:])
            print(f"  training {name:8s}: epoch times {', '.join(f'{t:.0f} s' for t in timer.times)}", flush=True)
        print(f"\ntraining, {len(subset)} rows, batch {args.train_batch_size} (an epoch after the first); {load()}")
        print(f"  padded to the table's longest: {rates['former']:7.2f} examples/s")
        print(f"  length-bucketed batches      : {rates['bucketed']:7.2f} examples/s   "
              f"ratio {rates['bucketed'] / rates['former']:.2f}x")
    print(f"\n{load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=("small", "bert-base"), default="small")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-models")
    parser.add_argument("--train-rows", type=int, default=64, help="bert-base: rows to train on (0: skip)")
    parser.add_argument("--train-batch-size", type=int, default=16)
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--comments", type=int, default=64, help="bert-base: comments scored (06's output)")
    parser.add_argument("--candidates", type=int, default=10, help="bert-base: candidates per comment (colab: 10)")
    parser.add_argument("--batch-size", type=int, default=32, help="07 scores in batches of the colab profile's 32")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.shape == "bert-base":
        return bert_base(args)

    df, bodies = rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        encoder_dir = tiny_bert.build_encoder(tmp / "encoder", tiny_bert.build_vocab(bodies, size=30522), SMALL_BERT, seed=0)
        encoder, vocab, lower = bc.load_encoder(str(encoder_dir))
        for name, labels in (("realism", bc.REALISM_LABELS), ("upvotes", bc.UPVOTE_LABELS)):
            model = bc.build_classifier(encoder, len(labels), dropout=0.1)
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
