"""Which fresh comments notebook 06 answers: where they come from and which count.

Notebook parameters are the fields in capitals (`MIN_COMMENT_SCORE`); None takes the profile's value.
"""
from __future__ import annotations

from dataclasses import dataclass

from helpers.core.config import StageConfig, setting


@dataclass(frozen=True)
class CommentsConfig(StageConfig):
    """Fetching and choosing the comments to answer (notebook 06)."""

    source: str = setting('"reddit": live comments (needs the REDDIT_* secrets); "sample": the bundled ones',
                          choices=("reddit", "sample"), colab="reddit", tiny="sample")
    posts_per_subreddit: int = setting("rising posts read per subreddit (the original: 5)", default=5)
    min_comment_score: int = setting("answer comments scoring at least this (the original: above 3)", default=4)
    more_comments: int = setting('"load more comments" links expanded per post (0: none, -1: all); each is a request',
                                 default=0)
