"""Install the requirements on Colab without fighting its preinstalled TensorFlow.

Run by the notebooks' setup cell. tf-keras must match TensorFlow's minor version, so it is
pinned here to the TensorFlow that Colab already has; TensorFlow itself is left alone.
"""
import subprocess
import sys
from importlib import metadata
from pathlib import Path

repo = Path(__file__).resolve().parents[1]
tf_minor = ".".join(metadata.version("tensorflow").split(".")[:2])
subprocess.run(
    [sys.executable, "-m", "pip", "install", "-q", "-r", str(repo / "requirements.txt"), f"tf-keras~={tf_minor}.0"],
    check=True,
)
