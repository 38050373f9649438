"""The scorer: both exported classifiers loaded once, batched scoring, columns of the contract."""
import helpers  # noqa: F401 - sets TF_USE_LEGACY_KERAS before TensorFlow loads
import numpy as np
import pandas as pd
import pytest

from helpers.core import reddit_terms
from helpers.bert import classifier as bc
from helpers.bert import scoring
from helpers.models import tiny_bert

TEXTS = ["how do I fix a soggy crust", "bake it longer on the lowest rack", "which gpu should I buy",
         "wait for the sales", "any tips for saving money", "automate the transfer on payday"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two exported tiny classifiers (weights as initialised: the contract, not the quality)."""
    root = tmp_path_factory.mktemp("scoring")
    encoder_dir = tiny_bert.build(root / "encoder", TEXTS, seed=0)
    out = {}
    encoder, vocab, lower = bc.load_encoder(str(encoder_dir))  # shared: the heads differ
    for name, labels, max_len in (("realism", bc.REALISM_LABELS, 24), ("upvotes", bc.UPVOTE_LABELS, 24),
                                  ("upvotes_short", bc.UPVOTE_LABELS, 10)):
        model = bc.build_classifier(encoder, len(labels), dropout=0.1, seed=len(out))
        out[name] = bc.export(model, bc.PairTokenizer(vocab, lower, max_len), labels, root / name)
    return out


def candidates(n: int = 23) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(dict(comment_id=[f"c{i // 4}" for i in range(n)],
                             comment=[TEXTS[2 * (i // 4) % 6] for i in range(n)],
                             candidate=[" ".join(rng.choice(TEXTS[1::2], 2)) for _ in range(n)]))


def test_scores_have_the_contract_columns_and_match_each_classifier(exported):
    scorer = scoring.Scorer(exported["realism"], exported["upvotes"])
    assert scorer.shared_tokens
    df = candidates()
    out = scorer.score(df, batch_size=5, progress=False)  # 23 rows: the last batch is partial
    assert list(out.columns) == list(df.columns) + list(reddit_terms.SCORE_COLUMNS)
    pd.testing.assert_frame_equal(out[df.columns], df)
    p = out[["p0", "p1", "p2", "p3"]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(out.expected_rating_bin, p @ [0, 1, 2, 3], atol=1e-6)
    assert out.prob_real.between(0, 1).all()
    # the same as each classifier on its own, unbatched: batching and prefetching change nothing
    real = bc.Classifier(exported["realism"]).predict(df.comment, df.candidate, batch_size=len(df))
    bins = bc.Classifier(exported["upvotes"]).predict(df.comment, df.candidate, batch_size=len(df))
    np.testing.assert_allclose(out.prob_real, real[:, 1], atol=1e-5)
    np.testing.assert_allclose(p, bins, atol=1e-5)
    assert p.std(axis=0).max() > 0  # scores depend on the text
    assert scorer.stats["scored"] == 23


def test_batches_are_formed_by_length_and_scores_come_back_in_the_tables_order(exported):
    rng = np.random.default_rng(1)
    words = " ".join(TEXTS).split()
    lengths = rng.integers(1, 14, size=40)  # short and long replies, shuffled
    df = pd.DataFrame(dict(comment=[TEXTS[i % 6] for i in range(40)],
                           candidate=[" ".join(rng.choice(words, k)) for k in lengths]))
    alone = bc.Classifier(exported["realism"]).predict(df.comment, df.candidate, batch_size=1)[:, 1]  # no padding
    arrival = scoring.Scorer(exported["realism"], exported["upvotes"])
    by_arrival = arrival.score(df, batch_size=8, progress=False, sort_by_length=False)
    scorer = scoring.Scorer(exported["realism"], exported["upvotes"])
    out = scorer.score(df, batch_size=8, progress=False)
    np.testing.assert_allclose(out.prob_real, alone, atol=1e-5)  # each row its own score, in order
    np.testing.assert_allclose(out[list(reddit_terms.SCORE_COLUMNS)], by_arrival[list(reddit_terms.SCORE_COLUMNS)], atol=1e-5)
    assert out.prob_real.std() > 0
    assert scorer.stats["tokens"] == arrival.stats["tokens"]
    # sorted batches pad less: the fewest padded tokens batches of 8 can have
    tokens = bc.pair_lengths(scorer.realism.tokenizer.encode(df.comment, df.candidate))
    ordered = np.sort(tokens)
    best = sum(len(ordered[i:i + 8]) * ordered[i:i + 8].max() for i in range(0, 40, 8))
    assert scorer.stats["padded_tokens"] == best < arrival.stats["padded_tokens"]


def test_rows_without_a_reply_get_no_scores_and_are_counted(exported):
    scorer = scoring.Scorer(exported["realism"], exported["upvotes"])
    df = candidates(6)
    df.loc[1, "candidate"], df.loc[4, "candidate"] = "", float("nan")
    df.loc[2, "comment"], df.loc[3, "candidate"] = None, "Ünïcödé 😀 " + "very long " * 5000
    out = scorer.score(df, batch_size=4, progress=False)
    assert out.loc[[1, 4], list(reddit_terms.SCORE_COLUMNS)].isna().all().all()
    assert out.drop(index=[1, 4])[list(reddit_terms.SCORE_COLUMNS)].notna().all().all()
    assert scorer.stats["empty_reply"] == 2 and scorer.stats["scored"] == 4
    empty = scorer.score(df.iloc[:0], batch_size=4, progress=False)
    assert len(empty) == 0 and "expected_rating_bin" in empty.columns


def test_classifiers_with_different_lengths_tokenize_separately(exported):
    scorer = scoring.Scorer(exported["realism"], exported["upvotes_short"])
    assert not scorer.shared_tokens
    df = candidates(9)
    out = scorer.score(df, batch_size=4, progress=False)
    bins = bc.Classifier(exported["upvotes_short"]).predict(df.comment, df.candidate)
    np.testing.assert_allclose(out[["p0", "p1", "p2", "p3"]].to_numpy(), bins, atol=1e-5)


def test_clear_errors(exported, tmp_path):
    with pytest.raises(ValueError, match="not a realism classifier"):
        scoring.Scorer(exported["upvotes"], exported["realism"])
    with pytest.raises(FileNotFoundError, match="04_bert_realism"):
        scoring.Scorer(tmp_path / "models/bert_realism", exported["upvotes"])
    scorer = scoring.Scorer(exported["realism"], exported["upvotes"])
    with pytest.raises(KeyError, match="reply_text"):
        scorer.score(candidates(3), reply_col="reply_text", batch_size=4)
