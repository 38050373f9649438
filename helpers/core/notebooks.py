"""Notebook conventions: the opening order, the Colab badge and setup cell, stripped outputs.

    python -m helpers.core.notebooks            # check every notebook, exit 1 on problems
    python -m helpers.core.notebooks --fix      # regenerate badges and setup cells, strip outputs

The badge and the setup cell's clone URL come from one setting: `[project.urls] Repository`
in pyproject.toml.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from pathlib import Path

import nbformat

from helpers.core.runtime import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def repository_url() -> str:
    """The repository URL from pyproject.toml: the one setting badges and clone URLs come from."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def badge(name: str, repo: str | None = None) -> str:
    """Markdown for the "Open in Colab" badge of notebooks/<name>.ipynb on the main branch."""
    repo = repo or repository_url()
    slug = repo.removeprefix("https://github.com/")
    return f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/{slug}/blob/main/notebooks/{name}.ipynb)"


INSTALLED_MARKER = ".colab_installed"  # written by scripts/colab_install.py once an install has succeeded


def setup_source(name: str, repo: str | None = None) -> str:
    """The setup cell, shown on Colab as a collapsed form (`#@title`) so the parameters are the first
    code a reader sees: on Colab get the code (again, if a clone or checkout was cut short) and
    install the requirements until an install has succeeded (a marker file), stopping with a clear
    message otherwise; then the run context."""
    repo = repo or repository_url()
    folder = repo.rsplit("/", 1)[-1]
    return f'''#@title Setup: get the code and install the requirements (on Colab) {{ display-mode: "form" }}
# On Colab: get the code, install the requirements (until an install has succeeded). Elsewhere: nothing to do.
import sys
if "google.colab" in sys.modules:
    import os, shutil, subprocess
    REPO_URL = os.environ.get("BOT_REPO_URL", "{repo}")  # a fork? os.environ["BOT_REPO_URL"] = "https://github.com/<you>/{folder}"
    REPO_DIR = os.environ.get("BOT_REPO_DIR", "/content/{folder}")
    def run(command):  # the cell does not show a child's own output: print it, keep it for the error
        done = subprocess.run(command, capture_output=True, text=True)
        print(done.stdout[-3000:] + done.stderr[-3000:], end="")
        return done.returncode, (done.stderr.strip() or done.stdout.strip())[-1500:]
    def git(*args):
        return subprocess.run(["git", "-C", REPO_DIR, *args], capture_output=True, text=True)
    def cloned():  # whole: a commit, an index, no tracked file missing (a clone or checkout cut short has not)
        return (os.path.isfile(os.path.join(REPO_DIR, ".git", "index")) and git("rev-parse", "-q", "--verify", "HEAD").returncode == 0
                and git("ls-files", "--deleted").stdout == "")
    if not cloned():
        shutil.rmtree(REPO_DIR, ignore_errors=True)  # what a clone cut short left, .git or not
        code, reason = run(["git", "clone", "--depth=1", REPO_URL, REPO_DIR])
        if code:
            raise RuntimeError(f"git clone {{REPO_URL}} failed: {{reason}}\\nIf the project lives in your fork, set "
                               "os.environ['BOT_REPO_URL'] to its URL before this cell, or set [project.urls] Repository "
                               "in pyproject.toml and run `python -m helpers.core.notebooks --fix`; then run this cell again.")
    if not os.path.isfile(os.path.join(REPO_DIR, "{INSTALLED_MARKER}")):
        code, reason = run([sys.executable, os.path.join(REPO_DIR, "scripts", "colab_install.py")])
        if code:
            raise RuntimeError(f"Installing the requirements failed: {{reason}}\\nRun this cell again; "
                               "if it fails again, Runtime > Disconnect and delete runtime, then start over.")
    sys.path.insert(0, REPO_DIR)

import helpers
ctx = helpers.setup("{name}")  # mounts Drive on Colab (once) and finds the shared folder
ctx'''


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _literal_assignments(source: str) -> str | None:
    """None if `source` only assigns plain literals to names, else what is wrong."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return f"does not parse: {e}"
    for stmt in tree.body:
        if not (isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None):
            return f"line {stmt.lineno} is not an assignment"
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not all(isinstance(t, ast.Name) for t in targets):
            return f"line {stmt.lineno} assigns to something other than a name"
        try:
            ast.literal_eval(stmt.value)
        except ValueError:
            return f"line {stmt.lineno} is not a plain literal (derived values go in the next cell)"
    return None


TITLE_RE = re.compile(r"^# (\d\d) · \S")  # "# 03 · Generate fake replies ...": one style for the series
FORM_TYPE_RE = re.compile(r'#@param\s*(\[.*\])?\s*(\{.*\})?\s*$')


def title_problems(name: str, source: str) -> list[str]:
    """A numbered notebook's title is "# NN · What it does", NN its number."""
    number = name.split("_", 1)[0]
    if not number.isdigit():
        return []
    match = TITLE_RE.match(source)
    if not match or match.group(1) != number:
        return [f'the title must read "# {number} · <what it does>" (one style for the series)']
    return []


