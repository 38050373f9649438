"""Choosing the next token: an ordered chain of logits processors, then a seeded draw per prompt.

As transformers' `LogitsProcessorList`, the processors run in one order, each on what the one
before left: temperature, then top-k, then top-p (nucleus). Each is off at its neutral value
(top_k 0, top_p 0) and never switches another off: top_k=1 stays greedy whatever top_p says.
The values may be graph tensors (the engine feeds them per run), so "off" is a `tf.cond`.
`choose` runs the chain and the draw, reading only the top-k tokens when top-k alone limits them.
"""
from __future__ import annotations

from typing import NamedTuple

NEG = -1e10  # gpt-2-simple's masked logit


class Chain(NamedTuple):
    """The chain's settings for a run (`ReplyEngine.generate(..., sampling=Chain(top_p=0.9))`); a
    `SamplingConfig` has the same fields and serves as well."""

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.0


def temperature(tf, logits, value):
    """Logits divided by the temperature (> 0)."""
    return logits / value


def top_k(tf, logits, k):
    """Only the `k` likeliest tokens of each row keep their logits (k = 0: all of them)."""
    k = tf.convert_to_tensor(k, tf.int32)

    def keep():
        kth = tf.math.top_k(logits, k=tf.minimum(k, tf.shape(logits)[-1])).values[:, -1:]
        return tf.where(logits < kth, NEG, logits)

    return tf.cond(k > 0, keep, lambda: logits)


def top_p(tf, logits, p):
    """Nucleus: the smallest set of likeliest tokens whose probability reaches `p` keeps its
    logits (p = 0: all of them)."""
    p = tf.convert_to_tensor(p, tf.float32)

    def keep():
        ordered = tf.sort(logits, direction="DESCENDING")
        before = tf.cumsum(tf.nn.softmax(ordered), axis=1, exclusive=True)
        cutoff = tf.reduce_min(tf.where(before < p, ordered, -NEG), axis=1, keepdims=True)
        return tf.where(logits < cutoff, NEG, logits)

    return tf.cond(p > 0.0, keep, lambda: logits)


def process(tf, logits, temperature_value, k, p):
    """The chain: temperature, then top-k, then top-p."""
    return top_p(tf, top_k(tf, temperature(tf, logits, temperature_value), k), p)


SLACK = 8  # tokens tied with the k-th likeliest that the short draw (`choose`) can hold beyond k


def choose(tf, logits, chain: Chain, seeds, step, n):
    """The chain (its values may be graph tensors), then the draw: one token per row of `logits`
    [B * n, vocab], rows b * n .. b * n + n - 1 from the stream of `seeds[b]` at `step` (as `draw`).

    When top-k alone limits the tokens (k > 0, top-p off), a prompt's draw reads only its rows'
    k likeliest tokens (and up to SLACK more tied with the k-th), put back in vocabulary order,
    rather than all 50,257 logits: the same distribution (the tokens top-k masks have weight 0
    either way), without the sampler's pass over every logit in double precision and the
    full-size mask. A prompt with more ties than that takes the full chain, as do top-p and
    top_k=0. Each prompt decides for itself, so its candidates never depend on the prompts
    sampled beside it."""
    temperature_value, k, p = chain
    k = tf.convert_to_tensor(k, tf.int32)
    p = tf.convert_to_tensor(p, tf.float32)

    def full():
        return draw(tf, process(tf, logits, temperature_value, k, p), seeds, step, n)

    def short():  # temperature > 0 keeps the order: the top of the logits is the top of the scaled logits
        vocab = tf.shape(logits)[-1]
        wide = tf.minimum(k + SLACK, vocab)
        top = tf.math.top_k(logits, k=wide)  # the likeliest first, every row at once
        scaled_top = temperature(tf, top.values, temperature_value)  # the same floats as the chain's
        kth = scaled_top[:, tf.minimum(k, vocab) - 1:][:, :1]  # as `top_k`'s own k-th value
        row_fits = (wide >= vocab) | (scaled_top[:, -1] < kth[:, 0])  # no tie left outside the top
        fits = tf.reduce_all(tf.reshape(row_fits, [-1, n]), axis=1)  # [B]: per prompt
        ids = tf.sort(top.indices, axis=1)  # back to vocabulary order
        values = temperature(tf, tf.gather(logits, ids, batch_dims=1), temperature_value)
        at = draw(tf, tf.where(values < kth, NEG, values), seeds, step, n)
        among_top = tf.gather(ids, tf.minimum(at, wide - 1)[:, tf.newaxis], batch_dims=1)[:, 0]
        return tf.cond(tf.reduce_all(fits), lambda: among_top,
                       lambda: tf.where(tf.repeat(fits, n), among_top, full()))

    return tf.cond((k > 0) & ~(p > 0.0), short, full)


def _each_prompt(tf, logits, seeds, step, n, pick):
    """`pick(rows [n, vocab], seed)` for each prompt's rows, with its seed at `step`; [B * n] tokens."""
    vocab = tf.shape(logits)[-1]
    step_seed = tf.stack([tf.constant(0, tf.int64), tf.cast(step, tf.int64)])
    by_prompt = tf.reshape(logits, [-1, n, vocab])
    tokens = tf.map_fn(lambda args: pick(args[0], args[1] + step_seed), (by_prompt, seeds),
                       fn_output_signature=tf.TensorSpec([None], tf.int32))
    return tf.reshape(tokens, [-1])


def draw(tf, logits, seeds, step, n):
    """One token per row of `logits` [B * n, vocab]; rows b * n .. b * n + n - 1 draw from the
    stream of `seeds[b]` ([B, 2] int64) at `step`, so a prompt's candidates do not depend on the
    prompts sampled beside it."""
    return _each_prompt(tf, logits, seeds, step, n,
                        lambda rows, seed: tf.random.stateless_categorical(rows, 1, seed=seed, dtype=tf.int32)[:, 0])
