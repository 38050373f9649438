"""The generation engine on a tiny fine-tuned GPT-2 (in child processes: gpt-2-simple disables
eager execution process-wide), and the resumable CSV writer."""
import json
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from gpt2_children import fine_tuned_run, run, start

from helpers.gpt2 import engine as generation
from helpers.gpt2 import journal
from helpers.gpt2.sampling_config import SamplingConfig

ENGINE = """
from pathlib import Path
from helpers.gpt2 import engine as generation, journal
from helpers.gpt2.sampling import Chain
from helpers.models import tiny_gpt2
ckpt = args["ckpt"]
comments = [t.split(" [SEP] ")[0] for t in tiny_gpt2.toy_texts(50, seed=7)]
result = {}
try:
    generation.ReplyEngine(Path(ckpt) / "missing", "run1")
except FileNotFoundError as error:
    result["missing_error"] = str(error)
with generation.ReplyEngine(ckpt, "run1", max_reply_tokens=48, seed=3) as engine:
    first = engine.generate(comments[:1], n=8, comments_per_run=1)
    result["nodes_after_1"] = engine.node_count()
    rest, result["per_comment"] = [], []
    for comment in comments[1:]:
        steps, ended = engine.stats["steps"], engine.stats["never_ended"]
        rest += engine.generate([comment], n=8, comments_per_run=1)
        result["per_comment"].append((engine.stats["steps"] - steps, engine.stats["never_ended"] - ended))
    result["nodes_after_50"] = engine.node_count()
    result["stats"] = dict(engine.stats)
    result["replies"] = [[(r.text, r.tokens) for r in rs] for rs in first + rest]
    result["comments"] = comments
    result["again"] = [(r.text, r.tokens) for r in engine.generate(comments[:1], n=8)[0]]
    result["nucleus"] = len(engine.generate(comments[:2], n=4, sampling=Chain(top_p=0.9))[0]) + len(
        engine.generate(comments[:2], n=4, sampling=Chain(top_k=0))[0])
    long_comment = ("This comment goes on and on about coffee. " * 400).strip()
    ids, trimmed = engine.prompt_ids(long_comment)
    before = engine.stats["trimmed"]
    long_replies = engine.generate([long_comment], n=4)[0]
    result["long"] = {"prompt_tokens": len(ids), "trimmed": trimmed, "n_ctx": engine.n_ctx,
                      "counted": engine.stats["trimmed"] - before, "replies": len(long_replies),
                      "prompt_tail": engine.enc.decode(ids[-12:]), "prompt_head": engine.enc.decode(ids[:4])}
    result["short_prompt"] = engine.enc.decode(engine.prompt_ids("Hi there")[0])
    result["end_tokens"] = len(engine.end_ids)
    # Several comments per run (prompts of different lengths, in another order, a long one among
    # them): each comment gets the candidates it gets alone.
    runs = engine.stats["runs"]
    order = [9, 2, 30, 7, 1, 44, 0]
    grouped = engine.generate([long_comment] + [comments[i] for i in order], n=8, comments_per_run=4)
    result["grouped_runs"] = engine.stats["runs"] - runs
    result["grouped"] = [[(r.text, r.tokens) for r in rs] for rs in grouped[1:]]
    result["grouped_order"] = order
    result["grouped_long"] = [(r.text, r.tokens) for r in grouped[0]]
    result["long_alone"] = [(r.text, r.tokens) for r in engine.generate([long_comment], n=8, comments_per_run=1)[0]]
with generation.ReplyEngine(ckpt, "run1", max_reply_tokens=6, seed=3, keep_unfinished=True) as short:
    kept = short.generate(comments[:2], n=8)
    result["unfinished"] = {"kept": sum(map(len, kept)), "never_ended": short.stats["never_ended"]}
with generation.ReplyEngine(ckpt, "run1", max_reply_tokens=6, seed=3) as short:
    result["unfinished_dropped"] = sum(map(len, short.generate(comments[:2], n=8)))
with generation.ReplyEngine(ckpt, "run1", max_reply_tokens=48, seed=4) as other:
    result["other_seed"] = [(r.text, r.tokens) for r in other.generate(comments[:1], n=8)[0]]
"""


@pytest.fixture(scope="module")
def engine_run():
    return run(ENGINE, ckpt=str(fine_tuned_run()))


