"""Files the notebooks hand each other: written atomically, read back with a schema check."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from helpers.core.paths import ENTRIES, Paths
from helpers.core.reddit_terms import upgrade_columns

# Columns (name -> "str" | "int" | "float") each exchanged table must have. Extra columns are kept.
SCHEMAS: dict[str, dict[str, str]] = {
    "gpt2_finetune": {"text": "str", "submission_id": "str", "comment_id": "str"},
    "gpt2_generate": {"comment": "str", "submission_id": "str", "comment_id": "str"},
    "bert_real": {
        "submission_id": "str", "comment_id": "str", "subreddit": "str", "comment": "str",
        "reply": "str", "real": "int", "reply_score": "int", "rating": "int",
    },
    "bert_fake": {"submission_id": "str", "comment_id": "str", "comment": "str", "reply": "str", "real": "int"},
    "candidates": {
        "subreddit": "str", "submission_id": "str", "title": "str", "post_score": "int", "comment_id": "str",
        "comment_score": "int", "comment": "str", "candidate": "str",
    },
    "scored": {
        "subreddit": "str", "submission_id": "str", "title": "str", "post_score": "int", "comment_id": "str",
        "comment_score": "int", "comment": "str", "candidate": "str", "prob_real": "float",
        "expected_rating_bin": "float", "guards": "str",
    },
    "review": {
        "subreddit": "str", "submission_id": "str", "title": "str", "comment_id": "str", "comment": "str",
        "reply": "str", "prob_real": "float", "expected_rating_bin": "float", "approved": "str",
    },
}


class ExchangeError(RuntimeError):
    """A file a notebook needs is missing or malformed."""


@contextlib.contextmanager
def atomic_path(path: Path | str, mode: int = 0o644):
    """Yield a temporary path beside `path`; on success rename it over `path`, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_folder(path: Path | str):
    """Yield an empty temporary folder beside `path`; on success it replaces `path` (the folder
    appears complete or not at all), on error it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path | str, data) -> Path:
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return Path(path)


def _where(paths: Paths, key: str, fields: dict) -> tuple[Path, str, str]:
    path = paths.file(key, **fields)
    return path, paths.relative(path), ENTRIES[key].producer


def check_table(df: pd.DataFrame, key: str, shown_as: str, producer: str) -> pd.DataFrame:
    """Raise ExchangeError unless `df` has the columns and types of SCHEMAS[key]; return it typed."""
    schema = SCHEMAS[key]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise ExchangeError(
            f"{shown_as} is missing column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns))}); "
            f"it is written by {producer}: rerun that notebook."
        )
    df = df.copy()
    for column, kind in schema.items():
        values = df[column]
        if kind == "str":
            df[column] = values.fillna("").astype(str)
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() | (kind == "int") & (numbers % 1 != 0)
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ExchangeError(
                f"{shown_as}: column {column} must hold {kind} values, row {row} has {values.iloc[row]!r}; "
                f"it is written by {producer}: rerun that notebook."
            )
        df[column] = numbers.astype("int64" if kind == "int" else "float64")
    return df[list(schema) + [c for c in df.columns if c not in schema]]


def write_table(df: pd.DataFrame, paths: Paths, key: str, **fields: str) -> Path:
    """Check `df` against its schema and write it as CSV atomically; returns the path."""
    path, shown_as, producer = _where(paths, key, fields)
    df = check_table(df, key, shown_as, producer)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def read_table(paths: Paths, key: str, *, allow_empty: bool = False, **fields: str) -> pd.DataFrame:
    """Read an exchanged CSV; a missing or malformed file is an ExchangeError that names
    the file, what is wrong, and which notebook writes it."""
    path, shown_as, producer = _where(paths, key, fields)
    if not path.is_file():
        raise ExchangeError(
            f"{shown_as} not found in {paths.root}. It is written by {producer}: "
            f"run that notebook first, with the same Drive folder."
        )
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ExchangeError(
            f"{shown_as} is not a readable CSV ({type(error).__name__}: {str(error).strip()}); "
            f"it is written by {producer}: rerun that notebook."
        ) from None
    df = upgrade_columns(df)  # files written by earlier versions
    if df.empty and not allow_empty:
        raise ExchangeError(f"{shown_as} has no rows; it is written by {producer}: rerun that notebook.")
    from helpers.core import manifest

    if key in manifest.PREPARED:  # which run wrote it (into the summary), and never a mixed set
        try:
            manifest.verify(paths, key)
        except manifest.PreparedSetError as error:
            raise ExchangeError(str(error)) from None
    return check_table(df, key, shown_as, producer)
