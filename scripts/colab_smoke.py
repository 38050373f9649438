"""Run the notebook series (01-07, and 08 on its bundled sample) on the `colab` profile, as on Colab,
offline, one step each.

    python scripts/colab_smoke.py [--work DIR] [--only 02 03] [--keep]

What it sets up (in --work, a fresh temporary folder by default):
- a stand-in `google.colab` (tests/colab_standin: drive.mount, userdata.get, auth.authenticate_user)
  on the kernels' path, and Colab's /content moved to <work>/content ($BOT_COLAB_CONTENT); the setup
  cell finds the code already "cloned" and installed (a link to this checkout and the marker);
- random-weight models of the real sizes where the downloads would land: GPT-2 124M (50,257-token
  vocabulary) in <content>/local/gpt2_base/124M, BERT base (12x768) in TF Hub's cache under the
  sha1 of the default handle ($TFHUB_CACHE_DIR);
- parameters that keep each notebook to one step: the bundled sample data (SOURCE="sample"), one
  fine-tuning step, two comments with two candidates each, one BERT training step, a dry run in 07,
  08 on its sample.
  Random weights never write <|endoftext|>: KEEP_UNFINISHED=True keeps their candidates.
Nothing here changes the real path: every setting is a notebook parameter.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "colab_standin"

COMMON = {"PROFILE": "colab"}
PARAMETERS = {  # per notebook, on top of the colab profile
    "01_pull_data": dict(SOURCE="sample"),
    "02_finetune_gpt2": dict(STEPS=1, SAVE_EVERY=1, SAMPLE_EVERY=0, VALID_FRACTION=0.05, MAX_REPLY_TOKENS=8),
    "03_generate_fakes": dict(FAKE_COMMENTS=2, CANDIDATES_PER_COMMENT=2, MAX_REPLY_TOKENS=8, KEEP_UNFINISHED=True),
    "04_bert_realism": dict(EPOCHS=1, TRAIN_ROWS=32, MAX_SEQ_LENGTH=32),
    "05_bert_upvotes": dict(EPOCHS=1, TRAIN_ROWS=32, MAX_SEQ_LENGTH=32),
    "06_generate_candidates": dict(SOURCE="sample", CANDIDATES=2, MAX_REPLY_TOKENS=8, KEEP_UNFINISHED=True),
    "07_score_review_post": dict(MIN_PROB_REAL=0.0, APPROVE_ALL=True),
    "08_feedback": dict(SOURCE="sample"),
}


def prepare(work: Path) -> dict:
    """The fake Colab runtime in `work`; returns the environment the kernels need."""
    content = work / "content"
    repo_dir = content / REPO.name
    repo_dir.mkdir(parents=True, exist_ok=True)
    (repo_dir / ".git").write_text("stand-in: the code is this checkout\n")
    (repo_dir / ".colab_installed").write_text("stand-in\n")
    for name in ("helpers", "scripts", "pyproject.toml"):
        link = repo_dir / name
        if not link.exists():
            link.symlink_to(REPO / name)
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
    )
    for var in ("BOT_DRIVE_ROOT", "BOT_LOCAL_ROOT", "BOT_PROFILE"):
        env.pop(var, None)
    return env


BUILD = """
import sys
from pathlib import Path
from helpers import real_shape, settings
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
    from helpers import runner

    notebooks = runner.select(runner.series(), args.only)
    os.environ.clear()
    os.environ.update(env)  # the kernels inherit it
    drive = Path(env["BOT_COLAB_CONTENT"]) / "drive" / "MyDrive" / "gpt2-bert-reddit-bot"
    drive.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        code = runner.run([notebook], "colab", drive, {**COMMON, **PARAMETERS.get(notebook.stem, {})})
        if code:
            print(f"colab smoke run failed at {notebook.stem}; work folder kept: {work}")
            return code
    print(f"colab smoke run: {len(notebooks)} notebook(s) passed on the colab profile in "
          f"{time.perf_counter() - start:.0f} s (work folder {work})")
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
