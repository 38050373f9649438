"""The headless runner, run as a person would: `python -m helpers.core.runner ...`."""
import shutil
import subprocess
import sys

import nbformat

from helpers.core import notebooks, runner


def make_series(folder, fail_at=None, extra=None):
    """Three numbered copies of the template; `extra` (name -> (parameter line, code)) adds a
    parameter to one notebook and a cell that uses it."""
    folder.mkdir()
    for name in ("01_first", "02_second", "03_third"):
        nb = nbformat.read(notebooks.NOTEBOOK_DIR / "template.ipynb", as_version=4)
        if name == fail_at:
            nb.cells.insert(6, nbformat.v4.new_code_cell("raise RuntimeError('the data is not there')"))
        if extra and name in extra:
            line, code = extra[name]
            nb.cells[3].source += "\n" + line
            nb.cells.insert(6, nbformat.v4.new_code_cell(code))
        nbformat.write(nb, folder / f"{name}.ipynb")
    shutil.copy(notebooks.NOTEBOOK_DIR / "template.ipynb", folder / "template.ipynb")  # not numbered: skipped


def run_runner(*args):
    return subprocess.run([sys.executable, "-m", "helpers.core.runner", *args], capture_output=True, text=True, timeout=300)


def test_runs_the_series_in_order_into_runs(tmp_path):
    make_series(tmp_path / "nbs")
    before = (tmp_path / "nbs/01_first.ipynb").read_bytes()
    done = run_runner("--profile", "tiny", "--notebooks", str(tmp_path / "nbs"), "--drive-root", str(tmp_path / "d"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert [line.split()[1] for line in lines if " ok " in line] == ["01_first", "02_second", "03_third"]
    for name in ("01_first", "02_second", "03_third"):
        executed = nbformat.read(tmp_path / f"d/runs/{name}/{name}.ipynb", as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    assert (tmp_path / "nbs/01_first.ipynb").read_bytes() == before  # source untouched
    assert (tmp_path / "d/runs/template/summary.json").is_file()


def test_first_failure_is_reported_and_stops_the_run(tmp_path):
    make_series(tmp_path / "nbs", fail_at="02_second")
    done = run_runner("--notebooks", str(tmp_path / "nbs"), "--drive-root", str(tmp_path / "d"))
    assert done.returncode == 1
    assert "[2/3] 02_second ... FAILED" in done.stdout
    assert "RuntimeError: the data is not there" in done.stdout
    assert "kernel's stderr" in done.stdout  # what the kernel wrote to stderr is shown when it fails
    assert str(tmp_path / "d/runs/02_second/02_second.ipynb") in done.stdout
    assert "03_third" not in done.stdout


def test_select_by_number_and_from(tmp_path):
    make_series(tmp_path / "nbs")
    series = runner.series(tmp_path / "nbs")
    assert [p.stem for p in runner.select(series, only=["03", "01_first"])] == ["01_first", "03_third"]
    assert [p.stem for p in runner.select(series, start="02")] == ["02_second", "03_third"]


def test_unknown_notebook_and_profile_are_clear_errors(tmp_path):
    make_series(tmp_path / "nbs")
    done = run_runner("--notebooks", str(tmp_path / "nbs"), "--only", "09")
    assert done.returncode != 0 and "no notebook '09'" in done.stderr
    done = run_runner("--notebooks", str(tmp_path / "nbs"), "--profile", "gpu")
    assert done.returncode != 0 and "unknown profile 'gpu'" in done.stderr


def test_the_series_is_01_to_08_in_order():
    from helpers.core.paths import NOTEBOOKS

    assert [p.stem for p in runner.series()] == list(NOTEBOOKS)
    assert NOTEBOOKS[-1] == "08_feedback"


def test_parameters_go_only_to_the_notebooks_that_have_them_and_the_console_has_one_line_per_notebook(tmp_path):
    """As `make demo` passes 07's MIN_PROB_REAL: papermill said "Passed unknown parameter" for
    every other notebook. TensorFlow's start-up lines and the kernel's TCP warning went to the
    console too; they go to a log shown only on failure."""
    make_series(tmp_path / "nbs", extra={
        "02_second": ('EXTRA = 0  #@param {type:"integer"}', "assert EXTRA == 5, EXTRA"),
        "03_third": ('QUIET = True  #@param {type:"boolean"}',
                     "import tensorflow as tf\nprint(float(tf.constant(1.0) + 1), tf.config.list_physical_devices('GPU'))")})
    done = run_runner("--profile", "tiny", "--notebooks", str(tmp_path / "nbs"), "--drive-root", str(tmp_path / "d"),
                      "-p", "EXTRA", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["01_first", "02_second", "03_third"]
    assert all(" ... ok (" in line for line in lines[:3]) and lines[3].startswith("all 3 notebook(s) ran") and len(lines) == 4
    assert done.stderr == ""
    injected = [nbformat.read(tmp_path / f"d/runs/{n}/{n}.ipynb", as_version=4) for n in ("01_first", "02_second")]
    assert ["EXTRA = 5" in c.source for nb in injected for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])] \
        == [False, True]


def test_a_parameter_no_notebook_has_is_a_clear_error(tmp_path):
    make_series(tmp_path / "nbs")
    done = run_runner("--notebooks", str(tmp_path / "nbs"), "--drive-root", str(tmp_path / "d"), "-p", "MIN_PROB_REALL", "0")
    assert done.returncode != 0 and "no notebook of this run has the parameter MIN_PROB_REALL" in done.stderr
    assert not (tmp_path / "d/runs").exists()  # nothing ran