def test_engine_returns_n_candidates_without_the_prompt(engine_run):
    out, n = engine_run, 8
    stats = out["stats"]
    assert stats["comments"] == 50 and stats["candidates"] == 50 * n
    assert stats["kept"] + stats["never_ended"] + stats["empty"] == 50 * n  # every candidate accounted for
    assert stats["kept"] >= 0.7 * 50 * n  # the fine-tuned model ends most replies
    for comment, replies in zip(out["comments"], out["replies"]):
        assert len(replies) <= n
        for text, tokens in replies:
            assert text and text == text.strip() and 0 < tokens <= 48
            assert not text.startswith(comment)
            assert "<|endoftext|>" not in text and "<|startoftext|>" not in text
    assert sum(len(r) for r in out["replies"]) == stats["kept"]
    assert stats["tokens"] == sum(t for rs in out["replies"] for _, t in rs)


def test_engine_stops_early_and_is_reproducible(engine_run):
    out = engine_run
    # A comment's sampling loop stops as soon as all its samples ended, else at the maximum length.
    early = [(steps, never) for steps, never in out["per_comment"] if steps < 48]
    assert len(early) >= 3 and all(never == 0 for _, never in early)
    assert all(steps == 48 for steps, never in out["per_comment"] if never > 0)
    assert out["again"] == out["replies"][0]  # same seed, same comment: same replies
    assert out["other_seed"] != out["again"]
    assert out["nucleus"] > 0


def test_several_comments_per_run_give_each_comment_its_own_candidates(engine_run):
    out = engine_run
    assert out["grouped_runs"] == 2  # 8 comments, 4 per run
    assert out["grouped"] == [out["replies"][i] for i in out["grouped_order"]]
    assert out["grouped_long"] == out["long_alone"]


def test_keep_unfinished_keeps_candidates_cut_at_the_maximum(engine_run):
    kept = engine_run["unfinished"]
    assert kept["never_ended"] > 0 and kept["kept"] >= kept["never_ended"]
    assert engine_run["unfinished_dropped"] == kept["kept"] - kept["never_ended"]


def test_graph_does_not_grow(engine_run):
    assert engine_run["nodes_after_1"] == engine_run["nodes_after_50"] > 100


def test_long_comment_is_trimmed_from_its_start(engine_run):
    long = engine_run["long"]
    assert long["trimmed"] and long["counted"] == 1
    assert long["prompt_tokens"] <= long["n_ctx"] - 48
    assert long["prompt_head"].startswith("<|startoftext|>")
    assert long["prompt_tail"].endswith("about coffee. [SEP]")  # the end of the comment is kept
    assert engine_run["short_prompt"] == "<|startoftext|>Hi there [SEP]"  # as fine-tuning rows begin


def test_missing_run_names_the_notebook(engine_run):
    assert "02_finetune_gpt2" in engine_run["missing_error"]


FORMER = """
import sys
sys.path.insert(0, args["benchmarks"])
from legacy_engine import LegacyEngine
from helpers.gpt2 import engine as generation, journal
from helpers.models import tiny_gpt2
comments = [t.split(" [SEP] ")[0] for t in tiny_gpt2.toy_texts(12, seed=5)]
comments[3] = ("A long one about pizza and my cat. " * 60).strip()
result = {}
for name, cls in (("former", LegacyEngine), ("engine", generation.ReplyEngine)):
    with cls(args["ckpt"], "run1", max_reply_tokens=40, seed=9) as engine:
        result[name] = [[(r.text, r.tokens) for r in rs] for rs in engine.generate(comments, n=6)]
"""


def test_engine_gives_the_candidates_the_former_engine_gave():
    """The shared prompt cache and several comments per run change the cost, not the samples: same
    seeds, same candidates as the former engine (prompt tiled per candidate, one comment per run)."""
    out = run(FORMER, ckpt=str(fine_tuned_run()), benchmarks=str(Path(__file__).resolve().parents[2] / "benchmarks"))
    assert sum(map(len, out["engine"])) > 30
    assert out["engine"] == out["former"]


