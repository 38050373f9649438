"""Scoring candidate replies with the two exported BERT classifiers (notebook 07).

    scorer = Scorer(paths.file("bert_realism"), paths.file("bert_upvotes"))
    scored = scorer.score(candidates, comment_col="comment", reply_col="candidate", batch_size=config.batch_size)

adds `prob_real` (realism classifier), `p0..p3` (upvote rating bins) and
`expected_rating_bin` = sum over k of k * p_k. Both classifiers are loaded once. Pairs are
tokenized once when both classifiers share vocabulary, casing and length, and a comment shared by
many candidates is tokenized once. Rows are batched by length (sorted, each batch padded to its
longest pair: about half the padded tokens of arrival order on reddit-like pairs) and the scores
are returned in the table's order. Rows with an empty or missing reply get NaN scores and are
counted in `stats`.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.bert.classifier import Classifier, PairTokenizer, length_batches


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

    def _pairs(self, comments: list[str], replies: list[str]):
        """Each classifier's pair ids (one list when they tokenize alike)."""
        a = [self.realism.tokenizer.pair_ids(c, r) for c, r in zip(comments, replies)]
        return a, a if self.shared_tokens else [self.upvotes.tokenizer.pair_ids(c, r) for c, r in zip(comments, replies)]

    def forward(self, realism_inputs: dict, upvote_inputs: dict) -> tuple[np.ndarray, np.ndarray]:
        """Both classifiers' probabilities for already tokenized inputs."""
        return self.realism.forward(realism_inputs), self.upvotes.forward(upvote_inputs)

    def score(self, df: pd.DataFrame, comment_col: str = "comment", reply_col: str = "candidate", *,
              batch_size: int, progress: bool = True, sort_by_length: bool = True) -> pd.DataFrame:
        """`df` plus prob_real, p0..p3 and expected_rating_bin (NaN for rows with no reply text).
        Batches are formed by length unless `sort_by_length` is False (arrival order)."""
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
        real_index = self.realism.labels.index("real")
        with tqdm(total=len(rows), desc="scoring", unit="pair", disable=not progress) as bar:
            pairs_a, pairs_b = self._pairs([comments[i] for i in rows], [replies[i] for i in rows])
            lengths = [len(w) for w, _ in pairs_a]
            batches = (length_batches(lengths, batch_size) if sort_by_length else
                       [np.arange(i, min(i + batch_size, len(rows))) for i in range(0, len(rows), batch_size)])
            for batch in batches:
                inputs_a = PairTokenizer.pad([pairs_a[i] for i in batch])
                inputs_b = inputs_a if pairs_b is pairs_a else PairTokenizer.pad([pairs_b[i] for i in batch])
                p_real, p_bins = self.forward(inputs_a, inputs_b)
                real[rows[batch]], bins[rows[batch]] = p_real[:, real_index], p_bins
                self.stats.update(tokens=int(inputs_a["input_mask"].sum()), padded_tokens=inputs_a["input_mask"].size)
                bar.update(len(batch))
        out = df.copy()
        out["prob_real"] = real
        for k, label in enumerate(self.upvotes.labels):
            out[f"p{label}"] = bins[:, k]
        out["expected_rating_bin"] = bins @ self.upvote_bins
        return out

    def __repr__(self) -> str:
        return f"Scorer(realism={self.realism!r}, upvotes={self.upvotes!r}, shared_tokens={self.shared_tokens})"


def plot_scores(scored: pd.DataFrame, min_prob_real: float):
    """Histograms of prob_real (0-1, with the `min_prob_real` threshold) and expected_rating_bin (0-3)
    on fixed axes, stacked: candidates that passed the guards and those a guard rejected (`guards`
    column: "" when passed)."""
    import matplotlib.pyplot as plt

    passed = scored["guards"].fillna("") == "" if "guards" in scored.columns else pd.Series(True, index=scored.index)
    groups = [(scored[passed], f"passed the guards ({int(passed.sum())})", "tab:blue"),
              (scored[~passed], f"rejected by a guard ({int((~passed).sum())})", "tab:grey")]
    above = int((scored.loc[passed, "prob_real"] > min_prob_real).sum())
    fig, (real_ax, bin_ax) = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, col, top, bins in ((real_ax, "prob_real", 1.0, np.linspace(0, 1, 21)),
                               (bin_ax, "expected_rating_bin", 3.0, np.linspace(0, 3, 25))):
        ax.hist([g[col].clip(0, top) for g, _, _ in groups], bins=bins, stacked=True,
                label=[label for _, label, _ in groups], color=[color for _, _, color in groups])
        ax.set(xlim=(0, top), ylabel="candidates")
    real_ax.axvline(min_prob_real, color="red", linestyle="--", label=f"MIN_PROB_REAL {min_prob_real:g}")
    real_ax.set(xlabel="prob_real (realism model)",
                title=f"Realism: {above} passing candidate(s) above {min_prob_real:g}")
    bin_ax.set(xticks=[0, 1, 2, 3], xlabel="expected_rating_bin  Σk·p_k  (0-3)", title="Expected rating bin")
    real_ax.legend(fontsize="small", loc="upper center")
    bin_ax.legend(fontsize="small", loc="upper right")
    fig.tight_layout()
    return fig
