"""Peak memory of one gpt-2-simple fine-tune step at real shapes, measured against notebook 02's estimate.

    flock /tmp/heavy.lock python benchmarks/bench_finetune_memory.py [--models 124M 355M] [--work DIR]

For each model and setting (accumulate_gradients 1 or 5, all layers or transformer layers only),
a child process imports TensorFlow and gpt-2-simple, notes its resident memory (the baseline),
runs one fine-tune step of 1024 tokens on a random-weight model of the real shape (CPU, offline;
see helpers/real_shape.py), and reports its peak resident memory less the baseline: a proxy for
what the step needs on a GPU. Printed next to `gpt2_finetune.training_memory_gb` and their ratio.
Heavy (up to ~17 GB RAM and several minutes for 355M): run it under flock, one at a time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = r"""
import json, os, sys, contextlib
from pathlib import Path

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
import tensorflow as tf
import gpt_2_simple as gpt2
baseline = rss("VmRSS:")
args = json.loads(sys.argv[1])
base = Path(args["base"])
run_root = Path(args["runs"])
with tf.Graph().as_default(), contextlib.chdir(run_root):
    sess = gpt2.start_tf_sess()
    gpt2.finetune(sess, dataset=args["dataset"], steps=1, model_name=base.name, model_dir=str(base.parent),
                  checkpoint_dir=str(run_root), run_name=args["run"], batch_size=1,
                  accumulate_gradients=args["acc"], only_train_transformer_layers=args["transformer_only"],
                  save_every=10**6, sample_every=10**6, print_every=1, max_checkpoints=1)
print("MEASURED:" + json.dumps({"baseline": baseline, "peak": rss("VmHWM:")}), flush=True)
"""

SETTINGS = [  # (accumulate_gradients, only_train_transformer_layers)
    (5, False), (1, False), (1, True),
]


def measure(base: Path, dataset: Path, runs: Path, acc: int, transformer_only: bool) -> float:
    """GB of peak resident memory above the TensorFlow baseline for one step."""
    run = f"{base.name}-acc{acc}-{'h' if transformer_only else 'all'}"
    args = dict(base=str(base), dataset=str(dataset), runs=str(runs), run=run, acc=acc, transformer_only=transformer_only)
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
                               "PATH": "/usr/bin:/bin"})
    line = [x for x in proc.stdout.splitlines() if x.startswith("MEASURED:")]
    if proc.returncode or not line:
        raise SystemExit(f"child failed for {run}:\n{proc.stderr[-3000:]}")
    got = json.loads(line[0][len("MEASURED:"):])
    import shutil
    shutil.rmtree(runs / run, ignore_errors=True)
    return (got["peak"] - got["baseline"]) / 1e9


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["124M", "355M"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-finetune-memory",
                        help="where the random-weight models are built (kept for reruns)")
    args = parser.parse_args(argv)
    from helpers.gpt2 import finetune as ft
    from helpers.models import tiny_gpt2

    args.work.mkdir(parents=True, exist_ok=True)
    dataset = ft.write_texts(tiny_gpt2.toy_texts(2000), args.work / "train.csv")
    runs = args.work / "runs"
    runs.mkdir(exist_ok=True)
    print(f"{'model':>6} {'acc':>4} {'layers':>12} {'measured GB':>12} {'estimate GB':>12} {'estimate/measured':>18}")
    rows = []
    for model in args.models:
        base = args.work / "base" / model
        if not (base / "checkpoint").is_file():
            subprocess.run([sys.executable, "-c", "import sys; from helpers import real_shape; "
                            "real_shape.build_gpt2(sys.argv[1], sys.argv[2])", str(base), model],
                           check=True, env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
        for acc, transformer_only in SETTINGS:
            measured = measure(base, dataset, runs, acc, transformer_only)
            estimate = ft.training_memory_gb(ft.KNOWN_HPARAMS[model], 1, acc, transformer_only)
            rows.append(dict(model=model, acc=acc, transformer_only=transformer_only, measured_gb=round(measured, 2),
                             estimate_gb=round(estimate, 2), ratio=round(estimate / measured, 3)))
            print(f"{model:>6} {acc:>4} {'transformer' if transformer_only else 'all':>12} {measured:>12.2f} "
                  f"{estimate:>12.2f} {estimate / measured:>18.3f}", flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
