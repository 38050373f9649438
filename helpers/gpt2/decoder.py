"""GPT-2 decoding for many candidates of several prompts: the math of `engine.ReplyEngine`.

gpt-2-simple's `model.model` appends each step's keys and values to a cache that the caller
grows with `tf.concat`, and a prompt's cache is copied (`tf.tile`) to every candidate: a step
then copies the whole cache, and a long prompt makes each step dearer. Here, in graph mode:

- `block` is one transformer block, shared by the prompt pass and the step; each passes its own
  attention (`attend`);
- `prompt_pass` runs B prompts (right-padded, of different lengths) once; their keys and values
  (`Prompts`) stay [B, ...] and the n candidates of a prompt all read this one copy (a batched
  matmul over the prompt's candidates), nothing is tiled;
- `step` runs one token for N = B * n candidates; the keys and values they write go to a
  `Cache` that holds only the positions written so far, in blocks of `BLOCK` positions (see
  there): a step's work grows with what was written, never with the longest reply allowed.

The weights are gpt-2-simple's own variables (`model/h0/attn/c_attn/w`, ...), so a checkpoint
of 02_finetune_gpt2 restores into them unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

NEG = -1e10  # gpt-2-simple's masked logit


def variables(tf, hp, scope: str = "model") -> dict:
    """gpt-2-simple's model variables (created, or reused when they exist), by short name."""
    e, v = hp.n_embd, tf.compat.v1.get_variable
    w = {}
    with tf.compat.v1.variable_scope(scope, reuse=tf.compat.v1.AUTO_REUSE):
        w["wpe"] = v("wpe", [hp.n_ctx, e])
        w["wte"] = v("wte", [hp.n_vocab, e])
        for i in range(hp.n_layer):
            for name, shape in (("ln_1/g", [e]), ("ln_1/b", [e]), ("attn/c_attn/w", [1, e, 3 * e]),
                                ("attn/c_attn/b", [3 * e]), ("attn/c_proj/w", [1, e, e]), ("attn/c_proj/b", [e]),
                                ("ln_2/g", [e]), ("ln_2/b", [e]), ("mlp/c_fc/w", [1, e, 4 * e]),
                                ("mlp/c_fc/b", [4 * e]), ("mlp/c_proj/w", [1, 4 * e, e]), ("mlp/c_proj/b", [e])):
                w[f"h{i}/{name}"] = v(f"h{i}/{name}", shape)
        w["ln_f/g"], w["ln_f/b"] = v("ln_f/g", [e]), v("ln_f/b", [e])
    return w


def _norm(tf, x, g, b, eps=1e-5):
    u = tf.reduce_mean(x, axis=-1, keepdims=True)
    s = tf.reduce_mean(tf.square(x - u), axis=-1, keepdims=True)
    return (x - u) * tf.math.rsqrt(s + eps) * g + b


def _dense(tf, x, w, b):
    """gpt-2-simple's conv1d: x [..., nx] @ w[0] + b."""
    if x.shape.rank == 2:  # the step's [N, nx]: no reshapes (about 20 small ops a layer fewer)
        return tf.matmul(x, w[0]) + b
    shape = tf.shape(x)
    flat = tf.reshape(x, [-1, w.shape[1]])
    return tf.reshape(tf.matmul(flat, w[0]) + b, tf.concat([shape[:-1], [w.shape[2]]], 0))


def _gelu(tf, x):
    return 0.5 * x * (1 + tf.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))


