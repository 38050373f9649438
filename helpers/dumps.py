"""Reddit dump files as a source: zstd-compressed NDJSON, read as a stream with bounded memory.

Two layouts are understood, in the Drive folder `raw/` (or any folder you pass):
  - monthly files of all of Reddit: `RC_YYYY-MM.zst` (comments) and `RS_YYYY-MM.zst` (submissions);
  - per-subreddit files: `<sub>_comments.zst` and `<sub>_submissions.zst`.
A subreddit with both per-subreddit files is read from them; the others from the monthly files.

The dumps are written with a 2^31 window (zstd's long mode), so the decompressor allows one that
large. Memory stays bounded: the file is decompressed a chunk at a time, and only lines that
mention a chosen subreddit (one regular expression over the whole chunk, in C) are parsed as JSON;
the rest are counted and skipped. Quirks handled: `created_utc` as a string, null scores, missing
fields, malformed or truncated lines (counted drops), empty files (counted, with a warning).
A missing month file or a corrupt/truncated zstd stream is an error that names the file.
Nothing is written anywhere: the caller gets DataFrames.
"""
from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Iterator

import pandas as pd

from .pairs import COMMENT_COLUMNS, SUBMISSION_COLUMNS, month_of

WINDOW = 2**31  # the dumps' window size (zstd --long=31)
READ_SIZE = 1 << 20  # compressed bytes per read
KINDS = {"comments": ("RC", COMMENT_COLUMNS), "submissions": ("RS", SUBMISSION_COLUMNS)}
DROP_REASONS = ("malformed_json", "missing_field", "other_subreddit", "other_month", "empty_files")
SUBREDDIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")


class DumpError(RuntimeError):
    """A dump file is missing, unreadable or not zstd."""


def check_subreddits(subreddits) -> list[str]:
    """The subreddit names, checked (letters, digits, underscores; 2-21 characters)."""
    names = [str(s).strip().removeprefix("r/") for s in subreddits]
    bad = [s for s in names if not SUBREDDIT_NAME.match(s)]
    if bad:
        raise ValueError(f"not a subreddit name: {', '.join(map(repr, bad))} (use names like 'cooking', without 'r/')")
    return names


def subreddit_pattern(subreddits) -> re.Pattern:
    """Bytes regex finding `"subreddit":"<one of them>"` (any case) in raw NDJSON."""
    names = b"|".join(re.escape(s.encode()) for s in check_subreddits(subreddits))
    return re.compile(rb'"subreddit":\s*"(?i:' + names + rb')"')


def iter_chunks(path: Path, progress=None) -> Iterator[bytes]:
    """Decompressed chunks of a zstd file (any number of frames), each ending at a line end.

    Raises DumpError for a file that is not zstd or that ends in the middle of a frame."""
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=WINDOW)
    rest = b""
    with open(path, "rb") as f:
        stream = decompressor.decompressobj()
        started = False
        while True:
            raw = f.read(READ_SIZE)
            if progress is not None:
                progress.update(len(raw))
            if not raw:
                break
            started = True
            try:
                data = stream.decompress(raw)
                while stream.eof and stream.unused_data:  # next frame
                    leftover, stream = stream.unused_data, decompressor.decompressobj()
                    data += stream.decompress(leftover)
            except zstandard.ZstdError as error:
                raise DumpError(f"{path} is not a readable zstd file ({error}); download it again") from None
            if data:
                data = rest + data
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                if cut:
                    yield data[:cut]
        if started and not stream.eof:
            raise DumpError(f"{path} ends in the middle of a zstd frame (an interrupted download?); download it again")
    if rest.strip():
        yield rest + b"\n"


def _value(row: dict, key: str):
    value = row.get(key)
    if key == "created_utc" and value is not None:
        return int(float(value))  # sometimes a string in the dumps
    if key == "score" and value is not None:
        return int(value)
    return value


