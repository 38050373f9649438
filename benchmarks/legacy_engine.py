"""Former engines, kept for benchmarks only (the samples are the same; the cost is not).

- `LegacyEngine`: before the shared prompt cache: the prompt's keys and values are copied to
  every candidate (`tf.tile`) and the whole cache is concatenated with each step's keys and
  values (`tf.concat`), one comment per sampling run.
- `FixedCacheEngine`: before the cache of written positions: one cache of max_reply_tokens
  positions per layer, written at each step with `tensor_scatter_nd_update` (which returns a new
  tensor: the whole cache is copied) and attended over in full, masked beyond the step.
"""
from __future__ import annotations

import math
import zlib

from helpers.gpt2 import decoder as dec
from helpers.gpt2 import sampling
from helpers.gpt2.engine import ReplyEngine
from helpers.gpt2.loops import Progress


class LegacyEngine(ReplyEngine):
    """ReplyEngine with the tiled, concatenated cache of gpt-2-simple's `model.model`."""

    def _build(self, tf, model):
        hp = self.hparams
        ph = tf.compat.v1.placeholder
        self._prompt = ph(tf.int32, [1, None], "prompt")
        self._n = ph(tf.int32, [], "n")
        self._temperature = ph(tf.float32, [], "temperature")
        self._top_k = ph(tf.int32, [], "top_k")
        self._max_len = ph(tf.int32, [], "max_len")
        self._seed = ph(tf.int64, [2], "seed")
        end_ids = tf.constant(self.end_ids, tf.int32)
        n_end = len(self.end_ids)

        def run_model(tokens, past=None):
            out = model.model(hparams=hp, X=tokens, past=past, reuse=tf.compat.v1.AUTO_REUSE)
            presents = out["present"]
            presents.set_shape(model.past_shape(hparams=hp, batch_size=None))
            return out["logits"], presents

        def top_k(logits):
            k = tf.minimum(self._top_k, hp.n_vocab)
            kth = tf.math.top_k(logits, k=k).values[:, -1:]
            return tf.where(logits < kth, tf.fill(tf.shape(logits), -1e10), logits)

        _, prompt_past = run_model(self._prompt[:, :-1])
        n = self._n
        loop_vars = [tf.constant(0), tf.tile(prompt_past, [n, 1, 1, 1, 1, 1]), tf.tile(self._prompt[:, -1], [n]),
                     tf.zeros([n, 0], tf.int32), tf.fill([n, n_end], -1), tf.zeros([n], tf.bool), tf.fill([n], -1)]

        def body(i, past, prev, out, window, done, length):
            logits, presents = run_model(prev[:, tf.newaxis], past)
            logits = logits[:, -1, :] / self._temperature
            logits = tf.cond(self._top_k > 0, lambda: top_k(logits), lambda: logits)
            seed = self._seed + tf.stack([tf.constant(0, tf.int64), tf.cast(i, tf.int64)])
            token = tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)[:, 0]
            window = tf.concat([window[:, 1:], token[:, tf.newaxis]], axis=1)
            by_text = tf.reduce_all(tf.equal(window, end_ids), axis=1) & ~done
            by_token = tf.equal(token, self.end_id) & ~done & ~by_text
            length = tf.where(by_text, i + 1 - n_end, tf.where(by_token, i, length))
            return (i + 1, tf.concat([past, presents], axis=-2), token,
                    tf.concat([out, token[:, tf.newaxis]], axis=1), window, done | by_text | by_token, length)

        def cond(i, past, prev, out, window, done, length):
            return (i < self._max_len) & ~tf.reduce_all(done)

        shapes = [tf.TensorShape([]), tf.TensorShape(model.past_shape(hparams=hp, batch_size=None)),
                  tf.TensorShape([None]), tf.TensorShape([None, None]), tf.TensorShape([None, n_end]),
                  tf.TensorShape([None]), tf.TensorShape([None])]
        _, _, _, self._tokens, _, self._done, self._length = tf.while_loop(
            cond, body, loop_vars, shape_invariants=shapes, parallel_iterations=1)

    def _run(self, comments, keys, n, chain):
        results = []
        for comment, key in zip(comments, keys):  # one comment per run
            ids, trimmed = self.prompt_ids(comment)
            feed = {self._prompt: [ids], self._n: n, self._temperature: chain.temperature, self._top_k: chain.top_k,
                    self._max_len: self.max_reply_tokens, self._seed: [self.seed, zlib.crc32(str(key).encode())]}
            tokens, done, length = self.sess.run((self._tokens, self._done, self._length), feed)
            self.stats.update(comments=1, trimmed=int(trimmed), candidates=n, steps=int(tokens.shape[1]), runs=1)
            replies = [self._reply(tokens[j], bool(done[j]), int(length[j])) for j in range(n)]
            results.append([r for r in replies if r is not None])
        return results