def block(tf, w, i, x, attend):
    """Transformer block `i` of gpt-2-simple's model on x [..., E]: x plus attention, then x plus
    the MLP. `attend(i, c)` turns the block's queries, keys and values, side by side in c
    [..., 3E], into the attention's output [..., E]: the prompt pass and the step differ only there."""
    p = f"h{i}/"
    c = _dense(tf, _norm(tf, x, w[p + "ln_1/g"], w[p + "ln_1/b"]), w[p + "attn/c_attn/w"], w[p + "attn/c_attn/b"])
    x = x + _dense(tf, attend(i, c), w[p + "attn/c_proj/w"], w[p + "attn/c_proj/b"])
    h = _gelu(tf, _dense(tf, _norm(tf, x, w[p + "ln_2/g"], w[p + "ln_2/b"]), w[p + "mlp/c_fc/w"], w[p + "mlp/c_fc/b"]))
    return x + _dense(tf, h, w[p + "mlp/c_proj/w"], w[p + "mlp/c_proj/b"])


def embed(tf, w, tokens, positions):
    """Token plus position embeddings."""
    return tf.gather(w["wte"], tokens) + tf.gather(w["wpe"], positions)


def logits_of(tf, w, x):
    """Next-token logits of the last block's output x [N, E]."""
    x = _norm(tf, x, w["ln_f/g"], w["ln_f/b"])
    if "wte_t" in w:  # the embedding already transposed, once per run: about half the time at 124M
        return tf.matmul(x, w["wte_t"])
    return tf.matmul(x, w["wte"], transpose_b=True)


@dataclass(frozen=True)
class Prompts:
    """The prompts' keys and values, read by all their candidates."""

    cache: list  # per layer: (keys [B, heads, head_dim, L] (transposed for the step's matmul), values [B, heads, L, head_dim])
    bias: object  # [B, 1, 1, L]: 0 on each prompt's tokens, NEG on its padding
    n: object  # candidates per prompt (candidate j of prompt b is row b * n + j)


def prompt_pass(tf, w, hp, tokens, lengths, n) -> Prompts:
    """Keys and values of right-padded prompts `tokens` [B, L] of `lengths` [B], for `n`
    candidates each. Attention is causal, so padding after a prompt never reaches it."""
    H, D = hp.n_head, hp.n_embd // hp.n_head
    B, L = tf.shape(tokens)[0], tf.shape(tokens)[1]
    causal = tf.range(L)[:, tf.newaxis] >= tf.range(L)[tf.newaxis, :]
    heads = lambda t: tf.transpose(tf.reshape(t, [B, L, H, D]), [0, 2, 1, 3])
    cache = []

    def attend(i, c):
        q, k, v = map(heads, tf.split(c, 3, axis=-1))
        scores = tf.where(causal[tf.newaxis, tf.newaxis], tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(D)), NEG)
        cache.append((tf.transpose(k, [0, 1, 3, 2]), v))
        return tf.reshape(tf.transpose(tf.matmul(tf.nn.softmax(scores), v), [0, 2, 1, 3]), [B, L, hp.n_embd])

    x = embed(tf, w, tokens, tf.range(L)[tf.newaxis])
    for i in range(hp.n_layer):  # the last block's output is never fetched: TensorFlow prunes it
        x = block(tf, w, i, x, attend)
    valid = tf.range(L)[tf.newaxis, :] < lengths[:, tf.newaxis]
    return Prompts(cache, tf.where(valid, 0.0, NEG)[:, tf.newaxis, tf.newaxis, :], n)


BLOCK = 16  # positions a Cache writes step by step before it joins them to the ones before


