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
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core.config import StageConfig, setting
from helpers.core.files import atomic_path
from helpers.models import tiny_gpt2

START, END = tiny_gpt2.START, tiny_gpt2.END
# OpenAI's released sizes (their hparams.json), so memory can be estimated before downloading.
KNOWN_HPARAMS = {
    "124M": dict(n_vocab=50257, n_ctx=1024, n_embd=768, n_head=12, n_layer=12),
    "355M": dict(n_vocab=50257, n_ctx=1024, n_embd=1024, n_head=16, n_layer=24),
}
SMALLER = {"355M": "124M"}
TOKENS_PER_SAMPLE = 1024  # gpt-2-simple's finetune samples this many tokens, whatever n_ctx is


@dataclass(frozen=True)
class FinetuneConfig(StageConfig):
    """Notebook 02's settings: read with `FinetuneConfig.from_notebook(globals(), profile)`."""

    model_size: str = setting('base model: "124M"/"355M" (downloaded) or "tiny" (built locally); 355M needs '
                              'more than a T4 gives TensorFlow', colab="124M", tiny="tiny")
    steps: int = setting("total fine-tuning steps of the run (a rerun trains only the missing ones)", colab=1000, tiny=80)
    learning_rate: float = setting("Adam learning rate", colab=1e-4, tiny=3e-3)
    batch_size: int = setting("samples of 1024 tokens per step", default=1)
    # gpt-2-simple's own default is 5; 1 fits a free T4 with margin (benchmarks/bench_finetune_memory.py)
    accumulate_gradients: int = setting("gradient accumulation steps (1 needs least memory)", default=1)
    only_transformer_layers: bool = setting("train only the transformer blocks (less memory; gpt-2-simple's "
                                            "advice above 124M)", default=False)
    save_every: int = setting("save a checkpoint on the runtime disk every N steps (what an error or a kernel "
                              "restart can cost)", colab=500, tiny=40)
    drive_minutes: float = setting("copy the checkpoint to Drive once this many minutes of training are at stake "
                                   "(0: every SAVE_EVERY steps)", colab=30.0, tiny=0.0)
    sample_every: int = setting("print a generated sample every N steps (0: never)", colab=200, tiny=0)
    run_name: str = setting("the run folder models/gpt2/<RUN_NAME>/ (notebooks 03 and 06 read it)", default="run1")
    valid_fraction: float = setting("share of threads held out to measure the loss before and after", default=0.1)


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


ACTIVATION_FACTOR = 1.25  # fitted to measured peaks (benchmarks/bench_finetune_memory.py), see README "Memory"


def training_memory_gb(hp: dict, batch_size: int = 1, accumulate_gradients: int = 1,
                       only_transformer_layers: bool = False) -> float:
    """Estimated memory (GB) of one gpt-2-simple fine-tune step in float32: the weights; for the
    trained variables their gradients and Adam's two moments (and, when accumulating, the
    accumulators and their update buffers); the activations of `batch_size` samples of 1024
    tokens and the logits. Calibrated against peaks measured at real shapes (within 10%)."""
    d, heads, layers, t = hp["n_embd"], hp["n_head"], hp["n_layer"], TOKENS_PER_SAMPLE
    total = parameter_count(hp)
    trained = layers * (12 * d * d + 13 * d) if only_transformer_layers else total
    copies = 3 + (2 if accumulate_gradients > 1 else 0)
    states = 4 * (total + trained * copies)
    activations = ACTIVATION_FACTOR * 4 * batch_size * layers * t * (17 * d + 3 * heads * t)
    logits = 4 * batch_size * t * hp["n_vocab"] * 3
    return (states + activations + logits) / 1e9


# TensorFlow cannot use all of a GPU: on Colab's T4 (15,360 MiB) it reports about 13,942 MiB for
# itself ("Created device ... with 13942 MB memory"); the rest goes to the CUDA context and reserves.
TF_USABLE_FRACTION = 0.9
MARGIN_GIB = 1.0  # kept free for fragmentation, cuDNN workspaces and the sampling graph
GIB = 1024**3


