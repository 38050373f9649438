"""Test session setup. Runs before nbval starts notebook kernels, so the kernels inherit it.

At the repository root so that it applies to `pytest notebooks/...` run alone too."""
import os
import tempfile
from pathlib import Path

import pytest


def pytest_sessionstart(session):
    # Notebooks run on the tiny profile, in a Drive folder of their own (never ./drive).
    os.environ["BOT_PROFILE"] = "tiny"
    # Always a fresh folder: a BOT_DRIVE_ROOT of the person's own (their real data) is never touched.
    os.environ["BOT_DRIVE_ROOT"] = tempfile.mkdtemp(prefix="bot-drive-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name == "test_live_notebooks.py")  # last: reuses the notebooks' models


@pytest.fixture
def drive(tmp_path, monkeypatch):
    """An empty Drive root for one test."""
    root = tmp_path / "drive"
    root.mkdir()
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(root))
    return root
