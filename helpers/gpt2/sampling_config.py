"""How GPT-2 writes candidate replies: notebooks 03 (fakes for the realism model) and 06 (replies to post).

Notebook parameters are the fields in capitals (`TOP_K` for `top_k`); None takes the profile's value.
"""
from __future__ import annotations

from dataclasses import dataclass

from helpers.core.config import StageConfig, setting


@dataclass(frozen=True)
class SamplingConfig(StageConfig):
    """Sampling settings of the reply engine, shared by 03 and 06."""

    candidates_per_comment: int = setting("replies per comment, sampled in one batch", colab=10, tiny=4)
    max_reply_tokens: int = setting("longest reply in tokens; replies that never end are dropped", colab=200, tiny=64)
    temperature: float = setting("sampling temperature (the original: 0.7)", default=0.7)
    top_k: int = setting("sample among the k likeliest tokens (0: no limit)", default=40)
    top_p: float = setting("nucleus sampling, after TOP_K (0.0: off)", default=0.0)
    keep_unfinished: bool = setting("keep replies that never wrote <|endoftext|> (cut at max_reply_tokens); "
                                    "for smoke runs", default=False)
    # The original wrote fakes for about 1,000-1,200 comments; 03 shows an ETA.
    fake_comments: int = setting("03: seed comments to write fakes for (0: all)", colab=1000, tiny=160)
