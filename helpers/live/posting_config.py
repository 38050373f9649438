"""The settings of a posting run (notebook 07's posting parameters, one field each) and the
effects a run has on the world besides Reddit and the ledger (sleeping, chance, printing)."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from helpers.core.config import ConfigError, StageConfig, setting
from helpers.live import guards

DEFAULT_FOOTER = "\n\n---\n^(I am a bot: GPT-2 wrote this reply and a person read it before it was posted.)"


@dataclass(frozen=True)
class PostingConfig(StageConfig):
    """Notebook 07's posting parameters (DRY_RUN -> dry_run, ...): `PostingConfig.from_notebook(globals(), profile)`."""

    dry_run: bool = setting("True: print and record what would be posted, post nothing", default=True)
    max_posts: int = setting("most replies posted per run", default=3)
    max_posts_per_day: int | None = setting("most replies in any 24 hours, from the ledger, across runs and machines",
                                            default=10)
    max_posts_per_subreddit_per_day: int | None = setting("most replies per subreddit in any 24 hours", default=3)
    max_attempts: int = setting("sends of one reply hit by transient errors (429, 401, 5xx, dropped), then gave_up",
                                default=3)
    stop: bool = setting("True: post nothing more (or create a file named STOP in the ledger folder)", default=False)
    pause_minutes_min: float = setting("random pause between posts, lower bound in minutes", default=1.0)
    pause_minutes_max: float = setting("random pause between posts, upper bound in minutes", default=11.0)
    ratelimit_max_wait_minutes: float = setting("a Reddit RATELIMIT up to this long is waited out; longer stops the run",
                                                default=11.0)
    add_footer: bool = setting("add the disclosure footer to every reply", default=True)
    footer: str = setting("the disclosure text (Reddit markdown)", default=DEFAULT_FOOTER)
    blocklist: str = setting("extra blocked words or phrases, comma-separated (added to guards.DEFAULT_BLOCKLIST)",
                             default="")
    stop_file: str = setting("the STOP switch file; empty: STOP in the ledger's folder", default="")
    lease_settle: float = setting("seconds for Drive to show a competing lease write", default=3.0)

    def __post_init__(self):
        if not 0 <= self.pause_minutes_min <= self.pause_minutes_max:
            raise ConfigError("PAUSE_MINUTES_MIN must be at least 0 and must not exceed PAUSE_MINUTES_MAX")
        if self.max_posts < 0 or self.max_attempts < 1:
            raise ConfigError("MAX_POSTS must be 0 or more and MAX_ATTEMPTS 1 or more")

    @property
    def pause_minutes(self) -> tuple[float, float]:
        return self.pause_minutes_min, self.pause_minutes_max

    @property
    def ratelimit_max_wait(self) -> float:
        """Seconds of RATELIMIT waited out."""
        return self.ratelimit_max_wait_minutes * 60

    @property
    def footer_text(self) -> str:
        return self.footer if self.add_footer else ""

    @property
    def blocked(self) -> tuple[str, ...]:
        """guards.DEFAULT_BLOCKLIST and the extra words."""
        return tuple(guards.DEFAULT_BLOCKLIST) + tuple(w.strip() for w in self.blocklist.split(",") if w.strip())


@dataclass(frozen=True)
class Effects:
    """What a run does besides Reddit and the ledger; tests pass their own."""

    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    log: Callable[[str], None] = print
