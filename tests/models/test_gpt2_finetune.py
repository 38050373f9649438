"""Notebook 02's helpers: thread split, memory check, and (in child processes, as gpt-2-simple
disables eager execution) resumable fine-tuning that lowers the held-out loss."""
import time
from pathlib import Path

import pandas as pd
import pytest
from gpt2_children import run, start

from helpers.gpt2 import finetune as ft

PREPARE = """
from pathlib import Path
from helpers.models import tiny_gpt2
from helpers.gpt2 import finetune as ft
root = Path(args["root"])
texts = tiny_gpt2.toy_texts(400, seed=0)
tiny_gpt2.build(root / "base" / "tiny", texts, seed=0)
ft.write_texts(texts, root / "train.csv")
ft.write_texts(tiny_gpt2.toy_texts(40, seed=99), root / "valid.csv")
result = ft.heldout_loss(root / "base" / "tiny", ft.read_texts(root / "valid.csv"))
"""
TRAIN = """
from pathlib import Path
from helpers.gpt2 import finetune as ft
root = Path(args["root"])
cfg = ft.FinetuneConfig.for_profile("tiny", steps=args["steps"], learning_rate=5e-3, save_every=args["save_every"],
                                    drive_minutes=0)
result = ft.finetune(root / "train.csv", root / "base" / "tiny", root / "gpt2" / "run1", cfg)
if args.get("score"):
    result["after"] = ft.heldout_loss(root / "gpt2" / "run1", ft.read_texts(root / "valid.csv"))
    result["history_steps"] = ft.loss_history(root / "gpt2" / "run1")["step"].tolist()
"""


def kill_once_saved(child, run_dir: Path, steps: int, timeout: float = 180) -> int:
    """Kill the training `child` (as a Colab disconnect would) once `run_dir` holds a checkpoint of
    at least `steps` steps (or it ended, or `timeout` passed); the steps saved then."""
    deadline = time.time() + timeout
    while ft.completed_steps(run_dir) < steps and child.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    child.kill()
    child.wait()
    return ft.completed_steps(run_dir)


def test_finetuning_resumes_after_a_kill_and_lowers_heldout_loss(tmp_path):
    before = run(PREPARE, root=str(tmp_path))
    run_dir = tmp_path / "gpt2" / "run1"
    # A long run, killed (as a Colab disconnect would) once it has saved a checkpoint.
    child = start(TRAIN, root=str(tmp_path), steps=100_000, save_every=4)
    saved = kill_once_saved(child, run_dir, 8)
    assert saved >= 8 and saved % 4 == 0, "the killed run should have saved checkpoints every 4 steps"

    after = run(TRAIN, root=str(tmp_path), steps=saved + 30, save_every=1000, score=True)
    assert after["steps_before"] == saved
    assert after["resumed_from"].endswith(f"model-{saved}")
    assert (after["steps_trained"], after["steps_total"]) == (30, saved + 30)
    assert ft.completed_steps(run_dir) == saved + 30
    assert set(range(saved + 1, saved + 31)) <= set(after["history_steps"])
    assert after["after"]["tokens"] == before["tokens"]
    assert after["after"]["loss"] < before["loss"] - 1.0  # fine-tuning lowers the held-out loss

    again = run(TRAIN, root=str(tmp_path), steps=saved + 30, save_every=1000)
    assert again["steps_trained"] == 0  # nothing left to do: a rerun does not train again


def test_split_keeps_threads_whole():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(60)], "submission_id": [f"s{i // 3}" for i in range(60)]})
    train, valid = ft.split_threads(df, 0.2, seed=1)
    assert len(train) + len(valid) == 60
    assert not set(train["submission_id"]) & set(valid["submission_id"])
    assert valid["submission_id"].nunique() == 4
    assert ft.split_threads(df, 0.2, seed=1)[1].equals(valid)
    with pytest.raises(ValueError, match="VALID_FRACTION"):
        ft.split_threads(df, 1.5)


# Peak memory of one fine-tune step above TensorFlow's baseline (GB), measured by
# benchmarks/bench_finetune_memory.py at real shapes (random weights, CPU); see README "Memory".
MEASURED_GB = {("124M", 5, False): 7.38, ("124M", 1, False): 5.79, ("124M", 1, True): 5.60,
               ("355M", 5, False): 17.03, ("355M", 1, False): 14.16, ("355M", 1, True): 14.00}
T4_GIB = 15360 / 1024  # nvidia-smi's memory.total on a T4, in MiB


@pytest.mark.parametrize("setting", sorted(MEASURED_GB))
def test_memory_estimate_within_15_percent_of_measured(setting):
    model, acc, transformer_only = setting
    estimate = ft.training_memory_gb(ft.KNOWN_HPARAMS[model], 1, acc, transformer_only)
    assert estimate == pytest.approx(MEASURED_GB[setting], rel=0.15)


