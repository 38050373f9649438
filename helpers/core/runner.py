"""Run the notebook series headless with papermill.

    python -m helpers.core.runner --profile tiny                 # every numbered notebook, in order
    python -m helpers.core.runner --profile tiny --only 01 02    # some of them
    python -m helpers.core.runner --from 03                      # resume the series at 03

Executed copies go to <drive root>/runs/<notebook>/<notebook>.ipynb, never over the source.
One progress line per notebook; the first failure stops the run and is reported with its cell.
A `-p NAME VALUE` goes only to the notebooks whose parameters cell has NAME. What the kernels and
papermill write to stderr (TensorFlow's start-up and GPU probing, the kernel's transport warning)
goes to a log file, shown only when a notebook fails.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

from helpers.core import runtime
from helpers.core.paths import Paths

NOTEBOOK_DIR = runtime.REPO_ROOT / "notebooks"


def series(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks (NN_name.ipynb) in `folder`, in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def select(notebooks: list[Path], only=(), start: str | None = None) -> list[Path]:
    """Keep the notebooks named (by number or full name) in `only`, or those from `start` on."""
    def matches(path: Path, name: str) -> bool:
        return path.stem == name or path.stem.split("_", 1)[0] == name

    for name in [*only, *([start] if start else [])]:
        if not any(matches(p, name) for p in notebooks):
            raise SystemExit(f"no notebook {name!r}; have: {', '.join(p.stem for p in notebooks)}")
    if only:
        notebooks = [p for p in notebooks if any(matches(p, n) for n in only)]
    if start:
        first = next(i for i, p in enumerate(notebooks) if matches(p, start))
        notebooks = notebooks[first:]
    return notebooks


def parameter_names(path: Path) -> set[str]:
    """The names the notebook's `parameters` cell assigns (read with Python's parser, as papermill injects them)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    names = set()
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for stmt in ast.parse(cell.source).body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


class UnknownParameter(ValueError):
    """A parameter that no notebook of the run has (a typo, or a name changed since)."""


def parameters_by_notebook(notebooks: list[Path], parameters: dict) -> dict[Path, dict]:
    """Each notebook's share of `parameters`: those its parameters cell has (papermill warns about
    the others). A parameter that none of them has is an error, not silently dropped."""
    names = {path: parameter_names(path) for path in notebooks}
    unknown = sorted(set(parameters) - set().union(*names.values()))
    if unknown:
        raise UnknownParameter(f"no notebook of this run has the parameter {', '.join(unknown)}; "
                               f"their parameters: {', '.join(sorted(set().union(*names.values())))}")
    return {path: {k: v for k, v in parameters.items() if k in names[path]} for path in notebooks}


# For the kernels the runner starts: TensorFlow's C++ log at warnings and above (its start-up INFO
# lines are not for users). A value the person set wins.
KERNEL_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}


@contextlib.contextmanager
def stderr_to(path: Path):
    """Send this process's stderr, and so the stderr of the kernels it starts, to `path`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def failure_report(error: Exception) -> str:
    """One readable paragraph for a notebook that failed."""
    ename, evalue = getattr(error, "ename", type(error).__name__), getattr(error, "evalue", str(error))
    cell = getattr(error, "exec_count", None)
    where = f"in cell [{cell}]" if cell is not None else ""
    return f"{where} {ename}: {evalue}".strip()


def _say(line: str) -> None:
    print(line, flush=True)


def _begin(prefix: str, log):
    """Start a notebook's line and return the function that ends it: on the console the line starts
    now ("[1/8] 01_pull_data ... ") and ends when the notebook does; other logs get whole lines."""
    if log is _say:
        print(f"{prefix} ... ", end="", flush=True)
        return _say
    return lambda text: log(f"{prefix} {text}")


def run(notebooks: list[Path], profile: str, root: Path, parameters: dict | None = None, log=_say) -> int:
    """Execute `notebooks` in order, each with the `parameters` it has; returns 0, or 1 at the first
    failure. UnknownParameter when a parameter is in none of them."""
    import papermill

    os.environ["BOT_PROFILE"] = profile  # the kernels inherit these
    os.environ["BOT_DRIVE_ROOT"] = str(root)
    for name, value in KERNEL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    paths = Paths(root)
    given = parameters_by_notebook(notebooks, {"PROFILE": profile, **(parameters or {})})
    for i, source in enumerate(notebooks, 1):
        out = paths.file("executed", notebook=source.stem)
        out.parent.mkdir(parents=True, exist_ok=True)
        prefix = f"[{i}/{len(notebooks)}] {source.stem}"
        end_line = _begin(prefix, log)
        start = time.perf_counter()
        handle, name = tempfile.mkstemp(prefix=f"{source.stem}-", suffix=".log")
        os.close(handle)
        kernel_log = Path(name)
        try:
            with stderr_to(kernel_log):
                papermill.execute_notebook(
                    str(source), str(out), parameters=given[source],
                    cwd=str(source.parent), progress_bar=False, kernel_name="python3",
                )
        except Exception as error:  # noqa: BLE001 - report any failure, then stop
            end_line(f"FAILED after {time.perf_counter() - start:.1f} s {failure_report(error)}")
            log(f"    executed copy with the traceback: {out}")
            log(f"    kernel's stderr ({kernel_log}), last lines:\n{tail(kernel_log)}")
            return 1
        kernel_log.unlink(missing_ok=True)
        end_line(f"ok ({time.perf_counter() - start:.1f} s) -> {paths.relative(out)}")
    log(f"all {len(notebooks)} notebook(s) ran on profile {profile!r}; executed copies under {root / 'runs'}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default=os.environ.get("BOT_PROFILE", "tiny"), help="tiny (default) or colab")
    parser.add_argument("--only", nargs="+", default=(), metavar="NN", help="run only these notebooks")
    parser.add_argument("--from", dest="start", metavar="NN", help="start the series at this notebook")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, help="folder of the notebooks")
    parser.add_argument("--drive-root", type=Path, help="shared folder (default: $BOT_DRIVE_ROOT, else ./drive)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter for the notebooks that have it (value parsed as a Python literal if it can be)")
    args = parser.parse_args(argv)
    from helpers.core.settings import SettingsError, resolve_profile

    try:
        profile = resolve_profile(args.profile)
    except SettingsError as error:
        raise SystemExit(f"error: {error}") from None
    if args.drive_root:
        os.environ["BOT_DRIVE_ROOT"] = str(args.drive_root)
    notebooks = select(series(args.notebooks), args.only, args.start)
    if not notebooks:
        print(f"no numbered notebooks in {args.notebooks}")
        return 1
    def literal(text):
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text

    try:
        return run(notebooks, profile, runtime.drive_root(), {k: literal(v) for k, v in args.parameter})
    except UnknownParameter as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
