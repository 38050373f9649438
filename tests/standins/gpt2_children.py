"""Run GPT-2 work in child processes.

Importing gpt_2_simple switches TensorFlow to graph mode for the whole process, and the test
session also runs eager BERT tests: so every test that touches gpt-2-simple runs its work in a
child Python process and asserts on the JSON it prints.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARK = "CHILD-RESULT:"


def child_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    env.pop("BOT_DRIVE_ROOT", None)
    env.setdefault("BOT_LOCAL_ROOT", tempfile.mkdtemp(prefix="bot-local-"))  # the runtime disk, never the checkout
    return env


def script(code: str) -> str:
    """Child code wrapped so that it prints `result` (a JSON-able dict) on its last line."""
    return (f"import json, sys\nargs = json.loads(sys.argv[1])\n{textwrap.dedent(code)}\n"
            f"print({MARK!r} + json.dumps(result), flush=True)\n")


def run(code: str, timeout: float = 300, **args) -> dict:
    """Run `code` in a child Python (it gets `args`, sets `result`); return `result`."""
    proc = subprocess.run([sys.executable, "-c", script(code), json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout, env=child_env(), cwd=tempfile.gettempdir())
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"child failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}")
    return json.loads(lines[-1][len(MARK):])


def start(code: str, **args) -> subprocess.Popen:
    """Start `code` in a child Python without waiting (to kill it midway)."""
    return subprocess.Popen([sys.executable, "-c", script(code), json.dumps(args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=child_env(), cwd=tempfile.gettempdir())


TRAIN = """
from pathlib import Path
from helpers.models import tiny_gpt2
from helpers.gpt2 import finetune as ft
root = Path(args["root"])
texts = tiny_gpt2.toy_texts(400, seed=0)
tiny_gpt2.build(root / "base" / "tiny", texts, seed=0)
ft.write_texts(texts, root / "train.csv")
cfg = ft.FinetuneConfig.for_profile("tiny", steps=args["steps"], learning_rate=5e-3, save_every=1000)
trained = ft.finetune(root / "train.csv", root / "base" / "tiny", root / "gpt2" / "run1", cfg)
result = {"steps": trained["steps_total"]}
"""
_RUN: Path | None = None


def fine_tuned_run(steps: int = 100) -> Path:
    """A tiny GPT-2 fine-tuned on toy comment/reply rows until it ends most replies, built once per
    test session; returns the checkpoint_dir (run name `run1`)."""
    global _RUN
    if _RUN is None:
        root = Path(tempfile.mkdtemp(prefix="gpt2-run-"))
        assert run(TRAIN, root=str(root), steps=steps)["steps"] == steps
        _RUN = root / "gpt2"
    return _RUN