def gpu_memory_gib() -> float | None:
    """Total memory of the first GPU (GiB) from nvidia-smi (which reports MiB), or None without a GPU."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
        return int(out.split()[0]) / 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def usable_gib(gpu_total_gib: float) -> float:
    """What fine-tuning may plan on: TensorFlow's share of the GPU less the safety margin."""
    return gpu_total_gib * TF_USABLE_FRACTION - MARGIN_GIB


def memory_check(model: str, batch_size: int, accumulate_gradients: int, gpu_total_gib: float | None,
                 base_dir: Path | None = None, only_transformer_layers: bool = False) -> tuple[pd.DataFrame, str | None]:
    """A table of the estimate for the chosen setting and the ones that need less, against what
    TensorFlow can use of the GPU (less MARGIN_GIB); and a warning naming what to change, or None."""
    hp = model_hparams(model, base_dir)
    # The chosen setting, then each change in memory_advice's order, one more at a time.
    options = [(model, batch_size, accumulate_gradients, only_transformer_layers)]
    if batch_size > 1:
        options.append((model, 1, accumulate_gradients, only_transformer_layers))
    if accumulate_gradients > 1:
        options.append((model, 1, 1, only_transformer_layers))
    if not only_transformer_layers and model not in ("124M", "tiny"):
        options.append((model, 1, 1, True))
    if model in SMALLER:
        options.append((SMALLER[model], 1, 1, False))
    budget = None if gpu_total_gib is None else usable_gib(gpu_total_gib)
    rows = []
    for name, batch, acc, transformer_only in options:
        need = training_memory_gb(hp if name == model else model_hparams(name), batch, acc, transformer_only) * 1e9 / GIB
        rows.append({"model": name, "BATCH_SIZE": batch, "ACCUMULATE_GRADIENTS": acc,
                     "ONLY_TRANSFORMER_LAYERS": transformer_only,
                     "estimated GiB": round(need, 1), "usable GiB": None if budget is None else round(budget, 1),
                     "fits": None if budget is None else bool(need <= budget)})
    table = pd.DataFrame(rows)
    if gpu_total_gib is None:
        warning = None if model == "tiny" else (
            f"No GPU found: fine-tuning {model} on CPU will take very long. Choose a GPU runtime.")
        return table, warning
    if rows[0]["fits"]:
        return table, None
    fitting = next((r for r in rows[1:] if r["fits"]), None)
    head = (f"{model} with BATCH_SIZE={batch_size}, ACCUMULATE_GRADIENTS={accumulate_gradients}, ONLY_TRANSFORMER_LAYERS="
            f"{only_transformer_layers} needs about {rows[0]['estimated GiB']} GiB, but TensorFlow can use about "
            f"{budget:.1f} GiB of this {gpu_total_gib:.1f} GiB GPU (after a {MARGIN_GIB} GiB margin).")
    if fitting:
        batch_hint = f"BATCH_SIZE = {fitting['BATCH_SIZE']}, " if fitting["BATCH_SIZE"] != batch_size else ""
        hint = (f" Set {batch_hint}MODEL_SIZE = {fitting['model']!r}, ACCUMULATE_GRADIENTS = {fitting['ACCUMULATE_GRADIENTS']}, "
                f"ONLY_TRANSFORMER_LAYERS = {fitting['ONLY_TRANSFORMER_LAYERS']} (about {fitting['estimated GiB']} GiB).")
    else:
        hint = " Use a GPU with more memory."
    return table, head + hint


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
    text = counter.read_text().strip() if counter.is_file() else ""
    if text.isdigit():
        return int(text)
    # No counter, or one caught mid-write (gpt-2-simple truncates it, then writes): the checkpoint
    # index names the latest step (model-<step>).
    index = Path(run_dir) / "checkpoint"
    found = re.search(r'model_checkpoint_path: ".*?model-(\d+)"', index.read_text()) if index.is_file() else None
    return int(found.group(1)) if found else 0


