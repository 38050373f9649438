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
`--cache`, synthetic 50,257-token vocabulary; random weights never write <|endoftext|>, so every
run goes to its maximum length) and, side by side in one run:
  1. time per sampling step of the engine and of the engine before this change (the prompt's
     keys/values tiled to every candidate, the cache concatenated at every step;
     benchmarks/legacy_engine.py) at 1/10/20 candidates after prompts of about 36/300/824 tokens,
     and each one's ratio of the step after the longest prompt to the step after the shortest;
  2. candidates per second with 4 comments per sampling run against 1 (prompts of the sample's
     lengths);
  3. the original recipe (reload per comment, `gpt2.generate`, length 1023) against the engine
     (max_reply_tokens 128) in candidates per second (`--original-comments`, 0 to skip).
A step's time is (time of a run of S2 steps - time of a run of S1 steps) / (S2 - S1): the prompt
pass cancels out. The load average is printed with the figures.
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

import numpy as np  # noqa: E402

from helpers.gpt2 import engine as generation, finetune as ft
from helpers.sources import sample as sample_data
from helpers.models import tiny_gpt2  # noqa: E402


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
            kept += sum(map(len, engine.generate(comments[at:at + 10], n, temperature=0.7, top_k=40)))
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


def timed_run(engine, comments, n, steps, per_run) -> float:
    engine.max_reply_tokens = steps
    start = time.perf_counter()
    engine.generate(comments, n, keys=[f"k{i}" for i in range(len(comments))], comments_per_run=per_run)
    return time.perf_counter() - start


def step_ms(engine, comment, n, s1, s2, repeat) -> float:
    """Milliseconds per sampling step after `comment`'s prompt: the fastest of `repeat` runs of s2
    steps less the fastest of `repeat` runs of s1 steps, over s2 - s1 (the prompt pass cancels)."""
    short = min(timed_run(engine, [comment], n, s1, 1) for _ in range(repeat))
    long_ = min(timed_run(engine, [comment], n, s2, 1) for _ in range(repeat))
    return 1000 * (long_ - short) / (s2 - s1)


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def real_shape(args) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from legacy_engine import LegacyEngine
    from real_shapes import gpt2_run

    start = time.perf_counter()
    checkpoint_dir, run_name = gpt2_run(args.shape, args.cache)
    print(f"random-weight GPT-2 {args.shape}: {checkpoint_dir / run_name} ({time.perf_counter() - start:.0f} s); {load()}",
          flush=True)
    new = generation.ReplyEngine(checkpoint_dir, run_name, max_reply_tokens=128)
    old = LegacyEngine(checkpoint_dir, run_name, max_reply_tokens=128)
    s1, s2 = args.step_runs
    prompts = {length: comment_of_tokens(new, length) for length in args.prompt_tokens}
    actual = {length: len(new.prompt_ids(c)[0]) for length, c in prompts.items()}
    for engine in (new, old):  # warm-up
        timed_run(engine, [prompts[args.prompt_tokens[0]]], 2, 2, 1)

    print(f"\n1. ms per sampling step (best of {args.repeat}; steps {s1} -> {s2}); {load()}")
    header = "candidates | " + " | ".join(f"prompt {actual[L]}: engine / before / ratio" for L in args.prompt_tokens)
    print(header)
    table = {}
    for n in args.candidates_list:
        cells = []
        for length in args.prompt_tokens:
            a = step_ms(new, prompts[length], n, s1, s2, args.repeat)
            b = step_ms(old, prompts[length], n, s1, s2, args.repeat)
            table[n, length] = (a, b)
            cells.append(f"{a:6.0f} / {b:6.0f} / {b / a:4.2f}x")
        print(f"{n:10d} | " + " | ".join(cells), flush=True)
    short, long_ = args.prompt_tokens[0], args.prompt_tokens[-1]
    for n in args.candidates_list:
        (a0, b0), (a1, b1) = table[n, short], table[n, long_]
        print(f"  {n:2d} candidates: step after {actual[long_]} tokens / after {actual[short]} tokens: "
              f"engine {a1 / a0:.2f}x, before {b1 / b0:.2f}x")

    # 2. several comments per run: sample-like prompt lengths, the same engine
    bodies = sample_data.load_comments()["body"].dropna().astype(str)
    bodies = bodies[bodies.str.len().between(5, 1500)].sample(n=args.batch_comments, random_state=0).tolist()
    lengths = [len(new.prompt_ids(b)[0]) for b in bodies]
    n = 10
    rates = {}
    timed_run(new, bodies[:4], n, 2, 4)  # warm-up at this batch
    for per_run in (1, 4):
        best = min(timed_run(new, bodies, n, args.batch_steps, per_run) for _ in range(args.repeat))
        rates[per_run] = len(bodies) * n / best
    print(f"\n2. {len(bodies)} comments x {n} candidates, {args.batch_steps} tokens each (prompts of "
          f"{min(lengths)}-{max(lengths)} tokens, mean {np.mean(lengths):.0f}); {load()}")
    print(f"   1 comment per run : {rates[1]:7.2f} candidates/s")
    print(f"   4 comments per run: {rates[4]:7.2f} candidates/s   ratio {rates[4] / rates[1]:.2f}x")
    new.close()
    old.close()

    if args.original_comments:
        comments = bodies[:args.original_comments]
        with generation.ReplyEngine(checkpoint_dir, run_name, max_reply_tokens=128) as engine:
            engine.generate(comments[:1], 10)  # warm-up
            start = time.perf_counter()
            got = engine.generate(comments, 10, keys=list(range(len(comments))))
            b_time = time.perf_counter() - start
        b_rate = len(comments) * 10 / b_time
        print(f"\n3. original recipe vs engine, {len(comments)} comment(s) x 10 candidates; {load()}", flush=True)
        a_time, a_returned, _ = original_way(checkpoint_dir, run_name, comments, 10)
        a_rate = a_returned / a_time
        print(f"   (a) original recipe (reload, gpt2.generate length 1023): {a_rate:7.3f} candidates/s "
              f"({a_time:.0f} s)")
        print(f"   (b) engine (loaded once, 128 tokens, nothing ends with random weights): {b_rate:7.3f} candidates/s "
              f"({b_time:.0f} s; {sum(map(len, got))} kept)")
        print(f"   ratio (b)/(a): {b_rate / a_rate:.1f}x")
    print(f"\n{load()}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=("tiny", "124M", "355M"), default="tiny",
                        help="tiny: fine-tuned tiny model; 124M/355M: random weights of that shape")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-models",
                        help="where the real-shape model is built once")
    parser.add_argument("--prompt-tokens", type=int, nargs="+", default=[36, 300, 824])
    parser.add_argument("--candidates-list", type=int, nargs="+", default=[1, 10, 20])
    parser.add_argument("--step-runs", type=int, nargs=2, default=[4, 36], metavar=("S1", "S2"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-comments", type=int, default=8)
    parser.add_argument("--batch-steps", type=int, default=24)
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
