"""Run the notebook series headless with papermill.

    python -m helpers.core.runner --profile tiny                 # every numbered notebook, in order
    python -m helpers.core.runner --profile tiny --only 01 02    # some of them
    python -m helpers.core.runner --from 03                      # resume the series at 03

Executed copies go to <drive root>/runs/<notebook>/<notebook>.ipynb, never over the source.
One progress line per notebook; the first failure stops the run and is reported with its cell.
"""
from __future__ import annotations

import argparse
import os
import sys
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


def failure_report(error: Exception) -> str:
    """One readable paragraph for a notebook that failed."""
    ename, evalue = getattr(error, "ename", type(error).__name__), getattr(error, "evalue", str(error))
    cell = getattr(error, "exec_count", None)
    where = f"in cell [{cell}]" if cell is not None else ""
    return f"{where} {ename}: {evalue}".strip()


def _say(line: str) -> None:
    print(line, flush=True)


def run(notebooks: list[Path], profile: str, root: Path, parameters: dict | None = None, log=_say) -> int:
    """Execute `notebooks` in order; returns 0, or 1 at the first failure."""
    import papermill

    os.environ["BOT_PROFILE"] = profile  # the kernels inherit these
    os.environ["BOT_DRIVE_ROOT"] = str(root)
    paths = Paths(root)
    for i, source in enumerate(notebooks, 1):
        out = paths.file("executed", notebook=source.stem)
        out.parent.mkdir(parents=True, exist_ok=True)
        prefix = f"[{i}/{len(notebooks)}] {source.stem}"
        log(f"{prefix} ...")
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(source), str(out), parameters={"PROFILE": profile, **(parameters or {})},
                cwd=str(source.parent), progress_bar=False, kernel_name="python3",
            )
        except Exception as error:  # noqa: BLE001 - report any failure, then stop
            log(f"{prefix} FAILED after {time.perf_counter() - start:.1f} s {failure_report(error)}")
            log(f"    executed copy with the traceback: {out}")
            return 1
        log(f"{prefix} ok ({time.perf_counter() - start:.1f} s) -> {paths.relative(out)}")
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
                        help="extra papermill parameter for every notebook (value parsed as Python literal if it can be)")
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
    import ast

    def literal(text):
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text

    return run(notebooks, profile, runtime.drive_root(), {k: literal(v) for k, v in args.parameter})


if __name__ == "__main__":
    sys.exit(main())
