"""Candidate replies from a fine-tuned GPT-2: load once, build the sampling graph once, stop early.

gpt-2-simple's own `generate()` adds graph nodes on every call and always samples up to 1023
tokens; `ReplyEngine` builds one sampling graph (a `tf.while_loop` fed through placeholders) and
leaves the loop as soon as every candidate has written `<|endoftext|>`.

    with ReplyEngine(checkpoint_dir, run_name, max_reply_tokens=128) as engine:
        replies = engine.generate(["a comment"], n=10)   # [[Reply(text, tokens), ...]]

The prompt is a fine-tuning row up to the separator: gpt-2-simple feeds each CSV row to
fine-tuning as `<|startoftext|>comment [SEP] reply<|endoftext|>`, so the prompt is
`<|startoftext|>comment [SEP]` and the reply is what the model writes up to `<|endoftext|>`.
gpt-2-simple (and so TensorFlow's graph mode) is imported only when an engine is made.
The model's math is `decoder` (one transformer block, the prompt pass, the step, the cache of
written positions), choosing tokens is `sampling` (an ordered chain, then a seeded draw); here
are the run's files, prompts and replies, and `loops` builds the sampling loops and decides the
end of a reply (`_advance`). docs/engine.md describes them and their speed.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from helpers.gpt2.loops import SamplingLoops

START, END, SEP = "<|startoftext|>", "<|endoftext|>", "[SEP]"
ZERO_WIDTH = re.compile(r"&(?:amp;)*#x200[bB];|[\u200b\u200c\u200d\u2060\ufeff]")


@dataclass(frozen=True)
class Reply:
    text: str  # cleaned reply, without the prompt
    tokens: int  # tokens the model wrote for it (before <|endoftext|>)


def prompt_text(comment: str) -> str:
    """The fine-tuning row of `comment` up to (and with) the separator."""
    return f"{START}{comment} {SEP}"


def clean_reply(text: str) -> str:
    """Clean a reply as the original notebooks did: drop zero-width entities (`&amp;#x200B;`),
    collapse repeated newlines, tidy whitespace."""
    text = ZERO_WIDTH.sub("", text)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def load_hparams(model_dir):
    """gpt-2-simple's hparams of the model in `model_dir` (from its hparams.json)."""
    from gpt_2_simple.src import model

    hparams = model.default_hparams()
    hparams.override_from_dict(json.loads((Path(model_dir) / "hparams.json").read_text()))
    return hparams


def restore_session(graph, checkpoint: str):
    """A session on `graph` (built with gpt-2-simple's model) holding the weights of `checkpoint`;
    GPU memory grows as needed, as in gpt-2-simple's own sessions."""
    import tensorflow as tf

    with graph.as_default():
        variables = [v for v in tf.compat.v1.global_variables() if v.name.startswith("model/")]
        config = tf.compat.v1.ConfigProto()
        config.gpu_options.allow_growth = True
        sess = tf.compat.v1.Session(graph=graph, config=config)
        tf.compat.v1.train.Saver(var_list=variables).restore(sess, checkpoint)
    return sess


