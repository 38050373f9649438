"""Notebooks 01-05 run once on tiny for the tests that start where they end (06/07 live, 04/05 rerun)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]


def drive_after_01_to_05(tmp_path_factory, name: str, ready: Callable[[Path], bool]) -> Path:
    """The session's Drive folder when the notebooks already ran there (`ready` says so: conftest
    orders the tests using this after nbval), else a new folder where the runner runs 01-05 now."""
    shared = Path(os.environ.get("BOT_DRIVE_ROOT", "/nonexistent"))
    if ready(shared):
        return shared
    root = tmp_path_factory.mktemp(name)
    env = {**os.environ, "BOT_DRIVE_ROOT": str(root), "BOT_PROFILE": "tiny"}
    done = subprocess.run([sys.executable, "-m", "helpers.core.runner", "--profile", "tiny", "--only", "01", "02", "03", "04", "05"],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ready(root)
    return root
