"""Compare the files two runs of the series left in two Drive folders: the same data, row for row.

    python scripts/compare_runs.py DRIVE_A DRIVE_B [--except PREFIX ...]

Used to show that a restructure changed no behaviour: run `make demo` (or `python -m
helpers.core.runner --profile tiny ...`) before and after into two folders and compare. Compared:
the prepared files, candidates (with their seeds), scores, proposals, review table, ledger entries,
08's fetches and training rows, and each notebook's summary counts and metrics. Left out: what
differs between any two runs (times, durations, package versions, run ids made of times, paths of
the two folders). Columns renamed since (`expected_upvotes`) are compared under their new names.
Numbers are compared to 6 significant digits (CPU kernels are not bit-stable across processes).
Run both into folders whose paths have the same length: checkpoints record their folder, so the
bytes 02 writes to Drive depend on it.
Exit status 0 when the runs agree; 1 with one line per difference otherwise.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

RENAMED = {"expected_upvotes": "expected_rating_bin"}
TIME_KEYS = re.compile(r"^(at|time|started|finished|timings|packages|python|run_id|written|created|modified|\w+_at)$")
MODEL_IDS = ("realism_model", "upvotes_model", "gpt2_run")  # "<folder>@<modification time>": the time is dropped
# Read from TensorBoard event files, which TensorFlow flushes on a timer: how many of the last
# steps are on Drive when 02 reads them depends on timing, not on what was trained.
TIMING_DEPENDENT = ("train_loss_last",)


def _norm(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {RENAMED.get(k, k): (str(v).split("@")[0] if k in MODEL_IDS else _norm(v)) for k, v in sorted(value.items())
                if not TIME_KEYS.search(k) and k not in TIMING_DEPENDENT}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+(e-?\d+)?", value):
        return _norm(float(value))
    return value


def table(path: Path) -> list[dict]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns=RENAMED)
    return [_norm(r) for r in df.to_dict("records")]


def jsonl(path: Path) -> list[dict]:
    if path.is_dir():  # the posting ledger: one file per run (or the single posted.jsonl of older versions), read as one
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from helpers.live.ledger import read_entries

        return [_norm(e) for e in read_entries(path)]
    return [_norm(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


EXCEPT: tuple[str, ...] = ()  # summary counts and metrics left out by name prefix (--except)


def summary(path: Path) -> dict:
    data = json.loads(path.read_text())
    keep = {k: {n: v for n, v in (data.get(k) or {}).items() if not n.startswith(EXCEPT or ("\0",))}
            for k in ("counts", "metrics")}
    return _norm(keep)


def files(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(("models/", "raw/")) and not rel.endswith((".ipynb", ".progress", ".lock")):
            if re.fullmatch(r"ledger/posted(-[^/]*)?\.jsonl", rel):
                out["ledger/posted.jsonl"] = path.parent
                continue
            out[re.sub(r"runs/\d{4}-\d{2}-\d{2}/", "runs/<date>/", rel)] = path
    return out


def compare(a: Path, b: Path) -> list[str]:
    fa, fb = files(a), files(b)
    problems = [f"only in {a}: {k}" for k in sorted(set(fa) - set(fb))]
    problems += [f"only in {b}: {k}" for k in sorted(set(fb) - set(fa))]
    for key in sorted(set(fa) & set(fb)):
        read = table if key.endswith(".csv") else jsonl if key.endswith(".jsonl") else \
            summary if key.endswith("summary.json") else (lambda p: _norm(json.loads(p.read_text())))
        left, right = read(fa[key]), read(fb[key])
        if left != right:
            detail = ""
            if isinstance(left, list) and isinstance(right, list):
                detail = f" ({len(left)} vs {len(right)} rows" + next(
                    (f"; first difference at row {i}: {x} != {y}" for i, (x, y) in enumerate(zip(left, right)) if x != y), "") + ")"
            else:
                detail = f": {left} != {right}"
            problems.append(f"differs: {key}{detail[:600]}")
    return problems


def main(argv=None) -> int:
    global EXCEPT
    args = list(argv if argv is not None else sys.argv[1:])
    while "--except" in args:  # e.g. --except drive_ : counts a change added on purpose (say which in the note)
        at = args.index("--except")
        EXCEPT += (args[at + 1],)
        del args[at:at + 2]
    if len(args) != 2:
        print(__doc__.split("\n\n")[1])
        return 2
    problems = compare(Path(args[0]), Path(args[1]))
    for line in problems:
        print(line)
    print("the two runs agree" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
