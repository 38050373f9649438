"""Scoring candidate replies with the two exported BERT classifiers (notebook 07).

    scorer = Scorer(paths.file("bert_realism"), paths.file("bert_upvotes"))
    scored = scorer.score(candidates, comment_col="comment", reply_col="candidate")

adds `prob_real` (realism classifier), `p0..p3` (upvote rating bins) and
`expected_upvotes` = sum over k of k * p_k. Both classifiers are loaded once. Pairs are
tokenized once when both classifiers share vocabulary, casing and length, the next batch is
tokenized while the models run on the current one, and a comment shared by many candidates is
tokenized once. Rows with an empty or missing reply get NaN scores and are counted in `stats`.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .bert_classifier import Classifier, PairTokenizer

SCORE_COLUMNS = ("prob_real", "p0", "p1", "p2", "p3", "expected_upvotes")


def _tokenizer_key(tokenizer: PairTokenizer) -> tuple:
    vocab = hashlib.sha256(Path(tokenizer.vocab_file).read_bytes()).hexdigest()
    return vocab, tokenizer.do_lower_case, tokenizer.max_seq_length


class Scorer:
    """Loads the realism and upvote classifiers once; `score` adds their scores to a table."""

    def __init__(self, realism_dir: Path | str, upvotes_dir: Path | str):
        self.realism = Classifier(realism_dir)
        self.upvotes = Classifier(upvotes_dir)
        if "real" not in self.realism.labels:
            raise ValueError(f"{realism_dir} is not a realism classifier (labels {self.realism.labels}, expected 'real')")
        try:
            self.upvote_bins = np.array([int(label) for label in self.upvotes.labels], dtype=float)
        except ValueError:
            raise ValueError(f"{upvotes_dir} is not an upvote classifier (labels {self.upvotes.labels}, expected 0..3)") from None
        self.shared_tokens = _tokenizer_key(self.realism.tokenizer) == _tokenizer_key(self.upvotes.tokenizer)
        self.stats: Counter = Counter()

    def _tokenize(self, comments: list[str], replies: list[str]):
        a = self.realism.tokenizer.encode(comments, replies)
        return a, a if self.shared_tokens else self.upvotes.tokenizer.encode(comments, replies)

    def forward(self, realism_inputs: dict, upvote_inputs: dict) -> tuple[np.ndarray, np.ndarray]:
        """Both classifiers' probabilities for already tokenized inputs."""
        return self.realism.forward(realism_inputs), self.upvotes.forward(upvote_inputs)

    def score(self, df: pd.DataFrame, comment_col: str = "comment", reply_col: str = "candidate",
              batch_size: int = 64, progress: bool = True) -> pd.DataFrame:
        """`df` plus prob_real, p0..p3 and expected_upvotes (NaN for rows with no reply text)."""
        from tqdm.auto import tqdm

        for col in (comment_col, reply_col):
            if col not in df.columns:
                raise KeyError(f"score: no column {col!r} in the table (has: {', '.join(map(str, df.columns))})")
        comments = [PairTokenizer.as_text(v) for v in df[comment_col]]
        replies = [PairTokenizer.as_text(v) for v in df[reply_col]]
        usable = np.array([r.strip() != "" for r in replies], dtype=bool)
        rows = np.flatnonzero(usable)
        self.stats.update(rows=len(df), scored=len(rows), empty_reply=int((~usable).sum()))
        real = np.full(len(df), np.nan)
        bins = np.full((len(df), len(self.upvote_bins)), np.nan)
        batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
        real_index = self.realism.labels.index("real")
        with ThreadPoolExecutor(max_workers=1) as pool, tqdm(total=len(rows), desc="scoring", unit="pair",
                                                               disable=not progress) as bar:
            submit = lambda b: pool.submit(self._tokenize, [comments[i] for i in b], [replies[i] for i in b])  # noqa: E731
            pending = submit(batches[0]) if batches else None
            for n, batch in enumerate(batches):
                inputs = pending.result()
                pending = submit(batches[n + 1]) if n + 1 < len(batches) else None
                p_real, p_bins = self.forward(*inputs)
                real[batch], bins[batch] = p_real[:, real_index], p_bins
                bar.update(len(batch))
        out = df.copy()
        out["prob_real"] = real
        for k, label in enumerate(self.upvotes.labels):
            out[f"p{label}"] = bins[:, k]
        out["expected_upvotes"] = bins @ self.upvote_bins
        return out

    def __repr__(self) -> str:
        return f"Scorer(realism={self.realism!r}, upvotes={self.upvotes!r}, shared_tokens={self.shared_tokens})"