def test_memory_check_uses_what_tensorflow_can_allocate_and_names_the_setting():
    # 355M with every layer trained and accumulate 5 (gpt-2-simple's defaults) does not fit a T4 ...
    table, warning = ft.memory_check("355M", 1, 5, T4_GIB)
    assert not table["fits"].iloc[0] and table["usable GiB"].iloc[0] < T4_GIB * 0.95 - ft.MARGIN_GIB + 0.01
    assert "ACCUMULATE_GRADIENTS" in warning and "GiB" in warning and "Set MODEL_SIZE" in warning
    # ... the colab profile's defaults do, with the margin
    s = ft.FinetuneConfig.for_profile("colab")
    _, ok = ft.memory_check(s.model_size, s.batch_size, s.accumulate_gradients, T4_GIB,
                            only_transformer_layers=s.only_transformer_layers)
    assert ok is None
    need = ft.training_memory_gb(ft.KNOWN_HPARAMS[s.model_size], 1, s.accumulate_gradients,
                                 s.only_transformer_layers) * 1e9 / ft.GIB
    assert need <= ft.usable_gib(T4_GIB)
    assert "No GPU" in ft.memory_check("124M", 1, 1, None)[1]
    assert ft.memory_check("tiny", 1, 1, None)[1] is None
    assert ft.memory_check("355M", 1, 1, 40.0, only_transformer_layers=False)[1] is None  # an A100 fits 355M
    assert ft.parameter_count(ft.KNOWN_HPARAMS["124M"]) == pytest.approx(124.4e6, rel=0.01)


def test_memory_check_names_batch_size_when_only_a_smaller_batch_fits():
    """124M with BATCH_SIZE=4 does not fit a T4 but BATCH_SIZE=1 does: the warning must say so,
    not "use a GPU with more memory"."""
    table, warning = ft.memory_check("124M", 4, 1, T4_GIB)
    assert warning and "BATCH_SIZE = 1" in warning and "more memory" not in warning
    assert list(table["BATCH_SIZE"]) == [4, 1] and list(table["fits"]) == [False, True]
    table, warning = ft.memory_check("355M", 2, 5, T4_GIB)
    assert "BATCH_SIZE = 1" in warning and "MODEL_SIZE = '124M'" in warning
    assert ft.memory_check("124M", 1, 1, T4_GIB)[1] is None


FAILING_FINETUNE = """
import gpt_2_simple as gpt2, tensorflow as tf
from pathlib import Path
from helpers.gpt2 import finetune as ft
def finetune(*a, **k):
    raise getattr(tf.errors, args["error"])(None, None, args["text"])
gpt2.finetune = finetune
root = Path(args["root"])
try:
    cfg = ft.FinetuneConfig.for_profile("colab", steps=10, **args["settings"])
    ft.finetune(root / "train.csv", root / "base" / args["model"], root / "drive" / "run1", cfg, work_dir=root / "work")
    result = {"kind": None, "message": None}
except ft.OutOfMemory as e:
    result = {"kind": "OutOfMemory", "message": str(e)}
except tf.errors.InternalError as e:
    result = {"kind": "InternalError"}
"""


def test_out_of_memory_says_which_setting_to_change(tmp_path):
    message = run(FAILING_FINETUNE, root=str(tmp_path), error="ResourceExhaustedError",
                  text="OOM when allocating tensor with shape[1024,50257]", model="355M",
                  settings={"accumulate_gradients": 5})["message"]
    assert message and "ran out of GPU memory" in message
    assert "set ACCUMULATE_GRADIENTS = 1, then ONLY_TRANSFORMER_LAYERS = True, then MODEL_SIZE = '124M'" in message


GPU_ERROR = dict(error="InternalError", model="124M", settings={"batch_size": 2})


def test_gpu_out_of_memory_reported_as_an_internal_error_says_what_to_change(tmp_path):
    """On a GPU, running out of memory also surfaces as InternalError ("Dst tensor is not
    initialized", cuBLAS/cuDNN allocation failures); other internal errors pass through unchanged."""
    got = run(FAILING_FINETUNE, root=str(tmp_path), **GPU_ERROR, text="Dst tensor is not initialized.")
    assert got["kind"] == "OutOfMemory" and "set BATCH_SIZE = 1" in got["message"]
    got = run(FAILING_FINETUNE, root=str(tmp_path), **GPU_ERROR, text="Blas GEMM launch failed : a.shape=(1024, 768), m=1024: CUBLAS_STATUS_ALLOC_FAILED")
    assert got["kind"] == "OutOfMemory"
    assert run(FAILING_FINETUNE, root=str(tmp_path), **GPU_ERROR, text="some unrelated internal failure")["kind"] == "InternalError"


