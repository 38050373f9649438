"""The colab smoke run's fake Colab: a Python started with the stand-in on its path sees Colab
(google.colab imported at start), mounts a local "Drive" under $BOT_COLAB_CONTENT, keeps the
base model on the runtime's disk there, and reads Colab Secrets (or is refused access)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.core import notebooks

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json
from helpers.core import runtime, credentials
out = {"in_colab": runtime.in_colab(), "drive": str(runtime.drive_root()), "local": str(runtime.local_root())}
out["secret"] = credentials.get_secret("REDDIT_USERNAME").reveal()
try:
    credentials.get_secret("REDDIT_PASSWORD")
except credentials.MissingSecretError as e:
    out["refused"] = str(e)
print(json.dumps(out))
"""


def test_standin_looks_like_colab(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "standins" / "colab_standin"), str(REPO)]),
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


def _smoke():
    import importlib.util

    spec = importlib.util.spec_from_file_location("colab_smoke", REPO / "scripts" / "colab_smoke.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    return smoke


OFFLINE_CHILD = """
import socket, threading
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
threading.Thread(target=server.accept, daemon=True).start()
socket.create_connection(server.getsockname(), timeout=5).close()  # loopback: allowed
try:
    socket.create_connection(("192.0.2.1", 80), timeout=5)  # TEST-NET-1: never reached
    print("went out")
except OSError as error:
    print("refused" if "BOT_OFFLINE" in str(error) else f"other error: {error}")
"""


def test_smoke_kernels_cannot_reach_the_network(tmp_path):
    """The smoke run's kernels start with BOT_OFFLINE=1: a connection beyond 127.0.0.1 is refused
    at once (a stray download fails the run instead of passing on a networked CI machine)."""
    env = _smoke().prepare(tmp_path)
    assert env["BOT_OFFLINE"] == "1"
    done = subprocess.run([sys.executable, "-c", OFFLINE_CHILD], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused"


def _summary(drive, stem, *, counts, profile="colab", finished="2099-01-01T00:00:00+00:00", **extra):
    path = drive / "runs" / stem / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"notebook": stem, "finished": finished, "counts": counts,
                                "settings": {"profile": profile}, **extra}))


def _csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("text\n" + "".join(f"row {i}\n" for i in range(rows)))


def test_smoke_check_fails_a_notebook_that_ran_but_did_nothing(tmp_path):
    """A notebook that ends without error but wrote an empty table, a zero count, an old summary
    or another profile's summary did not do its step: the smoke run must say so."""
    check = _smoke().check_outputs
    drive = tmp_path / "drive"
    assert check(drive, "03_generate_fakes", 0) and "did not reach" in check(drive, "03_generate_fakes", 0)[0]
    _summary(drive, "03_generate_fakes", counts={"seed_comments": 2, "fake_rows": 4})
    _csv(drive / "prepared" / "bert_fake.csv", 4)
    assert check(drive, "03_generate_fakes", 0) == []
    _csv(drive / "prepared" / "bert_fake.csv", 0)
    assert any("bert_fake.csv has no rows" in p for p in check(drive, "03_generate_fakes", 0))
    _csv(drive / "prepared" / "bert_fake.csv", 4)
    _summary(drive, "03_generate_fakes", counts={"seed_comments": 2, "fake_rows": 0})
    assert any("'fake_rows'" in p for p in check(drive, "03_generate_fakes", 0))
    _summary(drive, "03_generate_fakes", counts={"seed_comments": 2, "fake_rows": 4}, profile="tiny")
    assert any("'tiny'" in p for p in check(drive, "03_generate_fakes", 0))
    _summary(drive, "03_generate_fakes", counts={"seed_comments": 2, "fake_rows": 4}, finished="2020-01-01T00:00:00+00:00")
    assert any("old one" in p for p in check(drive, "03_generate_fakes", 1.9e9))
    # names from the summary fill the paths: 06 writes runs/<run_date>/candidates.csv
    _summary(drive, "06_generate_candidates", counts={"comments": 2, "candidates": 4}, run_date="2026-11-26")
    assert any("runs/2026-11-26/candidates.csv was not written" in p for p in check(drive, "06_generate_candidates", 0))
    _csv(drive / "runs" / "2026-11-26" / "candidates.csv", 4)
    assert check(drive, "06_generate_candidates", 0) == []


def test_smoke_check_bounds_what_02_and_04_leave_on_drive(tmp_path):
    """02 keeps exactly one checkpoint of its run on Drive and no base model; 04 removes its backup."""
    check = _smoke().check_outputs
    drive = tmp_path / "drive"
    run = drive / "models" / "gpt2" / "run1"
    run.mkdir(parents=True)
    (run / "counter").write_text("2\n")
    for step in (1, 2):
        for suffix in ("index", "meta", "data-00000-of-00001"):
            (run / f"model-{step}.{suffix}").write_text("x")
    _summary(drive, "02_finetune_gpt2", counts={"steps_total": 2, "train_tokens": 5000}, run="run1")
    assert any("2 checkpoints" in p for p in check(drive, "02_finetune_gpt2", 0))
    for suffix in ("index", "meta", "data-00000-of-00001"):
        (run / f"model-1.{suffix}").unlink()
    assert check(drive, "02_finetune_gpt2", 0) == []
    base = drive / "models" / "124M"
    base.mkdir()
    (base / "model.ckpt.index").write_text("x")
    assert any("base model is on Drive" in p for p in check(drive, "02_finetune_gpt2", 0))

    (drive / "models" / "bert_realism").mkdir(parents=True)
    (drive / "models" / "bert_realism" / "saved_model.pb").write_text("x")
    _summary(drive, "04_bert_realism", counts={"train_rows": 30, "test_rows": 2})
    assert check(drive, "04_bert_realism", 0) == []
    (drive / "models" / "bert_backup" / "realism").mkdir(parents=True)
    (drive / "models" / "bert_backup" / "realism" / "ckpt-1.index").write_text("x")
    assert any("left behind" in p for p in check(drive, "04_bert_realism", 0))


def test_the_setup_cell_finds_the_smoke_runs_code_cloned_and_installed(tmp_path):
    """The smoke run's stand-in /content holds a whole clone (a commit, its index, every file) and the
    install marker: the generated setup cell neither clones (it would fail offline) nor installs."""
    env = _smoke().prepare(tmp_path)
    cell = notebooks.setup_source("01_pull_data").split("\nimport helpers")[0]
    code = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n" + cell
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and (Path(env["BOT_REPO_DIR"]) / "helpers" / "__init__.py").is_file()