RESUMABLE = """
import pandas as pd
from helpers.gpt2 import engine as generation, journal
from helpers.gpt2.sampling_config import SamplingConfig
from helpers.models import tiny_gpt2
comments = [t.split(" [SEP] ")[0] for t in tiny_gpt2.toy_texts(40, seed=11)]
items = pd.DataFrame({"comment_id": [f"c{i:02d}" for i in range(40)], "comment": comments,
                      "submission_id": [f"s{i // 4}" for i in range(40)]})
with generation.ReplyEngine(args["ckpt"], "run1", max_reply_tokens=48) as engine:
    df = journal.generate_resumable(engine, items, "comment_id", "comment", args["out"], SamplingConfig.for_profile("tiny", candidates_per_comment=6), progress=False)
    result = {"rows": len(df), "generated_now": engine.stats["comments"]}
"""


def test_killed_generation_resumes_with_each_comment_once(tmp_path):
    ckpt = str(fine_tuned_run())
    whole = run(RESUMABLE, ckpt=ckpt, out=str(tmp_path / "whole.csv"))
    assert whole["generated_now"] == 40

    out = tmp_path / "killed.csv"
    log = journal.progress_path(out)
    child = start(RESUMABLE, ckpt=ckpt, out=str(out))
    deadline = time.time() + 120
    while (not log.exists() or len(log.read_text().splitlines()) < 9) and time.time() < deadline:
        time.sleep(0.01)
    child.kill()
    child.wait()
    done_at_kill = len(log.read_text().splitlines()) - 1  # the first line records the header
    assert 8 <= done_at_kill < 40, "the kill should land midway"
    with open(out, "a", encoding="utf-8") as f:  # a comment's rows cut short by the crash
        f.write('c39,"half a row')

    resumed = run(RESUMABLE, ckpt=ckpt, out=str(out))
    assert resumed["generated_now"] == 40 - done_at_kill  # comments done before the kill are skipped
    a = journal.read_candidates(tmp_path / "whole.csv")
    b = journal.read_candidates(out)
    pd.testing.assert_frame_equal(a, b)  # the same rows as a run that was never interrupted
    blocks = (b["comment_id"] != b["comment_id"].shift()).cumsum()
    assert b.groupby("comment_id").apply(lambda g: blocks[g.index].nunique()).eq(1).all()  # each comment once
    keys = [json.loads(line)["key"] for line in log.read_text().splitlines()[1:]]
    assert sorted(keys) == [f"c{i:02d}" for i in range(40)]
    assert list(b.columns) == ["comment_id", "comment", "submission_id", "candidate", "candidate_tokens"]


def test_resumable_refuses_a_file_with_other_columns(tmp_path):
    out = tmp_path / "c.csv"
    out.write_text("id,text\n1,x\n")
    items = pd.DataFrame({"comment_id": ["a"], "comment": ["hello"]})
    with pytest.raises(ValueError, match="delete it, or write to another file"):
        journal.generate_resumable(None, items, "comment_id", "comment", out, SamplingConfig.for_profile("tiny", candidates_per_comment=2))
    with pytest.raises(KeyError, match="no column 'body'"):
        journal.generate_resumable(None, items, "comment_id", "body", out, SamplingConfig.for_profile("tiny", candidates_per_comment=2))


def test_resumable_trusts_a_file_without_its_log_and_cuts_a_partial_comment(tmp_path):
    out = tmp_path / "c.csv"
    items = pd.DataFrame({"comment_id": ["a", "b"], "comment": ["hello", "there"]})
    out.write_text("comment_id,comment,candidate,candidate_tokens\na,hello,hi,1\nb,there,\"yo\nyo\",3\n")
    # Every key is in the file already: nothing to generate, so no engine is needed.
    df = journal.generate_resumable(None, items, "comment_id", "comment", out, SamplingConfig.for_profile("tiny", candidates_per_comment=2), progress=False)
    assert list(df["candidate"]) == ["hi", "yo\nyo"] and list(df["candidate_tokens"]) == [1, 3]
    log = journal.progress_path(out)
    assert [json.loads(line)["key"] for line in log.read_text().splitlines()] == [None, "a", "b"]
    size = out.stat().st_size
    with open(out, "a", encoding="utf-8") as f:
        f.write('c,x,"cut short by a cra')
    journal.generate_resumable(None, items, "comment_id", "comment", out, SamplingConfig.for_profile("tiny", candidates_per_comment=2), progress=False)
    assert out.stat().st_size == size  # the partial rows are gone


def test_clean_reply_as_the_original():
    assert generation.clean_reply("  Hi&amp;#x200B; there \n\n\n second\u200b line  ") == "Hi there\nsecond line"
    assert generation.prompt_text("a comment") == "<|startoftext|>a comment [SEP]"


