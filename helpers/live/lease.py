"""One posting run at a time per Drive: a lease file, `ledger/lease.json`.

Drive has no file locks, renames are not atomic across machines and a change made in one tab
reaches another only after a sync. So the lease is plain data, {owner, host, started,
heartbeat, expires}: a run writes it (atomically, whole), waits `settle` seconds for Drive to
settle, and reads it back; only if its own owner id is still there does it hold the lease.
Before each post the holder reads it again (a run that took over an expired lease wins) and
renews the expiry to cover the pause that follows. A crashed run stops renewing and its lease
expires by itself; no one has to delete anything. The live check of our own comments before
each post (helpers.live.posting) still guards the rare race the settle delay misses.
"""
from __future__ import annotations

import json
import platform
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers.core.files import write_json
from helpers.live.ledger import parse_time, utc_now


class LeaseBusy(RuntimeError):
    """Another run holds (or took over) the posting lease."""


class Lease:
    """The posting lease at `path`; `ttl` seconds of validity after each heartbeat (the holder
    renews it before each post and for each wait, so a crashed run blocks others for `ttl` at most
    after its last heartbeat)."""

    def __init__(self, path: Path | str, *, ttl: float = 3 * 60, settle: float = 3.0, clock=utc_now,
                 sleep=time.sleep, max_extra: float = 60 * 60):
        self.path = Path(path)
        self.ttl = ttl
        self.max_extra = max_extra  # the longest wait a holder covers (pause, RATELIMIT): bounds any expiry
        self.settle = settle
        self.clock = clock
        self.sleep = sleep
        self.owner = f"{platform.node() or 'host'}-{uuid.uuid4().hex[:8]}"
        self.started: datetime | None = None

    def read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no lease, or a torn one: nobody holds it
        return data if isinstance(data, dict) else {}

    def expiry(self, data: dict) -> datetime | None:
        """When a lease really ends: its `expires`, but never later than `ttl` + `max_extra` after its
        heartbeat, nor after the file was last written by our clock (a hand-edited or half-written
        expiry, or a machine whose clock runs ahead, cannot block posting for ever)."""
        expires = parse_time(data.get("expires"))
        if expires is None:
            return None
        hold = timedelta(seconds=self.ttl + self.max_extra)
        bounds = [expires]
        heartbeat = parse_time(data.get("heartbeat"))
        if heartbeat is not None:
            bounds.append(heartbeat + hold)
        try:
            written = datetime.fromtimestamp(self.path.stat().st_mtime, timezone.utc)
            if written <= self.clock() + timedelta(minutes=1):  # a file time from our own clock
                bounds.append(written + hold)
        except OSError:
            pass
        return min(bounds)

    def _live_other(self, data: dict) -> bool:
        expires = self.expiry(data)
        return bool(data.get("owner")) and data.get("owner") != self.owner and expires is not None and expires > self.clock()

    def _busy(self, data: dict, took_over: bool = False) -> LeaseBusy:
        what = "took over the posting lease" if took_over else "holds the posting lease"
        heartbeat = parse_time(data.get("heartbeat"))
        ahead = (" Its heartbeat is in the future: that machine's clock runs ahead of ours."
                 if heartbeat and heartbeat > self.clock() + timedelta(minutes=1) else "")
        ends = self.expiry(data)
        return LeaseBusy(
            f"another run ({data.get('owner')}, started {data.get('started', '?')}, last heartbeat "
            f"{data.get('heartbeat', '?')}) {what} in {self.path.name}. If that run is still going (in its pause "
            "between posts, in another tab or on another machine), let it finish; if it crashed or you stopped "
            f"it, its lease expires by itself at {ends.isoformat(timespec='seconds') if ends else '?'} (UTC). Then run "
            f"this cell again (or, if you are sure no run is posting, delete {self.path}).{ahead} "
            "This run posts nothing more."
        )

    def _write(self, extra_seconds: float = 0.0) -> None:
        now = self.clock()
        write_json(self.path, {
            "owner": self.owner, "host": platform.node(), "started": (self.started or now).isoformat(timespec="seconds"),
            "heartbeat": now.isoformat(timespec="seconds"),
            "expires": (now + timedelta(seconds=self.ttl + extra_seconds)).isoformat(timespec="seconds"),
        })

    def acquire(self) -> None:
        """Take the lease, or raise LeaseBusy when another live run holds it."""
        data = self.read()
        if self._live_other(data):
            raise self._busy(data)
        self.started = self.clock()
        self._write()
        if self.settle:
            self.sleep(self.settle)  # let Drive show a competing write, if there is one
        data = self.read()
        if data.get("owner") != self.owner:
            raise self._busy(data, took_over=True)

    def check(self, extra_seconds: float = 0.0) -> None:
        """Before each post: still ours? Then renew it for `ttl` + `extra_seconds` (the pause)."""
        data = self.read()
        if not data:  # missing or torn: Drive may be showing it mid-sync; look once more
            self.sleep(1.0)
            data = self.read()
        if data.get("owner") != self.owner:
            raise self._busy(data, took_over=True) if data.get("owner") else LeaseBusy(
                f"the posting lease {self.path.name} disappeared while this run held it (deleted by hand?): "
                "stopped to be safe; run the cell again.")
        self._write(extra_seconds)

    def release(self) -> None:
        """Give the lease up (only if still ours): written as expired, so no file goes to Drive's Trash."""
        data = self.read()
        if data.get("owner") == self.owner:
            now = self.clock().isoformat(timespec="seconds")
            write_json(self.path, {**data, "expires": now, "released": now})
