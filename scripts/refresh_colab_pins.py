"""requirements-colab.txt: Colab's own versions of what the notebooks need, and a check against it.

    # when Colab upgrades: get Colab's published package list, then regenerate the pins
    git clone --depth=1 https://github.com/googlecolab/backend-info /tmp/backend-info
    python scripts/refresh_colab_pins.py refresh /tmp/backend-info

    # in the CI's Colab lane, after scripts/colab_install.py: pip moved none of these
    python scripts/refresh_colab_pins.py check tensorflow tf_keras numpy pandas protobuf ipywidgets

`refresh` reads `pip-freeze.gpu.txt` (Colab's GPU runtime, `pip freeze`) and `os-info-gpu.txt`
(its Python) from a folder, asks pip which packages `requirements.txt` plus the tf-keras that
colab_install.py adds resolve to when every package Colab has is held at Colab's version (a dry
run with a Python of Colab's minor version: pip reads package metadata from the registry and
installs nothing), and writes Colab's version of each of those packages that Colab ships, with
the source and date in the header. The packages Colab lacks (gpt-2-simple, praw, ...) are
listed as a comment: colab_install.py installs them.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PINS = REPO / "requirements-colab.txt"
FREEZE, OS_INFO = "pip-freeze.gpu.txt", "os-info-gpu.txt"
SOURCE = "https://github.com/googlecolab/backend-info"
ALWAYS = ("pip", "setuptools", "wheel")  # the tools pip itself runs with (setuptools: pkg_resources)
GUARDED = ("tensorflow", "tf_keras", "numpy", "pandas", "protobuf", "ipywidgets")


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(text: str) -> dict[str, tuple[str, str]]:
    """`pip freeze` text -> {canonical name: (name as written, version)}; lines without `==`
    (installed from git or a file) are left out: no registry has them."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        name, sep, version = line.partition("==")
        if sep and name and version and " " not in name:
            pins[canonical(name)] = (name.strip(), version.strip())
    return pins


def colab_python(os_info: str) -> str:
    """'3.13.15' from os-info-gpu.txt's `Python 3.13.15` line."""
    found = re.search(r"^Python (\d+\.\d+\.\d+)", os_info, re.MULTILINE)
    if not found:
        raise SystemExit(f"refresh_colab_pins: no 'Python X.Y.Z' line in {OS_INFO}")
    return found.group(1)


def read_source(folder: Path, name: str) -> str:
    """A file of the backend-info folder: a checkout's file, else the newest commit's (a bare clone)."""
    if (folder / name).is_file():
        return (folder / name).read_text(encoding="utf-8")
    done = subprocess.run(["git", "-C", str(folder), "show", f"HEAD:{name}"], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"refresh_colab_pins: no {name} in {folder}")
    return done.stdout


def source_date(folder: Path) -> str:
    """The date and subject of the last commit that changed the freeze file, if `folder` is a git clone."""
    done = subprocess.run(["git", "-C", str(folder), "log", "-1", "--format=%cs %h %s", "--", FREEZE],
                          capture_output=True, text=True)
    return done.stdout.strip() or "date unknown (not a git clone)"


def find_python(minor: str) -> str:
    """A `python<minor>` on PATH or under pyenv, for the dry run."""
    candidates = [shutil.which(f"python{minor}")]
    candidates += sorted(Path.home().glob(f".pyenv/versions/{minor}.*/bin/python{minor}"), reverse=True)
    for candidate in candidates:  # a pyenv shim of a version not selected fails: try each
        if candidate and subprocess.run([str(candidate), "-c", ""], capture_output=True).returncode == 0:
            return str(candidate)
    raise SystemExit(f"refresh_colab_pins: Python {minor} (Colab's) not found: install it, or pass --python")


def requested(pins: dict[str, tuple[str, str]]) -> list[str]:
    """What colab_install.py asks pip for on Colab: requirements.txt and tf-keras~=<TF minor>.0."""
    tf_minor = ".".join(pins["tensorflow"][1].split(".")[:2])
    return ["-r", str(REPO / "requirements.txt"), f"tf-keras~={tf_minor}.0"]


