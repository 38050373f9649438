"""The notebooks' Colab setup cell, run as on Colab (a stand-in `google.colab` module): a clone
that fails names the URL setting, a failed install is retried on the next run until one
succeeds, and colab_install.py explains a missing TensorFlow instead of a traceback."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers.core import notebooks

REPO = Path(__file__).resolve().parents[2]

FAKE_INSTALL = """
import sys
from pathlib import Path
repo = Path(__file__).resolve().parents[1]  # <clone>/scripts/colab_install.py -> <clone>
runs = repo.parent / "install_runs"
runs.write_text(str(int(runs.read_text()) + 1 if runs.exists() else 1))
if (repo.parent / "pip_fails").exists():
    print("ERROR: Could not find a version that satisfies the requirement", file=sys.stderr)
    sys.exit(1)
(repo / "%s").write_text("ok")
""" % notebooks.INSTALLED_MARKER


def make_origin(tmp_path: Path) -> Path:
    """A git repository standing in for GitHub, with a colab_install.py that fails while
    `pip_fails` exists."""
    origin = tmp_path / "origin"
    (origin / "scripts").mkdir(parents=True)
    (origin / "scripts" / "colab_install.py").write_text(FAKE_INSTALL)
    for cmd in (["init", "-q"], ["add", "."], ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *cmd], cwd=origin, check=True)
    return origin


def run_setup_cell(tmp_path: Path, url: str) -> subprocess.CompletedProcess:
    """The Colab part of the generated setup cell, in a fresh Python with `google.colab` present."""
    cell = notebooks.setup_source("03_generate_fakes").split("\nimport helpers")[0]
    code = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n" + cell
    env = dict(os.environ, BOT_REPO_URL=url, BOT_REPO_DIR=str(tmp_path / "content" / "repo"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def installs(tmp_path: Path) -> int:
    runs = tmp_path / "content" / "install_runs"
    return int(runs.read_text()) if runs.exists() else 0


def test_a_clone_that_fails_names_the_url_and_how_to_change_it(tmp_path):
    url = str(tmp_path / "no-such-fork")
    done = run_setup_cell(tmp_path, url)
    assert done.returncode != 0
    assert f"git clone {url} failed" in done.stderr and "BOT_REPO_URL" in done.stderr
    assert "[project.urls] Repository" in done.stderr


def test_a_failed_install_is_retried_until_it_succeeds(tmp_path):
    origin = make_origin(tmp_path)
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "pip_fails").write_text("")
    first = run_setup_cell(tmp_path, str(origin))
    assert first.returncode != 0 and "Installing the requirements failed" in first.stderr
    again = run_setup_cell(tmp_path, str(origin))  # the rerun a user does: the install is tried again
    assert again.returncode != 0 and installs(tmp_path) == 2
    (tmp_path / "content" / "pip_fails").unlink()
    assert run_setup_cell(tmp_path, str(origin)).returncode == 0
    assert installs(tmp_path) == 3
    assert run_setup_cell(tmp_path, str(origin)).returncode == 0
    assert installs(tmp_path) == 3  # installed: later runs skip it


def error_as_a_notebook_shows_it(tmp_path: Path, url: str) -> str:
    """The setup cell's error message alone: as in a notebook kernel, where the output a child
    process (git, pip) writes to the kernel's own stdout/stderr is not shown in the cell."""
    cell = notebooks.setup_source("03_generate_fakes").split("\nimport helpers")[0]
    out = tmp_path / "error.txt"
    code = ("import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
            f"try:\n    exec({cell!r})\nexcept RuntimeError as e:\n    open({str(out)!r}, 'w').write(str(e))\n")
    env = dict(os.environ, BOT_REPO_URL=url, BOT_REPO_DIR=str(tmp_path / "content" / "repo"))
    subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=120)
    return out.read_text() if out.exists() else ""