DEFAULT_RUN = """
import sys
from pathlib import Path
sys.path.insert(0, args["standins"])
from drive_meter import DriveMeter
from helpers.gpt2 import finetune as ft
from helpers.models import tiny_gpt2
root = Path(args["root"])
texts = tiny_gpt2.toy_texts(400, seed=0)
if not (root / "base" / "tiny").exists():
    tiny_gpt2.build(root / "base" / "tiny", texts, seed=0)
    ft.write_texts(texts, root / "train.csv")
cfg = ft.FinetuneConfig.for_profile("colab", model_size="tiny", steps=args["steps"], learning_rate=5e-3,
                                    save_every=args["save_every"], drive_minutes=args.get("minutes", 30.0),
                                    sample_every=0)
run_dir = root / "drive" / "gpt2" / "run1"
plan = ft.drive_plan(ft.model_hparams("tiny"), cfg, run_dir, checkpoint_bytes=args.get("ckpt"))
(root / "drive").mkdir(exist_ok=True)
with DriveMeter(root / "drive") as meter:
    result = ft.finetune(root / "train.csv", root / "base" / "tiny", run_dir, cfg, work_dir=root / args["work"])
result.update(plan=plan, meter=meter.as_dict(), unseen=meter.unseen())
"""
STANDINS = str(Path(__file__).resolve().parents[1] / "standins")


def _run(tmp_path, **args):
    return run(DEFAULT_RUN, root=str(tmp_path), standins=STANDINS, **args)


def test_a_default_run_writes_one_checkpoint_to_drive_and_trashes_none(tmp_path):
    """The colab defaults' shape (STEPS twice SAVE_EVERY) on a run shorter than DRIVE_MINUTES: two
    checkpoints on the runtime disk, one copy to Drive at the end, nothing to Trash; counted by a
    Drive stand-in that watches the file operations, and by the run itself."""
    from helpers.core import drive_sync

    first = _run(tmp_path, steps=8, save_every=4, work="runtime1")
    run_dir = tmp_path / "drive" / "gpt2" / "run1"
    assert sorted(drive_sync.checkpoint_steps(run_dir)) == [8] and first["drive_copies"] == 1
    ckpt = drive_sync.checkpoint_bytes(run_dir)
    on_drive = sum(p.stat().st_size for p in run_dir.iterdir())
    assert first["meter"] == {"written": on_drive, "trashed": 0} and first["unseen"] == []
    assert (first["drive_written_bytes"], first["drive_trashed_bytes"]) == (on_drive, 0)
    assert first["plan"]["drive_trashed_gb"] == 0
    # a repeated run adds nothing
    again = _run(tmp_path, steps=8, save_every=4, work="runtime1")
    assert again["steps_trained"] == 0 and again["meter"] == {"written": 0, "trashed": 0}
    assert (again["plan"]["drive_written_gb"], again["plan"]["drive_trashed_gb"]) == (0, 0)
    # a longer run on a new runtime (after a disconnect): one more copy replaces the old one
    run_dir.joinpath(".model-12.data-00000-of-00001.part").write_bytes(b"x" * 5000)  # a copy cut short
    more = _run(tmp_path, steps=12, save_every=4, work="runtime2", ckpt=ckpt)
    assert more["steps_before"] == 8 and more["steps_total"] == 12 and more["drive_copies"] == 1
    assert sorted(drive_sync.checkpoint_steps(run_dir)) == [12]
    small = 100_000  # index, counter and loss-event files replaced on each copy
    assert ckpt + 5000 <= more["meter"]["trashed"] <= ckpt + 5000 + small
    assert more["plan"]["drive_trashed_bytes"] == ckpt + 5000  # the plan sees the stray copy
    assert more["meter"]["trashed"] == more["drive_trashed_bytes"]
    assert more["meter"]["written"] == more["drive_written_bytes"] <= first["meter"]["written"] + small


def test_drive_minutes_zero_copies_after_every_chunk_as_before(tmp_path):
    """DRIVE_MINUTES = 0: a copy per SAVE_EVERY steps, each replacing the last (what a disconnect
    costs is then at most SAVE_EVERY steps); the stand-in and the run count the same bytes."""
    from helpers.core import drive_sync

    got = _run(tmp_path, steps=8, save_every=4, work="runtime", minutes=0)
    run_dir = tmp_path / "drive" / "gpt2" / "run1"
    ckpt = drive_sync.checkpoint_bytes(run_dir)
    assert got["drive_copies"] == 2 and sorted(drive_sync.checkpoint_steps(run_dir)) == [8]
    assert ckpt <= got["meter"]["trashed"] == got["drive_trashed_bytes"] <= ckpt + 100_000
    assert got["meter"]["written"] == got["drive_written_bytes"]