def test_gpt2_simple_stays_out_of_the_test_process():
    assert "gpt_2_simple" not in sys.modules  # it would disable eager execution for the BERT tests


UNFINISHED = """
from pathlib import Path
from helpers.gpt2 import engine as generation, journal
from helpers.models import tiny_gpt2
root = Path(args["root"])
tiny_gpt2.build(root / "random", tiny_gpt2.toy_texts(200), seed=3)  # random weights: never writes <|endoftext|>
result = {}
for keep in (False, True):
    with generation.ReplyEngine(root, "random", max_reply_tokens=12, seed=0, keep_unfinished=keep) as engine:
        replies = engine.generate(["Does anyone else love pizza?", "Hot take: bikes are overrated."], n=3)
        result[str(keep)] = {"counts": [len(r) for r in replies], "tokens": [x.tokens for r in replies for x in r],
                             "never_ended": engine.stats["never_ended"]}
"""


def test_keep_unfinished_keeps_candidates_that_never_end(tmp_path):
    """The colab smoke run's random-weight GPT-2 never ends a reply: keep_unfinished keeps them
    (cut at max_reply_tokens) instead of dropping them; the default still drops them."""
    got = run(UNFINISHED, root=str(tmp_path))
    assert got["False"]["counts"] == [0, 0] and got["False"]["never_ended"] == 6
    assert got["True"]["counts"] == [3, 3] and got["True"]["never_ended"] == 6
    assert all(0 < t <= 12 for t in got["True"]["tokens"])


CHAIN = """
from helpers.gpt2 import engine as generation
from helpers.gpt2.sampling import Chain
from helpers.models import tiny_gpt2
comments = [t.split(" [SEP] ")[0] for t in tiny_gpt2.toy_texts(6, seed=21)]
result = {}
with generation.ReplyEngine(args["ckpt"], "run1", max_reply_tokens=24, seed=1, keep_unfinished=True) as engine:
    for name, top_p in (("top_k", 0.0), ("top_k_and_top_p", 0.95)):
        replies = engine.generate(comments, n=6, sampling=Chain(top_k=1, top_p=top_p))
        result[name] = [sorted({(r.text, r.tokens) for r in rs}) for rs in replies]
    free = engine.generate(comments, n=6, sampling=Chain(top_k=0, top_p=0.95))
    result["top_p_alone"] = [len({r.text for r in rs}) for rs in free]
"""


def test_top_p_does_not_switch_top_k_off():
    """Sampling is a chain, as transformers' logits processors: temperature, then top-k, then top-p.
    With top_k=1 every candidate is the greedy reply, whatever top_p says (the nested tf.cond of
    the former engine let any top_p > 0 drop top_k silently)."""
    out = run(CHAIN, ckpt=str(fine_tuned_run()))
    assert max(out["top_p_alone"]) > 1  # top-p alone leaves room: candidates differ
    assert all(len(texts) == 1 for texts in out["top_k"])  # top_k=1: one greedy reply per comment
    assert out["top_k_and_top_p"] == out["top_k"]


def test_sampling_chain_runs_temperature_then_top_k_then_top_p():
    import numpy as np
    import tensorflow as tf

    from helpers.gpt2 import sampling

    logits = tf.constant([[4.0, 3.0, 2.0, 1.0, 0.0]])
    kept = lambda out: (out.numpy()[0] > sampling.NEG / 2).sum()
    assert kept(sampling.process(tf, logits, 1.0, 0, 0.0)) == 5  # both off: every token
    assert kept(sampling.process(tf, logits, 1.0, 2, 0.0)) == 2
    assert kept(sampling.process(tf, logits, 1.0, 0, 0.9)) == 3  # probabilities .64 .24 .09 ...
    assert kept(sampling.process(tf, logits, 1.0, 2, 0.9)) == 2  # top-p never undoes top-k
    assert kept(sampling.process(tf, logits, 1.0, 4, 0.5)) == 1  # ... nor top-k top-p
    # temperature first: a flatter distribution needs more tokens to reach p
    assert kept(sampling.process(tf, logits, 4.0, 0, 0.9)) == 5
    np.testing.assert_allclose(sampling.process(tf, logits, 2.0, 0, 0.0).numpy(), logits.numpy() / 2)