def parameter_problems(source: str) -> list[str]:
    """Each parameter a Colab form field (`#@param` with a type or a list of choices), None (the
    profile's value) written as a raw field and never "" in a dropdown (one convention, issue 21), and every line one that papermill's own parser reads
    (a second "=" on a line, even in its comment, makes papermill skip the parameter)."""
    from papermill.translators import PythonTranslator

    problems = []
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # reported by _literal_assignments
    names = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            continue
        name, line = stmt.targets[0].id, lines[stmt.lineno - 1]
        names.append(name)
        form = FORM_TYPE_RE.search(line)
        if not form or not (form.group(1) or "type:" in (form.group(2) or "")):
            problems.append(f"{name} is not a Colab form field: end its line with #@param {{type:...}} or #@param [choices]")
        elif isinstance(stmt.value, ast.Constant) and stmt.value.value is None and 'type:"raw"' not in line:
            problems.append(f'{name} = None (the profile\'s value) must be a raw field: #@param {{type:"raw"}}')
        elif form.group(1) and isinstance(stmt.value, ast.Constant) and stmt.value.value == "":
            problems.append(f'{name} = "" (the default) in a dropdown: use None, the one way to say "the profile\'s '
                            f'value", in a raw dropdown: {name} = None  #@param ["None", "\'a\'", "\'b\'"] {{type:"raw"}}')
    parsed = {p.name for p in PythonTranslator.inspect({"source": source})}
    unread = [n for n in names if n not in parsed]
    if unread:
        problems.append(f"papermill's parser skips {', '.join(unread)} (a second '=' on the line?): keep the comment "
                        "on the next line, without '='")
    return problems


def check(path: Path | str) -> list[str]:
    """Problems with one notebook (empty when it follows the conventions)."""
    path = Path(path)
    name = path.stem
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # noqa: BLE001 - any read/validation failure is a problem to report
        return [f"not a valid notebook: {e}"]
    problems = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            problems.append(f"cell {i} has outputs or an execution count committed (run `make strip`)")
    tagged = [i for i, c in enumerate(cells) if "parameters" in _tags(c)]
    if len(tagged) != 1:
        problems.append(f"{len(tagged)} cells are tagged 'parameters' (exactly one expected)")
    if len(cells) < 6:
        return problems + ["fewer cells than the opening order needs (title, setup, parameters, derived, ..., summary)"]
    title, setup_md, setup_code, params, derived = cells[:5]
    if title.cell_type != "markdown" or not title.source.startswith("# "):
        problems.append("cell 0 must be markdown starting with an H1 title")
    elif badge(name) not in title.source:
        problems.append("cell 0 lacks the generated Open in Colab badge (run `python -m helpers.core.notebooks --fix`)")
    if title.cell_type == "markdown":
        problems += title_problems(name, title.source)
    if setup_md.cell_type != "markdown" or not setup_md.source.startswith("## Setup"):
        problems.append("cell 1 must be the '## Setup' heading")
    if setup_code.cell_type != "code" or setup_code.source != setup_source(name):
        problems.append("cell 2 must be the generated setup cell (run `python -m helpers.core.notebooks --fix`)")
    if tagged and tagged != [3]:
        problems.append(f"the parameters cell must be cell 3, not cell {tagged[0]}")
    if params.cell_type == "code" and "parameters" in _tags(params):
        wrong = _literal_assignments(params.source)
        if wrong:
            problems.append(f"parameters cell: {wrong}")
        problems += [f"parameters cell: {p}" for p in parameter_problems(params.source)]
    if "PROFILE" not in params.source:
        problems.append("the parameters cell must have a PROFILE parameter")
    if derived.cell_type != "code" or "ctx.configure(" not in derived.source:
        problems.append("cell 4 must derive the settings with ctx.configure(...)")
    last = [c for c in cells if c.cell_type == "code"][-1]
    if "ctx.write_summary(" not in last.source:
        problems.append("the last code cell must write the run summary with ctx.write_summary(...)")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec must be python3 (as on Colab)")
    return problems


def fix(path: Path | str) -> None:
    """Regenerate the badge and setup cell and strip outputs, in place."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0]
    if BADGE_RE.search(title.source):
        title.source = BADGE_RE.sub(lambda _: badge(path.stem), title.source)
    else:
        head, _, rest = title.source.partition("\n")
        title.source = f"{head}\n\n{badge(path.stem)}\n{rest}".rstrip() + "\n"
    nb.cells[2].source = setup_source(path.stem)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def all_notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("**/*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--fix", action="store_true", help="regenerate badges/setup cells and strip outputs")
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks or all_notebooks():
        if args.fix:
            fix(path)
        for problem in check(path):
            print(f"{path}: {problem}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
