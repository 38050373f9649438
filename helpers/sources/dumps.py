"""Reddit dump files as a source: zstd-compressed NDJSON, read as a stream with bounded memory.

Two layouts are understood, in the Drive folder `raw/` (or any folder you pass):
  - monthly files of all of Reddit: `RC_YYYY-MM.zst` (comments) and `RS_YYYY-MM.zst` (submissions);
  - per-subreddit files: `<sub>_comments.zst` and `<sub>_submissions.zst`.
A subreddit with both per-subreddit files is read from them; the others from the monthly files.

The dumps are written with a 2^31 window (zstd's long mode), so the decompressor allows one that
large. Where the `zstd` program is installed (Colab has it), a `zstd -dc --long=31` child process
decompresses while this process scans: the two run on two cores, and reading keeps up with zstd
itself (benchmarks/bench_dumps.py); elsewhere the `zstandard` module decompresses in a thread.
Memory stays bounded: the text arrives 1 MB at a time in one reused buffer, only lines that name
a chosen subreddit (`"subreddit":"<name>"`, found over the whole block at once: dump_scan.py) are
parsed as JSON, the rest are counted and skipped, and rows outside MONTHS are dropped as they are
read; memory holds the rows kept. Quirks handled: `created_utc` as a string, null scores, missing
fields, malformed or truncated lines (counted drops), empty files (counted, with a warning).
A missing month file or a corrupt/truncated zstd stream is an error that names the file.
Nothing is written anywhere: the caller gets DataFrames.
"""
from __future__ import annotations

import calendar
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import warnings
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from helpers.core.reddit_terms import check_subreddits
from helpers.sources.dump_scan import SubredditPattern
from helpers.sources.pairs import COMMENT_COLUMNS, SUBMISSION_COLUMNS

WINDOW = 2**31  # the dumps' window size (zstd --long=31)
READ_SIZE = 1 << 18  # compressed bytes per read (a few MB decompressed: stays in cache)
WRITE_SIZE = 1 << 20  # decompressor output piece
BLOCK_SIZE = 1 << 20  # text scanned at a time, in one buffer reused for the whole file
KINDS = {"comments": ("RC", COMMENT_COLUMNS), "submissions": ("RS", SUBMISSION_COLUMNS)}
DROP_REASONS = ("malformed_json", "missing_field", "other_subreddit", "other_month", "empty_files")


class DumpError(RuntimeError):
    """A dump file is missing, unreadable or not zstd."""


def subreddit_pattern(subreddits) -> SubredditPattern:
    """`"subreddit":"<one of them>"` (any case) in raw NDJSON: its `.lines(block, first, stop)` are the
    lines that match, found over the whole block at once (helpers/sources/dump_scan.py)."""
    return SubredditPattern(subreddits)


def _decompressed(path: Path) -> Iterator[tuple[int, bytes]]:
    """(compressed bytes read, decompressed bytes) pieces of a zstd file of any number of frames."""
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=WINDOW)
    with open(path, "rb") as f:
        stream = decompressor.decompressobj(write_size=WRITE_SIZE)
        started = False
        while raw := f.read(READ_SIZE):
            started = True
            try:
                if stream.eof:  # the last read ended exactly where a frame ends: the next frame starts here
                    stream = decompressor.decompressobj(write_size=WRITE_SIZE)
                data = stream.decompress(raw)
                while stream.eof and stream.unused_data:  # next frame
                    leftover, stream = stream.unused_data, decompressor.decompressobj(write_size=WRITE_SIZE)
                    data += stream.decompress(leftover)
            except zstandard.ZstdError as error:
                raise DumpError(f"{path} is not a readable zstd file ({error}); download it again") from None
            yield len(raw), data
        if started and not stream.eof:
            raise DumpError(f"{path} ends in the middle of a zstd frame (an interrupted download?); download it again")


def zstd_program() -> str | None:
    """The `zstd` program to decompress with, or None (not installed, or BOT_DUMPS_ZSTD=python)."""
    if os.environ.get("BOT_DUMPS_ZSTD", "").lower() == "python":
        return None
    return shutil.which("zstd")


