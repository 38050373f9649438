import sys
import types

from helpers import runtime


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