class Cache:
    """The keys and values candidates write, per layer: `past`, the full blocks written before
    (fixed while a block is written: a loop invariant of the inner sampling loop), and `block`,
    the positions of the current block, one more at each step.

    A fixed-size cache written with `tensor_scatter_nd_update` is copied whole at every step
    (the op returns a new tensor) and attention then reads every position, most of them masked:
    at the colab cap (200) about a third of a step. Here a step copies at most BLOCK positions
    per layer, a full block joins `past` once per BLOCK steps, and attention reads only what
    was written. Candidates are kept by prompt, as the step computes: keys [B, heads, n,
    head_dim, T] (transposed for the step's matmul), values [B, heads, n, T, head_dim]."""

    def __init__(self, past, block):
        self.past, self.block = list(past), list(block)

    @staticmethod
    def empty(tf, hp, prompts, n):
        """Per layer, no positions for `n` candidates of each of `prompts` prompts."""
        H, D = hp.n_head, hp.n_embd // hp.n_head
        return [(tf.zeros(tf.stack([prompts, H, n, D, 0])), tf.zeros(tf.stack([prompts, H, n, 0, D])))
                for _ in range(hp.n_layer)]

    def update(self, tf, layer, k, v):
        """Write one step's keys `k` and values `v` [B, heads, n, head_dim] of `layer`; return
        what attention reads: ((past keys, past values), (block keys, block values))."""
        bk, bv = self.block[layer]
        self.block[layer] = (tf.concat([bk, k[..., tf.newaxis]], axis=4), tf.concat([bv, v[..., tf.newaxis, :]], axis=3))
        return self.past[layer], self.block[layer]

    def joined(self, tf):
        """`past` with the block appended (at a block's end)."""
        return [(tf.concat([pk, bk], axis=4), tf.concat([pv, bv], axis=3)) for (pk, pv), (bk, bv) in zip(self.past, self.block)]

    @staticmethod
    def shapes(tf, hp):
        """Shape invariants of `past` or `block` for a while loop."""
        H, D = hp.n_head, hp.n_embd // hp.n_head
        return [(tf.TensorShape([None, H, None, D, None]), tf.TensorShape([None, H, None, None, D]))] * hp.n_layer


def step(tf, w, hp, tokens, positions, cache: Cache, prompts: Prompts):
    """Logits [N, vocab] for one token per candidate (`tokens`, at `positions` [N] in the text);
    the step's keys and values go to `cache`. Attention runs by prompt ([B, heads, n, ...]): a
    prompt's candidates read its one copy of the prompt's keys and values in one batched matmul,
    nothing is copied per candidate, and a layer transposes twice (queries, keys and values in,
    the output out)."""
    H, D, E = hp.n_head, hp.n_embd // hp.n_head, hp.n_embd
    N, n = tf.shape(tokens)[0], prompts.n
    B = N // n

    def attend(i, c):
        qkv = tf.transpose(tf.reshape(c, [B, n, 3, H, D]), [2, 0, 3, 1, 4])  # [3, B, H, n, D]
        q, k, v = tf.unstack(qkv, 3, axis=0)
        q = q * (1.0 / math.sqrt(D))
        (pk, pv), (bk, bv) = cache.update(tf, i, k, v)
        sk, sv = prompts.cache[i]
        sizes = tf.stack([tf.shape(sv)[2], tf.shape(pv)[3], tf.shape(bv)[3]])  # prompt, past, block
        shared = tf.matmul(q, sk) + prompts.bias  # [B, H, n, L]: a prompt's candidates in one matmul
        # A candidate's own positions: a batch of [1, D] x [D, T] matmuls, one per (prompt, head,
        # candidate), flattened to one batch dimension (a 3-D batched matmul runs faster than a 5-D one).
        flat = lambda t: tf.reshape(t, tf.concat([[-1], tf.shape(t)[3:]], 0))
        q1 = tf.reshape(q, [-1, 1, D])
        own = [tf.reshape(tf.matmul(q1, flat(keys)), [B, H, n, -1]) for keys in (pk, bk)]  # [B, H, n, P], [B, H, n, J]
        p_shared, p_past, p_block = tf.split(tf.nn.softmax(tf.concat([shared, *own], axis=-1)), sizes, axis=-1, num=3)
        mine = lambda p_own, values: tf.reshape(tf.matmul(tf.reshape(p_own, [-1, 1, tf.shape(p_own)[3]]), flat(values)),
                                                [B, H, n, D])
        a = tf.matmul(p_shared, sv) + (mine(p_past, pv) + mine(p_block, bv))
        return tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [N, E])

    x = embed(tf, w, tokens, positions)
    for i in range(hp.n_layer):
        x = block(tf, w, i, x, attend)
    return logits_of(tf, w, x)
