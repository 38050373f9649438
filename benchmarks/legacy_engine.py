"""The engine as it was before the shared prompt cache (kept for benchmarks only): the prompt's
keys and values are copied to every candidate (`tf.tile`) and the whole cache is concatenated
with each step's keys and values (`tf.concat`), one comment per sampling run."""
from __future__ import annotations

import zlib

from helpers.gpt2.engine import ReplyEngine


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

    def _run(self, comments, keys, n, *, temperature, top_k, top_p):
        results = []
        for comment, key in zip(comments, keys):  # one comment per run
            ids, trimmed = self.prompt_ids(comment)
            feed = {self._prompt: [ids], self._n: n, self._temperature: temperature, self._top_k: top_k,
                    self._max_len: self.max_reply_tokens, self._seed: [self.seed, zlib.crc32(str(key).encode())]}
            tokens, done, length = self.sess.run((self._tokens, self._done, self._length), feed)
            self.stats.update(comments=1, trimmed=int(trimmed), candidates=n, steps=int(tokens.shape[1]), runs=1)
            replies = [self._reply(tokens[j], bool(done[j]), int(length[j])) for j in range(n)]
            results.append([r for r in replies if r is not None])
        return results