def resolve(python: str, pins: dict[str, tuple[str, str]]) -> dict[str, str]:
    """{canonical name: version} that pip would install for `requested`, every Colab package held
    at Colab's version (pip's dry run; reads metadata only)."""
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "colab-constraints.txt"
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in pins.values()), encoding="utf-8")
        report = Path(tmp) / "report.json"
        command = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--report", str(report), "-c", str(constraints), *requested(pins)]
        done = subprocess.run(command)
        if done.returncode:
            raise SystemExit(f"refresh_colab_pins: pip could not resolve requirements.txt against Colab's "
                             f"packages (exit {done.returncode}); its reason is above")
        items = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def render(pins: dict[str, tuple[str, str]], resolved: dict[str, str], python: str, date: str) -> str:
    """The text of requirements-colab.txt."""
    shipped = sorted((set(resolved) | {canonical(n) for n in ALWAYS}) & set(pins))
    added = sorted(set(resolved) - set(pins))
    lines = [
        "# Colab's preinstalled versions of every package requirements.txt resolves against (and pip, setuptools,",
        "# wheel): the set scripts/colab_install.py meets on Colab. CI's Colab lane builds a venv from this file,",
        "# runs colab_install.py as the setup cell does, and checks that pip moved none of TensorFlow, tf_keras,",
        "# numpy, pandas, protobuf and ipywidgets.",
        f"# Source: {SOURCE} ({FREEZE}, {OS_INFO}), {date}.",
        f"# Colab's Python: {python} (GPU runtime). Generated by scripts/refresh_colab_pins.py: do not edit by hand;",
        "# when Colab upgrades, refresh it as docs/colab.md says.",
        "# Not on Colab, installed by colab_install.py from requirements.txt: " + ", ".join(added),
    ]
    return "\n".join(lines + [f"{pins[name][0]}=={pins[name][1]}" for name in shipped]) + "\n"


def refresh(folder: Path, python: str | None, output: Path) -> int:
    pins = read_freeze(read_source(folder, FREEZE))
    version = colab_python(read_source(folder, OS_INFO))
    minor = ".".join(version.split(".")[:2])
    resolved = resolve(python or find_python(minor), pins)
    output.write_text(render(pins, resolved, version, source_date(folder)), encoding="utf-8")
    print(f"refresh_colab_pins: wrote {output.name}: Python {version}, "
          f"{len(set(resolved) & set(pins))} of {len(resolved)} resolved packages are Colab's")
    return 0


def moved(pins_text: str, names) -> tuple[list[str], list[str]]:
    """(guarded packages whose installed version differs from the pins, the other pinned ones that do)."""
    pins = read_freeze(pins_text)
    guarded = {canonical(n) for n in names}
    bad, other = [], []
    for name, (shown, wanted) in sorted(pins.items()):
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "missing"
        if have != wanted:
            (bad if name in guarded else other).append(f"{shown} {wanted} -> {have}")
    missing = sorted(guarded - set(pins))
    bad += [f"{name}: not in {PINS.name}" for name in missing]
    return bad, other


def check(names, pins_file: Path) -> int:
    bad, other = moved(pins_file.read_text(encoding="utf-8"), names or GUARDED)
    if other:
        print("check: pip also changed (allowed): " + "; ".join(other))
    if bad:
        print("check: pip changed Colab's preinstalled " + "; ".join(bad), file=sys.stderr)
        return 1
    print(f"check: {', '.join(names or GUARDED)} are Colab's versions")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("refresh", help="regenerate requirements-colab.txt from a backend-info folder")
    make.add_argument("folder", type=Path, help=f"a folder with {FREEZE} and {OS_INFO} (a clone of {SOURCE})")
    make.add_argument("--python", help="the Python for pip's dry run (default: Colab's minor version, found)")
    make.add_argument("--output", type=Path, default=PINS)
    test = commands.add_parser("check", help="this environment still has the pinned versions of NAMES")
    test.add_argument("names", nargs="*", help=f"default: {' '.join(GUARDED)}")
    test.add_argument("--pins", type=Path, default=PINS)
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.folder, args.python, args.output)
    return check(args.names, args.pins)


if __name__ == "__main__":
    sys.exit(main())