class ReplyEngine(SamplingLoops):
    """A fine-tuned gpt-2-simple run, loaded once, with one sampling graph for every comment: the
    run's files, prompts, runs of the loops (`loops.SamplingLoops` builds and feeds them) and the
    replies they give."""

    def __init__(self, checkpoint_dir, run_name: str, *, max_reply_tokens: int = 128, seed: int = 0,
                 checkpoint: str = "latest", keep_unfinished: bool = False, comments_per_run: int = 4):
        """`keep_unfinished`: keep candidates that reach `max_reply_tokens` without writing
        <|endoftext|> (cut there) instead of dropping them; for smoke runs with random weights.
        `comments_per_run`: comments sampled together in one run of the sampling loop (default of
        `generate`; `journal.generate_resumable` always runs this many)."""
        # gpt-2-simple's import turns graph mode on, for the process
        import tensorflow as tf
        from gpt_2_simple.src import encoder, model

        self.run_dir = Path(checkpoint_dir) / run_name
        missing = [f for f in ("hparams.json", "encoder.json", "vocab.bpe") if not (self.run_dir / f).is_file()]
        ckpt = tf.train.latest_checkpoint(str(self.run_dir)) if checkpoint == "latest" else str(self.run_dir / checkpoint)
        if missing or not ckpt:
            raise FileNotFoundError(
                f"{self.run_dir} is not a fine-tuned GPT-2 run (missing {', '.join(missing) or 'a checkpoint'}); "
                f"it is written by 02_finetune_gpt2: run that notebook first with the same run name.")
        self.checkpoint = ckpt
        self.enc = encoder.get_encoder(str(self.run_dir))
        self.hparams = load_hparams(self.run_dir)
        self.n_ctx = self.hparams.n_ctx
        if not 0 < max_reply_tokens <= self.n_ctx - 16:
            raise ValueError(f"max_reply_tokens must be between 1 and {self.n_ctx - 16} (n_ctx {self.n_ctx}), "
                             f"got {max_reply_tokens}")
        self.max_reply_tokens = int(max_reply_tokens)
        self.seed = int(seed)
        # Candidates that reach max_reply_tokens without <|endoftext|>: kept (True) or dropped.
        self.keep_unfinished = bool(keep_unfinished)
        if comments_per_run < 1:
            raise ValueError(f"comments_per_run must be at least 1, got {comments_per_run}")
        self.comments_per_run = int(comments_per_run)  # comments sampled together in one run
        # Fine-tuning saw the marker as ordinary tokens, and its "<|" merges with punctuation before
        # it ("?<|"): the loop watches for the tokens of the rest, "endoftext|>", which never vary.
        self.end_ids = self.enc.encode(END[2:])
        self.end_id = self.enc.encoder.get(END, -1)  # GPT-2's single special token, if any
        self.prefix_ids, self.sep_ids = self.enc.encode(START), self.enc.encode(" " + SEP)
        self.stats: Counter = Counter(dict.fromkeys(
            ("comments", "trimmed", "candidates", "kept", "never_ended", "empty", "tokens", "steps", "runs"), 0))
        self.graph = tf.Graph()
        with self.graph.as_default():
            self._build(tf, model)
        self.sess = restore_session(self.graph, ckpt)
        self.graph.finalize()  # nothing can add nodes after this: the graph never grows

    # -- prompts ---------------------------------------------------------------------------------
    def prompt_ids(self, comment: str) -> tuple[list[int], bool]:
        """Token ids of the prompt for `comment`, trimmed from the comment's start so that prompt
        plus the longest reply fit the context window; and whether it was trimmed."""
        ids = self.enc.encode(prompt_text(comment))
        budget = self.n_ctx - self.max_reply_tokens
        if len(ids) <= budget:
            return ids, False
        keep = budget - len(self.prefix_ids) - len(self.sep_ids)
        return self.prefix_ids + self.enc.encode(comment)[-keep:] + self.sep_ids, True

    def _reply(self, tokens, done: bool, length: int) -> Reply | None:
        if not done:  # the marker may have come out in other tokens than fine-tuning's
            length = len(tokens)
        text = self.enc.decode(tokens[:length].tolist())
        if done and text.endswith(END[:2]):
            text = text[:-2]
        elif not done and END not in text:
            self.stats["never_ended"] += 1
            if not self.keep_unfinished:
                return None
        cut = min((text.find(m) for m in (END, START) if m in text), default=-1)
        if cut >= 0:  # an earlier marker than the one that stopped the sample
            text = text[:cut]
            length = len(self.enc.encode(text))
        text = clean_reply(text)
        if not text:
            self.stats["empty"] += 1
            return None
        self.stats["kept"] += 1
        self.stats["tokens"] += int(length)
        return Reply(text, int(length))

    # -- generation ------------------------------------------------------------------------------
    def generate(self, comments, n: int, sampling=None, *, keys=None, progress: bool = False,
                 comments_per_run: int | None = None) -> list[list[Reply]]:
        """`n` candidate replies to each comment (those that ended; fewer when some never did,
        unless the engine keeps unfinished ones). `sampling`: the chain's temperature, top_k and
        top_p (a `sampling.Chain` or a `SamplingConfig`; None: `Chain()`, 0.7, 40 and off).

        `comments_per_run` comments (the engine's default unless given) are sampled together in
        one run of the sampling loop: a run ends when all its candidates ended, or at
        max_reply_tokens. Sampling is seeded per comment from the engine's seed and the comment's
        key (its text unless `keys` are given), so a comment gets the same candidates in any run,
        any order and any company."""
        from helpers.gpt2.sampling import Chain

        if isinstance(comments, str):
            raise TypeError("generate() takes a list of comments; wrap a single comment in a list")
        chain = Chain() if sampling is None else Chain(sampling.temperature, sampling.top_k, sampling.top_p)
        if n < 1 or chain.temperature <= 0 or chain.top_k < 0 or not 0.0 <= chain.top_p < 1.0:
            raise ValueError(f"need n >= 1, temperature > 0, top_k >= 0, 0 <= top_p < 1; got n={n}, "
                             f"temperature={chain.temperature}, top_k={chain.top_k}, top_p={chain.top_p}")
        per_run = self.comments_per_run if comments_per_run is None else int(comments_per_run)
        if per_run < 1:
            raise ValueError(f"comments_per_run must be at least 1, got {comments_per_run}")
        comments = [str(c) for c in comments]
        keys = list(comments) if keys is None else list(keys)
        if len(keys) != len(comments):
            raise ValueError(f"got {len(keys)} keys for {len(comments)} comments")
        from tqdm.auto import tqdm

        results = []
        with tqdm(desc="comments", unit="comment", total=len(comments), disable=not progress) as bar:
            for at in range(0, len(comments), per_run):
                results += self._run(comments[at:at + per_run], keys[at:at + per_run], n, chain)
                bar.update(len(comments[at:at + per_run]))
        return results

    def _run(self, comments, keys, n, chain) -> list[list[Reply]]:
        """One run of the sampling loop for a few comments together, `chain` a `sampling.Chain`."""
        prompts, trimmed = zip(*(self.prompt_ids(c) for c in comments))
        feed = self._feed(prompts, keys, n)
        feed.update({self._temperature: chain.temperature, self._top_k: chain.top_k, self._top_p: chain.top_p})
        tokens, done, length = self.sess.run((self._tokens, self._done, self._length), feed)
        self.stats.update(comments=len(comments), trimmed=sum(trimmed), candidates=n * len(comments),
                          steps=int(tokens.shape[1]), runs=1)
        results = []
        for i in range(len(comments)):
            replies = [self._reply(tokens[j], bool(done[j]), int(length[j])) for j in range(i * n, (i + 1) * n)]
            results.append([r for r in replies if r is not None])
        return results

    def close(self):
        self.sess.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"ReplyEngine({str(self.run_dir)!r}, checkpoint={Path(self.checkpoint).name!r}, " \
               f"max_reply_tokens={self.max_reply_tokens}, seed={self.seed}, comments_per_run={self.comments_per_run})"
