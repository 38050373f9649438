"""Install the requirements on Colab without fighting its preinstalled TensorFlow.

Run by the notebooks' setup cell until it succeeds: on success it writes the marker file
`.colab_installed` at the repository root, and the setup cell skips the install from then on.
tf-keras must match TensorFlow's minor version, so it is pinned here to the TensorFlow that
Colab already has; TensorFlow itself (and Colab's other preinstalled packages) are left alone.
"""
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = REPO / ".colab_installed"  # helpers.core.notebooks.INSTALLED_MARKER


def tensorflow_minor() -> str | None:
    try:
        return ".".join(metadata.version("tensorflow").split(".")[:2])
    except metadata.PackageNotFoundError:
        return None


def main() -> int:
    MARKER.unlink(missing_ok=True)
    tf_minor = tensorflow_minor()
    if tf_minor is None:
        print("colab_install: TensorFlow is not installed. This script expects Colab, which ships it; "
              "choose a Colab runtime, or elsewhere install requirements-dev.txt (`make setup`).", file=sys.stderr)
        return 1
    command = [sys.executable, "-m", "pip", "install", "-q", "-r", str(REPO / "requirements.txt"), f"tf-keras~={tf_minor}.0"]
    done = subprocess.run(command)
    if done.returncode:
        print(f"colab_install: pip failed (exit {done.returncode}); the reason is in pip's output above.", file=sys.stderr)
        return done.returncode
    MARKER.write_text(f"tensorflow {tf_minor}\n", encoding="utf-8")
    print("colab_install: requirements installed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