def test_a_kernel_restart_resumes_from_the_runtime_disk_without_touching_drive(tmp_path):
    """Steps saved on the runtime disk but not yet on Drive (the kernel died mid-run, the runtime
    lives on) are resumed from there, not trained again; Drive gets one copy, at the end."""
    from helpers.core import drive_sync

    _run(tmp_path, steps=4, save_every=4, work="runtime")
    run_dir, local = tmp_path / "drive" / "gpt2" / "run1", tmp_path / "runtime" / "run1"
    child = start(DEFAULT_RUN, root=str(tmp_path), standins=STANDINS, steps=100_000, save_every=4, work="runtime")
    saved = kill_once_saved(child, local, 12)
    assert saved >= 12 and ft.completed_steps(run_dir) == 4  # DRIVE_MINUTES not reached: Drive untouched
    more = _run(tmp_path, steps=saved + 4, save_every=4, work="runtime")
    assert (more["steps_before"], more["local_steps_before"], more["steps_total"]) == (4, saved, saved + 4)
    assert sorted(drive_sync.checkpoint_steps(run_dir)) == [saved + 4] and more["drive_copies"] == 1


def test_stream_wraps_rows_as_gpt2_simple_does():
    assert ft.stream(["a [SEP] b", "c [SEP] d"]) == (
        "<|startoftext|>a [SEP] b<|endoftext|>\n<|startoftext|>c [SEP] d<|endoftext|>\n")


def test_restart_does_not_bring_back_the_old_runs_checkpoint(tmp_path):
    """RESTART deletes the run on Drive; the runtime disk still holds its later checkpoint, which
    must not be taken for the new run's."""
    from helpers.core import drive_sync

    _run(tmp_path, steps=8, save_every=4, work="runtime")
    ft.reset_run(tmp_path / "drive" / "gpt2" / "run1")
    fresh = _run(tmp_path, steps=4, save_every=4, work="runtime")
    assert (fresh["steps_before"], fresh["steps_total"]) == (0, 4)
    assert sorted(drive_sync.checkpoint_steps(tmp_path / "drive" / "gpt2" / "run1")) == [4]


def test_restart_says_what_it_sends_to_drives_trash(tmp_path, capsys):
    """RESTART deletes the run folder on Drive: those bytes go to Trash too, and the user is told."""
    run_dir = tmp_path / "drive" / "gpt2" / "run1"
    run_dir.mkdir(parents=True)
    (run_dir / "model-500.data-00000-of-00001").write_bytes(b"x" * 3_000_000)
    (run_dir / "counter").write_text("500\n")
    assert ft.reset_run(run_dir) == 3_000_004
    out = capsys.readouterr().out
    assert "0.00 GB" not in out and "Trash" in out and "run1" in out
    assert not run_dir.exists() and ft.reset_run(run_dir) == 0


def test_notebook_02_parameters_are_finetune_config_fields():
    """02 reads its settings with FinetuneConfig.from_notebook(globals(), profile): each parameter
    named like a field, None for the profile's value; a typed-in string is refused with its name."""
    import ast
    import json

    from helpers.core.config import ConfigError

    nb = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / "02_finetune_gpt2.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    namespace = {}
    exec(compile(ast.parse("".join(cell["source"])), "parameters", "exec"), namespace)
    fields = set(ft.FinetuneConfig.docs())
    given = {name.lower() for name in namespace if name.isupper()} & fields
    assert given >= fields - {"drive_minutes"}  # DRIVE_MINUTES: the profile's unless set
    assert ft.FinetuneConfig.from_notebook(namespace, "colab") == ft.FinetuneConfig.for_profile("colab")
    tiny = ft.FinetuneConfig.from_notebook(dict(namespace, STEPS=12, DRIVE_MINUTES=5), "tiny")
    assert (tiny.steps, tiny.drive_minutes, tiny.model_size, tiny.save_every) == (12, 5.0, "tiny", 40)
    with pytest.raises(ConfigError, match="STEPS must be int"):
        ft.FinetuneConfig.from_notebook(dict(namespace, STEPS="1000"), "colab")
    assert len(__import__("inspect").signature(ft.finetune).parameters) <= 7


def test_a_counter_caught_mid_write_is_read_from_the_checkpoint_index(tmp_path):
    """gpt-2-simple truncates `counter` before writing it: a reader (or a kernel that died there)
    can find it empty; the step count then comes from the checkpoint index."""
    (tmp_path / "counter").write_text("")
    assert ft.completed_steps(tmp_path) == 0
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model-120"\nall_model_checkpoint_paths: "model-120"\n')
    assert ft.completed_steps(tmp_path) == 120
    (tmp_path / "counter").write_text("124\n")
    assert ft.completed_steps(tmp_path) == 124
