"""Candidate generation: the original recipe against helpers.generation.ReplyEngine, in one run.

    PYTHONPATH=. python benchmarks/bench_generation.py [--comments 100] [--steps 300]

Both sides use the same fine-tuned checkpoint and the same comments, 10 candidates per comment:
  (a) the original notebooks' recipe, per comment: reset the graph, `load_gpt2`, then
      `gpt2.generate(nsamples=10, batch_size=10, temperature=0.7, top_k=40,
      truncate='<|endoftext|>')` with its default length (up to 1023 tokens);
  (b) one ReplyEngine (loaded once, one sampling graph, stops when every candidate ended).
Prints candidates per second of both and their ratio, and for (b) the process's memory growth from
comment 10 to the last comment. By default the checkpoint is a tiny GPT-2 built and fine-tuned
here on toy comment/reply rows long enough to end its replies; `--checkpoint-dir`/`--run-name`
use a run of notebook 02 instead. (b) runs first so that (a)'s memory does not hide its growth.
"""
from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import generation, gpt2_finetune as ft, tiny_gpt2  # noqa: E402


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
    ft.finetune(root / "train.csv", root / "base" / "tiny", root / "gpt2" / "run1", steps=steps,
                learning_rate=5e-3, accumulate_gradients=1, save_every=steps + 1, print_every=max(1, steps // 5))
    return root / "gpt2", "run1"


def engine_way(checkpoint_dir, run_name, comments, n, max_reply_tokens):
    memory = {}
    start = time.perf_counter()
    with generation.ReplyEngine(checkpoint_dir, run_name, max_reply_tokens=max_reply_tokens) as engine:
        kept = 0
        for i, comment in enumerate(comments, 1):
            kept += len(engine.generate([comment], n, temperature=0.7, top_k=40)[0])
            if i in (10, len(comments)):
                memory[i] = rss_mb()
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300, help="fine-tuning steps of the tiny model")
    parser.add_argument("--max-reply-tokens", type=int, default=128)
    parser.add_argument("--checkpoint-dir", type=Path, help="use this gpt-2-simple checkpoint_dir ...")
    parser.add_argument("--run-name", default="run1", help="... and run instead of fine-tuning one here")
    args = parser.parse_args(argv)

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
          f"{stats['steps'] / len(comments):.0f} sampling steps per comment; graph {nodes} nodes)")
    print(f"ratio (b)/(a)       : {b_rate / a_rate:.1f}x candidates/s "
          f"({(b_kept / b_time) / max(a_ended / a_time, 1e-9):.1f}x counting only candidates that ended)")
    print(f"(b) memory, comment 10 -> {last}: current {memory[10][0]:.0f} -> {memory[last][0]:.0f} MB "
          f"({memory[last][0] - memory[10][0]:+.1f} MB), peak {memory[10][1]:.0f} -> {memory[last][1]:.0f} MB "
          f"({memory[last][1] - memory[10][1]:+.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
