"""Where we run: Colab or not, and where the shared Drive folder is."""
from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

# Colab's /content; $BOT_COLAB_CONTENT moves it for the colab smoke run (scripts/colab_smoke.py).
COLAB_CONTENT = Path(os.environ.get("BOT_COLAB_CONTENT", "/content"))
COLAB_MOUNT = COLAB_CONTENT / "drive"
COLAB_FOLDER = "MyDrive/gpt2-bert-reddit-bot"
COLAB_LOCAL = COLAB_CONTENT / "local"  # the runtime's own disk: fast, free, gone after a disconnect
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"  # the bundled sample data


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def mount_drive() -> Path:
    """Mount Google Drive once per runtime (Colab only) and return the mount point."""
    if not os.path.ismount(COLAB_MOUNT) and not (COLAB_MOUNT / "MyDrive").is_dir():
        from google.colab import drive  # only importable on Colab

        drive.mount(str(COLAB_MOUNT))
    return COLAB_MOUNT


def default_local_root() -> Path:
    """`./drive/` of the repository checkout (git-ignored), else of the current folder."""
    base = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return base / "drive"


def drive_root() -> Path:
    """The folder the notebooks exchange files through, created if missing.

    On Colab: `MyDrive/gpt2-bert-reddit-bot/` on the mounted Drive. Elsewhere:
    `$BOT_DRIVE_ROOT`, else `./drive/`.
    """
    if in_colab():
        root = mount_drive() / COLAB_FOLDER
    elif os.environ.get("BOT_DRIVE_ROOT"):
        root = Path(os.environ["BOT_DRIVE_ROOT"]).expanduser()
    else:
        root = default_local_root()
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def local_root() -> Path:
    """The runtime's own disk, for what can be made again (base models, checkpoints while
    training) and must not fill Drive: `/content/local/` on Colab; elsewhere `$BOT_LOCAL_ROOT`,
    else a `-local` folder beside the Drive folder. Created if missing."""
    if in_colab():
        root = COLAB_LOCAL
    elif os.environ.get("BOT_LOCAL_ROOT"):
        root = Path(os.environ["BOT_LOCAL_ROOT"]).expanduser()
    else:
        drive = drive_root()
        root = drive.parent / f"{drive.name}-local"
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def has_gpu() -> bool:
    """True when TensorFlow sees a GPU (imports TensorFlow)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def cpu_warning(expects_gpu: bool, what: str, per_step: str) -> str | None:
    """A warning for a GPU notebook running on CPU (None when fine)."""
    if not expects_gpu or has_gpu():
        return None
    return (f"No GPU: {what} on CPU takes {per_step}. In Colab choose Runtime > Change runtime type > "
            "T4 GPU, then run the notebook again (files on Drive are kept).")


def warn_cpu(expects_gpu: bool, what: str, per_step: str) -> str | None:
    """Show (and return) cpu_warning's message, if any."""
    import warnings

    message = cpu_warning(expects_gpu, what, per_step)
    if message:
        warnings.warn(message, stacklevel=2)
        print(message)
    return message


def import_tensorflow_hub():
    """`import tensorflow_hub`, whatever the setuptools (the one place helpers import it).

    tensorflow_hub 0.16.1 runs `from pkg_resources import parse_version` while it is imported, only
    to check that TensorFlow is at least 1.15. setuptools 81 and later ship no `pkg_resources`,
    and a venv on Python 3.12+ has no setuptools of its own, so pip brings the newest one with
    TensorFlow: there `import tensorflow_hub` fails with "No module named 'pkg_resources'" (notebooks
    04 and 05 on a local 3.12/3.13; Colab only while it keeps setuptools 75). When pkg_resources
    is missing, a stand-in with just `parse_version` (packaging's, which TensorFlow depends on) is
    registered for the import and removed after it, so no other code sees a partial pkg_resources.
    """
    if "tensorflow_hub" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        import tensorflow_hub

        return tensorflow_hub
    from packaging.version import parse

    before = sys.modules.get("pkg_resources", _ABSENT)
    sys.modules["pkg_resources"] = types.ModuleType("pkg_resources", "stand-in: tensorflow_hub's parse_version only")
    sys.modules["pkg_resources"].parse_version = parse
    try:
        import tensorflow_hub
    finally:
        if before is _ABSENT:
            del sys.modules["pkg_resources"]
        else:
            sys.modules["pkg_resources"] = before
    return tensorflow_hub


_ABSENT = object()