def test_the_error_itself_carries_git_and_pip_reasons(tmp_path):
    """Colab does not show a subprocess's own output in the cell, so "see above" points at nothing:
    the raised error must carry git's and pip's reason."""
    message = error_as_a_notebook_shows_it(tmp_path, str(tmp_path / "no-such-fork"))
    assert "BOT_REPO_URL" in message and ("does not exist" in message or "not a git repository" in message
                                         or "not found" in message), message
    origin = make_origin(tmp_path)
    (tmp_path / "content").mkdir(exist_ok=True)
    (tmp_path / "content" / "pip_fails").write_text("")
    message = error_as_a_notebook_shows_it(tmp_path, str(origin))
    assert "Installing the requirements failed" in message
    assert "Could not find a version that satisfies the requirement" in message, message


def test_a_half_cloned_folder_is_cloned_again(tmp_path):
    origin = make_origin(tmp_path)
    (tmp_path / "content" / "repo").mkdir(parents=True)  # a clone cut short: no .git
    (tmp_path / "content" / "repo" / "junk").write_text("")
    assert run_setup_cell(tmp_path, str(origin)).returncode == 0
    assert (tmp_path / "content" / "repo" / "scripts" / "colab_install.py").is_file()


def test_colab_install_without_tensorflow_says_so(tmp_path):
    code = textwrap.dedent(f"""
        import runpy, sys, subprocess
        from importlib import metadata
        real = metadata.version
        def version(name):
            if name == "tensorflow":
                raise metadata.PackageNotFoundError(name)
            return real(name)
        metadata.version = version
        def no_pip(*a, **k):
            raise AssertionError("pip must not run")
        subprocess.run = no_pip
        runpy.run_path({str(REPO / "scripts" / "colab_install.py")!r}, run_name="__main__")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "TensorFlow is not installed" in done.stderr and "Traceback" not in done.stderr


def test_a_clone_cut_after_git_was_created_is_repaired(tmp_path):
    """git creates .git first, then fetches: a clone cut there leaves .git and no commit."""
    origin = make_origin(tmp_path)
    repo = tmp_path / "content" / "repo"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert run_setup_cell(tmp_path, str(origin)).returncode == 0
    assert (repo / "scripts" / "colab_install.py").is_file() and installs(tmp_path) == 1


def test_a_checkout_cut_short_is_repaired(tmp_path):
    """Fetched, then cut while checking out: a commit, but no index and files missing."""
    origin = make_origin(tmp_path)
    repo = tmp_path / "content" / "repo"
    subprocess.run(["git", "clone", "-q", str(origin), str(repo)], check=True)
    (repo / ".git" / "index").unlink()
    (repo / "scripts" / "colab_install.py").unlink()
    done = run_setup_cell(tmp_path, str(origin))
    assert done.returncode == 0, done.stderr
    assert (repo / "scripts" / "colab_install.py").is_file() and installs(tmp_path) == 1
    (repo / "scripts" / "colab_install.py").unlink()  # a tracked file gone, index intact
    assert run_setup_cell(tmp_path, str(origin)).returncode == 0
    assert (repo / "scripts" / "colab_install.py").is_file() and installs(tmp_path) == 2


def test_the_setup_cell_is_a_collapsed_colab_form():
    """On Colab the parameters are the first code a reader sees: the setup cell shows as a titled form."""
    first = notebooks.setup_source("03_generate_fakes").splitlines()[0]
    assert first.startswith("#@title ") and 'display-mode: "form"' in first


def test_colab_install_holds_colabs_own_packages_where_they_are(tmp_path):
    """pip may add packages but must not move Colab's TensorFlow, numpy, pandas, protobuf or widgets
    (a moved numpy needs a runtime restart, a moved TensorFlow loses Colab's CUDA build): they are
    passed to pip as constraints at their installed versions."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "colab_install.py").write_text((REPO / "scripts" / "colab_install.py").read_text())
    (tmp_path / "requirements.txt").write_text("pandas>=2.0\n")
    seen = tmp_path / "pip.txt"
    code = textwrap.dedent(f"""
        import runpy, subprocess, sys
        from importlib import metadata
        def pip(command, **kwargs):
            constraints = command[command.index("-c") + 1]
            open({str(seen)!r}, "w").write(" ".join(command) + "\\n" + open(constraints).read())
            return subprocess.CompletedProcess(command, 0)
        subprocess.run = pip
        runpy.run_path({str(tmp_path / "scripts" / "colab_install.py")!r}, run_name="__main__")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    command, *held = seen.read_text().splitlines()
    from importlib import metadata
    for name in ("tensorflow", "tf_keras", "numpy", "pandas", "protobuf", "ipywidgets"):
        assert f"{name}=={metadata.version(name)}" in held, held
    tf_minor = ".".join(metadata.version("tensorflow").split(".")[:2])
    assert f"tf-keras~={tf_minor}.0" in command and str(tmp_path / "requirements.txt") in command
    assert (tmp_path / notebooks.INSTALLED_MARKER).is_file()


NO_PKG_RESOURCES = """
import sys
sys.modules["pkg_resources"] = None  # as with setuptools 81+: `import pkg_resources` fails, find_spec finds none
try:
    import tensorflow_hub
except ModuleNotFoundError as error:
    print("plain import:", error)
from helpers.core import runtime
hub = runtime.import_tensorflow_hub()
print("through helpers:", hub.KerasLayer.__name__, "| pkg_resources after:", sys.modules["pkg_resources"])
"""


def test_tensorflow_hub_imports_without_pkg_resources():
    """tensorflow_hub 0.16.1 imports pkg_resources, which setuptools 81+ lacks (tests/setup shows it
    in real venvs); helpers import it through a stand-in that is gone again afterwards."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", NO_PKG_RESOURCES], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "plain import: No module named 'pkg_resources'" in done.stdout or "import of pkg_resources halted" in done.stdout
    assert "through helpers: KerasLayer | pkg_resources after: None" in done.stdout


def _pins_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("refresh_colab_pins", REPO / "scripts" / "refresh_colab_pins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_colabs_freeze_is_read_without_what_no_registry_has():
    pins = _pins_script().read_freeze("# comment\nabsl-py==1.4.0\njupyter_kernel_gateway @ git+https://x/y@abc\n"
                                      "tf_keras==2.20.1\nPyYAML==6.0.3\n")
    assert pins == {"absl-py": ("absl-py", "1.4.0"), "tf-keras": ("tf_keras", "2.20.1"), "pyyaml": ("PyYAML", "6.0.3")}


def test_the_check_fails_when_pip_moved_a_guarded_package_and_only_then():
    from importlib import metadata

    script = _pins_script()
    have = {name: metadata.version(name) for name in ("numpy", "pandas", "requests")}
    same = "".join(f"{name}=={version}\n" for name, version in have.items())
    assert script.moved(same, ["numpy", "pandas"]) == ([], [])
    other = f"numpy=={have['numpy']}\npandas==1.0.0\nrequests==0.1\n"  # pip moved pandas (guarded) and requests
    bad, allowed = script.moved(other, ["numpy", "pandas"])
    assert bad == [f"pandas 1.0.0 -> {have['pandas']}"] and allowed == [f"requests 0.1 -> {have['requests']}"]
    assert script.moved(same, ["numpy", "protobuf"])[0] == ["protobuf: not in requirements-colab.txt"]


def test_the_committed_colab_pins_name_their_source_and_hold_colabs_tensorflow():
    text = (REPO / "requirements-colab.txt").read_text()
    pins = _pins_script().read_freeze(text)
    assert "googlecolab/backend-info" in text and "Colab's Python: 3." in text
    for name in ("tensorflow", "tf-keras", "numpy", "pandas", "protobuf", "ipywidgets", "setuptools", "tensorflow-hub"):
        assert name in pins, name
