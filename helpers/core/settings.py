"""The run-wide settings: the named profile and what every stage shares (seed, GPU, subreddits).

Stage settings live in their stage's config (`helpers.core.config`): pulling in
`helpers.sources.pull.PullConfig`, fine-tuning in `helpers.gpt2.finetune.FinetuneConfig`, sampling in
`helpers.gpt2.sampling_config`, BERT training and scoring in `helpers.bert.config`, comments to answer in
`helpers.live.comments_config`, posting in `helpers.live.posting_config`, feedback in
`helpers.live.feedback.config`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from helpers.core import runtime
from helpers.core.config import ConfigError, StageConfig, setting

SUBREDDITS = "cooking, buildapc, CasualConversation, personalfinance"  # 01 learns from them, 06 answers in them
BERT_BASE = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"
PROFILE_NAMES = ("colab", "tiny")

SettingsError = ConfigError  # an unknown profile or parameter, or a value of the wrong type


@dataclass(frozen=True)
class Settings(StageConfig):
    """One run's shared settings; `make_settings` builds them from a profile and the notebook's parameters."""

    profile: str = setting("colab (GPU, real models) or tiny (CPU, small local models)", colab="colab", tiny="tiny")
    seed: int = setting("one seed for sampling, splits and initialisation", default=0)
    expects_gpu: bool = setting("warn when the runtime has no GPU", colab=True, tiny=False)
    subreddits: str = setting("01 and 06: comma-separated subreddits the models learn from and answer in",
                              default=SUBREDDITS)
    top_level_only: bool = setting("01 and 06: a pair's comment answers the post itself (the original's rule)",
                                   default=True)


# Each profile's values by name (read-only view; the values themselves are declared above).
PROFILES: dict[str, dict] = {name: Settings.for_profile(name).as_dict() for name in PROFILE_NAMES}


def resolve_profile(profile: str | None = None) -> str:
    """The notebook's PROFILE if set, else $BOT_PROFILE, else "colab" on Colab and "tiny" elsewhere."""
    name = profile or os.environ.get("BOT_PROFILE") or ("colab" if runtime.in_colab() else "tiny")
    if name not in PROFILE_NAMES:
        raise SettingsError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILE_NAMES)}")
    return name


def make_settings(profile: str | None = None, **params) -> Settings:
    """Settings for `profile` (see resolve_profile) with `params` overriding its values.

    A parameter given as None keeps the profile's value, so notebooks can pass every parameter
    they have and leave the ones a person did not set as None.
    """
    if "profile" in params:
        raise SettingsError("the profile is the first argument, not a parameter")
    name = resolve_profile(profile)
    return Settings.for_profile(name, **params)


def as_dict(settings: Settings) -> dict:
    return settings.as_dict()
