"""Waiting in a real posting run, and what may stop it after each wait: the pause between posts,
a short RATELIMIT waited out, the STOP switch (parameter or file) and the posting lease, checked
right before every send (re-sends included). `Gate` is the one place a run sleeps; it writes nothing
to the ledger and says why to stop as a message (None: go on)."""
from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from helpers.live.lease import Lease, LeaseBusy
from helpers.live.ledger import LedgerView, parse_time
from helpers.live.posting_config import Effects, PostingConfig
from helpers.live.sender import RedditSender, SendError, Sent

RATELIMIT_WAITS = 2  # RATELIMITs waited out for one reply in one run (then it is left to a later run)


def stop_files(stop_path: Path) -> list[Path]:
    """STOP switches for `stop_path` (ledger/STOP): any file of that name in its folder, whatever the case
    or extension (Drive's web page makes a Google Doc, seen as STOP.gdoc on the mount, or uploads STOP.txt)."""
    stem = stop_path.name.split(".")[0].strip().lower()
    try:
        return sorted(p for p in stop_path.parent.iterdir() if p.name.split(".")[0].strip().lower() == stem)
    except OSError:
        return []


def pause_before(view: LedgerView, made: int, pause_minutes: tuple[float, float], rng: random.Random) -> float:
    """Seconds to wait before the next post: a random pause after a post of this run; before the
    first post of a run, what is left of that pause since the ledger's last post."""
    low, high = pause_minutes
    pause = rng.uniform(low, high) * 60
    if made:
        return pause
    times = [t for e in view.recent_posts(timedelta(seconds=pause + 1)) if (t := parse_time(e.get("at")))]
    if not times:
        return 0.0
    return max(0.0, pause - (view.now - max(times)).total_seconds())


class Gate:
    """The waits of one real run, each followed by STOP and the lease (a person may set STOP, or
    another run take the lease, while this one sleeps)."""

    def __init__(self, lease: Lease, stop_path: Path, cfg: PostingConfig, fx: Effects):
        self.lease, self.stop_path, self.cfg, self.fx = lease, stop_path, cfg, fx

    def check(self) -> str | None:
        """Right before every send: why not to send (the STOP switch, the lease lost), or None."""
        found = stop_files(self.stop_path)
        if self.cfg.stop or found:
            where = "STOP parameter" if self.cfg.stop else f"{found[0].name} file on Drive: delete it to post again"
            return f"stopped by the STOP switch ({where}); the rest stays queued"
        try:
            self.lease.check()
        except LeaseBusy as busy:
            return str(busy)
        return None

    def hold(self, seconds: float, message: str = "") -> str | None:
        """Wait `seconds` with the lease renewed to cover them, then the check; why to stop, or None."""
        try:
            self.lease.check(extra_seconds=seconds)  # the lease outlives the wait
        except LeaseBusy as busy:
            return str(busy)
        if message:
            self.fx.log(message)
        self.fx.sleep(seconds)
        return self.check()

    def pause(self, view: LedgerView, made: int) -> str | None:
        """The pause before a post (none before a run's first post unless the ledger's last post was
        moments ago; `made`: posts of this run so far), then STOP and the lease."""
        wait = pause_before(view, made, self.cfg.pause_minutes, self.fx.rng)
        if made or wait > 0:
            note = f"pausing {wait / 60:.1f} min before the next post (STOP or interrupt now to end the run)" if wait else ""
            return self.hold(wait, note)
        return self.check()

    def send_patiently(self, sender: RedditSender, key: str, text: str) -> tuple[Sent | SendError, str | None]:
        """Send; wait out a short RATELIMIT (at most RATELIMIT_WAITS times) and send again, unless STOP
        or the lease says otherwise after the wait. The last answer, and why the run stops (or None)."""
        result = sender.send(key, text)
        waits = 0
        while (isinstance(result, SendError) and result.posting_limit and result.wait is not None
               and result.wait <= self.cfg.ratelimit_max_wait and waits < RATELIMIT_WAITS):
            stop = self.hold(result.wait, f"Reddit asks us to wait {result.wait:.0f} s; waiting")
            if stop:
                return result, stop
            waits += 1
            result = sender.send(key, text)
        return result, None