class OutOfMemory(RuntimeError):
    """Fine-tuning ran out of GPU memory; the message names the setting to change."""


# How a GPU out-of-memory shows when it is not a ResourceExhaustedError: a host-to-GPU copy into a
# tensor that could not be allocated, or cuBLAS/cuDNN failing to allocate their workspace.
OOM_MARKERS = ("out of memory", "oom when allocating", "dst tensor is not initialized", "alloc_failed",
               "failed to allocate")


def is_out_of_memory(error: Exception) -> bool:
    """True for TensorFlow's ResourceExhaustedError and for internal errors that mean the GPU ran out of memory."""
    import tensorflow as tf

    if isinstance(error, tf.errors.ResourceExhaustedError):
        return True
    return any(marker in str(error).lower() for marker in OOM_MARKERS)


def memory_advice(model: str, accumulate_gradients: int, only_transformer_layers: bool, batch_size: int = 1) -> str:
    """What to change, in order of least cost to quality, when fine-tuning does not fit."""
    steps = []
    if batch_size > 1:
        steps.append("BATCH_SIZE = 1")
    if accumulate_gradients > 1:
        steps.append("ACCUMULATE_GRADIENTS = 1")
    if not only_transformer_layers and model not in ("124M", "tiny"):
        steps.append("ONLY_TRANSFORMER_LAYERS = True")
    if model in SMALLER:
        steps.append(f"MODEL_SIZE = {SMALLER[model]!r}")
    return ("set " + ", then ".join(steps)) if steps else "use a GPU with more memory"


def _close_summary_writers() -> None:
    """Flush gpt-2-simple's TensorBoard writers (it never closes them) so the loss reaches disk."""
    import gc

    import tensorflow as tf

    for obj in gc.get_objects():
        if isinstance(obj, tf.compat.v1.summary.FileWriter):
            obj.close()


def _start_run(run_dir: Path, local_run: Path, usage) -> tuple[int, list[str]]:
    """Make the runtime disk's copy of the run current (Drive's checkpoint restored after a lost
    runtime; a local run of another id discarded); returns the steps on Drive and what was pruned."""
    from helpers.core import drive_sync

    pruned = drive_sync.prune_drive_run(run_dir, usage)  # left by an earlier session or a crash mid-sync
    run_id = drive_sync.run_id(run_dir, usage)
    if drive_sync.run_id(local_run) != run_id:  # another run of the same name (RESTART, another Drive)
        shutil.rmtree(local_run, ignore_errors=True)
    drive_sync.restore_checkpoint(run_dir, local_run)
    local_run.mkdir(parents=True, exist_ok=True)
    (local_run / drive_sync.RUN_ID).write_text(run_id, encoding="utf-8")
    return completed_steps(run_dir), pruned


