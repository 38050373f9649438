"""A Drive stand-in that counts what Google Drive would charge: bytes written to files under the
mount, and bytes sent to Drive's Trash (a file deleted, replaced by a rename, or reopened with
truncation: Colab's mount keeps the old content in Trash).

It watches the process's own file operations through Python's audit hooks (`open`, `os.remove`,
`os.rename`/`os.replace`, `shutil.rmtree`), so it counts independently of the code under test and
of that code's own `DriveUsage`. What it cannot see: files written by C++ (TensorFlow's savers)
straight onto the mount; `check()` compares the tree with what it counted and reports any file it
did not see written.

    with DriveMeter(drive_root) as meter:
        ...            # anything that writes to Drive
    meter.written, meter.trashed
    meter.revisions, meter.revised   # appends in place: each a new revision, the old content kept
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

_METERS: list["DriveMeter"] = []


def _hook(event: str, args) -> None:
    if _METERS and event in ("open", "os.remove", "os.rename", "shutil.rmtree"):
        for meter in list(_METERS):
            meter.event(event, args)


_INSTALLED = False


def _install() -> None:
    global _INSTALLED
    if not _INSTALLED:
        sys.addaudithook(_hook)  # audit hooks cannot be removed: one, dispatching to active meters
        _INSTALLED = True


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class DriveMeter:
    """Bytes written to and trashed from the tree under `root`, as Colab's Drive mount counts them."""

    def __init__(self, root: Path):
        self.root = os.path.realpath(root)
        self.written = self.trashed = 0
        self.revised = self.revisions = 0  # files changed in place (appends): earlier versions kept by Drive
        self.pending: dict[str, int] = {}  # files open for writing: size they started from
        self.sizes: dict[str, int] = {}  # size of each file as last counted
        self.busy = False

    # -- bookkeeping --------------------------------------------------------------------------
    def _inside(self, path) -> str | None:
        if isinstance(path, int) or path is None:
            return None
        full = os.path.realpath(os.fsdecode(path))
        return full if full == self.root or full.startswith(self.root + os.sep) else None

    @staticmethod
    def _size(path: str) -> int:
        try:
            return os.stat(path).st_size
        except OSError:
            return 0

    def _settle(self) -> None:
        """Count what the files opened for writing now hold (their writers are done by the next event)."""
        for path, base in list(self.pending.items()):
            if os.path.isfile(path):
                size = self._size(path)
                self.written += max(0, size - base)
                self.sizes[path] = size
            del self.pending[path]

    def _trash(self, path: str) -> None:
        if os.path.isdir(path):
            for folder, _, names in os.walk(path):
                for name in names:
                    self._trash(os.path.join(folder, name))
            return
        if os.path.isfile(path):
            self.trashed += self._size(path)
        self.sizes.pop(path, None)

    # -- events ---------------------------------------------------------------------------------
    def event(self, event: str, args) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            self._event(event, args)
        finally:
            self.busy = False

    def _event(self, event: str, args) -> None:
        if event == "open":
            path, mode, flags = args
            full = self._inside(path)
            if full is None:
                return
            self._settle()
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & WRITE_FLAGS)
            if not writing:
                return
            truncates = (isinstance(mode, str) and "w" in mode) or (mode is None and flags & os.O_TRUNC)
            if truncates and os.path.isfile(full):
                self._trash(full)  # its old content goes to Trash
            if not truncates and self._size(full):
                self.revised += self._size(full)  # Drive keeps the old content as a revision (30 days)
                self.revisions += 1
            self.pending[full] = 0 if truncates else self._size(full)
        elif event == "os.remove":
            path, dir_fd = args[0], args[1] if len(args) > 1 else -1
            full = self._inside(path) if dir_fd in (None, -1) else None  # rmtree's own unlinks were counted
            if full is not None:
                self._settle()
                self._trash(full)
        elif event == "os.rename":
            src, dst = args[0], args[1]
            full_src, full_dst = self._inside(src), self._inside(dst)
            if full_src is None and full_dst is None:
                return
            self._settle()
            if full_dst is not None and os.path.exists(full_dst) and os.path.isfile(os.fsdecode(src)):
                self._trash(full_dst)  # replaced
            if full_src is None:  # moved onto Drive from elsewhere: all of it is written
                self.written += self._size(os.fsdecode(src))
            elif full_dst is None:  # moved off Drive: gone from it
                self._trash(full_src)
            elif os.path.isfile(full_src):
                self.sizes[full_dst] = self.sizes.pop(full_src, self._size(full_src))
        elif event == "shutil.rmtree":
            full = self._inside(args[0])
            if full is not None:
                self._settle()
                self._trash(full)

    # -- context --------------------------------------------------------------------------------
    def __enter__(self) -> "DriveMeter":
        _install()
        for folder, _, names in os.walk(self.root):
            for name in names:
                path = os.path.join(folder, name)
                self.sizes[path] = self._size(path)
        _METERS.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _METERS.remove(self)
        self._settle()

    def unseen(self) -> list[str]:
        """Files under the root whose size differs from what was counted (written by C++ code, unseen)."""
        out = []
        for folder, _, names in os.walk(self.root):
            for name in names:
                path = os.path.join(folder, name)
                if self.sizes.get(path) != self._size(path):
                    out.append(os.path.relpath(path, self.root))
        return sorted(out)

    def as_dict(self) -> dict:
        return {"written": self.written, "trashed": self.trashed}

    def revised_dict(self) -> dict:
        return {"revisions": self.revisions, "revised_bytes": self.revised}
