"""The BERT stage's settings: fine-tuning a classifier (04, 05) and scoring candidates with both (07).

Notebook parameters are the fields in capitals (`EPOCHS` for `epochs`); None takes the profile's value.
"""
from __future__ import annotations

from dataclasses import dataclass

from helpers.core.config import StageConfig, setting
from helpers.core.settings import BERT_BASE


@dataclass(frozen=True)
class TrainingConfig(StageConfig):
    """Fine-tuning a BERT classifier: notebooks 04 (realism) and 05 (rating bins)."""

    encoder: str = setting('TF Hub handle, a name in classifier.ENCODERS (small BERTs train faster), or "tiny" '
                           "(built locally)", colab=BERT_BASE, tiny="tiny")
    max_seq_length: int = setting("tokens per (comment, reply) pair; the longer side is cut first", colab=128, tiny=64)
    batch_size: int = setting("pairs per training step", colab=32, tiny=16)
    epochs: int = setting("passes over the training rows", colab=3, tiny=5)
    learning_rate: float = setting("peak learning rate, reached after the warm-up", colab=2e-5, tiny=1e-3)
    warmup_fraction: float = setting("share of the steps over which the learning rate rises (then decays to 0)",
                                     default=0.1)
    weight_decay: float = setting("AdamW's weight decay", default=0.01)
    dropout: float = setting("dropout on pooled_output before the classifier head", default=0.1)
    balance_classes: bool = setting("weigh every class alike in the loss (classes are far from balanced)", default=True)
    train_rows: int = setting("0: every training row; N: a seeded N of them (a quick trial)", default=0)
    test_fraction: float = setting("share of the rows held out for testing, as whole threads", default=0.2)
    threshold: float = setting("04: prob_real at or above which a reply counts as real in the metrics", default=0.5)
    retrain: bool = setting("train even when the export on Drive was trained on this data with these settings "
                            "(False: load it, see docs/drive.md)", default=False)


@dataclass(frozen=True)
class ScoringConfig(StageConfig):
    """Scoring candidates with both classifiers and picking one reply per post: notebook 07."""

    min_prob_real: float = setting("keep replies the realism model rates above this (the original: 0.9)", default=0.9)
    max_chars: int = setting("keep replies shorter than this (the original: 1000)", default=1000)
    batch_size: int = setting("pairs per scoring batch", colab=32, tiny=16)
