"""What the notebooks write to Drive, with every byte Drive is charged counted.

Colab's Drive mount sends any file that is replaced or deleted to Drive's Trash, and Trash counts
against the 15 GB quota until it is emptied (gpt-2-simple issue #155); a file changed in place
keeps its old content as a version. So work in progress stays on the runtime's own disk and
reaches Drive only when losing it would cost enough (see docs/drive.md):

- `DriveUsage` counts what was written and what went to Trash, file by file.
- `Due(minutes)`: whether a copy is worth it now (`minutes` of work at stake).
- `sync_checkpoint` copies a run's latest checkpoint to Drive and removes the older one there, so
  a run keeps one checkpoint on Drive; `restore_checkpoint` brings it back after a lost runtime.
- `WorkingCopy`: files appended to on the runtime disk, copied to Drive in batches.

    usage = DriveUsage()
    sync_checkpoint(local_run, drive_run, usage)      # when Due, and at the end
    restore_checkpoint(drive_run, local_run)          # after a disconnect: Drive -> runtime disk
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

CHECKPOINT_RE = re.compile(r"^model-(\d+)\.(index|meta|data-\d+-of-\d+)$")
RUN_FILES = ("hparams.json", "encoder.json", "vocab.bpe")  # copied by gpt-2-simple into each run
DRIVE_MINUTES = 30.0  # copy work in progress to Drive only when a disconnect would cost at least this much
CLOCK = time.monotonic  # seconds; the Drive budget test replaces it with a simulated clock


def human(size: float) -> str:
    """Bytes as people read them: 0.50 GB, 12.3 MB, 4 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(size) >= scale or unit == "kB":
            return f"{size / scale:.2f} {unit}" if unit == "GB" else f"{size / scale:.1f} {unit}"
    return f"{size} B"


def now() -> float:
    return CLOCK()


class Due:
    """Whether a copy to Drive is worth it now: when at least `minutes` of work (since the start, or
    since the last copy) would be lost without it. `minutes=0`: every time it is asked."""

    def __init__(self, minutes: float):
        self.minutes, self.since = float(minutes), now()

    def __call__(self) -> bool:
        return now() - self.since >= self.minutes * 60

    def done(self) -> None:
        self.since = now()