def test_cache_holds_only_the_positions_written():
    import numpy as np
    import tensorflow as tf

    from helpers.gpt2 import decoder as dec

    class HP:
        n_head, n_embd, n_layer = 2, 8, 1

    prompts, n, heads, dim = 2, 3, 2, 4
    empty = lambda: dec.Cache.empty(tf, HP, prompts, n)
    cache = dec.Cache(empty(), empty())
    steps = [(np.full([prompts, heads, n, dim], t, np.float32), np.full([prompts, heads, n, dim], -t, np.float32))
             for t in range(5)]
    for t, (k, v) in enumerate(steps[:3]):
        (pk, pv), (bk, bv) = cache.update(tf, 0, tf.constant(k), tf.constant(v))
        assert pk.shape[-1] == 0 and bk.shape[-1] == t + 1 and bv.shape[3] == t + 1  # nothing beyond what exists
    cache = dec.Cache(cache.joined(tf), empty())  # a full block joins the positions before
    (pk, pv), (bk, bv) = cache.update(tf, 0, *map(tf.constant, steps[3]))
    assert pk.shape[-1] == 3 and bk.shape[-1] == 1
    assert pk.numpy()[0, 0, 0, 0].tolist() == [0, 1, 2] and bk.numpy()[0, 0, 0, 0].tolist() == [3]  # keys [B, H, n, D, T]
    assert pv.numpy()[0, 0, 0, :, 0].tolist() == [0, -1, -2]  # values [B, H, n, T, D]


def test_short_draw_samples_the_full_chains_distribution():
    """`sampling.choose` draws among the top-k tokens only when top-k alone limits them: the same
    distribution as the full chain's draw over every logit (ties at the k-th logit within and
    beyond SLACK included; top-p and top_k=0 take the full chain, token for token), never a token
    outside the top k, and a prompt's tokens do not depend on the prompt beside it."""
    import numpy as np
    import tensorflow as tf

    from helpers.gpt2 import sampling

    rng = np.random.default_rng(3)
    n, vocab = 64, 3001
    row = rng.normal(0, 2, size=vocab).astype(np.float32)
    tied = row.copy()
    tied[200:230] = np.sort(tied)[-6]  # 30 ties at the 6th likeliest: beyond SLACK
    few_ties = row.copy()
    few_ties[[5, 9, 11]] = np.sort(few_ties)[-6]  # within SLACK
    rows = lambda *rs: tf.constant(np.repeat(np.stack(rs), n, axis=0))
    seeds = tf.constant([[7, 11], [7, 12]], tf.int64)

    def counts(fn, logits, k, p, temperature=0.7):
        drawn = np.concatenate([fn(logits, k, p, temperature, step).numpy().reshape(2, n) for step in range(30)], axis=1)
        return [np.bincount(d, minlength=vocab) / d.size for d in drawn]

    ours = lambda lg, k, p, t, step: sampling.choose(tf, lg, sampling.Chain(t, k, p), seeds, step, n)
    full = lambda lg, k, p, t, step: sampling.draw(tf, sampling.process(tf, lg, t, k, p), seeds, step, n)
    tv = lambda a, b: 0.5 * np.abs(a - b).sum()
    for logits, k in ((rows(row, few_ties), 10), (rows(tied, row), 6), (rows(row, row), 1)):
        got, want = counts(ours, logits, k, 0.0), counts(full, logits, k, 0.0)
        for g, w, lg in zip(got, want, np.split(logits.numpy(), 2)):
            kth = np.sort(lg[0])[-k]
            assert g[lg[0] < kth].sum() == 0  # only top-k tokens
            assert tv(g, w) < 0.06, (k, tv(g, w))
    hotter = counts(full, rows(row, few_ties), 10, 0.0, temperature=1.4)
    assert tv(hotter[0], counts(ours, rows(row, few_ties), 10, 0.0)[0]) > 0.1  # the comparison tells them apart
    for k, p in ((40, 0.9), (0, 0.0), (0, 0.5)):  # the full chain itself
        assert ours(rows(row, tied), k, p, 0.7, 3).numpy().tolist() == full(rows(row, tied), k, p, 0.7, 3).numpy().tolist()
    # a prompt's candidates, whatever is beside it (a prompt with many ties takes the full chain)
    alone = ours(rows(row, row), 6, 0.0, 0.7, 5).numpy()[:n]
    assert ours(rows(row, tied), 6, 0.0, 0.7, 5).numpy()[:n].tolist() == alone.tolist()
