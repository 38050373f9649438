"""Files the notebooks hand each other: written atomically, read back with a schema check."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.core.files import atomic_path
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


def where(paths: Paths, key: str, fields: dict) -> tuple[Path, str, str]:
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
    """Check `df` against its schema and write it as CSV atomically; returns the path. `fields`
    fill the entry's placeholders, as `Paths.file` takes them (another name is a KeyError)."""
    path, shown_as, producer = where(paths, key, fields)
    df = check_table(df, key, shown_as, producer)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def read_table(paths: Paths, key: str, *, allow_empty: bool = False, **fields: str) -> pd.DataFrame:
    """Read an exchanged CSV; a missing or malformed file is an ExchangeError that names
    the file, what is wrong, and which notebook writes it. `fields` fill the entry's placeholders,
    as `Paths.file` takes them (another name is a KeyError)."""
    path, shown_as, producer = where(paths, key, fields)
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
