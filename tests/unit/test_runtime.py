import sys
import types

from helpers.core import runtime


def test_not_colab_here():
    assert runtime.in_colab() is False


def test_drive_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(tmp_path / "d"))
    assert runtime.drive_root() == (tmp_path / "d").resolve()
    assert (tmp_path / "d").is_dir()


def test_drive_root_defaults_to_checkout_drive(monkeypatch):
    monkeypatch.delenv("BOT_DRIVE_ROOT", raising=False)
    assert runtime.default_local_root() == runtime.REPO_ROOT / "drive"
    assert "/drive/" in (runtime.REPO_ROOT / ".gitignore").read_text()


def test_colab_mounts_drive_once(tmp_path, monkeypatch):
    mounts = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=lambda where: (mounts.append(where), (tmp_path / "MyDrive").mkdir()))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(runtime, "COLAB_MOUNT", tmp_path)
    first = runtime.drive_root()
    second = runtime.drive_root()
    assert first == second == (tmp_path / "MyDrive/gpt2-bert-reddit-bot").resolve()
    assert mounts == [str(tmp_path)]


def test_local_root_is_off_drive(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_DRIVE_ROOT", str(tmp_path / "drive"))
    monkeypatch.delenv("BOT_LOCAL_ROOT", raising=False)
    local = runtime.local_root()
    assert local.is_dir() and runtime.drive_root() not in local.parents and local != runtime.drive_root()
    monkeypatch.setenv("BOT_LOCAL_ROOT", str(tmp_path / "disk"))
    assert runtime.local_root() == (tmp_path / "disk").resolve()
    monkeypatch.setattr(runtime, "in_colab", lambda: True)
    monkeypatch.setattr(runtime, "COLAB_LOCAL", tmp_path / "content" / "local")
    assert runtime.local_root() == (tmp_path / "content" / "local").resolve()  # Colab: the runtime's disk


def test_cpu_warning_only_when_a_gpu_is_expected_and_missing(monkeypatch):
    monkeypatch.setattr(runtime, "has_gpu", lambda: False)
    text = runtime.cpu_warning(True, "fine-tuning BERT base", "40-50 s per step")
    assert "No GPU" in text and "40-50 s per step" in text and "Change runtime type" in text
    assert runtime.cpu_warning(False, "x", "y") is None  # the tiny profile runs on CPU by design
    monkeypatch.setattr(runtime, "has_gpu", lambda: True)
    assert runtime.cpu_warning(True, "x", "y") is None