def fixed_step(tf, w, hp, tokens, positions, t, cache, prompts):
    """The former decoder step: logits, and the fixed-size cache with this step's keys and values
    scattered in at position `t` (keys [N, H, D, T], values [N, H, T, D])."""
    H, D, E = hp.n_head, hp.n_embd // hp.n_head, hp.n_embd
    N = tf.shape(tokens)[0]
    n = prompts.n
    B = N // n
    max_len = tf.shape(cache[0][1])[2]
    grid = tf.meshgrid(tf.range(N), tf.range(H), tf.range(D), indexing="ij")
    key_at = tf.stack(grid + [tf.fill([N, H, D], t)], axis=-1)
    value_at = tf.stack(grid[:2] + [tf.fill([N, H, D], t)], axis=-1)[:, :, 0, :]
    own_bias = tf.where(tf.range(max_len) <= t, 0.0, dec.NEG)
    by_prompt = lambda a: tf.transpose(tf.reshape(a, [B, n, H, -1]), [0, 2, 1, 3])
    by_row = lambda a: tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [N, H, -1])
    new_cache = []

    def attend(i, c):
        q, k, v = tf.split(c, 3, axis=-1)
        q = tf.reshape(q, [N, H, D]) * (1.0 / math.sqrt(D))
        kc = tf.tensor_scatter_nd_update(cache[i][0], key_at, tf.reshape(k, [N, H, D]))
        vc = tf.tensor_scatter_nd_update(cache[i][1], value_at, tf.reshape(v, [N, H, D]))
        new_cache.append((kc, vc))
        pk, pv = prompts.cache[i]
        L = tf.shape(pv)[2]
        shared = tf.matmul(by_prompt(q), pk) + prompts.bias
        own = by_prompt(tf.matmul(q[:, :, tf.newaxis, :], kc)[:, :, 0, :] + own_bias)
        p = tf.nn.softmax(tf.concat([shared, own], axis=-1))
        a = by_row(tf.matmul(p[..., :L], pv)) + tf.matmul(by_row(p[..., L:])[:, :, tf.newaxis, :], vc)[:, :, 0, :]
        return tf.reshape(a, [N, E])

    x = dec.embed(tf, w, tokens, positions)
    for i in range(hp.n_layer):
        x = dec.block(tf, w, i, x, attend)
    return dec.logits_of(tf, w, x), new_cache


class FixedCacheEngine(ReplyEngine):
    """ReplyEngine with the former fixed-size cache (max_reply_tokens positions, scattered into)."""

    def _build(self, tf, model):
        hp = self.hparams
        ph = tf.compat.v1.placeholder
        self._prompt, self._prompt_len = ph(tf.int32, [None, None]), ph(tf.int32, [None])
        self._last, self._n = ph(tf.int32, [None]), ph(tf.int32, [])
        self._temperature, self._top_k, self._top_p = ph(tf.float32, []), ph(tf.int32, []), ph(tf.float32, [])
        self._max_len, self._seed = ph(tf.int32, []), ph(tf.int64, [None, 2])
        weights = {name: tf.convert_to_tensor(v) for name, v in dec.variables(tf, hp).items()}
        weights["wte_t"] = tf.transpose(weights["wte"])
        prompts = dec.prompt_pass(tf, weights, hp, self._prompt, self._prompt_len, self._n)
        rows = tf.shape(self._prompt_len)[0] * self._n
        start_pos = tf.repeat(self._prompt_len, self._n)
        H, D, n_end = hp.n_head, hp.n_embd // hp.n_head, len(self.end_ids)
        empty = [(tf.zeros(tf.stack([rows, H, D, self._max_len])), tf.zeros(tf.stack([rows, H, self._max_len, D])))
                 for _ in range(hp.n_layer)]

        def body(i, cache, progress):
            logits, cache = fixed_step(tf, weights, hp, progress.token, start_pos + i, i, cache, prompts)
            logits = sampling.process(tf, logits, self._temperature, self._top_k, self._top_p)
            return i + 1, cache, self._advance(tf, i, sampling.draw(tf, logits, self._seed, i, self._n), progress)

        start = Progress(tf.repeat(self._last, self._n), tf.zeros([rows, 0], tf.int32), tf.fill([rows, n_end], -1),
                         tf.zeros([rows], tf.bool), tf.fill([rows], -1))
        _, _, end = tf.while_loop(
            lambda i, cache, progress: (i < self._max_len) & ~tf.reduce_all(progress.done), body,
            [tf.constant(0), empty, start],
            shape_invariants=[tf.TensorShape([]), [(tf.TensorShape([None, H, D, None]), tf.TensorShape([None, H, None, D]))] * hp.n_layer,
                              Progress.shapes(tf, n_end)],
            parallel_iterations=1)
        self._tokens, self._done, self._length = end.out, end.done, end.length
