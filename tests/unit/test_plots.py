"""The plots of 04, 05 and 07 say what they show: titles, chance lines, score ranges, AUCs, Spearman, fixed axes."""
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd

from helpers.bert import classifier as bc
from helpers.bert import scoring
from helpers.core import reddit_terms


class History:
    """What Keras' History gives the plot: epochs (0-based, a resumed run starts later), values, the model."""

    def __init__(self, classes, epoch, **history):
        self.epoch, self.history = epoch, history
        self.model = type("Model", (), {"output_shape": (None, classes)})()


def legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_training_plot_shows_held_out_loss_beside_training_on_whole_epochs_against_chance():
    fig = bc.plot_history(History(4, [2, 3, 4], loss=[1.3, 1.2, 1.1], val_loss=[1.35, 1.3, 1.32]), "Rating bins: loss")
    ax = fig.axes[0]
    assert ax.get_title() == "Rating bins: loss" and ax.get_ylabel().startswith("loss")
    assert legend(ax) == ["training rows", "held-out threads", "chance: ln 4 = 1.39"]
    chance = next(line for line in ax.get_lines() if line.get_linestyle() == "--")
    assert chance.get_ydata()[0] == math.log(4) and ax.get_ylim()[1] > math.log(4)
    assert list(ax.get_lines()[0].get_xdata()) == [3, 4, 5]  # epochs counted from 1, a resumed run where it resumed
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    realism = bc.plot_history(History(2, [0, 1], loss=[0.7, 0.5]), "Realism: loss").axes[0]
    assert legend(realism) == ["training rows", "chance: ln 2 = 0.69"]  # no validation given: none drawn


def test_roc_legends_give_score_ranges_and_aucs_and_the_scatter_spearman():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 4
    proba = rng.dirichlet(np.ones(4), 200)
    proba[np.arange(200), y] += 1
    proba /= proba.sum(axis=1, keepdims=True)
    scores = y * 3 + rng.integers(0, 2, 200)
    fig = bc.plot_upvotes(y, proba, scores=scores)
    roc, scatter = fig.axes
    labels = legend(roc)
    assert [label.split(" (AUC")[0] for label in labels[:4]] == reddit_terms.bin_labels()
    auc = bc.multiclass_metrics(y, proba)["roc_auc_0"]
    assert labels[0] == f"score < 1 (AUC {auc:.2f})" and labels[-1] == "chance (AUC 0.50)"
    rho = bc.multiclass_metrics(y, proba, scores=scores)["spearman_expected_vs_score"]
    assert scatter.get_title() == f"Expected bin vs real score (Spearman ρ = {rho:.2f})"
    realism = bc.plot_realism(y % 2, proba[:, 1])
    assert legend(realism.axes[0])[0].startswith("realism classifier (AUC ")


def test_07_histograms_have_fixed_axes_the_threshold_and_passed_vs_rejected():
    scored = pd.DataFrame({"prob_real": [0.05, 0.2, 0.95, 0.97, 0.5], "expected_rating_bin": [0.5, 1.2, 2.5, 1.1, 0.0],
                           "guards": ["", "url", "", "blocklist", ""]})
    fig = scoring.plot_scores(scored, 0.9)
    real_ax, bin_ax = fig.axes
    assert real_ax.get_xlim() == (0.0, 1.0) and bin_ax.get_xlim() == (0.0, 3.0)  # whatever the scores
    assert real_ax.get_ylabel() == bin_ax.get_ylabel() == "candidates"
    assert "passed the guards (3)" in legend(real_ax) and "rejected by a guard (2)" in legend(bin_ax)
    assert "MIN_PROB_REAL 0.9" in legend(real_ax)
    assert "1 passing candidate(s) above 0.9" in real_ax.get_title()  # 0.97 was rejected by a guard
    narrow = scoring.plot_scores(scored.assign(prob_real=[0.01, 0.02, 0.03, 0.02, 0.01]), 0.9)
    assert narrow.axes[0].get_xlim() == (0.0, 1.0)  # the threshold keeps its context