def _train_chunk(dataset: Path, base_dir: Path, local_run: Path, cfg: FinetuneConfig, steps: int, seed: int) -> None:
    """`steps` more steps with gpt-2-simple on the runtime disk, ending in one saved checkpoint."""
    import gpt_2_simple as gpt2
    import tensorflow as tf

    done = completed_steps(local_run)
    random.seed(seed + done)  # gpt-2-simple draws its 1024-token samples with `random`
    np.random.seed(seed + done)
    work_dir = local_run.parent
    with tf.Graph().as_default(), contextlib.chdir(work_dir):
        tf.compat.v1.set_random_seed(seed + done)
        sess = gpt2.start_tf_sess()
        try:
            gpt2.finetune(sess, dataset=str(Path(dataset).resolve()), steps=steps,
                          model_name=base_dir.name, model_dir=str(base_dir.parent),
                          checkpoint_dir=str(work_dir), run_name=local_run.name,
                          batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                          accumulate_gradients=cfg.accumulate_gradients,
                          only_train_transformer_layers=cfg.only_transformer_layers, restore_from="latest",
                          save_every=steps + 1, sample_every=cfg.sample_every if cfg.sample_every > 0 else cfg.steps + 1,
                          sample_length=128, print_every=max(1, cfg.steps // 10), max_checkpoints=1)
        except (tf.errors.ResourceExhaustedError, tf.errors.InternalError) as error:
            if not is_out_of_memory(error):
                raise
            advice = memory_advice(base_dir.name, cfg.accumulate_gradients, cfg.only_transformer_layers, cfg.batch_size)
            raise OutOfMemory(f"GPT-2 {base_dir.name} ran out of GPU memory while fine-tuning "
                              f"(ACCUMULATE_GRADIENTS={cfg.accumulate_gradients}, ONLY_TRANSFORMER_LAYERS="
                              f"{cfg.only_transformer_layers}, BATCH_SIZE={cfg.batch_size}): {advice} in the "
                              f"parameters cell and run the notebook again; steps saved so far are kept.") from error
        finally:
            sess.close()
            _close_summary_writers()


def finetune(dataset: Path, base_dir: Path, run_dir: Path, cfg: FinetuneConfig, *, work_dir: Path | None = None,
             usage=None, seed: int = 0) -> dict:
    """Fine-tune with gpt-2-simple until the run has `cfg.steps` steps in total.

    Training runs on the runtime's disk (`work_dir`/<run>, default: `gpt2_work` on the runtime
    disk), saving a checkpoint there every `cfg.save_every` steps. The checkpoint is copied to
    `run_dir` on Drive (and the older one there removed, to Trash) only once `cfg.drive_minutes`
    of training are not on Drive yet, and at the end: a run shorter than that writes one
    checkpoint to Drive and sends none to Trash. A rerun restores Drive's checkpoint (after a lost
    runtime) or the runtime disk's (after a kernel restart) and trains only the steps still
    missing. `usage` (a `drive_sync.DriveUsage`) counts the bytes written to Drive and sent to its
    Trash. Running out of GPU memory raises `OutOfMemory` naming the setting to change.
    """
    import tensorflow as tf

    from helpers.core import drive_sync, runtime

    usage = usage if usage is not None else drive_sync.DriveUsage()
    base_dir, run_dir = Path(base_dir).resolve(), Path(run_dir).resolve()
    work_dir = Path(work_dir).resolve() if work_dir else runtime.local_root() / "gpt2_work"
    local_run = work_dir / run_dir.name
    before, pruned = _start_run(run_dir, local_run, usage)
    result = {"steps_before": before, "steps_trained": 0, "steps_total": before, "seconds": 0.0,
              "resumed_from": tf.train.latest_checkpoint(str(run_dir)), "pruned_on_drive": pruned,
              "local_steps_before": completed_steps(local_run), "drive_copies": 0}
    due = drive_sync.Due(cfg.drive_minutes)
    start = time.perf_counter()
    while completed_steps(local_run) < cfg.steps:
        done = completed_steps(local_run)
        _train_chunk(dataset, base_dir, local_run, cfg, min(cfg.save_every if cfg.save_every > 0 else cfg.steps,
                                                            cfg.steps - done), seed)
        done = completed_steps(local_run)
        for path in [p for s, ps in drive_sync.checkpoint_steps(local_run).items() if s != done for p in ps]:
            path.unlink()  # the runtime disk keeps one checkpoint too
        if done < cfg.steps and due():
            drive_sync.sync_checkpoint(local_run, run_dir, usage)
            result["drive_copies"] += 1
            due.done()
    if completed_steps(local_run) > completed_steps(run_dir):  # the end (or steps trained before a kernel restart)
        drive_sync.sync_checkpoint(local_run, run_dir, usage)
        result["drive_copies"] += 1
    after = completed_steps(run_dir)
    return dict(result, steps_trained=after - before, steps_total=after,
                seconds=round(time.perf_counter() - start, 2), **usage.as_dict())


def drive_plan(hp: dict, cfg: FinetuneConfig, run_dir: Path, local_run: Path | None = None,
               checkpoint_bytes: int | None = None) -> dict:
    """What this run will write to Drive and send to its Trash, from the facts before it starts:
    one checkpoint (the weights in float32, unless `checkpoint_bytes` is known) at the end when
    steps are missing on Drive, the one Drive holds then replaced (to Trash), and the stray files an
    interrupted copy left (pruned, to Trash); `per_extra_copy_gb` is what each `drive_minutes` of
    training beyond the first adds (written and trashed alike)."""
    from helpers.core import drive_sync

    run_dir = Path(run_dir)
    checkpoint = checkpoint_bytes if checkpoint_bytes is not None else 4 * parameter_count(hp)
    on_drive = completed_steps(run_dir)
    missing = cfg.steps > on_drive
    stale = 0
    if run_dir.is_dir():
        keep = drive_sync.latest_step(run_dir)
        stale = sum(p.stat().st_size for s, ps in drive_sync.checkpoint_steps(run_dir).items() if s != keep for p in ps)
        stale += sum(p.stat().st_size for p in run_dir.glob(".*.part"))
    replaced = drive_sync.checkpoint_bytes(run_dir) if (missing and on_drive) else 0
    return {"checkpoint_gb": round(checkpoint / 1e9, 6), "steps_on_drive": on_drive,
            "drive_written_bytes": checkpoint * missing, "drive_trashed_bytes": replaced + stale,
            "drive_written_gb": round(checkpoint * missing / 1e9, 6),
            "drive_trashed_gb": round((replaced + stale) / 1e9, 6),
            "per_extra_copy_gb": round(checkpoint / 1e9, 6) if missing else 0.0,
            "drive_minutes": cfg.drive_minutes}


def plan_text(plan: dict) -> str:
    """The plan as the line 02 prints before training."""
    from helpers.core.drive_sync import human

    if not plan["drive_written_bytes"] and not plan["drive_trashed_bytes"]:
        return f"Drive: nothing to write: the run already has its steps on Drive ({plan['steps_on_drive']})."
    copy = human(plan["drive_written_bytes"])
    extra = (f"; if training runs longer than {plan['drive_minutes']:g} minutes, each further {plan['drive_minutes']:g} "
             f"minutes add a copy ({copy} written, and later sent to Trash)"
             if plan["drive_minutes"] > 0 else
             f"; DRIVE_MINUTES = 0: a copy after every SAVE_EVERY steps ({copy} written and sent to Trash, each but "
             "the last)")
    return (f"Drive plan: write {copy} (one checkpoint, at the end), send {human(plan['drive_trashed_bytes'])} to "
            f"Trash (the checkpoint Drive holds now and stray partial copies){extra}.")


def heldout_loss(model_dir: Path, texts, max_tokens: int = 50_000) -> dict:
    """Mean next-token loss (nats) and perplexity of the model in `model_dir` (a base model or a
    fine-tuned run: its latest checkpoint) on `texts`, wrapped as fine-tuning sees them, scored in
    windows of n_ctx tokens (at most `max_tokens` tokens)."""
    import tensorflow as tf
    from gpt_2_simple.src import encoder, model

    from helpers.gpt2.engine import load_hparams, restore_session

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


def reset_run(run_dir: Path) -> int:
    """Delete a run folder (checkpoints, split, events) to start afresh; says and returns the bytes
    deleted (on Drive they go to its Trash)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return 0
    size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    shutil.rmtree(run_dir)
    print(f"RESTART: deleted {run_dir.name}/ ({size / 1e9:.3f} GB; on Drive this goes to Drive's Trash)")
    return size


def warn(message: str | None) -> None:
    if message:
        warnings.warn(message, stacklevel=2)
