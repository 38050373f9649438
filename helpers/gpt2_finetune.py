"""Notebook 02's steps: thread split, base model, GPU memory check, resumable fine-tuning with
gpt-2-simple, held-out loss, the training-loss curve.

Functions that touch gpt-2-simple import it when called (it switches TensorFlow to graph mode for
the whole process): use them from the GPT-2 notebooks or a child process.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import random
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import tiny_gpt2
from .exchange import atomic_path

START, END = tiny_gpt2.START, tiny_gpt2.END
# OpenAI's released sizes (their hparams.json), so memory can be estimated before downloading.
KNOWN_HPARAMS = {
    "124M": dict(n_vocab=50257, n_ctx=1024, n_embd=768, n_head=12, n_layer=12),
    "355M": dict(n_vocab=50257, n_ctx=1024, n_embd=1024, n_head=16, n_layer=24),
}
SMALLER = {"355M": "124M"}
TOKENS_PER_SAMPLE = 1024  # gpt-2-simple's finetune samples this many tokens, whatever n_ctx is


# -- data ----------------------------------------------------------------------------------------
def split_threads(df: pd.DataFrame, valid_fraction: float, seed: int = 0, thread_col: str = "submission_id"):
    """(train, valid): whole threads go to one side, about `valid_fraction` of them to valid."""
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"VALID_FRACTION must be between 0 and 1 (exclusive), got {valid_fraction}")
    threads = sorted(df[thread_col].unique())
    if len(threads) < 2:
        raise ValueError(f"need at least 2 threads to hold some out, got {len(threads)}")
    rng = np.random.default_rng(seed)
    n_valid = min(len(threads) - 1, max(1, round(len(threads) * valid_fraction)))
    valid = set(rng.choice(threads, size=n_valid, replace=False))
    held = df[thread_col].isin(valid)
    return df[~held].reset_index(drop=True), df[held].reset_index(drop=True)


def write_texts(texts, path: Path) -> Path:
    """A one-column CSV (`text`) as gpt-2-simple's finetune reads it, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)
    return Path(path)


def read_texts(path: Path) -> list[str]:
    return pd.read_csv(path, dtype=str, keep_default_na=False)["text"].tolist()


def stream(texts) -> str:
    """Texts joined as gpt-2-simple's CSV loader joins them for fine-tuning."""
    return "".join(tiny_gpt2.wrap(t) for t in texts)


# -- base model and memory -----------------------------------------------------------------------
def model_hparams(model: str, base_dir: Path | None = None) -> dict:
    """hparams of a base model: its hparams.json when present, else OpenAI's published sizes."""
    if base_dir is not None and (Path(base_dir) / "hparams.json").is_file():
        return json.loads((Path(base_dir) / "hparams.json").read_text())
    if model in KNOWN_HPARAMS:
        return KNOWN_HPARAMS[model]
    if model == "tiny":
        return dict(tiny_gpt2.TINY_HPARAMS, n_vocab=2000)
    raise ValueError(f"unknown GPT-2 model {model!r}; choose 124M, 355M or tiny")


def parameter_count(hp: dict) -> int:
    d, layers = hp["n_embd"], hp["n_layer"]
    return hp["n_vocab"] * d + hp["n_ctx"] * d + layers * (12 * d * d + 13 * d) + 2 * d


def training_memory_gb(hp: dict, batch_size: int = 1, accumulate_gradients: int = 5) -> float:
    """A rough estimate of GPU memory (GB) gpt-2-simple's finetune needs in float32: weights,
    gradients, Adam's two moments (and the accumulators), activations of `batch_size` samples of
    1024 tokens, the logits, and about 0.5 GB for the CUDA context."""
    d, heads, layers, t = hp["n_embd"], hp["n_head"], hp["n_layer"], TOKENS_PER_SAMPLE
    copies = 4 + (1 if accumulate_gradients > 1 else 0)
    states = 4 * parameter_count(hp) * copies
    activations = 4 * batch_size * layers * t * (17 * d + 3 * heads * t)
    logits = 4 * batch_size * t * hp["n_vocab"] * 3
    return (states + activations + logits) / 1e9 + 0.5


