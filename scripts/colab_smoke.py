"""Run the notebook series (01-07, and 08 on its bundled sample) on the `colab` profile, as on Colab,
offline, one step each.

    python scripts/colab_smoke.py [--work DIR] [--only 02 03] [--keep]

What it sets up (in --work, a fresh temporary folder by default):
- a stand-in `google.colab` (tests/standins/colab_standin: drive.mount, userdata.get, auth.authenticate_user)
  on the kernels' path, and Colab's /content moved to <work>/content ($BOT_COLAB_CONTENT); the setup
  cell finds the code already cloned and installed (a git repository of links to this checkout, and
  the marker);
- random-weight models of the real sizes where the downloads would land: GPT-2 124M (50,257-token
  vocabulary) in <content>/local/gpt2_base/124M, BERT base (12x768) in TF Hub's cache under the
  sha1 of the default handle ($TFHUB_CACHE_DIR);
- parameters that keep each notebook to one step: the bundled sample data (SOURCE="sample"), one
  fine-tuning step, two comments with two candidates each, one BERT training step, a dry run in 07,
  08 on its sample.
  Random weights never write <|endoftext|>: KEEP_UNFINISHED=True keeps their candidates.
Nothing here changes the real path: every setting is a notebook parameter.

What it checks: each notebook ran without error, AND did its one step: its summary.json was written
by this run on the colab profile, the counts named in EXPECTED are > 0, the files it hands on exist
with rows; 02 leaves exactly one checkpoint of its run on Drive and no base model there; 04 and 05
leave no training backup. Offline: the kernels may connect only to 127.0.0.1 (BOT_OFFLINE=1, see
tests/standins/colab_standin/sitecustomize.py); anything that tries the network fails the run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "standins" / "colab_standin"

COMMON = {"PROFILE": "colab"}
PARAMETERS = {  # per notebook, on top of the colab profile
    "01_pull_data": dict(SOURCE="sample"),
    "02_finetune_gpt2": dict(STEPS=1, SAVE_EVERY=1, SAMPLE_EVERY=0, VALID_FRACTION=0.05, MAX_REPLY_TOKENS=8),
    "03_generate_fakes": dict(FAKE_COMMENTS=2, CANDIDATES_PER_COMMENT=2, MAX_REPLY_TOKENS=8, KEEP_UNFINISHED=True),
    "04_bert_realism": dict(EPOCHS=1, TRAIN_ROWS=32, MAX_SEQ_LENGTH=32),
    "05_bert_upvotes": dict(EPOCHS=1, TRAIN_ROWS=32, MAX_SEQ_LENGTH=32),
    "06_generate_candidates": dict(SOURCE="sample", CANDIDATES_PER_COMMENT=2, MAX_REPLY_TOKENS=8, KEEP_UNFINISHED=True),
    "07_score_review_post": dict(MIN_PROB_REAL=0.0, APPROVE_ALL=True),
    "08_feedback": dict(SOURCE="sample"),
}


def prepare(work: Path) -> dict:
    """The fake Colab runtime in `work`; returns the environment the kernels need."""
    content = work / "content"
    repo_dir = content / REPO.name
    repo_dir.mkdir(parents=True, exist_ok=True)
    for name in ("helpers", "scripts", "pyproject.toml"):
        link = repo_dir / name
        if not link.exists():
            link.symlink_to(REPO / name)
    if not (repo_dir / ".git").is_dir():  # a whole clone, as the setup cell checks: links to this checkout, committed
        for command in (["init", "-q"], ["add", "helpers", "scripts", "pyproject.toml"],
                        ["-c", "user.name=smoke", "-c", "user.email=smoke@localhost", "commit", "-qm", "stand-in clone"]):
            subprocess.run(["git", "-C", str(repo_dir), *command], check=True, capture_output=True)
    (repo_dir / ".colab_installed").write_text("stand-in\n")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(STANDIN), str(REPO)]),
        BOT_COLAB_CONTENT=str(content),
        BOT_REPO_DIR=str(repo_dir),
        BOT_REPO_URL="https://example.invalid/not-cloned-in-the-smoke-run",
        TFHUB_CACHE_DIR=str(work / "tfhub_modules"),
        TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg",
        CUDA_VISIBLE_DEVICES="",
        BOT_OFFLINE="1",  # the stand-in's sitecustomize refuses connections beyond 127.0.0.1
        HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",  # and HTTP clients hit a closed port
        NO_PROXY="127.0.0.1,localhost",
    )
    for var in ("BOT_DRIVE_ROOT", "BOT_LOCAL_ROOT", "BOT_PROFILE"):
        env.pop(var, None)
    return env


BUILD = """
import sys
from pathlib import Path
from helpers.models import real_shape
from helpers.core import settings
kind, target = sys.argv[1], Path(sys.argv[2])
if kind == "gpt2":
    real_shape.build_gpt2(target, "124M")
else:
    real_shape.build_bert_in_hub_cache(settings.BERT_BASE, target)