def read_file(path: Path, kind: str, pattern: re.Pattern | None, wanted: set[str], months: set[str] | None,
              drops: Counter, progress=None) -> list[dict]:
    """Rows of one dump file in the raw schema of `kind`, for the `wanted` (lower-case) subreddits."""
    columns = KINDS[kind][1]
    rows: list[dict] = []
    lines = 0
    for chunk in iter_chunks(path, progress):
        lines += chunk.count(b"\n")
        if pattern is None:
            candidates = chunk.splitlines()
        else:
            candidates, last_end = [], -1
            for match in pattern.finditer(chunk):
                if match.start() < last_end:
                    continue  # a second match inside the same line (e.g. a crosspost's parent)
                start = chunk.rfind(b"\n", 0, match.start()) + 1
                last_end = chunk.find(b"\n", match.end())
                candidates.append(chunk[start:last_end])
        for line in candidates:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError:  # also UnicodeDecodeError
                drops["malformed_json"] += 1
                continue
            if str(row.get("subreddit", "")).lower() not in wanted:
                drops["other_subreddit"] += 1
                continue
            if kind == "submissions" and "is_self" not in row:
                row["is_self"] = bool(row.get("selftext"))
            row.setdefault("author", "[deleted]")
            try:
                record = {c: _value(row, c) for c in columns}
            except (TypeError, ValueError):
                drops["missing_field"] += 1
                continue
            if record["id"] is None or record["created_utc"] is None or (
                    kind == "comments" and (record["link_id"] is None or record["parent_id"] is None)):
                drops["missing_field"] += 1
                continue
            rows.append(record)
    if lines == 0:
        drops["empty_files"] += 1
        warnings.warn(f"{path} is empty: nothing read from it (an interrupted download?)", stacklevel=3)
    drops["lines_read"] += lines
    if months is not None and rows:
        month = month_of(pd.Series([r["created_utc"] for r in rows]))
        keep = month.isin(months).to_numpy()
        drops["other_month"] += int((~keep).sum())
        rows = [r for r, k in zip(rows, keep) if k]
    return rows


def find_files(folder: Path, subreddits, months) -> list[tuple[Path, str, list[str]]]:
    """(file, kind, subreddits to take from it) for each file to read; a clear error for a missing one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DumpError(f"dump folder {folder} does not exist; put the .zst files there (see drive_layout.md)")
    present = {p.name.lower(): p for p in sorted(folder.rglob("*.zst"))}
    plan, monthly_subs = [], []
    for sub in subreddits:
        own = [present.get(f"{sub.lower()}_{kind}.zst") for kind in KINDS]
        if all(own):
            plan += [(path, kind, [sub]) for path, kind in zip(own, KINDS)]
        elif any(own):
            have, lack = [f"{sub}_{k}.zst" for k, p in zip(KINDS, own) if p], [f"{sub}_{k}.zst" for k, p in zip(KINDS, own) if not p]
            raise DumpError(f"{folder} has {have[0]} but not {lack[0]}: a subreddit needs both files")
        else:
            monthly_subs.append(sub)
    if not monthly_subs:
        return plan
    if months:
        wanted_months = list(months)
    else:
        wanted_months = sorted({m.group(1) for name in present if (m := re.match(r"r[cs]_(\d{4}-\d{2})\.zst$", name))})
        if not wanted_months:
            raise DumpError(
                f"no dump files for {', '.join(monthly_subs)} in {folder}: expected RC_YYYY-MM.zst and RS_YYYY-MM.zst, "
                f"or <sub>_comments.zst and <sub>_submissions.zst (found: {', '.join(present) or 'nothing'})")
    missing = []
    for month in wanted_months:
        for kind, (prefix, _) in KINDS.items():
            path = present.get(f"{prefix}_{month}.zst".lower())
            if path is None:
                missing.append(f"{prefix}_{month}.zst")
            else:
                plan.append((path, kind, monthly_subs))
    if missing:
        raise DumpError(
            f"missing dump file(s) in {folder}: {', '.join(missing)} (needed for {', '.join(monthly_subs)}). "
            f"Download them, or drop those months from MONTHS, or use per-subreddit files <sub>_comments.zst / "
            f"<sub>_submissions.zst.")
    return plan


def read_dumps(folder, subreddits, months=None, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, Counter]:
    """(submissions, comments, drops) from the dump files in `folder` for `subreddits` and `months` ('YYYY-MM')."""
    subreddits = check_subreddits(subreddits)
    months_set = set(months) if months else None
    plan = find_files(Path(folder), subreddits, months)
    drops: Counter = Counter({reason: 0 for reason in ("lines_read",) + DROP_REASONS})
    out: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    from tqdm.auto import tqdm

    with tqdm(total=sum(p.stat().st_size for p, _, _ in plan), unit="B", unit_scale=True, desc="dumps",
              disable=not progress) as bar:
        for path, kind, subs in plan:
            bar.set_postfix_str(path.name)
            per_subreddit = not path.name.upper().startswith(("RC_", "RS_"))
            pattern = None if per_subreddit else subreddit_pattern(subs)
            out[kind] += read_file(path, kind, pattern, {s.lower() for s in subs}, months_set, drops, bar)
    submissions = pd.DataFrame(out["submissions"], columns=list(SUBMISSION_COLUMNS))
    comments = pd.DataFrame(out["comments"], columns=list(COMMENT_COLUMNS))
    return submissions.astype({"score": "float64"}), comments.astype({"score": "float64"}), drops
