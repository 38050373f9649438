"""The four panels of notebook 08, and showing a figure whatever matplotlib's backend."""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.reddit_terms import DEFAULT_RATING_EDGES
from helpers.live.feedback.stats import calibration, over_time, scored


def plot(table: pd.DataFrame, fetches: pd.DataFrame, edges=DEFAULT_RATING_EDGES):
    """Four panels: predicted expected bin vs real score; calibration; bot vs human replies; score over time."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    live = scored(table)
    ax = axes[0, 0]
    ax.scatter(live["expected_rating_bin"], live["score"], s=18)
    ax.set(xlabel="expected upvote bin at posting (Σk·p_k)", ylabel="score now",
           title="predicted vs actual")
    ax = axes[0, 1]
    cal = calibration(table, edges)
    x = np.arange(len(cal))
    ax.bar(x - 0.2, cal["predicted share"], 0.4, label="predicted (mean p_k)")
    ax.bar(x + 0.2, cal["actual share"], 0.4, label="actual")
    ax.set(xticks=x, xticklabels=cal.index, xlabel="score bin", ylabel="share of replies", title="calibration")
    ax.legend()
    ax = axes[1, 0]
    humans = live[live["human_replies"].fillna(0) > 0]
    ax.scatter(humans["human_median_score"], humans["score"], s=18)
    if len(humans):
        top = float(max(humans["human_median_score"].max(), humans["score"].max(), 1))
        ax.plot([0, top], [0, top], "--", color="grey")
    ax.set(xlabel="median score of the human replies to the same comment", ylabel="bot reply's score",
           title="bot vs humans, same comments")
    ax = axes[1, 1]
    follow = fetches[fetches["score"].notna()].assign(age_hours=lambda t: t["age_hours"].astype(float))
    if follow["reply_id"].nunique() <= 10:  # a line per reply; an x where it was no longer on Reddit
        for reply_id, rows in follow.groupby("reply_id"):
            line, = ax.plot(rows["age_hours"], rows["score"].astype(float), marker="o", alpha=0.6, label=reply_id)
            gone = rows[rows["status"] != "ok"]
            ax.scatter(gone["age_hours"], gone["score"].astype(float), marker="x", s=80, color=line.get_color())
    medians = over_time(fetches)
    ax.plot(medians.index, medians["bot_median"], color="black", linewidth=2.5, label="bot, median")
    ax.plot(medians.index, medians["human_median"], color="grey", linewidth=2.5, linestyle="--", label="humans, median")
    ax.set(xlabel="hours since posting", ylabel="score", title="score over time (x: removed or gone)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def show(fig) -> None:
    """Show `fig` in the notebook as a PNG whatever matplotlib's backend (with MPLBACKEND=Agg, as in a
    headless run, a figure left to the backend shows nothing), then close it so it is not shown twice."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=80)
    plt.close(fig)
    display(Image(data=png.getvalue(), format="png"))