def _widen_pipe(pipe) -> None:
    """Let the pipe hold a whole piece (Linux: 64 KB by default), so the child is rarely blocked
    and this process reads few large pieces (3.9 s -> 1.8 s for 1 GB read through the pipe)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), WRITE_SIZE)
    except (ImportError, OSError):
        pass  # not Linux, or a smaller limit: slower, still right


def _whole_lines(readinto, size: int) -> Iterator[tuple[bytearray, int]]:
    """(buffer, end): whole lines in buffer[:end]. `readinto(view)` writes the next bytes into `view`
    and says how many (0 at the end). One buffer serves the whole file, so a block is valid only until
    the next is asked for (no allocation, no page faults, the text stays in cache). A line longer than
    the buffer gets a larger one; a last line with no newline is given one (whitespace alone is dropped)."""
    buffer, held, ended = bytearray(size), 0, False
    while not ended:
        filled = held
        with memoryview(buffer) as view:
            while filled < len(buffer):
                got = readinto(view[filled:])
                if not got:
                    ended = True
                    break
                filled += got
        end = buffer.rfind(b"\n", held, filled) + 1  # the held start of a line has no newline
        if ended and buffer[end:filled].strip():
            buffer = buffer[:filled] + b"\n"
            end = filled = filled + 1
        if end:
            yield buffer, end
        elif not ended:  # a full buffer and no line end yet
            buffer = buffer[:filled] + bytearray(len(buffer))
        buffer[:filled - end] = buffer[end:filled]
        held = filled - end


def _child_blocks(path: Path, program: str, progress, size: int) -> Iterator[tuple[bytearray, int]]:
    """Blocks of whole lines (see _whole_lines) from a `zstd -dc --long=31` child process.

    The child reads the file through a descriptor it shares with this process, so the file offset
    tells how far it has read (for the progress bar) with no copying here."""
    with open(path, "rb") as f:
        if not os.fstat(f.fileno()).st_size:
            return
        child = subprocess.Popen([program, "-dc", "--long=31", "--memory=2048MB", "-q", "--no-progress"],
                                 stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        _widen_pipe(child.stdout)
        try:
            seen = 0
            for block in _whole_lines(child.stdout.readinto, size):
                if progress is not None:
                    position = os.lseek(f.fileno(), 0, os.SEEK_CUR)
                    progress.update(position - seen)
                    seen = position
                yield block
            reason = child.stderr.read().decode("utf-8", "replace").strip()
            if child.wait():
                truncated = any(word in reason.lower() for word in ("truncated", "premature", "incomplete", "end of"))
                raise DumpError(f"{path} " + ("ends in the middle of a zstd frame (an interrupted download?)" if truncated
                                              else f"is not a readable zstd file ({reason.splitlines()[-1] if reason else 'zstd failed'})")
                                + "; download it again")
            if progress is not None:
                progress.update(os.fstat(f.fileno()).st_size - seen)
        finally:
            if child.poll() is None:  # the reader stopped early
                child.kill()
            child.wait()
            child.stdout.close()
            child.stderr.close()


def _module_blocks(path: Path, progress, size: int) -> Iterator[tuple[bytearray, int]]:
    """Blocks of whole lines (see _whole_lines) decompressed by the `zstandard` module in a thread."""
    pieces = _in_background(_decompressed(path))
    pending = memoryview(b"")

    def readinto(view) -> int:
        nonlocal pending
        while not pending:
            item = next(pieces, None)
            if item is None:
                return 0
            read, data = item
            if progress is not None:
                progress.update(read)
            pending = memoryview(data)
        n = min(len(view), len(pending))
        view[:n], pending = pending[:n], pending[n:]
        return n

    try:
        yield from _whole_lines(readinto, size)
    finally:
        pieces.close()  # stops the thread when the caller stops early


def _in_background(items: Iterator, depth: int = 4) -> Iterator:
    """The items of `items`, produced by a thread (zstd releases the GIL, so decompression overlaps
    the caller's scanning); at most `depth` items wait in between. Errors reach the caller."""
    pipe: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def send(message) -> bool:
        while not stop.is_set():  # the caller may stop early: never block forever
            try:
                pipe.put(message, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for item in items:
                if not send((None, item)):
                    return
            send((None, done))
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            send((error, None))

    worker = threading.Thread(target=produce, name="dump-decompress", daemon=True)
    worker.start()
    try:
        while True:
            error, item = pipe.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def iter_blocks(path: Path, progress=None) -> Iterator[tuple[bytearray, int, int]]:
    """Decompressed blocks of a zstd file as (buffer, start, end): whole lines are in
    buffer[start:end]. The buffer is reused: a block is valid until the next is asked for.

    Raises DumpError for a file that is not zstd or that ends in the middle of a frame."""
    program = zstd_program()
    blocks = _child_blocks(path, program, progress, BLOCK_SIZE) if program else _module_blocks(path, progress, BLOCK_SIZE)
    for buffer, end in blocks:
        yield buffer, 0, end


def iter_chunks(path: Path, progress=None) -> Iterator[bytes]:
    """Decompressed text of a zstd file in pieces that each end at a line end."""
    for buffer, start, end in iter_blocks(path, progress):
        yield bytes(buffer[start:end])


def count_lines(buffer: bytes, start: int, end: int) -> int:
    """Newlines in buffer[start:end] (numpy: a few times faster than bytes.count)."""
    return int(np.count_nonzero(np.frombuffer(buffer, np.uint8, end - start, start) == 10))


def month_ranges(months) -> list[tuple[int, int]]:
    """[start, end) in epoch seconds (UTC) of each 'YYYY-MM'."""
    ranges = []
    for month in sorted(months):
        year, mon = map(int, month.split("-"))
        nxt = (year + mon // 12, mon % 12 + 1)
        ranges.append((calendar.timegm((year, mon, 1, 0, 0, 0)), calendar.timegm((*nxt, 1, 0, 0, 0))))
    return ranges


def is_self_post(row: dict) -> bool:
    """`is_self` of a submission; old dump lines lack it: a self post links to itself
    (`domain` "self.<sub>", or a url to its own comments page) or has text."""
    if row.get("is_self") is not None:
        return bool(row["is_self"])
    domain, url = str(row.get("domain") or ""), str(row.get("url") or "")
    own_page = bool(row.get("id")) and f"/comments/{row['id']}" in url
    return domain.lower().startswith("self.") or own_page or bool(row.get("selftext"))


def normalize_row(row: dict, kind: str, drops: Counter) -> dict | None:
    """One raw record (a dump line or an API item) in the raw schema of `kind`, or None (counted
    under `missing_field`) when it lacks what the join needs."""
    if kind == "submissions":
        row = {**row, "is_self": is_self_post(row)}
    row = {"author": "[deleted]", **row}
    try:
        record = {c: _value(row, c) for c in KINDS[kind][1]}
    except (TypeError, ValueError):
        drops["missing_field"] += 1
        return None
    if record["id"] is None or record["created_utc"] is None or (
            kind == "comments" and (record["link_id"] is None or record["parent_id"] is None)):
        drops["missing_field"] += 1
        return None
    return record


def _value(row: dict, key: str):
    value = row.get(key)
    if key == "created_utc" and value is not None:
        return int(float(value))  # sometimes a string in the dumps
    if key == "score" and value is not None:
        return int(value)
    return value


def read_file(path: Path, kind: str, pattern: SubredditPattern | None, wanted: set[str], months: set[str] | None,
              drops: Counter, progress=None) -> list[dict]:
    """Rows of one dump file in the raw schema of `kind`, for the `wanted` (lower-case) subreddits."""
    ranges = month_ranges(months) if months else []
    rows: list[dict] = []
    lines = 0
    for block, first, stop in iter_blocks(path, progress):
        lines += count_lines(block, first, stop)
        candidates = bytes(block[first:stop]).splitlines() if pattern is None else pattern.lines(block, first, stop)
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
            record = normalize_row(row, kind, drops)
            if record is None:
                continue
            if ranges and not any(lo <= record["created_utc"] < hi for lo, hi in ranges):
                drops["other_month"] += 1  # dropped as we go: memory holds only what is kept
                continue
            rows.append(record)
    if lines == 0:
        drops["empty_files"] += 1
        warnings.warn(f"{path} is empty: nothing read from it (an interrupted download?)", stacklevel=3)
    drops["lines_read"] += lines
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
        wanted_months = list(dict.fromkeys(months))  # a month listed twice is read once
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
