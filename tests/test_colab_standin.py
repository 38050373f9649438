"""The colab smoke run's fake Colab: a Python started with the stand-in on its path sees Colab
(google.colab imported at start), mounts a local "Drive" under $BOT_COLAB_CONTENT, keeps the
base model on the runtime's disk there, and reads Colab Secrets (or is refused access)."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json
from helpers import runtime, credentials
out = {"in_colab": runtime.in_colab(), "drive": str(runtime.drive_root()), "local": str(runtime.local_root())}
out["secret"] = credentials.get_secret("REDDIT_USERNAME").reveal()
try:
    credentials.get_secret("REDDIT_PASSWORD")
except credentials.MissingSecretError as e:
    out["refused"] = str(e)
print(json.dumps(out))
"""


def test_standin_looks_like_colab(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "colab_standin"), str(REPO)]),
               BOT_COLAB_CONTENT=str(tmp_path / "content"), COLAB_SECRET_REDDIT_USERNAME="bot-user",
               COLAB_SECRET_REDDIT_PASSWORD="!noaccess")
    for var in ("BOT_DRIVE_ROOT", "BOT_LOCAL_ROOT", "REDDIT_USERNAME", "REDDIT_PASSWORD"):
        env.pop(var, None)
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["in_colab"] is True
    assert out["drive"] == str(tmp_path / "content" / "drive" / "MyDrive" / "gpt2-bert-reddit-bot")
    assert out["local"] == str(tmp_path / "content" / "local")
    assert out["secret"] == "bot-user"
    assert "no access" in out["refused"]


def test_smoke_run_parameters_exist_in_their_notebooks():
    """papermill injects unknown names without complaint: a renamed parameter would silently turn
    the one-step smoke run into a full-size one. Every override must be a parameter of its notebook."""
    import ast
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("colab_smoke", REPO / "scripts" / "colab_smoke.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    for name, overrides in smoke.PARAMETERS.items():
        nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = {t.id for stmt in ast.parse(cell.source).body for t in getattr(stmt, "targets", [])}
        assert set(overrides) <= names, (name, set(overrides) - names)
