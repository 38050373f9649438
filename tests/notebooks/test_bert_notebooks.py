"""Notebooks 04 and 05 run again on the same data with the same settings (tiny profile, papermill):
they load their exports instead of training, say so, write nothing to Drive and show the same
evaluation; RETRAIN=True trains again and sends only the old export to Trash."""
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tiny_series import drive_after_01_to_05

from helpers.core import runner
from helpers.core.paths import Paths

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MODELS = {"04_bert_realism": "bert_realism", "05_bert_upvotes": "bert_upvotes"}


def has_exports(root: Path) -> bool:
    paths = Paths(root)
    return all((paths.file(key) / "training.json").is_file() and paths.file("summary", notebook=name).is_file()
               for name, key in MODELS.items())


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """A Drive folder where 01-05 ran on tiny: the session's, when nbval has run them there, else run here."""
    return drive_after_01_to_05(tmp_path_factory, "bert-series", has_exports)


@pytest.fixture
def drive(series, tmp_path, monkeypatch):
    """A copy of that Drive folder (these runs replace exports; other tests read the session's)."""
    root = tmp_path / "drive"
    for entry in ("prepared", "models", "runs"):
        shutil.copytree(series / entry, root / entry, symlinks=True,
                        ignore=shutil.ignore_patterns("*.ipynb") if entry == "runs" else None)
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(root))
    return root


def run(name: str, root: Path, **parameters) -> tuple[dict, str]:
    """Run one notebook; its summary and everything it printed."""
    lines = []
    code = runner.run([NOTEBOOKS / f"{name}.ipynb"], "tiny", root, parameters, log=lines.append)
    assert code == 0, "\n".join(lines)
    paths = Paths(root)
    nb = nbformat.read(paths.file("summary", notebook=name).parent / f"{name}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return json.loads(paths.file("summary", notebook=name).read_text()), printed


def stamps(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", list(MODELS))
def test_a_rerun_loads_the_export_trained_on_this_data_and_writes_nothing(drive, name):
    paths = Paths(drive)
    first = json.loads(paths.file("summary", notebook=name).read_text())
    export = paths.file(MODELS[name])
    before = stamps(export)
    again, printed = run(name, drive)
    assert f"models/{MODELS[name]} is already trained on this data with these settings (prepared set run " in printed
    assert "Set RETRAIN=True to train again" in printed and "Drive plan: nothing to write" in printed
    assert "Epoch 1/" not in printed and "Drive: wrote 0.0 kB, sent 0.0 kB to Trash" in printed
    assert again["counts"]["trained"] == 0
    assert again["counts"]["drive_written_bytes"] == again["counts"]["drive_trashed_bytes"] == 0
    assert stamps(export) == before  # not one file of the export rewritten
    for metric, value in first["metrics"].items():  # the same classifier, evaluated the same way
        if metric != "reload_max_difference":
            assert again["metrics"][metric] == pytest.approx(value, abs=1e-6), metric
    assert again["history"] == first["history"] and again["class_weight"] == first["class_weight"]


def test_retrain_trains_04_again_and_sends_only_the_old_export_to_trash(drive):
    export = Paths(drive).file("bert_realism")
    old = sum(p.stat().st_size for p in export.rglob("*") if p.is_file())
    summary, printed = run("04_bert_realism", drive, RETRAIN=True)
    assert "RETRAIN=True: training again, on the same data and settings as models/bert_realism" in printed
    assert "Epoch 1/" in printed and summary["counts"]["trained"] == 1
    assert summary["counts"]["drive_trashed_bytes"] == old  # no Drive backup on tiny's short epochs
    assert 0 < summary["counts"]["drive_written_bytes"] < 2 * old
