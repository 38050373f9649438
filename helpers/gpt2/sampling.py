"""Choosing the next token: an ordered chain of logits processors, then a seeded draw per prompt.

As transformers' `LogitsProcessorList`, the processors run in one order, each on what the one
before left: temperature, then top-k, then top-p (nucleus). Each is off at its neutral value
(top_k 0, top_p 0) and never switches another off: top_k=1 stays greedy whatever top_p says.
The values may be graph tensors (the engine feeds them per run), so "off" is a `tf.cond`.
"""
from __future__ import annotations

NEG = -1e10  # gpt-2-simple's masked logit


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


def draw(tf, logits, seeds, step, n):
    """One token per row of `logits` [B * n, vocab]; rows b * n .. b * n + n - 1 draw from the
    stream of `seeds[b]` ([B, 2] int64) at `step`, so a prompt's candidates do not depend on the
    prompts sampled beside it."""
    vocab = tf.shape(logits)[-1]
    step_seed = tf.stack([tf.constant(0, tf.int64), tf.cast(step, tf.int64)])

    def one_prompt(args):
        prompt_logits, seed = args
        return tf.random.stateless_categorical(prompt_logits, 1, seed=seed + step_seed, dtype=tf.int32)[:, 0]

    by_prompt = tf.reshape(logits, [-1, n, vocab])
    tokens = tf.map_fn(one_prompt, (by_prompt, seeds), fn_output_signature=tf.TensorSpec([None], tf.int32))
    return tf.reshape(tokens, [-1])
