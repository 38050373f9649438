"""The engine's decoder (shared prompt cache, a cache of the positions written so far in blocks,
several prompts of different lengths) against a plain full recompute by gpt-2-simple's own model (in a child process:
gpt-2-simple switches TensorFlow to graph mode)."""
from gpt2_children import run

RECOMPUTE = """
import numpy as np
import tensorflow as tf
from gpt_2_simple.src import model
from helpers.gpt2 import decoder as dec

hp = model.default_hparams()
hp.override_from_dict(dict(n_vocab=97, n_ctx=64, n_embd=32, n_head=4, n_layer=3))
rng = np.random.default_rng(0)
lengths, n, steps, block = [5, 11, 2], 2, 7, 3  # prompt tokens; steps spanning blocks of 3 (full and partial)
B = len(lengths)
prompts = [rng.integers(0, hp.n_vocab, size=L).tolist() for L in lengths]
forced = rng.integers(0, hp.n_vocab, size=(B * n, steps))  # the tokens the candidates feed
graph = tf.Graph()
with graph.as_default():
    full = tf.compat.v1.placeholder(tf.int32, [1, None])
    reference = model.model(hparams=hp, X=full)["logits"]  # creates gpt-2-simple's variables
    w = dec.variables(tf, hp)  # ... which the decoder reuses
    assert len(set(map(id, w.values()))) == len(tf.compat.v1.global_variables())
    padded = tf.constant([p + [0] * (max(lengths) - len(p)) for p in prompts], tf.int32)
    prompts_kv = dec.prompt_pass(tf, w, hp, padded, tf.constant(lengths, tf.int32), n)
    starts = tf.constant(np.repeat(lengths, n), tf.int32)
    step_logits = []
    past = dec.Cache.empty(tf, hp, B, n)
    cache = dec.Cache(past, dec.Cache.empty(tf, hp, B, n))
    for t in range(steps):
        if t and t % block == 0:  # a full block joins the positions before it, as in the engine's loops
            cache = dec.Cache(cache.joined(tf), dec.Cache.empty(tf, hp, B, n))
        step_logits.append(dec.step(tf, w, hp, tf.constant(forced[:, t], tf.int32), starts + t, cache, prompts_kv))
    with tf.compat.v1.Session(graph=graph) as sess:
        # larger weights than gpt-2-simple's initialiser, so that attention matters to the logits
        for v in tf.compat.v1.global_variables():
            sess.run(v.assign(rng.normal(0, 0.3, v.shape.as_list()).astype(np.float32)))
        ours = np.stack(sess.run(step_logits), axis=1)  # [N, steps, vocab]
        worst, spread = 0.0, 0.0
        for row in range(B * n):
            b = row // n
            seq = prompts[b] + forced[row].tolist()
            ref = sess.run(reference, {full: [seq]})[0, lengths[b]:lengths[b] + steps]
            worst = max(worst, float(np.abs(ours[row] - ref).max()))
            spread = max(spread, float(np.abs(ref - ref.mean()).max()))
        # the same step without the prompt: how much the prompt's keys and values change the logits
        alone = sess.run(reference, {full: [forced[0].tolist()]})[0]
result = {"worst": worst, "spread": spread, "prompt_effect": float(np.abs(alone - ours[0]).max())}
"""


def test_cached_logits_match_a_full_recompute():
    out = run(RECOMPUTE)
    assert out["spread"] > 1.0 and out["prompt_effect"] > 0.1  # the comparison can tell them apart
    assert out["worst"] < 1e-4, out
