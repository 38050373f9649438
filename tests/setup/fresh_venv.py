"""Fresh venvs of other Pythons, built once and reused: `fresh_venv("3.12")` -> its python.

Each is `python3.X -m venv` plus `pip install -r requirements-dev.txt`, as `make setup` installs
(not `make setup` itself, which would also install this checkout and set its git config). Kept
under $BOT_CACHE_DIR (default ~/.cache/gpt2-bert-reddit-bot)/venvs/py3.X-<hash of
requirements-dev.txt's pins>; changed pins build a new one and remove the old. A
lock makes two test runs wait for one build; a build cut short is started again.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements-dev.txt"
DONE = "built-from"  # written last: the venv is complete


def cache_dir() -> Path:
    return Path(os.environ.get("BOT_CACHE_DIR", Path.home() / ".cache" / "gpt2-bert-reddit-bot"))


def find_python(minor: str) -> str:
    """`python3.X` on PATH or under pyenv; fails naming what to install."""
    candidates = [shutil.which(f"python{minor}")]
    candidates += sorted(Path.home().glob(f".pyenv/versions/{minor}.*/bin/python{minor}"), reverse=True)
    for candidate in candidates:  # a pyenv shim of a version not selected exists but fails: try each
        if candidate and subprocess.run([str(candidate), "-c", ""], capture_output=True).returncode == 0:
            return str(candidate)
    raise RuntimeError(f"Python {minor} not found: install it (e.g. `pyenv install {minor}`) to run this test")


def pins() -> str:
    """requirements-dev.txt without its comments: what the venv is built from."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    return "\n".join(sorted(line for line in lines if line))


def fresh_venv(minor: str) -> str:
    """The python of a complete venv for Python `minor`, built now if missing."""
    digest = hashlib.sha256(pins().encode()).hexdigest()[:12]
    venvs = cache_dir() / "venvs"
    venvs.mkdir(parents=True, exist_ok=True)
    venv = venvs / f"py{minor}-{digest}"
    with open(venvs / f"py{minor}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / DONE).is_file():
            for old in venvs.glob(f"py{minor}-*"):  # an older requirements-dev.txt's, or a cut-short build
                shutil.rmtree(old, ignore_errors=True)
            subprocess.run([find_python(minor), "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "-r", str(REQUIREMENTS)], check=True)
            (venv / DONE).write_text(f"{REQUIREMENTS.name} {digest}\n", encoding="utf-8")
    return str(venv / "bin" / "python")
