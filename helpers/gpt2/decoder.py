"""GPT-2 decoding for many candidates of several prompts: the math of `generation.ReplyEngine`.

gpt-2-simple's `model.model` appends each step's keys and values to a cache that the caller
grows with `tf.concat`, and a prompt's cache is copied (`tf.tile`) to every candidate: a step
then copies the whole cache, and a long prompt makes each step dearer. Here, in graph mode:

- `prompt_pass` runs B prompts (right-padded, of different lengths) once and returns their keys
  and values per layer, [B, heads, L, head_dim]; the candidates of a prompt all read this one
  copy (a batched matmul over the prompt's candidates), nothing is tiled;
- `step` runs one token for N = B * n candidates; the keys and values of the tokens they wrote
  live in a cache of fixed size (max_len positions) per layer, written in place at the step's
  position (`tensor_scatter_nd_update`), masked beyond it.

The weights are gpt-2-simple's own variables (`model/h0/attn/c_attn/w`, ...), so a checkpoint
of 02_finetune_gpt2 restores into them unchanged.
"""
from __future__ import annotations

import math

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
    shape = tf.shape(x)
    flat = tf.reshape(x, [-1, w.shape[1]])
    return tf.reshape(tf.matmul(flat, w[0]) + b, tf.concat([shape[:-1], [w.shape[2]]], 0))


def _gelu(tf, x):
    return 0.5 * x * (1 + tf.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))


def _mlp(tf, w, i, x):
    h = _gelu(tf, _dense(tf, _norm(tf, x, w[f"h{i}/ln_2/g"], w[f"h{i}/ln_2/b"]), w[f"h{i}/mlp/c_fc/w"], w[f"h{i}/mlp/c_fc/b"]))
    return x + _dense(tf, h, w[f"h{i}/mlp/c_proj/w"], w[f"h{i}/mlp/c_proj/b"])


def prompt_pass(tf, w, hp, tokens):
    """Keys and values of right-padded prompts `tokens` [B, L]: a list per layer of (keys
    [B, heads, head_dim, L], already transposed for the steps' matmul, and values
    [B, heads, L, head_dim]). Attention is causal, so padding after a prompt never reaches it."""
    H, D = hp.n_head, hp.n_embd // hp.n_head
    B, L = tf.shape(tokens)[0], tf.shape(tokens)[1]
    x = tf.gather(w["wte"], tokens) + tf.gather(w["wpe"], tf.range(L))[tf.newaxis]
    causal = tf.range(L)[:, tf.newaxis] >= tf.range(L)[tf.newaxis, :]
    heads = lambda t: tf.transpose(tf.reshape(t, [B, L, H, D]), [0, 2, 1, 3])  # noqa: E731
    cache = []
    for i in range(hp.n_layer):
        c = _dense(tf, _norm(tf, x, w[f"h{i}/ln_1/g"], w[f"h{i}/ln_1/b"]), w[f"h{i}/attn/c_attn/w"], w[f"h{i}/attn/c_attn/b"])
        q, k, v = (heads(t) for t in tf.split(c, 3, axis=2))
        scores = tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(D))
        scores = tf.where(causal[tf.newaxis, tf.newaxis], scores, NEG)
        a = tf.matmul(tf.nn.softmax(scores), v)
        a = tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [B, L, hp.n_embd])
        x = _mlp(tf, w, i, x + _dense(tf, a, w[f"h{i}/attn/c_proj/w"], w[f"h{i}/attn/c_proj/b"]))
        cache.append((tf.transpose(k, [0, 1, 3, 2]), v))
    return cache


def prompt_bias(tf, prompt_lengths, width):
    """0 for the prompt tokens of each prompt, NEG for its padding: [B, 1, 1, width]."""
    valid = tf.range(width)[tf.newaxis, :] < prompt_lengths[:, tf.newaxis]
    return tf.where(valid, 0.0, NEG)[:, tf.newaxis, tf.newaxis, :]


