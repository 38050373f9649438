"""Test session setup. Runs before nbval starts notebook kernels, so the kernels inherit it.

At the repository root so that it applies to `pytest notebooks/...` run alone too.

Tiers (markers given by folder): `unit` (tests/unit: fast, no notebook runs), `notebooks`
(tests/notebooks and nbval over notebooks/: the series on the tiny profile). The colab smoke run
at real shapes is `scripts/colab_smoke.py`. Stand-ins for Reddit, Arctic Shift, BigQuery and
Colab live in tests/standins/ and are importable by name from every tier.
"""
import os
import sys
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent / "tests"
for folder in ("standins", "unit", "setup"):  # stand-ins, unit tests' worlds reused by notebook tests, fresh venvs
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))


def pytest_sessionstart(session):
    # Notebooks run on the tiny profile, in a Drive folder of their own (never ./drive).
    os.environ["BOT_PROFILE"] = "tiny"
    # Always a fresh folder: a BOT_DRIVE_ROOT of the person's own (their real data) is never touched.
    os.environ["BOT_DRIVE_ROOT"] = tempfile.mkdtemp(prefix="bot-drive-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(items):
    for item in items:
        tier = "unit" if "unit" in item.path.parts else "notebooks"
        item.add_marker(getattr(pytest.mark, tier))
    items.sort(key=lambda item: item.path.name == "test_live_notebooks.py")  # last: reuses the notebooks' models


@pytest.fixture
def drive(tmp_path, monkeypatch):
    """An empty Drive root for one test."""
    root = tmp_path / "drive"
    root.mkdir()
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(root))
    return root
