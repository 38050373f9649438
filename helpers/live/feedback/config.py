"""Notebook 08's settings, one frozen config (parameters named like the fields, in capitals)."""
from __future__ import annotations

from dataclasses import dataclass

from helpers.core.config import ConfigError, StageConfig, setting

SOURCES = ("reddit", "sample")  # where 08's fetches come from; each has its own table and training rows


@dataclass(frozen=True)
class FeedbackConfig(StageConfig):
    source: str = setting('"reddit": the ledger on Drive and Reddit (needs the REDDIT_* secrets); '
                          '"sample": the bundled synthetic replies', colab="reddit", tiny="sample")
    min_age_hours: float = setting("fetch and judge a reply once it is this old (hours since posting)", default=48.0)
    follow_days: float = setting("stop fetching a reply this many days after posting (0: follow it forever)",
                                 default=30.0)
    public_view: bool = setting("also read the replies logged out: Reddit shows a removed comment normally "
                                "to its own author", default=True)
    more_replies: int = setting('"load more comments" links to expand under each parent (-1 all); '
                                "each is one more request", default=0)
    rating_edges: tuple = setting("score bins, the same as notebook 01's RATING_EDGES", default=(1, 2, 5))
    fetch_time: str = setting("when this fetch happens, ISO 8601 (UTC if no zone); empty for now", default="")

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ConfigError(f'SOURCE must be "reddit" or "sample" (or "" for the profile default), got {self.source!r}')

    @classmethod
    def for_profile(cls, profile: str, **overrides):
        """As StageConfig's; SOURCE = "" (Colab's form left empty) also means the profile's value."""
        if overrides.get("source") == "":
            overrides["source"] = None
        return super().for_profile(profile, **overrides)

    @property
    def more_limit(self) -> int | None:
        """`more_replies` as praw's replace_more limit (None: all)."""
        return None if self.more_replies < 0 else self.more_replies