def empty_cache(tf, hp, n_candidates, max_len):
    """The cache of the tokens candidates write: per layer (keys [N, heads, head_dim, max_len],
    values [N, heads, max_len, head_dim])."""
    H, D = hp.n_head, hp.n_embd // hp.n_head
    return [(tf.zeros(tf.stack([n_candidates, H, D, max_len])), tf.zeros(tf.stack([n_candidates, H, max_len, D])))
            for _ in range(hp.n_layer)]


def step(tf, w, hp, tokens, positions, t, cache, prompt_cache, bias, n):
    """Logits [N, vocab] for one token per candidate, and the cache with this step's keys and
    values written at position `t`.

    tokens, positions [N]: the token each candidate feeds and its position in the text; candidates
    are grouped by prompt (candidate j of prompt b is row b * n + j). cache: as `empty_cache`;
    prompt_cache: as `prompt_pass` ([B, ...]); bias: as `prompt_bias`. Work that grows with the
    prompt is two batched matmuls per layer (the n candidates of a prompt against its one copy of
    the prompt's keys and values) and a softmax; nothing is copied per candidate."""
    H, D, E = hp.n_head, hp.n_embd // hp.n_head, hp.n_embd
    N = tf.shape(tokens)[0]
    B = N // n
    max_len = tf.shape(cache[0][1])[2]
    x = tf.gather(w["wte"], tokens) + tf.gather(w["wpe"], positions)  # [N, E]
    grid = tf.meshgrid(tf.range(N), tf.range(H), tf.range(D), indexing="ij")
    key_at = tf.stack(grid + [tf.fill([N, H, D], t)], axis=-1)  # [N, H, D, 4]: keys are stored transposed
    value_at = tf.stack(grid[:2] + [tf.fill([N, H, D], t)], axis=-1)[:, :, 0, :]  # [N, H, 3]
    own_bias = tf.where(tf.range(max_len) <= t, 0.0, NEG)  # [T]: positions written so far
    by_prompt = lambda a: tf.transpose(tf.reshape(a, [B, n, H, -1]), [0, 2, 1, 3])  # noqa: E731 [N, H, X] -> [B, H, n, X]
    by_row = lambda a: tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [N, H, -1])  # noqa: E731  and back
    new_cache = []
    for i in range(hp.n_layer):
        c = _dense(tf, _norm(tf, x, w[f"h{i}/ln_1/g"], w[f"h{i}/ln_1/b"]), w[f"h{i}/attn/c_attn/w"], w[f"h{i}/attn/c_attn/b"])
        q, k, v = (tf.reshape(part, [N, H, D]) for part in tf.split(c, 3, axis=1))
        q = q * (1.0 / math.sqrt(D))
        kc = tf.tensor_scatter_nd_update(cache[i][0], key_at, k)
        vc = tf.tensor_scatter_nd_update(cache[i][1], value_at, v)
        new_cache.append((kc, vc))
        pk, pv = prompt_cache[i]
        L = tf.shape(pv)[2]
        shared = tf.matmul(by_prompt(q), pk) + bias  # [B, H, n, L]: a prompt's candidates in one matmul
        own = by_prompt(tf.matmul(q[:, :, tf.newaxis, :], kc)[:, :, 0, :] + own_bias)  # [B, H, n, T]
        p = tf.nn.softmax(tf.concat([shared, own], axis=-1))
        a = by_row(tf.matmul(p[..., :L], pv)) + tf.matmul(by_row(p[..., L:])[:, :, tf.newaxis, :], vc)[:, :, 0, :]
        x = x + _dense(tf, tf.reshape(a, [N, E]), w[f"h{i}/attn/c_proj/w"], w[f"h{i}/attn/c_proj/b"])
        x = _mlp(tf, w, i, x)
    x = _norm(tf, x, w["ln_f/g"], w["ln_f/b"])
    if "wte_t" in w:  # the embedding already transposed, once per run
        return tf.matmul(x, w["wte_t"]), new_cache
    return tf.matmul(x, w["wte"], transpose_b=True), new_cache