def _copy_plain(src: Path, dst: Path) -> None:
    """Copy `src` to `dst` atomically: a `.part` copy (which `prune_drive_run` clears if a crash
    leaves it), then a rename."""
    tmp = dst.with_name(f".{dst.name}.part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


@dataclass
class DriveUsage:
    """Bytes written to Drive, and bytes sent to its Trash (replaced or deleted files)."""

    written: int = 0
    trashed: int = 0
    files: list[str] = field(default_factory=list)

    def copy(self, src: Path, dst: Path) -> None:
        """Copy `src` to `dst` on Drive, atomically (a temporary name, then a rename)."""
        src, dst = Path(src), Path(dst)
        if dst.is_file():
            self.trashed += dst.stat().st_size
        _copy_plain(src, dst)
        self.written += src.stat().st_size
        self.files.append(dst.name)

    def write_text(self, dst: Path, text: str) -> None:
        dst = Path(dst)
        if dst.is_file() and dst.read_text(encoding="utf-8") == text:
            return
        if dst.is_file():
            self.trashed += dst.stat().st_size
        tmp = dst.with_name(f".{dst.name}.part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, dst)
        self.written += len(text.encode("utf-8"))

    def remove(self, path: Path) -> None:
        path = Path(path)
        self.trashed += path.stat().st_size
        path.unlink()

    def remove_tree(self, folder: Path) -> int:
        """Delete `folder` on Drive (its files go to Trash); returns the bytes deleted."""
        folder = Path(folder)
        if not folder.exists():
            return 0
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        self.trashed += size
        return size

    @contextlib.contextmanager
    def writing(self, path: Path):
        """Count a file or folder that other code writes on Drive inside the `with`: what it holds
        after is written, what it held before (when it was replaced) went to Trash."""
        path = Path(path)
        before = _stamp(path)
        yield path
        after = _stamp(path)
        if after and after != before:
            self.written += after[0]
            self.trashed += before[0] if before else 0
            self.files.append(path.name)

    def add(self, other: "DriveUsage") -> None:
        self.written += other.written
        self.trashed += other.trashed
        self.files += other.files

    def says(self) -> str:
        """What was counted, as a line for the notebook."""
        return f"Drive: wrote {human(self.written)}, sent {human(self.trashed)} to Trash (counted file by file)"

    def as_dict(self) -> dict:
        return {"drive_written_bytes": self.written, "drive_trashed_bytes": self.trashed,
                "drive_written_gb": round(self.written / 1e9, 3), "drive_trashed_gb": round(self.trashed / 1e9, 3)}


def _stamp(path: Path) -> tuple | None:
    """(bytes, identity) of a file or a folder's files, None if absent: tells a rewrite from no change."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    if not path.exists():
        return None
    stats = [f.stat() for f in files]
    return (sum(s.st_size for s in stats), tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in stats))


def checkpoint_steps(folder: Path) -> dict[int, list[Path]]:
    """The `model-N.*` checkpoint files in `folder`, by step N."""
    found: dict[int, list[Path]] = {}
    for path in Path(folder).glob("model-*"):
        match = CHECKPOINT_RE.match(path.name)
        if match:
            found.setdefault(int(match.group(1)), []).append(path)
    return found


def index_text(step: int) -> str:
    """TensorFlow's `checkpoint` index file naming model-<step>, relative so that it works in any folder."""
    return f'model_checkpoint_path: "model-{step}"\nall_model_checkpoint_paths: "model-{step}"\n'


def latest_step(folder: Path) -> int | None:
    """The step of the complete checkpoint the run's `counter` names, else None."""
    counter = Path(folder) / "counter"
    if not counter.is_file():
        return None
    step = int(counter.read_text().strip())
    files = checkpoint_steps(folder).get(step, [])
    return step if any(p.name.endswith(".index") for p in files) else None


def sync_checkpoint(local_run: Path, drive_run: Path, usage: DriveUsage) -> int | None:
    """Copy the local run's latest checkpoint (and its counter, index, vocabulary, loss events)
    to `drive_run`, then remove every other checkpoint there. Returns the step synced.

    Order keeps Drive usable after a crash at any point: new files first, then the `checkpoint`
    index and `counter` that name them, then the old ones are deleted (the next sync or
    `prune_drive_run` finishes a deletion a crash interrupted)."""
    local_run, drive_run = Path(local_run), Path(drive_run)
    step = latest_step(local_run)
    if step is None:
        return None
    drive_run.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (local_run / name).is_file() and not (drive_run / name).is_file():
            usage.copy(local_run / name, drive_run / name)
    for src in sorted(checkpoint_steps(local_run)[step]):
        dst = drive_run / src.name
        if not (dst.is_file() and dst.stat().st_size == src.stat().st_size):
            usage.copy(src, dst)
    for events in sorted(local_run.glob("events.out.tfevents.*")):
        dst = drive_run / events.name
        if not (dst.is_file() and dst.stat().st_size == events.stat().st_size):
            usage.copy(events, dst)
    usage.write_text(drive_run / "checkpoint", index_text(step))
    usage.write_text(drive_run / "counter", f"{step}\n")
    prune_drive_run(drive_run, usage)
    return step


def prune_drive_run(drive_run: Path, usage: DriveUsage) -> list[str]:
    """Delete checkpoints on Drive other than the one `counter` names (left by an earlier
    session or an interrupted sync) and stray partial copies; returns the names deleted."""
    drive_run = Path(drive_run)
    if not drive_run.is_dir():
        return []
    keep = latest_step(drive_run)
    gone = []
    for step, files in checkpoint_steps(drive_run).items():
        if step != keep:
            for path in files:
                usage.remove(path)
                gone.append(path.name)
    for part in drive_run.glob(".*.part"):
        usage.remove(part)
        gone.append(part.name)
    if keep is not None and (drive_run / "checkpoint").is_file():
        usage.write_text(drive_run / "checkpoint", index_text(keep))
    return sorted(gone)


def restore_checkpoint(drive_run: Path, local_run: Path) -> int | None:
    """Copy Drive's checkpoint to the runtime disk when Drive is ahead (after a disconnect wiped
    the runtime); reads Drive only. Returns the step the local run is at, or None."""
    drive_run, local_run = Path(drive_run), Path(local_run)
    on_drive, local = latest_step(drive_run), latest_step(local_run)
    if on_drive is None or (local is not None and local >= on_drive):
        return local
    if local_run.exists():
        shutil.rmtree(local_run)
    local_run.mkdir(parents=True)
    for path in [*checkpoint_steps(drive_run)[on_drive], *drive_run.glob("events.out.tfevents.*"),
                 *(drive_run / n for n in RUN_FILES if (drive_run / n).is_file())]:
        _copy_plain(path, local_run / path.name)
    (local_run / "checkpoint").write_text(index_text(on_drive), encoding="utf-8")
    (local_run / "counter").write_text(f"{on_drive}\n", encoding="utf-8")
    return on_drive


RUN_ID = "run_id"  # names one training run: its local copy is only trusted when the ids agree


def run_id(folder: Path, usage: DriveUsage | None = None) -> str | None:
    """The run's id from `folder`; with `usage` (a Drive run folder) one is created when missing."""
    path = Path(folder) / RUN_ID
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    if usage is None:
        return None
    import uuid

    Path(folder).mkdir(parents=True, exist_ok=True)
    usage.write_text(path, uuid.uuid4().hex)
    return path.read_text(encoding="utf-8").strip()


def checkpoint_bytes(folder: Path, step: int | None = None) -> int:
    """Bytes of one checkpoint in `folder` (the latest if `step` is None)."""
    step = latest_step(folder) if step is None else step
    return sum(p.stat().st_size for p in checkpoint_steps(folder).get(step, []))


# -- files appended to in batches ----------------------------------------------------------------
def _is_prefix(short: Path, long: Path) -> bool:
    """True when file `short` holds the first bytes of file `long` (a Drive copy the local one grew from)."""
    size = short.stat().st_size
    if size > long.stat().st_size:
        return False
    with open(short, "rb") as a, open(long, "rb") as b:
        while True:
            chunk = a.read(1 << 20)
            if not chunk:
                return True
            if chunk != b.read(len(chunk)):
                return False


class WorkingCopy:
    """Files appended to on the runtime disk and copied to Drive in batches.

    Each append to a file on the Drive mount makes a new revision of the whole file; a copy per
    comment made 1,000 revisions of 03's CSV. Here the files live in `local_dir` and reach Drive
    (each copied whole, atomically, the previous copy to Trash) after `every` units of work or
    `minutes` of it, whichever comes first, and on `flush()` (end, or an error). A crash of the
    runtime loses at most what was done since the last copy; a kernel restart on the same runtime
    loses nothing (the working copy is used when Drive's copy is where it started from).
    """

    def __init__(self, drive_files, local_dir: Path, every: int = 100, minutes: float = 10.0,
                 usage: DriveUsage | None = None):
        self.drive = [Path(p) for p in drive_files]
        self.local = [Path(local_dir) / p.name for p in self.drive]
        self.every, self.due = max(1, int(every)), Due(minutes)
        self.usage = usage if usage is not None else DriveUsage()
        self.pending, self.flushes = 0, 0

    def start(self) -> Path:
        """The working copy of the first file, made ready: kept when each Drive file is the start
        of its working copy (the same run, further on); else copied from Drive, or removed when
        Drive has none (a new run, or RESTART)."""
        self.local[0].parent.mkdir(parents=True, exist_ok=True)
        keep = all(d.is_file() and l.is_file() and _is_prefix(d, l) for d, l in zip(self.drive, self.local))
        if not keep:
            for d, l in zip(self.drive, self.local):
                l.unlink(missing_ok=True)
                if d.is_file():
                    _copy_plain(d, l)
        self.due.done()
        return self.local[0]

    def tick(self, units: int = 1) -> bool:
        """Count `units` of work done; copy to Drive when a batch is full or its minutes are up."""
        self.pending += units
        if self.pending >= self.every or (self.pending and self.due()):
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Copy each working file that differs from Drive's (in order: data before its log)."""
        for d, l in zip(self.drive, self.local):
            if l.is_file() and not (d.is_file() and d.stat().st_size == l.stat().st_size and _is_prefix(d, l)):
                d.parent.mkdir(parents=True, exist_ok=True)
                self.usage.copy(l, d)
        self.pending = 0
        self.flushes += 1
        self.due.done()
