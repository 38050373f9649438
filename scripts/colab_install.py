"""Install the requirements on Colab without fighting its preinstalled TensorFlow.

Run by the notebooks' setup cell until it succeeds: on success it writes the marker file
`.colab_installed` at the repository root, and the setup cell skips the install from then on.
tf-keras must match TensorFlow's minor version, so it is pinned here to the TensorFlow that
Colab already has. Colab's own TensorFlow, tf_keras, Keras, numpy, pandas, protobuf, ipywidgets
and ipykernel are passed to pip as constraints at their installed versions: pip adds what is
missing but cannot move them (a moved numpy needs a runtime restart, a moved TensorFlow loses
Colab's CUDA build, widgets 8 do not render in Colab). If requirements.txt ever needs another
version of one of them, pip stops and says which, rather than breaking the runtime.
CI's Colab lane runs this script on Colab's versions (requirements-colab.txt) and checks it.
"""
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = REPO / ".colab_installed"  # helpers.core.notebooks.INSTALLED_MARKER
HELD = ("tensorflow", "tf_keras", "keras", "numpy", "pandas", "protobuf", "ipywidgets", "ipykernel")


def tensorflow_minor() -> str | None:
    try:
        return ".".join(metadata.version("tensorflow").split(".")[:2])
    except metadata.PackageNotFoundError:
        return None


def held_versions(names=HELD) -> list[str]:
    """`name==version` of each of `names` that is installed."""
    held = []
    for name in names:
        try:
            held.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return held


def main() -> int:
    MARKER.unlink(missing_ok=True)
    tf_minor = tensorflow_minor()
    if tf_minor is None:
        print("colab_install: TensorFlow is not installed. This script expects Colab, which ships it; "
              "choose a Colab runtime, or elsewhere install requirements-dev.txt (`make setup`).", file=sys.stderr)
        return 1
    with tempfile.NamedTemporaryFile("w", suffix="-colab-held.txt", delete=False) as constraints:
        constraints.write("".join(f"{line}\n" for line in held_versions()))
    command = [sys.executable, "-m", "pip", "install", "-q", "-r", str(REPO / "requirements.txt"),
               f"tf-keras~={tf_minor}.0", "-c", constraints.name]
    try:
        done = subprocess.run(command)
    finally:
        Path(constraints.name).unlink(missing_ok=True)
    if done.returncode:
        print(f"colab_install: pip failed (exit {done.returncode}); the reason is in pip's output above "
              f"(Colab's own {', '.join(HELD)} are held at their versions).", file=sys.stderr)
        return done.returncode
    MARKER.write_text(f"tensorflow {tf_minor}\n", encoding="utf-8")
    print("colab_install: requirements installed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