def gpu_memory_gb() -> float | None:
    """Total memory of the first GPU (GB) from nvidia-smi, or None without a GPU."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
        return int(out.split()[0]) * 1024**2 / 1e9
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def memory_check(model: str, batch_size: int, accumulate_gradients: int, available_gb: float | None,
                 base_dir: Path | None = None) -> tuple[pd.DataFrame, str | None]:
    """A table of the estimate against the GPU, and a warning (naming the smaller model) or None."""
    rows, warning = [], None
    for name in dict.fromkeys([model, SMALLER.get(model, model)]):
        hp = model_hparams(name, base_dir if name == model else None)
        need = training_memory_gb(hp, batch_size, accumulate_gradients)
        rows.append({"model": name, "parameters (M)": round(parameter_count(hp) / 1e6, 1),
                     "estimated GB": round(need, 1),
                     "GPU GB": None if available_gb is None else round(available_gb, 1),
                     "fits": None if available_gb is None else need <= available_gb})
    need = rows[0]["estimated GB"]
    if available_gb is None:
        if model != "tiny":
            warning = f"No GPU found: fine-tuning {model} on CPU will take very long. Choose a GPU runtime."
    elif need > available_gb:
        smaller = SMALLER.get(model)
        hint = (f" Choose MODEL_SIZE = {smaller!r} (needs about {rows[1]['estimated GB']} GB)." if smaller else
                " Lower BATCH_SIZE, or use a GPU with more memory.")
        warning = f"{model} needs about {need} GB to fine-tune but the GPU has {available_gb:.1f} GB.{hint}"
    return pd.DataFrame(rows), warning


def prepare_base_model(model: str, base_dir: Path, texts, seed: int = 0) -> Path:
    """The base model folder: the tiny one built from `texts`, or OpenAI's release downloaded by
    gpt-2-simple (both only when not there yet)."""
    base_dir = Path(base_dir)
    if model == "tiny":
        if not tiny_gpt2.is_built(base_dir):
            tiny_gpt2.build(base_dir, texts, seed=seed)
        return base_dir
    import gpt_2_simple as gpt2

    if not gpt2.is_gpt2_downloaded(model_dir=str(base_dir.parent), model_name=model):
        gpt2.download_gpt2(model_dir=str(base_dir.parent), model_name=model)
    return base_dir


def count_tokens(model_dir: Path, text: str) -> int:
    from gpt_2_simple.src import encoder

    return len(encoder.get_encoder(str(model_dir)).encode(text))


# -- fine-tuning ---------------------------------------------------------------------------------
def completed_steps(run_dir: Path) -> int:
    """Steps in the run's latest checkpoint (gpt-2-simple's `counter` file), 0 for a new run."""
    counter = Path(run_dir) / "counter"
    return int(counter.read_text().strip()) if counter.is_file() else 0


def finetune(dataset: Path, base_dir: Path, run_dir: Path, *, steps: int, batch_size: int = 1,
             learning_rate: float = 1e-4, accumulate_gradients: int = 5, save_every: int = 100,
             sample_every: int = 0, sample_length: int = 128, print_every: int = 10, seed: int = 0) -> dict:
    """Fine-tune with gpt-2-simple until the run has `steps` steps in total.

    Checkpoints go straight into `run_dir` (on Drive), every `save_every` steps and at the end; a
    rerun restores the latest one and trains only the steps still missing, so a disconnect costs at
    most `save_every` steps. Samples (every `sample_every` steps, 0 = never) go to
    `run_dir/../samples/<run>/`.
    """
    import gpt_2_simple as gpt2
    import tensorflow as tf

    base_dir, run_dir = Path(base_dir).resolve(), Path(run_dir).resolve()
    before = completed_steps(run_dir)
    remaining = steps - before
    result = {"steps_before": before, "steps_trained": 0, "steps_total": before, "seconds": 0.0,
              "resumed_from": tf.train.latest_checkpoint(str(run_dir))}
    if remaining <= 0:
        return result
    run_dir.mkdir(parents=True, exist_ok=True)
    random.seed(seed + before)  # gpt-2-simple draws its 1024-token samples with `random`
    np.random.seed(seed + before)
    start = time.perf_counter()
    with tf.Graph().as_default(), contextlib.chdir(run_dir.parent):
        tf.compat.v1.set_random_seed(seed + before)
        sess = gpt2.start_tf_sess()
        try:
            gpt2.finetune(sess, dataset=str(Path(dataset).resolve()), steps=remaining,
                          model_name=base_dir.name, model_dir=str(base_dir.parent),
                          checkpoint_dir=str(run_dir.parent), run_name=run_dir.name,
                          batch_size=batch_size, learning_rate=learning_rate,
                          accumulate_gradients=accumulate_gradients, restore_from="latest",
                          save_every=save_every if save_every > 0 else steps + 1,
                          sample_every=sample_every if sample_every > 0 else steps + 1,
                          sample_length=sample_length, print_every=print_every, max_checkpoints=1)
        finally:
            sess.close()
    after = completed_steps(run_dir)
    return dict(result, steps_trained=after - before, steps_total=after,
                seconds=round(time.perf_counter() - start, 2))


def heldout_loss(model_dir: Path, texts, max_tokens: int = 50_000) -> dict:
    """Mean next-token loss (nats) and perplexity of the model in `model_dir` (a base model or a
    fine-tuned run: its latest checkpoint) on `texts`, wrapped as fine-tuning sees them, scored in
    windows of n_ctx tokens (at most `max_tokens` tokens)."""
    import tensorflow as tf
    from gpt_2_simple.src import encoder, model

    from .generation import load_hparams, restore_session

    model_dir = Path(model_dir)
    hp = load_hparams(model_dir)
    ids = encoder.get_encoder(str(model_dir)).encode(stream(texts))[:max_tokens]
    if len(ids) < 2:
        raise ValueError("held-out texts are too short to score")
    ckpt = tf.train.latest_checkpoint(str(model_dir))
    total, count = 0.0, 0
    with tf.Graph().as_default() as graph:
        tokens = tf.compat.v1.placeholder(tf.int32, [1, None])
        logits = model.model(hparams=hp, X=tokens)["logits"]
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tokens[:, 1:], logits=logits[:, :-1])
        loss_sum = tf.reduce_sum(losses)
        with restore_session(graph, ckpt) as sess:
            for begin in range(0, len(ids) - 1, hp.n_ctx):
                window = ids[begin:begin + hp.n_ctx]
                if len(window) < 2:
                    break
                total += float(sess.run(loss_sum, {tokens: [window]}))
                count += len(window) - 1
    loss = total / count
    return {"loss": loss, "perplexity": math.exp(loss), "tokens": count}


def loss_history(run_dir: Path) -> pd.DataFrame:
    """Training loss per step from the run's TensorBoard event files (every session of a resumed
    run; a step trained twice after a disconnect keeps its latest value)."""
    import tensorflow as tf

    rows = []
    for events in sorted(Path(run_dir).glob("events.out.tfevents.*")):
        try:
            for event in tf.compat.v1.train.summary_iterator(str(events)):
                for value in event.summary.value:
                    if value.tag == "loss":
                        rows.append((event.step, event.wall_time, value.simple_value))
        except tf.errors.DataLossError:  # a file cut short by a disconnect: keep what was read
            continue
    df = pd.DataFrame(rows, columns=["step", "wall_time", "loss"])
    return df.sort_values("wall_time").drop_duplicates("step", keep="last").sort_values("step").reset_index(drop=True)


def plot_loss(history: pd.DataFrame, smooth: int = 10):
    """The training-loss curve with a moving average."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(history["step"], history["loss"], alpha=0.35, label="loss per step")
    if len(history) >= 2:
        window = max(1, min(smooth, len(history) // 3 or 1))
        ax.plot(history["step"], history["loss"].rolling(window, min_periods=1).mean(),
                label=f"moving average ({window} steps)")
    ax.set(xlabel="step", ylabel="training loss (nats/token)", title="GPT-2 fine-tuning")
    ax.legend()
    fig.tight_layout()
    return fig


def reset_run(run_dir: Path) -> None:
    """Delete a run folder (checkpoints, split, events) to start afresh."""
    if Path(run_dir).exists():
        shutil.rmtree(run_dir)


def warn(message: str | None) -> None:
    if message:
        warnings.warn(message, stacklevel=2)
