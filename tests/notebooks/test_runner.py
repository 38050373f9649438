"""The headless runner, run as a person would: `python -m helpers.core.runner ...`."""
import shutil
import subprocess
import sys

import nbformat

from helpers.core import notebooks, runner


def make_series(folder, fail_at=None):
    folder.mkdir()
    for name in ("01_first", "02_second", "03_third"):
        nb = nbformat.read(notebooks.NOTEBOOK_DIR / "template.ipynb", as_version=4)
        if name == fail_at:
            nb.cells.insert(6, nbformat.v4.new_code_cell("raise RuntimeError('the data is not there')"))
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
    assert "[2/3] 02_second FAILED" in done.stdout
    assert "RuntimeError: the data is not there" in done.stdout
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
