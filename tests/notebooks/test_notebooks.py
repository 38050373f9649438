"""Every notebook follows the conventions; a notebook that breaks them is caught."""
import shutil

import nbformat
import pytest

from helpers.core import notebooks
from helpers.core.paths import NOTEBOOKS

ALL = notebooks.all_notebooks()


def test_there_are_notebooks():
    assert any(p.stem == "template" for p in ALL)


# Parameters cells being rewritten on other branches (issue 21: every parameter a Colab form field that
# papermill's parser reads): they fail those checks until the branches land; then drop them from here.
FORMS_PENDING: dict[str, str] = {}


def form_problem(problem: str) -> bool:
    return problem.startswith("parameters cell: ") and ("form field" in problem or "papermill" in problem)


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_notebook_follows_conventions(path):
    problems = notebooks.check(path)
    if path.stem in FORMS_PENDING:
        problems = [p for p in problems if not form_problem(p)]
    assert problems == []


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=f"parameters cell owned by {FORMS_PENDING[p.stem]}"))
    if p.stem in FORMS_PENDING else p for p in ALL], ids=[p.stem for p in ALL])
def test_every_parameter_is_a_form_field_that_papermill_reads(path):
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert notebooks.parameter_problems(cell.source) == []


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_notebook_name_is_in_the_series(path):
    assert path.stem in NOTEBOOKS or path.stem == "template"


@pytest.fixture
def template(tmp_path):
    target = tmp_path / "template.ipynb"
    shutil.copy(notebooks.NOTEBOOK_DIR / "template.ipynb", target)
    return target


def edit(path, change):
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def test_committed_outputs_fail(template):
    def add_output(nb):
        nb.cells[4].outputs = [nbformat.v4.new_output("stream", text="hello")]
        nb.cells[4].execution_count = 3
    edit(template, add_output)
    assert any("outputs" in p for p in notebooks.check(template))


def test_no_parameters_cell_fails(template):
    edit(template, lambda nb: nb.cells[3].metadata.update(tags=[]))
    assert any("0 cells are tagged 'parameters'" in p for p in notebooks.check(template))


def test_two_parameters_cells_fail(template):
    edit(template, lambda nb: nb.cells[4].metadata.update(tags=["parameters"]))
    assert any("2 cells are tagged" in p for p in notebooks.check(template))


def test_derived_value_in_parameters_cell_fails(template):
    edit(template, lambda nb: setattr(nb.cells[3], "source", nb.cells[3].source + "\nSTEPS = 10 * 2"))
    assert any("not a plain literal" in p for p in notebooks.check(template))


def test_stale_badge_and_setup_cell_fail_and_fix_repairs_them(template):
    def stale(nb):
        nb.cells[0].source = nb.cells[0].source.replace("gpt2-bert-reddit-bot/blob", "someone/else/blob")
        nb.cells[2].source = nb.cells[2].source.replace("git", "gti")
        nb.cells[4].outputs = [nbformat.v4.new_output("stream", text="x")]
    edit(template, stale)
    problems = notebooks.check(template)
    assert any("badge" in p for p in problems) and any("setup cell" in p for p in problems)
    notebooks.fix(template)
    assert notebooks.check(template) == []


def test_badge_and_clone_url_come_from_pyproject():
    repo = notebooks.repository_url()
    assert repo.startswith("https://github.com/")
    slug = repo.removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{slug}/blob/main/notebooks/01_pull_data.ipynb" in notebooks.badge("01_pull_data")
    assert f'"{repo}"' in notebooks.setup_source("01_pull_data")
    other = notebooks.setup_source("01_pull_data", repo="https://github.com/me/fork")
    assert "https://github.com/me/fork" in other and repo not in other


def test_a_notebook_collected_alone_gets_the_ones_before_it_run_first():
    from conftest import notebooks_to_run_first

    series = [notebooks.NOTEBOOK_DIR / f"0{i}_x.ipynb" for i in range(1, 9)]
    assert notebooks_to_run_first(series, series) == []  # the whole series: nbval runs it in order
    assert notebooks_to_run_first(series[:3], series) == []  # 01-03: nothing before them
    assert notebooks_to_run_first([series[3]], series) == series[:3]  # 04 alone reads 01-03's files
    assert notebooks_to_run_first([series[0], series[3]], series) == series[:3]  # 02 and 03 need 01's
    assert notebooks_to_run_first([notebooks.NOTEBOOK_DIR / "template.ipynb"], series) == []
