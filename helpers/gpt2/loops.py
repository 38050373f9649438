"""The sampling graph of `engine.ReplyEngine`: placeholders in, two `tf.while_loop`s, tokens out.

The outer loop runs over blocks of `decoder.BLOCK` steps (its loop variable is the cache of full
blocks), the inner one over the steps of a block (the full blocks are a loop invariant there, only
the current block of at most 16 positions is a loop variable). A candidate ends when its last
tokens spell "endoftext|>" or at GPT-2's single end token (`_advance`, the stopping criterion); a
run ends when all its candidates ended or at `max_reply_tokens`.
"""
from __future__ import annotations

import zlib
from typing import NamedTuple


class Progress(NamedTuple):
    """Where the candidates of a sampling run are (one row each): the state of its loops."""

    token: object  # [rows] the last token drawn (the next one fed)
    out: object  # [rows, steps] tokens drawn so far
    window: object  # [rows, len("endoftext|>" tokens)] the last tokens drawn
    done: object  # [rows] ended yet?
    length: object  # [rows] reply length in tokens once ended, else -1

    @staticmethod
    def shapes(tf, n_end):
        return Progress(tf.TensorShape([None]), tf.TensorShape([None, None]), tf.TensorShape([None, n_end]),
                        tf.TensorShape([None]), tf.TensorShape([None]))


class SamplingLoops:
    """Builds the sampling graph (`_build`, once) and feeds it (`_feed`, per run). A base of
    `ReplyEngine`, which sets what it reads: `hparams`, `end_ids` (the tokens of "endoftext|>"),
    `end_id`, `seed`, `max_reply_tokens` and `graph`."""

    def _build(self, tf, model):
        from helpers.gpt2 import decoder as dec
        from helpers.gpt2 import sampling

        hp = self.hparams
        ph = tf.compat.v1.placeholder
        self._prompt = ph(tf.int32, [None, None], "prompt")  # B prompts but their last token, right-padded
        self._prompt_len = ph(tf.int32, [None], "prompt_len")  # their lengths (without the last token)
        self._last = ph(tf.int32, [None], "last")  # each prompt's last token: the first one fed
        self._n = ph(tf.int32, [], "n")
        self._temperature = ph(tf.float32, [], "temperature")
        self._top_k = ph(tf.int32, [], "top_k")
        self._top_p = ph(tf.float32, [], "top_p")
        self._max_len = ph(tf.int32, [], "max_len")
        self._seed = ph(tf.int64, [None, 2], "seed")  # one per prompt
        # Read once per run, outside the loop, rather than at every step.
        weights = {name: tf.convert_to_tensor(v) for name, v in dec.variables(tf, hp).items()}
        # The logits' matmul against the embedding already transposed (once per run) ran in about
        # half the time of a matmul with transpose_b at 124M shape, batch 10, CPU.
        weights["wte_t"] = tf.transpose(weights["wte"])
        # The prompts run once; their keys/values stay [B, ...] and the n candidates of each share them.
        prompts = dec.prompt_pass(tf, weights, hp, self._prompt, self._prompt_len, self._n)
        count = tf.shape(self._prompt_len)[0]
        rows = count * self._n  # candidate j of prompt i is row i * n + j
        start_pos = tf.repeat(self._prompt_len, self._n)
        n_end = len(self.end_ids)

        def sample_step(i, cache, progress):
            logits = dec.step(tf, weights, hp, progress.token, start_pos + i, cache, prompts)
            chain = sampling.Chain(self._temperature, self._top_k, self._top_p)  # the run's values, fed per run
            token = sampling.choose(tf, logits, chain, self._seed, i, self._n)
            return self._advance(tf, i, token, progress)

        def going(i, progress):
            return (i < self._max_len) & ~tf.reduce_all(progress.done)

        def one_block(i, past, progress):
            """Up to dec.BLOCK steps with `past` fixed; then the block joins it."""
            def body(j, i, block, progress):
                cache = dec.Cache(past, block)
                progress = sample_step(i, cache, progress)
                return j + 1, i + 1, cache.block, progress

            _, i, block, progress = tf.while_loop(
                lambda j, i, block, progress: (j < dec.BLOCK) & going(i, progress), body,
                [tf.constant(0), i, dec.Cache.empty(tf, hp, count, self._n), progress],
                shape_invariants=[tf.TensorShape([]), tf.TensorShape([]), dec.Cache.shapes(tf, hp), Progress.shapes(tf, n_end)],
                parallel_iterations=1)
            return i, dec.Cache(past, block).joined(tf), progress

        start = Progress(token=tf.repeat(self._last, self._n), out=tf.zeros([rows, 0], tf.int32),
                         window=tf.fill([rows, n_end], -1), done=tf.zeros([rows], tf.bool), length=tf.fill([rows], -1))
        _, _, end = tf.while_loop(
            lambda i, past, progress: going(i, progress), one_block,
            [tf.constant(0), dec.Cache.empty(tf, hp, count, self._n), start],
            shape_invariants=[tf.TensorShape([]), dec.Cache.shapes(tf, hp), Progress.shapes(tf, n_end)],
            parallel_iterations=1)
        self._tokens, self._done, self._length = end.out, end.done, end.length

    def _advance(self, tf, i, token, progress: Progress) -> Progress:
        """The candidates' progress after they drew `token` at step `i`: a candidate ends when its
        last tokens spell "endoftext|>" (the marker as fine-tuning saw it) or at GPT-2's single
        end token; its reply is what came before."""
        n_end = len(self.end_ids)
        window = tf.concat([progress.window[:, 1:], token[:, tf.newaxis]], axis=1)
        by_text = tf.reduce_all(tf.equal(window, tf.constant(self.end_ids, tf.int32)), axis=1) & ~progress.done
        by_token = tf.equal(token, self.end_id) & ~progress.done & ~by_text
        length = tf.where(by_text, i + 1 - n_end, tf.where(by_token, i, progress.length))
        return Progress(token, tf.concat([progress.out, token[:, tf.newaxis]], axis=1), window,
                        progress.done | by_text | by_token, length)

    def _feed(self, prompts, keys, n) -> dict:
        """The sampling graph's inputs for `prompts` (token ids) with their `keys`, `n` candidates each."""
        width = max(len(ids) for ids in prompts) - 1
        return {self._prompt: [ids[:-1] + [0] * (width - len(ids) + 1) for ids in prompts],
                self._prompt_len: [len(ids) - 1 for ids in prompts], self._last: [ids[-1] for ids in prompts],
                self._n: n, self._max_len: self.max_reply_tokens,
                self._seed: [[self.seed, zlib.crc32(str(k).encode("utf-8"))] for k in keys]}

    def node_count(self) -> int:
        """Nodes in the sampling graph (the same after any number of comments)."""
        return len(self.graph.as_graph_def().node)
