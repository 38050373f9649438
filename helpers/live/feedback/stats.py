"""The figures of notebook 08: the latest state of each reply against the prediction made when it
was posted (rank correlation, score per predicted bin, calibration, removals, the bot against the
human replies beside it), and scores over time."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.core.reddit_terms import DEFAULT_RATING_EDGES, SCORE_COLUMNS, rating
from helpers.live.feedback.from_ledger import MODEL_RUNS


def latest(fetches: pd.DataFrame, posted: pd.DataFrame, min_age_hours: float = 0) -> pd.DataFrame:
    """The last fetch of each reply made when the reply was at least `min_age_hours` old, with the
    prediction made when it was posted (NaN if unknown)."""
    fetches = fetches[~(fetches["age_hours"].astype(float) < min_age_hours)]
    at = pd.to_datetime(fetches["fetched_at"], utc=True, format="mixed", errors="coerce")  # a spreadsheet may rewrite it
    last = (fetches.assign(_t=at).sort_values("_t", kind="stable", na_position="first")
            .drop_duplicates("reply_id", keep="last").drop(columns="_t"))
    keep = ["reply_id", *SCORE_COLUMNS, *MODEL_RUNS, "text", "reply", "parent_body"]
    return last.merge(posted[keep], on="reply_id", how="left").reset_index(drop=True)


def predicted_bin(table: pd.DataFrame) -> pd.Series:
    """The bin the upvote model found likeliest (argmax of p0..p3); NaN when unknown."""
    probs = table[["p0", "p1", "p2", "p3"]].astype(float)
    known = probs.notna().all(axis=1)
    out = pd.Series(np.nan, index=table.index)
    if known.any():
        out[known] = probs[known].to_numpy().argmax(axis=1)
    return out


def scored(table: pd.DataFrame) -> pd.DataFrame:
    """Replies whose score means something: on Reddit (not removed, deleted or missing), score known."""
    return table[(table["status"] == "ok") & table["score"].notna()]


def figures(table: pd.DataFrame, edges=DEFAULT_RATING_EDGES) -> dict:
    """The headline figures from the latest state of each reply (see `latest`)."""
    from scipy.stats import spearmanr

    live = scored(table)
    known = live[live["expected_rating_bin"].notna()]
    def rank_correlation(predicted: pd.Series, score: pd.Series) -> float:
        if len(predicted) < 3 or predicted.nunique() < 2 or score.nunique() < 2:
            return math.nan
        return float(spearmanr(predicted.astype(float), score.astype(float)).statistic)

    spearman = rank_correlation(known["expected_rating_bin"], known["score"])
    bins = predicted_bin(live)
    spearman_bin = rank_correlation(bins[bins.notna()], live.loc[bins.notna(), "score"])
    humans = live[live["human_replies"].fillna(0) > 0]
    suspended = table["author_suspended"].map(lambda v: str(v).lower() == "true")
    return {
        "replies": len(table),
        "on_reddit": len(live),
        "with_prediction": len(known),
        "removed": int((table["status"] == "removed").sum()),
        "removal_rate": float((table["status"] == "removed").mean()) if len(table) else math.nan,
        "deleted": int((table["status"] == "deleted").sum()),
        "missing": int((table["status"] == "missing").sum()),
        "author_suspended": int(suspended.sum()),
        "parent_gone": int(table["parent_status"].isin(["deleted", "removed", "missing"]).sum()),
        "median_score": float(live["score"].median()) if len(live) else math.nan,
        "spearman_expected_vs_score": spearman,
        "spearman_predicted_bin_vs_score": spearman_bin,  # the likeliest bin (argmax p0..p3) instead
        "bot_median_score_vs_humans": float(humans["score"].median()) if len(humans) else math.nan,
        "human_median_score": float(humans["human_median_score"].median()) if len(humans) else math.nan,
        "bot_at_least_human_median": float((humans["score"] >= humans["human_median_score"]).mean()) if len(humans) else math.nan,
    }


def by_predicted_bin(table: pd.DataFrame) -> pd.DataFrame:
    """Per predicted bin (argmax p0..p3): how many replies, their median and mean score."""
    live = scored(table)
    live = live.assign(predicted_bin=predicted_bin(live)).dropna(subset=["predicted_bin"])
    out = live.groupby(live["predicted_bin"].astype(int))["score"].agg(replies="size", median_score="median", mean_score="mean")
    return out.reindex(range(4)).assign(replies=lambda t: t["replies"].fillna(0).astype(int)).rename_axis("predicted bin")


def calibration(table: pd.DataFrame, edges=DEFAULT_RATING_EDGES) -> pd.DataFrame:
    """Per upvote bin: the share of replies the model expected there (mean p_k) against the share
    whose real score landed there, over replies on Reddit with a known prediction."""
    live = scored(table).dropna(subset=["p0", "p1", "p2", "p3"])
    actual = rating(live["score"].astype(float), edges).value_counts(normalize=True) if len(live) else pd.Series(dtype=float)
    return pd.DataFrame({
        "predicted share": [float(live[f"p{k}"].mean()) if len(live) else math.nan for k in range(4)],
        "actual share": [float(actual.get(k, 0.0)) if len(live) else math.nan for k in range(4)],
    }, index=pd.Index(_bin_labels(edges), name="score bin"))


def _bin_labels(edges=DEFAULT_RATING_EDGES) -> list[str]:
    return ([f"< {edges[0]}"] + [f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}" for lo, hi in zip(edges, edges[1:])]
            + [f"≥ {edges[-1]}"])


def over_time(fetches: pd.DataFrame) -> pd.DataFrame:
    """Median score of the bot's replies and of the human replies beside them, per fetch age (hours,
    rounded to the day when older than two days), over replies on Reddit."""
    live = fetches[(fetches["status"] == "ok") & fetches["score"].notna()]
    age = live["age_hours"].astype(float)
    bucket = np.where(age < 48, np.round(age), np.round(age / 24) * 24)
    return (live.assign(age=bucket).groupby("age")
            .agg(replies=("reply_id", "nunique"), bot_median=("score", "median"), human_median=("human_median_score", "median")))
