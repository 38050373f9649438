"""Notebook 01's preparation, the same for every source: clean the pairs, count every drop,
bin reply scores, and write the three prepared files."""
from __future__ import annotations

import html
import re
from collections import Counter

import numpy as np
import pandas as pd

from helpers.core.reddit_terms import BOTS, DEFAULT_RATING_EDGES, DELETED, rating
from helpers.sources.pairs import NoPairsError
from helpers.core.paths import Paths

SEP = "[SEP]"
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
MANY_NEWLINES = re.compile(r"\n\s*\n\s*\n+")
SPACES = re.compile(r"[ \t\r\f\v]+")
REASONS = ("deleted_or_removed", "bot_author", "null_score", "empty", "sep_marker", "too_long", "duplicate")


def clean_text(text) -> str:
    """Unescape HTML (dumps escape twice: `&amp;#x200B;`), drop zero-width characters, tidy whitespace."""
    text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    for _ in range(3):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = ZERO_WIDTH.sub("", text).replace("\xa0", " ")
    text = SPACES.sub(" ", text)
    text = MANY_NEWLINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def clean_pairs(pairs: pd.DataFrame, max_chars: int = 2000, bots=BOTS) -> tuple[pd.DataFrame, Counter]:
    """Keep the usable pairs; each dropped row is counted once, under the first reason that applies."""
    drops: Counter = Counter({reason: 0 for reason in REASONS})
    raw_comment, raw_reply = pairs["comment"].fillna("").astype(str), pairs["reply"].fillna("").astype(str)
    comment, reply = raw_comment.map(clean_text), raw_reply.map(clean_text)
    authors = pairs[["comment_author", "reply_author"]].fillna("").astype(str).apply(lambda s: s.str.lower())
    scores = pd.to_numeric(pairs["reply_score"], errors="coerce")
    checks = [
        ("deleted_or_removed", raw_comment.str.strip().isin(DELETED) | raw_reply.str.strip().isin(DELETED)),
        ("bot_author", authors["comment_author"].isin(bots) | authors["reply_author"].isin(bots)),
        ("null_score", scores.isna()),
        ("empty", (comment == "") | (reply == "")),
        ("sep_marker", comment.str.contains(SEP, regex=False) | reply.str.contains(SEP, regex=False)),
        ("too_long", (comment.str.len() > max_chars) | (reply.str.len() > max_chars)),
    ]
    keep = pd.Series(True, index=pairs.index)
    for reason, bad in checks:
        hit = keep & bad
        drops[reason] += int(hit.sum())
        keep &= ~hit
    kept = pairs[keep].assign(comment=comment[keep], reply=reply[keep], reply_score=scores[keep].astype("int64"))
    duplicated = kept.duplicated(["comment", "reply"])
    drops["duplicate"] += int(duplicated.sum())
    return kept[~duplicated].reset_index(drop=True), drops


def prepared_tables(pairs: pd.DataFrame, rating_edges=DEFAULT_RATING_EDGES) -> dict[str, pd.DataFrame]:
    """The three prepared tables from clean pairs, each row with its thread's ids."""
    ids = pairs[["submission_id", "comment_id"]]
    finetune = pd.concat([(pairs["comment"] + f" {SEP} " + pairs["reply"]).rename("text"), ids], axis=1)
    generate = pairs.drop_duplicates("comment_id")[["comment", "submission_id", "comment_id"]]
    real = pairs[["submission_id", "comment_id", "reply_id", "subreddit", "month", "comment", "reply", "reply_score"]]
    real = real.assign(real=1, rating=rating(pairs["reply_score"], rating_edges))
    return {"gpt2_finetune": finetune, "gpt2_generate": generate.reset_index(drop=True), "bert_real": real}


def write_prepared(tables: dict[str, pd.DataFrame], paths: Paths, about: dict | None = None) -> dict[str, int]:
    """Write the prepared tables as one set (all or none, see helpers.core.manifest) with a manifest that
    records `about` (source, subreddits, months, ...); returns rows per file. Empty tables are a
    NoPairsError and leave the files already there untouched."""
    from helpers.core.exchange import check_table, where
    from helpers.core.manifest import write_set

    empty = [key for key, table in tables.items() if table.empty]
    if empty:
        raise NoPairsError(
            f"no pairs left after cleaning ({', '.join(empty)} would be empty): nothing was written, the prepared files "
            f"already on Drive were kept. Pull more data (more MONTHS or SUBREDDITS) or loosen the cleaning (MAX_CHARS).")
    checked = {}
    for key, table in tables.items():
        path, shown_as, producer = where(paths, key, {})
        checked[key] = (path, check_table(table, key, shown_as, producer))
    write_set(checked, paths, about)
    return {key: len(table) for key, table in tables.items()}


def overview(pairs: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows per source, subreddit and month."""
    table = pairs.groupby(["subreddit", "month"]).size().rename("pairs").reset_index()
    return table.assign(source=source)[["source", "subreddit", "month", "pairs"]]


def plot_ratings(real: pd.DataFrame, edges=DEFAULT_RATING_EDGES):
    """Bar chart of the rating bins."""
    import matplotlib.pyplot as plt

    labels = [f"< {edges[0]}"] + [
        f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}" for lo, hi in zip(edges, edges[1:])
    ] + [f"≥ {edges[-1]}"]
    counts = real["rating"].value_counts().reindex(range(len(labels)), fill_value=0)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(labels, counts.to_numpy(), color="#4C72B0")
    ax.set(xlabel="reply score", ylabel="pairs", title="Rating bins of real replies")
    for x, n in enumerate(counts):
        ax.annotate(str(n), (x, n), ha="center", va="bottom")
    fig.tight_layout()
    return fig