"""


def build_models(env: dict, log=print) -> None:
    """GPT-2 124M and BERT base with random weights, where the downloads would land (once)."""
    gpt2_dir = Path(env["BOT_COLAB_CONTENT"]) / "local" / "gpt2_base" / "124M"
    jobs = [("gpt2", gpt2_dir, (gpt2_dir / "checkpoint").is_file()),
            ("bert", Path(env["TFHUB_CACHE_DIR"]), Path(env["TFHUB_CACHE_DIR"]).is_dir())]
    for kind, target, done in jobs:
        if done:
            continue
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", BUILD, kind, str(target)], env=env, check=True)
        log(f"built random-weight {kind} of the real size in {time.perf_counter() - start:.0f} s")


# What each notebook must leave behind: counts in its summary that must be > 0, and the files it
# hands to the next notebook (a .csv must have rows). Names in braces come from the summary.
EXPECTED = {
    "01_pull_data": dict(counts=["pairs_kept"], files=["prepared/gpt2_finetune.csv", "prepared/gpt2_generate.csv",
                                                       "prepared/bert_real.csv"]),
    "02_finetune_gpt2": dict(counts=["steps_total", "train_tokens"], files=["models/gpt2/{run}/counter"]),
    "03_generate_fakes": dict(counts=["seed_comments", "fake_rows"], files=["prepared/bert_fake.csv"]),
    "04_bert_realism": dict(counts=["train_rows", "test_rows"], files=["models/bert_realism/saved_model.pb"]),
    "05_bert_upvotes": dict(counts=["train_rows", "test_rows"], files=["models/bert_upvotes/saved_model.pb"]),
    "06_generate_candidates": dict(counts=["comments", "candidates"], files=["runs/{run_date}/candidates.csv"]),
    "07_score_review_post": dict(counts=["candidates", "proposed"], files=["runs/{run_date}/scored.csv",
                                                                          "runs/{run_date}/review.csv"]),
    "08_feedback": dict(counts=["training_rows"], files=["prepared/bert_feedback_sample.csv"]),
}


def _csv_rows(path: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


def check_outputs(drive: Path, stem: str, since: float) -> list[str]:
    """What is wrong with what notebook `stem` left on `drive` in a run started at `since` (epoch
    seconds); an empty list when it did its one step."""
    from datetime import datetime

    summary_path = drive / "runs" / stem / "summary.json"
    if not summary_path.is_file():
        return [f"no {summary_path.relative_to(drive)}: the notebook did not reach its last cell"]
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    problems = []
    if datetime.fromisoformat(summary["finished"]).timestamp() < int(since):
        problems.append(f"summary.json finished {summary['finished']}, before this run started: it is an old one")
    profile = (summary.get("settings") or {}).get("profile")
    if profile != "colab":
        problems.append(f"ran on profile {profile!r}, not 'colab'")
    expected = EXPECTED.get(stem, {})
    counts = summary.get("counts") or {}
    problems += [f"count {key!r} is {counts.get(key)!r}, expected > 0" for key in expected.get("counts", ())
                 if not (isinstance(counts.get(key), (int, float)) and counts[key] > 0)]
    for pattern in expected.get("files", ()):
        path = drive / pattern.format(**{k: v for k, v in summary.items() if isinstance(v, str)})
        if not path.is_file():
            problems.append(f"{path.relative_to(drive)} was not written")
        elif path.suffix == ".csv" and _csv_rows(path) == 0:
            problems.append(f"{path.relative_to(drive)} has no rows")
    if stem == "02_finetune_gpt2" and summary.get("run"):
        from helpers.core import drive_sync

        steps = sorted(drive_sync.checkpoint_steps(drive / "models" / "gpt2" / summary["run"]))
        if len(steps) != 1:
            problems.append(f"models/gpt2/{summary['run']}/ holds {len(steps)} checkpoints (steps {steps}), expected 1")
        base = sorted(str(p.relative_to(drive)) for p in drive.rglob("model.ckpt*"))
        if base:
            problems.append(f"a base model is on Drive (it belongs on the runtime disk): {base[:3]}")
    if stem in ("04_bert_realism", "05_bert_upvotes"):
        backup = drive / "models" / "bert_backup" / ("realism" if stem.startswith("04") else "upvotes")
        if backup.exists() and any(backup.iterdir()):
            problems.append(f"{backup.relative_to(drive)} was left behind after training ended")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="folder for the fake runtime (default: a new temporary one)")
    parser.add_argument("--only", nargs="+", default=(), metavar="NN", help="run only these notebooks")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (default: delete it when all passed)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="colab-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    env = prepare(work)
    start = time.perf_counter()
    build_models(env)
    sys.path[:0] = [str(STANDIN), str(REPO)]
    from helpers.core import runner

    notebooks = runner.select(runner.series(), args.only)
    os.environ.clear()
    os.environ.update(env)  # the kernels inherit it
    drive = Path(env["BOT_COLAB_CONTENT"]) / "drive" / "MyDrive" / "gpt2-bert-reddit-bot"
    drive.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        since = time.time()
        code = runner.run([notebook], "colab", drive, {**COMMON, **PARAMETERS.get(notebook.stem, {})})
        if code:
            print(f"colab smoke run failed at {notebook.stem}; work folder kept: {work}")
            return code
        problems = check_outputs(drive, notebook.stem, since)
        if problems:
            print(f"colab smoke run: {notebook.stem} ran but did not do its step: " + "; ".join(problems)
                  + f"; work folder kept: {work}")
            return 1
    print(f"colab smoke run: {len(notebooks)} notebook(s) passed on the colab profile in "
          f"{time.perf_counter() - start:.0f} s (work folder {work})")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
