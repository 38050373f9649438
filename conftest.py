"""Test session setup. Runs before nbval starts notebook kernels, so the kernels inherit it.

At the repository root so that it applies to `pytest notebooks/...` run alone too.

Tiers (markers given by folder): `unit` (tests/unit: fast, no notebook runs, no model built),
`models` (tests/models: tiny TensorFlow models built, trained, generating and scoring), `notebooks`
(tests/notebooks and nbval over notebooks/: the series on the tiny profile), `setup` (tests/setup:
a fresh venv of each other supported Python, built once and cached). The colab smoke run at real
shapes is `scripts/colab_smoke.py`. Stand-ins for Reddit, Arctic Shift, BigQuery and Colab live in
tests/standins/ and are importable by name from every tier.

Any test runs alone: a notebook collected without the ones before it gets them run first (below),
and tests/notebooks build the models they need in fixtures.
"""
import os
import sys
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent / "tests"
for folder in ("standins", "unit", "models", "setup"):  # stand-ins, worlds reused by other tiers, fresh venvs
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))


def pytest_sessionstart(session):
    # Notebooks run on the tiny profile, in a Drive folder of their own (never ./drive).
    os.environ["BOT_PROFILE"] = "tiny"
    # Always a fresh folder: a BOT_DRIVE_ROOT of the person's own (their real data) is never touched.
    os.environ["BOT_DRIVE_ROOT"] = tempfile.mkdtemp(prefix="bot-drive-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # ipykernel 6 (Colab's) on Python 3.13: debugpy warns about frozen modules at each kernel start.
    os.environ.setdefault("PYTHON_FROZEN_MODULES", "off")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def pytest_configure(config):  # unit, models and notebooks are registered in pyproject.toml
    config.addinivalue_line("markers", "setup: a fresh venv of Python 3.12 and 3.13 as `make setup` builds it "
                            "(built once, cached under ~/.cache/gpt2-bert-reddit-bot)")


REUSE_THE_SERIES = ("test_bert_notebooks.py", "test_live_notebooks.py")  # tests/notebooks/tiny_series.py


def tier_of(path: Path) -> str:
    """tests/unit -> unit, tests/models -> models, tests/setup -> setup, anything else (tests/notebooks,
    notebooks/) -> notebooks."""
    folder = path.resolve().relative_to(TESTS).parts[0] if path.resolve().is_relative_to(TESTS) else ""
    return folder if folder in ("unit", "models", "setup") else "notebooks"


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(getattr(pytest.mark, tier_of(item.path)))
    # Last, to reuse the models the notebook runs leave in this session's Drive folder: saves minutes,
    # and nothing more (its fixture builds them when they are not there).
    items.sort(key=lambda item: item.path.name in REUSE_THE_SERIES)


def notebooks_to_run_first(collected: list[Path], series: list[Path]) -> list[Path]:
    """The series notebooks to run before nbval runs `collected`: none when these are the series'
    first ones, else every notebook before the last one collected (each reads what the ones
    before it wrote)."""
    positions = sorted(series.index(path) for path in set(collected) if path in series)
    if not positions or positions == list(range(len(positions))):
        return []
    return series[:positions[-1]]


def pytest_collection_finish(session):
    """`pytest notebooks/04_bert_realism.ipynb --nbval-lax` alone: 01-03 run first (tiny profile, this
    session's Drive folder), before any kernel of nbval's starts."""
    collected = [item.path.resolve() for item in session.items if item.path.suffix == ".ipynb"]
    if not collected:
        return
    from helpers.core import runner

    first = notebooks_to_run_first(collected, [path.resolve() for path in runner.series()])
    if first:
        print(f"\nconftest: running {', '.join(p.stem for p in first)} first: the notebooks collected read their files")
        code = runner.run(first, "tiny", Path(os.environ["BOT_DRIVE_ROOT"]), log=print)
        if code:
            raise pytest.UsageError("conftest: the notebooks the collected ones need did not run (above)")


@pytest.fixture
def drive(tmp_path, monkeypatch):
    """An empty Drive root for one test."""
    root = tmp_path / "drive"
    root.mkdir()
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(root))
    return root
